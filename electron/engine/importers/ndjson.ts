import readline from 'node:readline';
import type { Readable } from 'node:stream';
import type { RawRow, RecordReader } from './reader.js';

const MAX_LINE = 1 << 20;
const BATCH = 2000;

/** One JSON object per line. Nested values are refused by validation, not flattened by guesswork. */
export function ndjsonReader(input: Readable): RecordReader {
  return {
    columns: async () => null,
    async *batches(): AsyncIterable<RawRow[]> {
      const lines = readline.createInterface({ input, crlfDelay: Infinity });
      // readline does not forward stream errors to its iterator; a truncated gzip must not look like a clean end.
      let failure: Error | null = null;
      input.on('error', (err) => {
        failure = err;
        lines.close();
      });
      let line = 0;
      let batch: RawRow[] = [];
      for await (const text of lines) {
        line++;
        const row = parseLine(text, line);
        if (row) batch.push(row);
        if (batch.length >= BATCH) {
          yield batch;
          batch = [];
        }
      }
      if (batch.length > 0) yield batch;
      if (failure) throw failure;
    },
  };
}

function parseLine(text: string, line: number): RawRow | null {
  if (text.trim() === '') return null;
  if (text.length > MAX_LINE) return { line, error: `line is longer than ${MAX_LINE} characters` };
  if (text.includes('\uFFFD')) return { line, error: 'invalid UTF-8 in this line' };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { line, error: `invalid JSON: ${(err as Error).message}` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { line, error: 'each line must be a JSON object' };
  return { line, values: value as Record<string, unknown> };
}
