import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { changesCsv, freshEngine, heuristicRun, importPath, writeFile } from '../helpers/workspace.js';
import { cli } from '../helpers/cli.js';

const t0 = Date.UTC(2026, 0, 1);
const incidentsCsv = (ids: string[], offsetHours: number): string =>
  `id,service,severity,started,detected\n${ids.map((id, i) => `${id},api,2,${t0 + (i + offsetHours) * 3_600_000},${t0 + (i + offsetHours) * 3_600_000 + 600_000}`).join('\n')}\n`;

describe('undoing an import', () => {
  it('removes the incidents an import brought, lets the corrected file in again, and logs it', async () => {
    const { engine, dir, workspace } = await freshEngine();
    // Imported with the wrong offset (the export was in local time): undone, then imported right.
    const wrong = writeFile(dir, 'incidents.csv', incidentsCsv(['INC-1', 'INC-2', 'INC-3'], 5));
    const first = await importPath(engine, wrong, { kind: 'incidents' });
    const other = await importPath(engine, writeFile(dir, 'other.csv', incidentsCsv(['INC-9'], 40)), { kind: 'incidents' });
    expect((await engine.call('workspace.info', {})).counts.incidents).toBe(4);
    // The same file again is refused as already imported: the way out is to delete the import.
    expect(await importPath(engine, wrong, { kind: 'incidents' })).toMatchObject({
      status: 'duplicate-file', message: expect.stringContaining(`delete that import first: \`shadowbench sources delete --source ${first.sourceId}\``),
    });

    const deleted = await engine.call('sources.delete', { id: first.sourceId! });
    expect(deleted).toEqual({ id: first.sourceId, kind: 'incidents', fileName: 'incidents.csv', rows: 3, what: 'incidents' });
    const db = new Database(workspace, { readonly: true });
    expect(db.prepare('SELECT external_id FROM incidents ORDER BY external_id').pluck().all()).toEqual(['INC-9']);
    expect(db.prepare('SELECT id FROM sources').pluck().all()).toEqual([other.sourceId]);
    db.close();
    const again = await importPath(engine, wrong, { kind: 'incidents' });
    expect(again).toMatchObject({ status: 'imported', rowsAccepted: 3 });
    expect((await engine.call('workspace.info', {})).counts.incidents).toBe(4);

    const log = await engine.call('audit.list', { action: 'import.delete' });
    expect(log.rows.map((r) => r.subject)).toEqual([`incidents from incidents.csv (import ${first.sourceId})`]);
    expect(log.rows[0]!.payload).toMatchObject({ rows: 3 });
    expect(await engine.call('audit.verify', {})).toMatchObject({ ok: true });
    await expect(engine.call('sources.delete', { id: 999 })).rejects.toThrow('No import 999');
    engine.close();
  });

  it('keeps rows a later import replaced, which now belong to that import', async () => {
    const { engine, dir } = await freshEngine();
    const a = await importPath(engine, writeFile(dir, 'a.csv', incidentsCsv(['INC-1', 'INC-2'], 0)), { kind: 'incidents' });
    // INC-2 again with another start time, replacing the stored one.
    await importPath(engine, writeFile(dir, 'b.csv', `id,service,severity,started\nINC-2,api,1,${t0 + 99 * 3_600_000}\n`), { kind: 'incidents', updateExisting: true });
    expect(await engine.call('sources.delete', { id: a.sourceId! })).toMatchObject({ rows: 1 });
    const left = await engine.call('incidents.page', { offset: 0, limit: 10 });
    expect(left.rows.map((r) => [r.externalId, r.severity])).toEqual([['INC-2', 1]]);
    engine.close();
  });

  it('refuses what it cannot undo exactly, says why and what to do, and changes nothing', async () => {
    const { engine, dir, workspace } = await freshEngine();
    const telemetry = await importPath(engine, writeFile(dir, 'cpu.csv', `timestamp,service,metric,value\n${t0},api,cpu,0.5\n${t0 + 60_000},api,cpu,0.6\n`), { kind: 'telemetry' });
    const changes = await importPath(engine, writeFile(dir, 'changes.csv', changesCsv(200, 3_600_000, t0)), { kind: 'changes' });
    const model = await heuristicRun(engine);
    const counts = (await engine.call('workspace.info', {})).counts;

    await expect(engine.call('sources.delete', { id: telemetry.sourceId! })).rejects.toThrow(/Import \d+ \(telemetry from cpu\.csv\) cannot be undone exactly: .*Restore a backup/);
    await expect(engine.call('sources.delete', { id: changes.sourceId! })).rejects.toThrow(/has changes that run 1 scored; .*Delete the run first/);
    expect((await engine.call('workspace.info', {})).counts).toEqual(counts);

    // Through the command line: listed, refused with exit 2 and the reason, then allowed once the run is gone.
    engine.close();
    const list = await cli(['sources', 'list', '--workspace', workspace]);
    expect(list.code, list.err).toBe(0);
    expect(list.out).toMatch(new RegExp(`^\\s+${changes.sourceId}  changes\\s+\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d\\s+200 rows  changes\\.csv$`, 'm'));
    const refused = await cli(['sources', 'delete', '--workspace', workspace, '--source', String(changes.sourceId)]);
    expect(refused.code).toBe(2);
    expect(refused.err).toContain('Delete the run first');
    expect((await cli(['runs', 'delete', '--workspace', workspace, '--run', '1'])).code).toBe(0);
    const done = await cli(['sources', 'delete', '--workspace', workspace, '--source', String(changes.sourceId), '--json']);
    expect(done.code, done.err).toBe(0);
    expect(JSON.parse(done.out)).toEqual({ id: changes.sourceId, kind: 'changes', fileName: 'changes.csv', rows: 200, what: 'changes' });
    const db = new Database(workspace, { readonly: true });
    expect(db.prepare('SELECT count(*) FROM changes').pluck().get()).toBe(0);
    expect(db.prepare('SELECT count(*) FROM points').pluck().get()).toBe(2);
    db.close();
    expect(model).toBeGreaterThan(0);
  });
});
