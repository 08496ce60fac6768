import fc from 'fast-check';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PlainLines } from '../../electron/engine/importers/csv.js';
import { PointsBuilder, type PointsBatch } from '../../electron/engine/importers/points-batch.js';
import { quickTelemetry } from '../../electron/engine/importers/quick-telemetry.js';
import { readFile, type ReadRequest } from '../../electron/engine/importers/read-file.js';
import type { RawRow } from '../../electron/engine/importers/reader.js';
import { tempDir } from '../helpers/workspace.js';

/**
 * The quick way through long telemetry CSV against the general way: for any file, the same report
 * (every count, every refused row and its reason, the repeated-hour note) and the same points in
 * the same order. And the quick way does take the plain rows (else the first test proves nothing).
 */

type Seen = { report: unknown; points: Array<[string, string, string, number, number]> };

async function read(file: string, options: Partial<ReadRequest>, quickRows: boolean): Promise<Seen> {
  const names = new Map<number, [string, string, string]>();
  const points: Seen['points'] = [];
  const take = (batch: PointsBatch): void => {
    for (const [id, service, metric, labels] of batch.keys) names.set(id, [service, metric, labels]);
    for (let i = 0; i < batch.series.length; i++) points.push([...names.get(batch.series[i]!)!, batch.ts[i]!, batch.value[i]!]);
  };
  const request: ReadRequest = {
    kind: 'telemetry', format: 'csv', filePath: file, fileName: path.basename(file), gzip: false, mapping: {}, timeUnit: 'auto',
    delimiter: ',', newline: '\n', acceptValidRows: true, dryRun: false, previewRows: 0, pii: { rules: [], dropColumns: [], key: '11'.repeat(32) },
    ...options, quickRows,
  };
  const outcome = await readFile(request, { start() {}, rows() {}, points: take });
  return { report: outcome, points };
}

const ts = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 0, max: 600 }).map((m) => new Date(Date.UTC(2024, 9, 27, 0, 0) + m * 60_000).toISOString()) },
  // Wall times without an offset (read in the file's zone, across Berlin's clocks going back), epochs, and bad ones.
  { weight: 5, arbitrary: fc.integer({ min: 0, max: 300 }).map((m) => new Date(Date.UTC(2024, 9, 27, 0, 0) + m * 60_000).toISOString().slice(0, 19).replace('T', ' ')) },
  { weight: 1, arbitrary: fc.constantFrom('1730000000', '1730000000000', '20241027', 'x', '', ' 2024-10-27T01:00:00Z', '0001-01-01T00:00:00Z', '2024-10-27T01:00:00+02:00') },
);
const name = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom('api', 'db', 'web-1', 'cpu_usage', 'latency.p99') },
  { weight: 1, arbitrary: fc.constantFrom('', ' api', 'api ', 'café', 'api\u00a0', 'ana@corp.example', '\uFFFD', '-') },
);
const value = fc.oneof(
  { weight: 8, arbitrary: fc.double({ min: -1e6, max: 1e6, noNaN: true }).map((v) => String(Math.round(v * 1000) / 1000)) },
  { weight: 1, arbitrary: fc.constantFrom('null', 'NaN', '-', '', ' 12', '1e3', '0x10', 'abc', '1,5', '+4', '.5', '5.', '12\r') },
);
type Host = 'none' | 'dropped' | 'label';
const hostCell = fc.oneof({ weight: 4, arbitrary: fc.constantFrom('h1', 'h2', '') }, { weight: 1, arbitrary: fc.constantFrom(' h1', 'h1 ', 'ana@corp.example', 'café', '\u00a0') });
const noisy = (host: Host): fc.Arbitrary<string> => fc.tuple(ts, name, name, value, fc.constantFrom('', '', '', '', ',', ',extra', '\r'), fc.boolean(), hostCell).map(([t, s, m, v, tail, drop, h]) =>
  (drop ? `${t},${s},${v}` : `${t},${s},${m},${v}`) + (host !== 'none' ? `,${h}` : '') + tail);
// Most rows of a real file are plain, of a few series: those are what the quick way takes.
const plain = (host: Host): fc.Arbitrary<string> => fc.tuple(fc.integer({ min: 0, max: 600 }), fc.constantFrom('api', 'db'), fc.constantFrom('cpu', 'mem'), fc.integer({ min: -5000, max: 5000 }), fc.constantFrom('', '', '', ',extra'), fc.constantFrom('h1', 'h2', '')).map(
  ([m, s, metric, v, tail, h]) => `${new Date(Date.UTC(2024, 9, 27, 0, 0) + m * 60_000).toISOString()},${s},${metric},${v / 100}${host !== 'none' ? `,${h}${tail}` : ''}`);
