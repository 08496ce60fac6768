import Database from 'better-sqlite3';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { freshEngine, importPath, writeFile } from '../helpers/workspace.js';

// A Grafana panel's CSV ("Download CSV", formatted time, dashboard in Europe/Berlin), every 10 minutes
// across the night clocks went back: 02:00-02:50 appears twice, first in CEST then in CET.
function grafanaAcrossFallBack(): { csv: string; instants: number[] } {
  const instants = Array.from({ length: 24 }, (_, i) => Date.UTC(2024, 9, 26, 23, 30) + i * 600_000);
  const wall = (t: number): string => new Intl.DateTimeFormat('sv-SE', { timeZone: 'Europe/Berlin', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' }).format(new Date(t));
  const rows = instants.map((t, i) => `${wall(t)},${100 + i}`);
  return { csv: `"Time","checkout-api p99"\n${rows.join('\n')}\n`, instants };
}

describe('imports across a clock change', () => {
  it('keep both passes of the repeated hour of a time-ordered export apart, and say how they were read', async () => {
    const { engine, dir, workspace } = await freshEngine();
    const { csv, instants } = grafanaAcrossFallBack();
    const file = writeFile(dir, 'grafana.csv', csv);
    const check = await importPath(engine, file, { kind: 'telemetry', timeZone: 'Europe/Berlin', defaultService: 'checkout-api', dryRun: true });
    expect(check).toMatchObject({ status: 'checked', rowsAccepted: 24, duplicatesSkipped: 0 });
    const report = await importPath(engine, file, { kind: 'telemetry', timeZone: 'Europe/Berlin', defaultService: 'checkout-api' });
    expect(report).toMatchObject({ status: 'imported', rowsAccepted: 24, duplicatesSkipped: 0, repeatedHour: { count: 12, example: '2024-10-27 02:00:00', zone: 'Europe/Berlin' } });
    expect(report.message).toContain('12 local times fell in the hour that happens twice in Europe/Berlin as daylight saving time ends (first: "2024-10-27 02:00:00")');
    engine.close();
    const db = new Database(workspace, { readonly: true });
    // Every sample at its own instant, in order, none lost to its twin.
    expect(db.prepare('SELECT ts FROM points ORDER BY ts').pluck().all()).toEqual(instants);
    expect(db.prepare('SELECT value FROM points ORDER BY ts').pluck().all()).toEqual(instants.map((_, i) => 100 + i));
    db.close();
  });

  it('read a local time the spring change skips with the offset before it, and count such times', async () => {
    const { engine, dir, workspace } = await freshEngine();
    // 02:30 never happens in New York on 2024-03-10: clocks go from 01:59 EST to 03:00 EDT.
    const csv = 'timestamp,service,metric,value\n2024-03-10 01:30:00,api,rps,1\n2024-03-10 02:30:00,api,rps,2\n2024-03-10 03:45:00,api,rps,3\n';
    const report = await importPath(engine, writeFile(dir, 'gap.csv', csv), { kind: 'telemetry', timeZone: 'America/New_York' });
    expect(report).toMatchObject({ status: 'imported', rowsAccepted: 3, duplicatesSkipped: 0, skippedHour: { count: 1, example: '2024-03-10 02:30:00', zone: 'America/New_York' }, repeatedHour: null });
    expect(report.message).toContain('1 local time fell in the hour skipped in America/New_York as daylight saving time begins (first: "2024-03-10 02:30:00"), which never happens there');
    engine.close();
    const db = new Database(workspace, { readonly: true });
    // 01:30 EST, 02:30 read as 03:30 EDT (07:30Z, not 06:30Z on top of 01:30 EST), 03:45 EDT.
    expect(db.prepare('SELECT ts FROM points ORDER BY ts').pluck().all()).toEqual([Date.UTC(2024, 2, 10, 6, 30), Date.UTC(2024, 2, 10, 7, 30), Date.UTC(2024, 2, 10, 7, 45)]);
    db.close();
  });

  it('read a repeated wall time as the later instant in the Americas too, and name both offsets when a row turns inconsistent', async () => {
    const { engine, dir } = await freshEngine();
    // ServiceNow display times in New York: opened 00:50, resolved 01:10 (EDT, 20 minutes later).
    const csv = 'id,service,severity,started,resolved\nINC1,api,2,2024-11-03 00:50:00,2024-11-03 01:10:00\nINC2,api,2,2024-11-03 01:40:00,2024-11-03 01:20:00\n';
    const report = await importPath(engine, writeFile(dir, 'sn.csv', csv), { kind: 'incidents', timeZone: 'America/New_York', acceptValidRows: true });
    expect(report.rejected).toEqual([{ line: 3, reason: 'resolved is before started; started is a local time that happens twice in America/New_York as daylight saving time ends. Give these times with their offset (01:40-04:00 or 01:40-05:00) to say which' }]);
    const incidents = await engine.call('incidents.page', { offset: 0, limit: 10 });
    // Resolved 01:10 is ambiguous; nearer the start just read (04:50Z) is 05:10Z (EDT).
    expect(incidents.rows.map((i) => [i.externalId, i.startedTs, i.resolvedTs])).toEqual([['INC1', Date.UTC(2024, 10, 3, 4, 50), Date.UTC(2024, 10, 3, 5, 10)]]);
    expect(report.repeatedHour).toMatchObject({ zone: 'America/New_York', example: '2024-11-03 01:10:00' });
    engine.close();
  });
});

describe('a file that cannot be read to its end', () => {
  it('is refused whole even accepting valid rows, and the dry run says so', async () => {
    const { engine, dir, workspace } = await freshEngine();
    const lines = Array.from({ length: 20_000 }, (_, i) => `${Date.UTC(2026, 0, 1) + i * 60_000},api,cpu,${i % 100}`);
    const whole = zlib.gzipSync(`timestamp,service,metric,value\n${lines.join('\n')}\n`);
    const file = writeFile(dir, 'cut.csv.gz', whole.subarray(0, Math.floor(whole.length / 2)));
    const check = await importPath(engine, file, { kind: 'telemetry', acceptValidRows: true, dryRun: true });
    expect(check.status).toBe('checked');
    expect(check.unreadFrom).toBeGreaterThan(1000);
    expect(check.message).toMatch(/the file cannot be read past line [\d,]+, so it would be refused whole, even accepting valid rows/);
    const report = await importPath(engine, file, { kind: 'telemetry', acceptValidRows: true });
    expect(report.status).toBe('refused');
    expect(report.message).toMatch(/cut\.csv\.gz: refused, it cannot be read past line [\d,]+ \(the file ends early or cannot be read: truncated gzip stream.*\)\. Nothing was imported — not even with "accept valid rows"/);
    engine.close();
    const db = new Database(workspace, { readonly: true });
    expect(db.prepare('SELECT count(*) FROM points').pluck().get()).toBe(0);
    expect(db.prepare('SELECT count(*) FROM sources').pluck().get()).toBe(0);
    db.close();
  });
});
