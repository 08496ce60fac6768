import { parse, type Options } from 'csv-parse';
import type { Readable } from 'node:stream';
import { drain, type RawRow, type RecordReader } from './reader.js';

interface Parsed { record: string[]; line: number }

/** Generic delimited text with a header row. Rows with the wrong number of fields are reported, not guessed at. */
export function csvReader(input: Readable): RecordReader {
  const skipped: RawRow[] = [];
  const options: Options = {
    bom: true,
    relax_column_count: true,
    skip_empty_lines: true,
    skip_records_with_error: true,
    trim: true,
    // The line number rides along with the record, so errors found later still say where they are.
    // csv-parse's types assume on_record returns a record; it may return any value, which is emitted as is.
    on_record: ((record: string[], context: { lines: number }): Parsed => ({ record, line: context.lines })) as unknown as NonNullable<Options['on_record']>,
  };
  const parser = parse(options);
  parser.on('skip', (err: Error & { lines?: number }) => {
    skipped.push({ line: err.lines ?? 0, error: `malformed CSV: ${err.message.replace(/^Invalid Record Length: /, '')}` });
  });
  input.on('error', (err) => parser.destroy(err));
  input.pipe(parser);
  const source = drain<Parsed>(parser)[Symbol.asyncIterator]();
  let pending: Parsed[] = [];
  let header: string[] | null = null;
  let headerRead = false;

  async function readHeader(): Promise<string[] | null> {
    if (headerRead) return header;
    headerRead = true;
    const first = await source.next();
    if (first.done) return null;
    header = first.value[0]!.record;
    pending = first.value.slice(1);
    return header;
  }

  return {
    columns: readHeader,
    async *batches() {
      const columns = await readHeader();
      if (!columns) return;
      const width = columns.length;
      for (;;) {
        let parsed = pending;
        pending = [];
        if (parsed.length === 0) {
          const next = await source.next();
          if (next.done) break;
          parsed = next.value;
        }
        const out: RawRow[] = skipped.splice(0);
        for (const { record, line } of parsed) {
          if (record.length !== width) {
            out.push({ line, error: `expected ${width} fields (${columns.join(',')}), found ${record.length}` });
            continue;
          }
          // csv-parse decodes invalid UTF-8 to U+FFFD instead of failing; a replacement character in
          // an export is almost always damage, so the row is refused where it can be located.
          if (record.some((field) => field.includes('\uFFFD'))) {
            out.push({ line, error: 'invalid UTF-8 in this row' });
            continue;
          }
          const values: Record<string, unknown> = {};
          for (let i = 0; i < width; i++) values[columns[i]!] = record[i];
          out.push({ line, values });
        }
        yield out;
      }
      if (skipped.length > 0) yield skipped.splice(0);
    },
  };
}
