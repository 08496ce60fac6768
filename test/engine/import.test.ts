import Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { freshEngine, importPath, writeFile } from '../helpers/workspace.js';

const GOOD = 'timestamp,service,metric,value,host\n' +
  '2026-09-01T00:00:00Z,api,cpu,10.5,a\n' +
  '2026-09-01T00:05:00Z,api,cpu,11,a\n' +
  '2026-09-01T00:00:00Z,api,cpu,3,b\n' +
  '1788221100,db,latency_ms,4.25,\n';

// Line numbers below count the header as line 1.
const BAD = 'timestamp,service,metric,value\n' +
  '2026-09-01T00:00:00Z,api,cpu,10\n' + // 2 ok
  '2026-09-01T00:05:00Z,api,cpu,lots\n' + // 3 wrong type
  '2026-09-01T00:10:00Z,api,cpu\n' + // 4 missing column
  'next tuesday,api,cpu,12\n' + // 5 unparseable time
  '2026-09-01T00:20:00Z,api,cpu,13\n'; // 6 ok
const BAD_UTF8 = Buffer.concat([Buffer.from(BAD), Buffer.from('2026-09-01T00:25:00Z,ap'), Buffer.from([0xff, 0xfe]), Buffer.from('i,cpu,14\n')]); // 7 bad UTF-8

function counts(workspace: string): Record<string, number> {
  const db = new Database(workspace, { readonly: true });
  const out: Record<string, number> = {};
  for (const t of ['sources', 'services', 'series', 'points', 'changes', 'incidents', 'alerts']) out[t] = db.prepare(`SELECT count(*) FROM ${t}`).pluck().get() as number;
  db.close();
  return out;
}