const row = (host: Host): fc.Arbitrary<string> => fc.oneof({ weight: 3, arbitrary: plain(host) }, { weight: 1, arbitrary: noisy(host) });
// `host`: a last column that is a label, or one the import drops (a PII setting), so a row's extra field is not in a cell the quick way reads.
const files = fc.constantFrom<Host>('none', 'dropped', 'label').chain((host) => fc.record({
  host: fc.constant(host),
  rows: fc.array(fc.oneof({ weight: 12, arbitrary: row(host) }, { weight: 1, arbitrary: fc.constantFrom('', '  ', ',,,', 'sep=,') }), { maxLength: 60 }),
  zone: fc.constantFrom(undefined, 'Europe/Berlin'),
  strict: fc.boolean(),
  crlf: fc.boolean(),
}));

describe('long telemetry CSV, the quick way', () => {
  it('reads what the general way reads: the same report, the same points in the same order', async () => {
    const dir = tempDir('sbw-quick-');
    let k = 0;
    await fc.assert(
      fc.asyncProperty(files, async ({ host, rows, zone, strict, crlf }) => {
        const file = path.join(dir, `f${k++}.csv`);
        fs.writeFileSync(file, [`timestamp,service,metric,value${host !== 'none' ? ',host' : ''}`, ...rows].join(crlf ? '\r\n' : '\n') + '\n');
        const options: Partial<ReadRequest> = {
          acceptValidRows: !strict, ...(zone ? { timeZone: zone } : {}), ...(host === 'dropped' ? { pii: { rules: [], dropColumns: ['host'], key: '11'.repeat(32) } } : {}),
        };
        const general = await read(file, options, false);
        expect(await read(file, options, true)).toEqual(general);
      }),
      {
        numRuns: 500,
        examples: [
          // A field past the header's in a column the import drops; a gap's time in the hour that happens twice (never read the general way).
          [{ host: 'dropped', rows: ['2024-10-27T00:00:00.000Z,api,cpu,0,h1', '2024-10-27T00:00:00.000Z,api,cpu,0,h1,extra'], zone: undefined, strict: false, crlf: false }],
          // Rows of one service and metric told apart by a label, an empty label cell (no label) among them.
          [{ host: 'label', rows: ['2024-10-27T00:00:00.000Z,api,cpu,1,h1', '2024-10-27T00:00:00.000Z,api,cpu,2,h2', '2024-10-27T00:01:00.000Z,api,cpu,3,', '2024-10-27T00:02:00.000Z,api,cpu,4,h1', '2024-10-27T00:02:00.000Z,api,cpu,5,h2', '2024-10-27T00:03:00.000Z,api,cpu,6,'], zone: undefined, strict: false, crlf: false }],
          // Names and labels a PII rule rewrites: every row goes the general way, so each redaction is counted.
          [{ host: 'label', rows: ['2024-10-27T00:00:00.000Z,api,cpu,1,ana@corp.example', '2024-10-27T00:01:00.000Z,api,cpu,2,ana@corp.example', '2024-10-27T00:00:00.000Z,ana@corp.example,cpu,1,h1', '2024-10-27T00:01:00.000Z,ana@corp.example,cpu,2,h1'], zone: undefined, strict: false, crlf: false }],
          // A strict import past a bad row writes nothing more, but still scrubs (and counts) what it reads.
          [{ host: 'label', rows: ['2024-10-27T00:00:00.000Z,api,cpu,1,ana@corp.example', 'bad,api,cpu,1,h1', '2024-10-27T00:01:00.000Z,api,cpu,2,ana@corp.example'], zone: undefined, strict: true, crlf: false }],
          [{ host: 'none', rows: ['2024-10-27 02:00:00,api,cpu,1', '2024-10-27 02:30:00,api,cpu,null', '2024-10-27 02:10:00,api,cpu,2'], zone: 'Europe/Berlin', strict: false, crlf: false }],
        ],
      },
    );
  });

  it('holds to the general way without a service column (the import names the service), and with the columns in another order', async () => {
    const dir = tempDir('sbw-quick-');
    const lines = ['value,metric,when', '1.5,cpu,2024-04-01T10:00:00Z', '2.5,cpu,2024-04-01T10:01:00Z', 'null,cpu,2024-04-01T10:02:00Z', '3,mem,2024-04-01T10:03:00Z', '4,mem,2024-04-01T10:04:00Z', '5,cpu,bad'];
    const file = path.join(dir, 'single.csv');
    fs.writeFileSync(file, `${lines.join('\n')}\n`);
    const options: Partial<ReadRequest> = { defaultService: 'checkout', mapping: { when: 'timestamp' } };
    const general = await read(file, options, false);
    const quick = await read(file, options, true);
    expect(quick).toEqual(general);
    expect(quick.points.map((p) => [p[0], p[1], p[4]])).toEqual([['checkout', 'cpu', 1.5], ['checkout', 'cpu', 2.5], ['checkout', 'mem', 3], ['checkout', 'mem', 4]]);
  });

  it('counts a PII rule named like an object key, and keeps label columns named like one, the same both ways', async () => {
    const dir = tempDir('sbw-quick-');
    const file = path.join(dir, 'keys.csv');
    fs.writeFileSync(file, 'timestamp,service,metric,value,toString,__proto__\n2024-04-01T10:00:00Z,api,cpu,1,x,a\n2024-04-01T10:01:00Z,api,cpu,2,x,a\n2024-04-01T10:02:00Z,api,cpu,3,y,b\n');
    const options: Partial<ReadRequest> = { pii: { rules: [{ name: 'constructor', pattern: 'api' }], dropColumns: [], key: '11'.repeat(32) } };
    const general = await read(file, options, false);
    const quick = await read(file, options, true);
    expect(quick).toEqual(general);
    expect((general.report as { report: { redactions: unknown } }).report.redactions).toEqual({ constructor: 3 });
    expect(general.points.map((p) => p[2])).toEqual(['{"__proto__":"a","toString":"x"}', '{"__proto__":"a","toString":"x"}', '{"__proto__":"b","toString":"y"}']);
  });

  it('takes a plain row of a series it has learned, and sends every other row the general way in order', async () => {
    const points = new PointsBuilder(16);
    const cpu = points.seriesOf('api', 'cpu', '{}');
    const general: number[] = [];
    const read: number[] = [];
    const redacted: string[] = [];
    const quick = quickTelemetry({
      width: 4, columns: { ts: 0, service: 1, metric: 2, value: 3, labels: [] }, defaultService: null, time: { unit: 'auto' }, points, capacity: 16,
      push: async () => undefined, read: (line) => (read.push(line), true), general: (row) => void general.push(row.line), redacted: (rules) => void redacted.push(...rules),
    });
    quick.learn({ kind: 'telemetry', ts: 0, service: 'api', metric: 'cpu', labels: {}, value: 0 }, cpu, '', []);
    // A name a PII rule rewrote: learned under the file's name, its rows go to the rewritten series, each counting the redaction again.
    const hidden = points.seriesOf('[redacted:email:1234abcd]', 'cpu', '{}');
    quick.learn({ kind: 'telemetry', ts: 0, service: 'ana@corp.example', metric: 'cpu', labels: {}, value: 0 }, hidden, '', ['email']);
    const text = [
      '2024-04-01T10:00:00Z,api,cpu,1.5', // taken
      '2024-04-01T10:01:00Z,api,mem,2', // a series not learned yet
      '2024-04-01T10:02:00Z, api,cpu,3', // a cell to trim
      '2024-04-01T10:03:00Z,api,cpu,null', // a gap
      '2024-04-01T10:04:00Z,api,cpu,4,', // one field too many
      '2024-04-01T10:05:00Z,api,cpu,5\r', // a CRLF line: taken
      '', // blank: skipped the general way
      '2024-04-01T10:06:00Z,ana@corp.example,cpu,6', // taken, to the rewritten series
    ].join('\n');
    const toRow = (cells: string[], at: number): RawRow | null => (cells.join('') === '' ? null : { line: at, values: {} });
    await quick.lines(new PlainLines(text, 10, ',', toRow));
    expect(read).toEqual([10, 15, 17]);
    expect(general).toEqual([11, 12, 13, 14]);
    expect(redacted).toEqual(['email']);
    const batch = points.take();
    expect([...batch.series]).toEqual([cpu, cpu, hidden]);
    expect([...batch.ts]).toEqual([Date.UTC(2024, 3, 1, 10, 0), Date.UTC(2024, 3, 1, 10, 5), Date.UTC(2024, 3, 1, 10, 6)]);
    expect([...batch.value]).toEqual([1.5, 5, 6]);
    // The next stretch: what was searched in the last one (a line with no delimiter at its end) is not carried over.
    await quick.lines(new PlainLines('one column only', 20, ',', toRow));
    await quick.lines(new PlainLines('2024-04-01T10:07:00Z,api,cpu,7', 21, ',', toRow));
    expect(read).toEqual([10, 15, 17, 21]);
    expect(general).toEqual([11, 12, 13, 14, 20]);
  });
});
