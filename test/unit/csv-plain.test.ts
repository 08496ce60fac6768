import fc from 'fast-check';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { csvReader, PlainLines } from '../../electron/engine/importers/csv.js';
import type { RawRow } from '../../electron/engine/importers/reader.js';

/**
 * The CSV reader cuts quote-free stretches of a file into lines itself and hands the rest to
 * papaparse. For any file and any way its bytes arrive, that must read exactly what papaparse alone
 * reads: the same header, the same rows with the same line numbers and cells, the same errors.
 */

type Read = { header: string[] | null; rows: Array<{ line: number; cells?: readonly string[]; error?: string }>; thrown?: string };

const seen = (r: RawRow): Read['rows'][number] => (r.error !== undefined ? { line: r.line, error: r.error } : { line: r.line, cells: r.cells! });

function bytes(text: string, cuts: number[]): Readable {
  const all = Buffer.from(text, 'utf8');
  const at = [...new Set(cuts.map((c) => c % (all.length + 1)))].sort((a, b) => a - b);
  const pieces: Buffer[] = [];
  let from = 0;
  for (const c of [...at, all.length]) {
    if (c > from) pieces.push(all.subarray(from, c));
    from = Math.max(from, c);
  }
  // Cut anywhere, a character's bytes included: the reader decodes across pieces.
  return Readable.from(pieces, { objectMode: false });
}

async function read(text: string, cuts: number[], how: 'papaparse' | 'lines' | 'plain'): Promise<Read> {
  const reader = csvReader(bytes(text, cuts), ',', '\n', { plain: how !== 'papaparse' });
  const out: Read = { header: null, rows: [] };
  try {
    out.header = await reader.columns();
    if (how === 'plain') {
      for await (const batch of reader.plainBatches()) {
        for (const item of batch) {
          if (!(item instanceof PlainLines)) {
            out.rows.push(seen(item));
            continue;
          }
          // Every line of the stretch, read the general way.
          let at = item.firstLine;
          for (let s = 0; s < item.text.length; at++) {
            let e = item.text.indexOf('\n', s);
            if (e < 0) e = item.text.length;
            const row = item.row(s, e, at);
            if (row) out.rows.push(seen(row));
            s = e + 1;
          }
        }
      }
    } else for await (const batch of reader.batches()) for (const row of batch) out.rows.push(seen(row));
  } catch (err) {
    out.thrown = (err as Error).message;
  }
  return out;
}

const cell = fc.oneof(
  { weight: 6, arbitrary: fc.stringMatching(/^[a-z0-9 .:é-]{0,6}$/) },
  { weight: 1, arbitrary: fc.constantFrom('', ' ', '\r', '\uFFFD', 'sep=', '2024-04-01T10:00:00Z', '12.5', 'null') },
  // A quoted cell, now and then with a line break or a doubled quote inside; or a stray quote.
  { weight: 1, arbitrary: fc.stringMatching(/^[a-z ,\n]{0,5}$/).map((t) => `"${t.replace(/a/g, '""')}"`) },
  { weight: 1, arbitrary: fc.constantFrom('a"b', '"open', '""') },
);
const line = fc.array(cell, { minLength: 1, maxLength: 5 }).map((cells) => cells.join(','));
const file = fc.tuple(fc.array(line, { minLength: 0, maxLength: 30 }), fc.boolean()).map(([lines, last]) => lines.join('\n') + (last ? '\n' : ''));

describe('CSV reading, with quote-free lines cut here', () => {
  it('reads what papaparse alone reads, however the bytes arrive', async () => {
    await fc.assert(
      fc.asyncProperty(file, fc.array(fc.nat(400), { maxLength: 6 }), async (text, cuts) => {
        const expected = await read(text, cuts, 'papaparse');
        expect(await read(text, cuts, 'lines')).toEqual(expected);
        expect(await read(text, cuts, 'plain')).toEqual(expected);
      }),
      { numRuns: 400 },
    );
  });

  it('hands quote-free lines on as text up to the first quote, and rows from papaparse after it', async () => {
    const text = 'time,service,value\n2024-04-01T10:00:00Z,api,1\n\n2024-04-01T10:01:00Z,api,2\n2024-04-01T10:02:00Z,"api, eu",3\n2024-04-01T10:03:00Z,api,4\n';
    const reader = csvReader(bytes(text, []), ',', '\n');
    expect(await reader.columns()).toEqual(['time', 'service', 'value']);
    const items: Array<RawRow | PlainLines> = [];
    for await (const batch of reader.plainBatches()) items.push(...batch);
    const lines = items.filter((i): i is PlainLines => i instanceof PlainLines);
    expect(lines.map((l) => [l.firstLine, l.text])).toEqual([[2, '2024-04-01T10:00:00Z,api,1\n\n2024-04-01T10:01:00Z,api,2\n']]);
    expect(items.filter((i) => !(i instanceof PlainLines)).map((r) => seen(r as RawRow))).toEqual([
      { line: 5, cells: ['2024-04-01T10:02:00Z', 'api, eu', '3'] },
      { line: 6, cells: ['2024-04-01T10:03:00Z', 'api', '4'] },
    ]);
  });
});