describe('importing telemetry', () => {
  it('stores long-format rows with extra columns as labels', async () => {
    const { engine, dir, workspace } = await freshEngine();
    const report = await importPath(engine, writeFile(dir, 'good.csv', GOOD), { kind: 'telemetry' });
    expect(report).toMatchObject({ status: 'imported', rowsRead: 4, rowsAccepted: 4, rowsRejected: 0, duplicatesSkipped: 0 });
    expect(report.mapping).toEqual({ timestamp: 'timestamp', service: 'service', metric: 'metric', value: 'value' });
    const series = await engine.call('series.list', { service: 'api' });
    expect(series.map((s) => [s.metric, s.labels, s.points])).toEqual([['cpu', { host: 'a' }, 2], ['cpu', { host: 'b' }, 1]]);
    const db = new Database(workspace, { readonly: true });
    expect(db.prepare("SELECT ts, value FROM points JOIN series ON series.id = series_id WHERE metric = 'latency_ms'").get()).toEqual({ ts: 1788221100000, value: 4.25 });
    db.close();
  });

  it('refuses a file with bad rows whole, naming every bad line and its reason', async () => {
    const { engine, dir, workspace } = await freshEngine();
    const before = counts(workspace);
    const report = await importPath(engine, writeFile(dir, 'bad.csv', BAD_UTF8), { kind: 'telemetry' });
    expect(report.status).toBe('refused');
    expect(report.rowsRejected).toBe(4);
    expect(report.rejected).toEqual([
      { line: 3, reason: 'value "lots" is not a number' },
      { line: 4, reason: 'expected 4 fields (timestamp,service,metric,value), found 3' },
      { line: 5, reason: expect.stringMatching(/^timestamp: unparseable timestamp "next tuesday"; write ISO 8601 or epoch time, or state its format/) },
      { line: 7, reason: expect.stringMatching(/^invalid UTF-8 in this row \(is the file in another encoding, such as Windows-1252/) },
    ]);
    expect(report.message).toMatch(/refused, 4 bad rows \(first at line 3/);
    expect(counts(workspace)).toEqual(before);
  });

  it('imports the valid rows when asked to accept them, and reports the rest', async () => {
    const { engine, dir, workspace } = await freshEngine();
    const report = await importPath(engine, writeFile(dir, 'bad.csv', BAD_UTF8), { kind: 'telemetry', acceptValidRows: true });
    expect(report).toMatchObject({ status: 'imported', rowsAccepted: 2, rowsRejected: 4 });
    expect(report.rejected.map((r) => r.line)).toEqual([3, 4, 5, 7]);
    expect(counts(workspace).points).toBe(2);
    const sources = await engine.call('sources.list', {});
    expect(sources[0]).toMatchObject({ rowsAccepted: 2, rowsRejected: 4, report: { rejected: report.rejected } });
  });

  it('refuses a file whose quote never closes, even accepting valid rows: the rows after it are not one bad row', async () => {
    const { engine, dir, workspace } = await freshEngine();
    const text = 'id,service,severity,started,title\nINC-1,api,2,2026-01-05T09:00:00Z,ok\nINC-2,api,2,2026-01-05T10:00:00Z,"Payment 5xx "spike" on /pay\nINC-3,api,2,2026-01-05T11:00:00Z,fine\nINC-4,api,2,2026-01-05T12:00:00Z,fine too\n';
    const report = await importPath(engine, writeFile(dir, 'quote.csv', text), { kind: 'incidents', acceptValidRows: true });
    expect(report).toMatchObject({ status: 'refused', unreadFrom: 3 });
    expect(report.message).toContain('line 3: a quoted field opens here and is never closed, so nothing after it can be read as rows');
    expect(counts(workspace).incidents).toBe(0);
  });

  it('reads gzip, and refuses a truncated gzip without leaving anything behind', async () => {
    const { engine, dir, workspace } = await freshEngine();
    const big = 'timestamp,service,metric,value\n' + Array.from({ length: 20000 }, (_, i) => `${1788220800 + i * 60},api,cpu,${(i * 7919) % 1000}`).join('\n') + '\n';
    const gz = zlib.gzipSync(big);
    const full = await importPath(engine, writeFile(dir, 'full.csv.gz', gz), { kind: 'telemetry' });
    expect(full).toMatchObject({ status: 'imported', rowsAccepted: 20000 });

    const { engine: e2, dir: d2, workspace: w2 } = await freshEngine();
    const truncated = writeFile(d2, 'cut.csv.gz', gz.subarray(0, Math.floor(gz.length * 0.6)));
    const refused = await importPath(e2, truncated, { kind: 'telemetry' });
    expect(refused.status).toBe('refused');
    expect(refused.rejected.at(-1)?.reason).toMatch(/truncated gzip stream/);
    expect(counts(w2).points).toBe(0);
    expect(counts(w2).sources).toBe(0);

    // Not even accepting valid rows: the rows after the break are not bad, they were never read.
    const partial = await importPath(e2, truncated, { kind: 'telemetry', acceptValidRows: true });
    expect(partial.status).toBe('refused');
    expect(partial.unreadFrom).toBeGreaterThan(5000);
    expect(partial.message).toContain('not even with "accept valid rows"');
    expect(counts(w2).points).toBe(0);
    void workspace;
  });

  it('stops at a line megabytes long instead of holding it whole, naming where it starts', async () => {
    const { engine, dir, workspace } = await freshEngine();
    // One good change, then a description of 6 MiB on one line (a 300 MB one took 2.7 GB and minutes).
    const head = 'id,service,timestamp,kind,description\nc1,api,2026-12-01T00:00:00Z,deploy,fine\n';
    const file = writeFile(dir, 'long.csv', `${head}c2,api,2026-12-01T01:00:00Z,deploy,${'x'.repeat(6 * 2 ** 20)}\n`);
    const refused = await importPath(engine, file, { kind: 'changes' });
    expect(refused.status).toBe('refused');
    expect(refused.rejected.at(-1)).toEqual({ line: 3, reason: expect.stringContaining(`the line that starts at byte ${Buffer.byteLength(head)} ("c2,api,2026-12-01T01:00:00Z,deploy,xxx`) });
    expect(refused.rejected.at(-1)!.reason).toMatch(/runs past 4 MiB without a line break/);
    expect(counts(workspace).changes).toBe(0);
    // Accepting valid rows does not take the rows before it alone: what follows it was never read.
    expect(await importPath(engine, file, { kind: 'changes', acceptValidRows: true })).toMatchObject({ status: 'refused', unreadFrom: 3 });
    expect(counts(workspace).changes).toBe(0);
    // NDJSON gets more room (an OTLP request per line can be large), but not without end.
    const nd = writeFile(dir, 'long.ndjson', `{"id":"c1","service":"api","timestamp":"2026-12-01T00:00:00Z","description":"${'y'.repeat(70 * 2 ** 20)}"}\n`);
    const ndRefused = await importPath(engine, nd, { kind: 'changes' });
    expect(ndRefused.status).toBe('refused');
    expect(ndRefused.rejected.at(-1)!.reason).toMatch(/the line that starts at byte 0 \("\{"id":"c1".*runs past 64 MiB/);
    expect(counts(workspace).changes).toBe(0);
  });

  it('counts apart the repeated points whose value differs from the one kept, in the file and against the workspace', async () => {
    const { engine, dir } = await freshEngine();
    const t0 = 1_788_220_800_000;
    // A few rows (written one by one at the end) and many (in 64-row statements), each with repeats.
    const small = `timestamp,service,metric,value\n${t0},api,cpu,1\n${t0},api,cpu,1\n${t0},api,cpu,99\n`;
    const first = await importPath(engine, writeFile(dir, 'small.csv', small), { kind: 'telemetry', timeUnit: 'ms' });
    expect(first).toMatchObject({ status: 'imported', rowsAccepted: 1, duplicatesSkipped: 2, pointsDiffering: 1 });
    expect(first.message).toContain('2 already present (a point for the same series and time was stored or read first; the first value is kept, whatever this one says; 1 of them with another value, which was dropped');
    const rows = Array.from({ length: 300 }, (_, i) => `${t0 + (i + 1) * 60_000},api,cpu,${i}`);
    // Every 30th point again with another value, and every 30th (offset) again with the same.
    for (let i = 0; i < 300; i += 30) rows.push(`${t0 + (i + 1) * 60_000},api,cpu,${i + 0.5}`);
    for (let i = 15; i < 300; i += 30) rows.push(`${t0 + (i + 1) * 60_000},api,cpu,${i}`);
    // And the first file's point, now with a third value: differs from the stored one.
    rows.push(`${t0},api,cpu,7`);
    const big = await importPath(engine, writeFile(dir, 'big.csv', `timestamp,service,metric,value\n${rows.join('\n')}\n`), { kind: 'telemetry', timeUnit: 'ms' });
    expect(big).toMatchObject({ status: 'imported', rowsAccepted: 300, duplicatesSkipped: 21, pointsDiffering: 11 });
    engine.close();
  });

  it('adds nothing when the same file is imported twice, or the same rows arrive in another file', async () => {
    const { engine, dir, workspace } = await freshEngine();
    const file = writeFile(dir, 'good.csv', GOOD);
    await importPath(engine, file, { kind: 'telemetry' });
    const after = counts(workspace);
    const again = await importPath(engine, file, { kind: 'telemetry' });
    expect(again).toMatchObject({ status: 'duplicate-file', rowsAccepted: 0, sourceId: 1 });
    expect(counts(workspace)).toEqual(after);
    const copy = await importPath(engine, writeFile(dir, 'copy.csv', GOOD + '2026-09-02T00:00:00Z,api,cpu,1,a\n'), { kind: 'telemetry' });
    expect(copy).toMatchObject({ status: 'imported', rowsAccepted: 1, duplicatesSkipped: 4 });
    // For points, "already present" says which value stays: a repeat may carry another number.
    expect(copy.message).toBe('copy.csv: 1 row imported, 4 already present (a point for the same series and time was stored or read first; the first value is kept, whatever this one says)');
    expect(counts(workspace).points).toBe(after.points! + 1);
  });

  it('counts repeats inside one file as duplicates, across the writer\'s multi-row inserts, keeping the first value', async () => {
    const { engine, dir, workspace } = await freshEngine();
    // 10,000 points on 7 series; every 3rd row repeats an earlier (series, time) with another value.
    const lines = ['timestamp,service,metric,value'];
    let repeats = 0;
    for (let i = 0; i < 10_000; i++) {
      const j = i % 3 === 2 ? Math.max(0, i - 2 - 3 * (i % 17)) : i; // an earlier row that is not itself a repeat
      if (j !== i) repeats++;
      lines.push(`${1788220800 + Math.floor(j / 7) * 60},svc-${j % 7},cpu,${j !== i ? -1 : i}`);
    }
    const report = await importPath(engine, writeFile(dir, 'repeats.csv', lines.join('\n')), { kind: 'telemetry' });
    expect(report).toMatchObject({ status: 'imported', rowsRead: 10_000, rowsAccepted: 10_000 - repeats, duplicatesSkipped: repeats });
    const db = new Database(workspace, { readonly: true });
    expect(db.prepare('SELECT count(*) FROM points').pluck().get()).toBe(10_000 - repeats);
    expect(db.prepare('SELECT count(*) FROM points WHERE value < 0').pluck().get()).toBe(0);
    // Rollups cover every stored point.
    expect(db.prepare('SELECT sum(n) FROM point_rollups WHERE level = 3600000').pluck().get()).toBe(10_000 - repeats);
    db.close();
  });

  it('sums the rollups of new series as it writes them, exactly as reading them back from the points would', async () => {
    const { engine, dir, workspace } = await freshEngine();
    // Out of time order, across day boundaries, negative values, three series; then a second file
    // that adds to one of them (an existing series: its rollups are recomputed from the table).
    const rows = (seed: number, n: number): string[] => Array.from({ length: n }, (_, i) => {
      const k = (i * 7919 + seed) % n;
      return `${1788220800 + k * 600},svc-${k % 3},lat,${((k * 31) % 200) - 100 + 0.25}`; // 800+ hours: buckets are written out as they pile up
    });
    await importPath(engine, writeFile(dir, 'a.csv', ['timestamp,service,metric,value', ...rows(1, 5000)].join('\n')), { kind: 'telemetry' });
    await importPath(engine, writeFile(dir, 'b.csv', ['timestamp,service,metric,value', ...rows(3, 5000).map((r) => r.replace(/^(\d+)/, (t) => String(Number(t) + 13)))].join('\n')), { kind: 'telemetry' });
    const db = new Database(workspace, { readonly: true });
    const stored = db.prepare('SELECT series_id, level, bucket_ts, lo, hi, total, n FROM point_rollups ORDER BY series_id, level, bucket_ts').all() as Record<string, number>[];
    const hourly = db.prepare(`SELECT series_id, 3600000 AS level, ts - (((ts % 3600000) + 3600000) % 3600000) AS bucket_ts, min(value) AS lo, max(value) AS hi, sum(value) AS total, count(*) AS n
      FROM points GROUP BY series_id, bucket_ts`).all() as Record<string, number>[];
    const daily = db.prepare(`SELECT series_id, 86400000 AS level, ts - (((ts % 86400000) + 86400000) % 86400000) AS bucket_ts, min(value) AS lo, max(value) AS hi, sum(value) AS total, count(*) AS n
      FROM points GROUP BY series_id, bucket_ts`).all() as Record<string, number>[];
    db.close();
    const expected = [...hourly, ...daily].sort((a, b) => a.series_id! - b.series_id! || a.level! - b.level! || a.bucket_ts! - b.bucket_ts!);
    expect(stored.length).toBe(expected.length);
    stored.forEach((r, i) => {
      const e = expected[i]!;
      expect([r.series_id, r.level, r.bucket_ts, r.lo, r.hi, r.n]).toEqual([e.series_id, e.level, e.bucket_ts, e.lo, e.hi, e.n]);
      expect(r.total).toBeCloseTo(e.total!, 6);
    });
    expect(stored.filter((r) => r.level === 3600000).reduce((a, r) => a + r.n!, 0)).toBe(10_000);
  });

  it('keeps characters whole across read boundaries, and counts lines across quoted line breaks', async () => {
    const { engine, dir } = await freshEngine();
    // 300 kB of rows whose service name has two-byte characters: some will straddle a 64 kB read.
    const rows = Array.from({ length: 6000 }, (_, i) => `${1788220800 + i * 60},café-größe,cpu,${i}`);
    const ok = await importPath(engine, writeFile(dir, 'utf8.csv', `timestamp,service,metric,value\n${rows.join('\n')}\n`), { kind: 'telemetry' });
    expect(ok).toMatchObject({ status: 'imported', rowsAccepted: 6000 });
    const quoted = 'id,service,timestamp,description\nc1,api,2026-09-01T00:00:00Z,"two\nlines"\n\nc2,api,2026-09-01T01:00:00Z,"a ""quote"""\nc3,api,not a time,x\n';
    const report = await importPath(engine, writeFile(dir, 'quoted.csv', quoted), { kind: 'changes', acceptValidRows: true });
    expect(report.rowsAccepted).toBe(2);
    expect(report.rejected).toEqual([{ line: 6, reason: expect.stringMatching(/timestamp/) }]);
    const page = await engine.call('changes.page', { order: 'asc' });
    expect(page.rows.map((c) => c.description)).toEqual(['two\nlines', 'a "quote"']);
  });

  it('names the missing field and the columns it found', async () => {
    const { engine, dir } = await freshEngine();
    const report = await importPath(engine, writeFile(dir, 'cols.csv', 'when,svc,value\n1,a,2\n'), { kind: 'telemetry' });
    expect(report.status).toBe('refused');
    expect(report.message).toBe('cols.csv: no column for required fields timestamp, service, metric (columns: when, svc, value). Map a column to it (in the import form, or --map COLUMN=FIELD).');
  });

  it('applies an explicit mapping and time unit', async () => {
    const { engine, dir, workspace } = await freshEngine();
    const report = await importPath(engine, writeFile(dir, 'mapped.csv', 'when,svc,name,v\n1788220800000,a,rps,5\n'), {
      kind: 'telemetry', mapping: { when: 'timestamp', svc: 'service', name: 'metric', v: 'value' }, timeUnit: 'ms',
    });
    expect(report.status).toBe('imported');
    const db = new Database(workspace, { readonly: true });
    expect(db.prepare('SELECT ts FROM points').pluck().get()).toBe(1788220800000);
    db.close();
  });
});

describe('importing changes, incidents and alerts', () => {
  it('reads NDJSON and CSV for each kind and links nothing it cannot see', async () => {
    const { engine, dir } = await freshEngine();
    const changes = [
      { id: 'c1', service: 'api', timestamp: '2026-09-01T10:00:00Z', kind: 'deploy', author: 'ana', lines_added: 120, files_changed: 4, rolled_back: true },
      { id: 'c2', service: 'db', timestamp: 1788260400, kind: 'config', lines_added: 2 },
    ].map((o) => JSON.stringify(o)).join('\n') + '\n';
    expect(await importPath(engine, writeFile(dir, 'changes.ndjson', changes), { kind: 'changes' })).toMatchObject({ status: 'imported', format: 'ndjson', rowsAccepted: 2 });
    const incidents = 'id,service,severity,started_at,detected_at,resolved_at,cause_change_id,title\nINC-1,api,SEV2,2026-09-01T10:30:00Z,2026-09-01T10:45:00Z,2026-09-01T11:30:00Z,c1,Errors\n';
    expect(await importPath(engine, writeFile(dir, 'incidents.csv', incidents), { kind: 'incidents' })).toMatchObject({ status: 'imported', rowsAccepted: 1 });
    const alerts = '{"service":"api","fired_at":"2026-09-01T10:40:00Z","name":"api errors"}\n';
    expect(await importPath(engine, writeFile(dir, 'alerts.jsonl', alerts), { kind: 'alerts' })).toMatchObject({ status: 'imported', rowsAccepted: 1 });

    const page = await engine.call('changes.page', { order: 'asc' });
    expect(page.total).toBe(2);
    expect(page.rows[0]).toMatchObject({ externalId: 'c1', service: 'api', author: expect.stringMatching(/^person-[0-9a-f]{10}$/) as unknown as string, attributes: { lines_added: 120, files_changed: 4 }, rolledBack: true });
    expect(page.rows[1]).toMatchObject({ externalId: 'c2', ts: 1788260400000, kind: 'config' });
    const inc = await engine.call('incidents.page', {});
    expect(inc.rows[0]).toMatchObject({ externalId: 'INC-1', severity: 2, causeChangeId: 'c1', detectedTs: Date.UTC(2026, 8, 1, 10, 45) });
    const al = await engine.call('alerts.page', {});
    expect(al.rows[0]).toMatchObject({ service: 'api', name: 'api errors', externalId: `api/api errors/${Date.UTC(2026, 8, 1, 10, 40)}` });
  });

  it('keeps incidents detected before they started, and says which (often a time-zone slip)', async () => {
    const { engine, dir } = await freshEngine();
    const head = 'id,service,severity,started_at,detected_at,title\n';
    const rows = [
      'INC-1,api,SEV2,2026-09-01T10:30:00Z,2026-09-01T10:45:00Z,fine',
      'INC-2,api,SEV2,2026-09-01T12:30:00Z,2026-09-01T10:40:00Z,an alert led the impact — or the zone slipped',
      'INC-3,db,SEV3,2026-09-02T08:00:00Z,,no detection time',
      'INC-4,db,SEV3,2026-09-02T09:00:00Z,2026-09-02T07:00:00+00:00,early again',
    ];
    const report = await importPath(engine, writeFile(dir, 'early.csv', `${head}${rows.join('\n')}\n`), { kind: 'incidents' });
    expect(report).toMatchObject({ status: 'imported', rowsAccepted: 4, detectedBeforeStart: { count: 2, lines: [3, 5] } });
    expect(report.message).toMatch(/2 incidents were detected before they started \(lines 3, 5\): kept as given, .*check the time zone/);
    const stored = await engine.call('incidents.page', { order: 'asc' });
    expect(stored.rows.find((r) => r.externalId === 'INC-2')!.detectedTs).toBe(Date.UTC(2026, 8, 1, 10, 40));
    // A dry run says so before anything is written.
    const dry = await engine.call('import.startPath', { path: writeFile(dir, 'early2.csv', `${head}INC-9,api,SEV1,2026-09-03T10:00:00Z,2026-09-03T09:00:00Z,x\n`), kind: 'incidents', dryRun: true });
    const checked = (await engine.jobs.wait(dry.jobId)).result as typeof report;
    expect(checked).toMatchObject({ status: 'checked', detectedBeforeStart: { count: 1, lines: [2] } });
    expect(checked.message).toMatch(/1 incident was detected before it started \(line 2\)/);
  });

  it('says which rows an earlier import stored with other values, and keeps them as stored', async () => {
    const { engine, dir, workspace } = await freshEngine();
    const head = 'id,service,severity,started_at,detected_at,resolved_at,title\n';
    const first = await importPath(engine, writeFile(dir, 'inc-monday.csv', `${head}INC-1,api,SEV2,2026-09-01T10:30:00Z,2026-09-01T10:45:00Z,,Errors\nINC-2,db,SEV3,2026-09-01T12:00:00Z,,,Slow\n`), { kind: 'incidents' });
    // A week later the export has INC-1 resolved, INC-2 unchanged, and a new INC-3.
    const later = await importPath(engine, writeFile(dir, 'inc-tuesday.csv', `${head}INC-1,api,SEV2,2026-09-01T10:30:00Z,2026-09-01T10:45:00Z,2026-09-01T11:30:00Z,Errors\nINC-2,db,SEV3,2026-09-01T12:00:00Z,,,Slow\nINC-3,api,SEV1,2026-09-02T08:00:00Z,,,Down\n`), { kind: 'incidents' });
    expect(later).toMatchObject({ status: 'imported', rowsAccepted: 1, duplicatesSkipped: 2, rowsConflicting: 1, conflicts: [{ kind: 'incidents', id: 'INC-1', fields: ['resolved'], sourceId: first.sourceId }] });
    expect(later.message).toBe(`inc-tuesday.csv: 1 row imported, 2 already present (1 of them stored with other values, kept as stored; first: incident INC-1, resolved differs from source #${first.sourceId})`);
    const db = new Database(workspace, { readonly: true });
    expect(db.prepare("SELECT resolved_ts FROM incidents WHERE external_id = 'INC-1'").pluck().get()).toBeNull();
    db.close();
    // Changes too, several fields at once; a dry run says the same before anything is written.
    const changes = 'id,service,timestamp,rolled_back,lines_added\n';
    await importPath(engine, writeFile(dir, 'c1.csv', `${changes}c1,api,2026-09-01T10:00:00Z,false,10\n`), { kind: 'changes' });
    const check = await importPath(engine, writeFile(dir, 'c2.csv', `${changes}c1,api,2026-09-01T10:00:00Z,true,12\n`), { kind: 'changes', dryRun: true });
    expect(check).toMatchObject({ status: 'checked', rowsConflicting: 1, conflicts: [{ kind: 'changes', id: 'c1', fields: ['attributes', 'rolled_back'] }] });
  });

  it('updates rows stored with other values to the file\'s when asked, and the file becomes their source', async () => {
    const { engine, dir, workspace } = await freshEngine();
    const head = 'id,service,severity,started_at,resolved_at,title\n';
    await importPath(engine, writeFile(dir, 'monday.csv', `${head}INC-1,api,SEV2,2026-09-01T10:30:00Z,,Errors\nINC-2,db,SEV3,2026-09-01T12:00:00Z,,Slow\n`), { kind: 'incidents' });
    const tuesday = writeFile(dir, 'tuesday.csv', `${head}INC-1,api,SEV2,2026-09-01T10:30:00Z,2026-09-01T11:30:00Z,Errors\nINC-2,db,SEV3,2026-09-01T12:00:00Z,,Slow\n`);
    // A dry run says what would change and changes nothing.
    const check = await importPath(engine, tuesday, { kind: 'incidents', updateExisting: true, dryRun: true });
    expect(check.message).toContain('1 of them stored with other values, would be updated to the file\'s; first: incident INC-1, resolved differs');
    const resolved = (): unknown => {
      const db = new Database(workspace, { readonly: true });
      const row = db.prepare("SELECT resolved_ts, source_id FROM incidents WHERE external_id = 'INC-1'").get();
      db.close();
      return row;
    };
    expect(resolved()).toMatchObject({ resolved_ts: null });
    const report = await importPath(engine, tuesday, { kind: 'incidents', updateExisting: true });
    expect(report).toMatchObject({ status: 'imported', rowsAccepted: 0, duplicatesSkipped: 2, rowsConflicting: 1, conflictsUpdated: true });
    expect(report.message).toContain('updated to the file\'s');
    expect(resolved()).toEqual({ resolved_ts: Date.parse('2026-09-01T11:30:00Z'), source_id: report.sourceId });
    // The audit log says an import overwrote stored rows, and which.
    const log = (await engine.call('audit.list', { action: 'import.start' })).rows;
    expect(log[0]!.subject).toBe('incidents from tuesday.csv, updating stored rows that differ');
    const finished = (await engine.call('audit.list', { action: 'import.finish' })).rows[0]!.payload as { result: { updated: unknown[] } };
    expect(finished.result.updated).toEqual([{ kind: 'incidents', id: 'INC-1', fields: ['resolved'], sourceId: expect.any(Number) }]);
    // The unchanged INC-2 keeps its first source.
    const db = new Database(workspace, { readonly: true });
    expect(db.prepare("SELECT source_id FROM incidents WHERE external_id = 'INC-2'").pluck().get()).not.toBe(report.sourceId);
    db.close();
  });

  it('reports bad NDJSON lines by number', async () => {
    const { engine, dir } = await freshEngine();
    const text = '{"id":"c1","service":"a","timestamp":1700000000}\n{"id":\n[1,2]\n{"id":"c3","service":{"x":1},"timestamp":1700000000}\n';
    const report = await importPath(engine, writeFile(dir, 'bad.ndjson', text), { kind: 'changes' });
    expect(report.status).toBe('refused');
    expect(report.rejected).toEqual([
      { line: 2, reason: expect.stringMatching(/^invalid JSON/) },
      { line: 3, reason: 'each line must be a JSON object' },
      { line: 4, reason: 'service must be text, got object' },
    ]);
  });

  it('upserts services with tiers and dependencies', async () => {
    const { engine, dir } = await freshEngine();
    await importPath(engine, writeFile(dir, 'services.csv', 'name,tier,team,depends_on\napi,1,core,db;cache\ndb,1,data,\n'), { kind: 'services' });
    const services = await engine.call('services.list', {});
    expect(services.map((s) => [s.name, s.tier, s.dependsOn])).toEqual([['api', 1, ['cache', 'db']], ['db', 1, []], ['cache', null, []]]);
  });
});

describe('import jobs', () => {
  it('can be cancelled and leave the workspace exactly as it was', async () => {
    const { engine, dir, workspace } = await freshEngine();
    await importPath(engine, writeFile(dir, 'good.csv', GOOD), { kind: 'telemetry' });
    const before = counts(workspace);
    const rows = Array.from({ length: 400_000 }, (_, i) => `${1788220800 + i * 60},svc${i % 7},cpu,${i % 100}`).join('\n');
    const file = writeFile(dir, 'big.csv', `timestamp,service,metric,value\n${rows}\n`);
    const { jobId } = await engine.call('import.startPath', { kind: 'telemetry', path: file });
    const seen: number[] = [];
    const stop = engine.onEvent((e) => {
      if (e.job.id === jobId && e.job.state === 'running' && (e.job.progress.fraction ?? 0) > 0) {
        seen.push(e.job.progress.fraction!);
        if (seen.length === 1) engine.jobs.cancel(jobId);
      }
    });
    const job = await engine.jobs.wait(jobId);
    stop();
    expect(seen.length).toBeGreaterThan(0);
    expect(job.state).toBe('cancelled');
    expect(counts(workspace)).toEqual(before);
    const db = new Database(workspace, { readonly: true });
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    db.close();
    expect(fs.existsSync(path.join(dir, 'big.csv'))).toBe(true);
  });
});
