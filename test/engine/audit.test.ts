import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli.js';
import { appendAudit, entryHash, verifyAudit } from '../../electron/engine/audit/audit.js';
import { openWorkspace } from '../../electron/engine/db/workspace.js';
import { createEngine } from '../../electron/engine/engine.js';
import { importPath, tempDir, writeFile } from '../helpers/workspace.js';


/** What an insider with the sqlite3 shell would do: drop the triggers, then edit. */
function sqlite(file: string, sql: string): void {
  const r = spawnSync('sqlite3', [file], { input: `DROP TRIGGER IF EXISTS audit_no_update; DROP TRIGGER IF EXISTS audit_no_delete;\n${sql}\n`, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
}

let file: string;

beforeEach(() => {
  file = path.join(tempDir(), 'audit.sbw');
  const db = openWorkspace(file, { create: true });
  for (let i = 1; i <= 10; i++) appendAudit(db, { actor: 'ana', action: 'model.add', subject: `model m${i} v1`, payload: { id: i, note: `entry ${i}` } });
  db.close();
});

describe('the audit log', () => {
  it('verifies an intact chain and refuses UPDATE and DELETE', async () => {
    const r = await cli(['audit', 'verify', '--workspace', file]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^audit log intact: 10 entries; head #10 [0-9a-f]{64}\n$/);
    const db = openWorkspace(file);
    expect(() => db.prepare("UPDATE audit_log SET actor = 'eve' WHERE seq = 3").run()).toThrow(/append-only/);
    expect(() => db.prepare('DELETE FROM audit_log WHERE seq = 3').run()).toThrow(/append-only/);
    db.close();
  });

  it('names the entry whose payload was edited', async () => {
    sqlite(file, `UPDATE audit_log SET payload = '{"id":4,"note":"nothing to see"}' WHERE seq = 4;`);
    const r = await cli(['audit', 'verify', '--workspace', file]);
    expect(r.code).toBe(1);
    expect(r.out).toContain('BROKEN at entry #4: entry #4 was altered');
  });

  it('names the gap where a row was deleted', async () => {
    sqlite(file, 'DELETE FROM audit_log WHERE seq = 6;');
    const r = await cli(['audit', 'verify', '--workspace', file, '--json']);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.out)).toMatchObject({ ok: false, firstBad: 6, reason: 'entry #6 is missing (the log jumps from #5 to #7)' });
  });

  it('finds the newest rows removed, even after the app has written again', async () => {
    sqlite(file, 'DELETE FROM audit_log WHERE seq >= 9;');
    const db = openWorkspace(file);
    expect(verifyAudit(db)).toMatchObject({ ok: false, firstBad: 9, reason: 'entries #9–#10 were removed from the end of the log' });
    // The next entry links from the recorded head, so the hole stays visible.
    appendAudit(db, { actor: 'ana', action: 'model.add', subject: 'model m11 v1' });
    expect(verifyAudit(db)).toMatchObject({ ok: false, firstBad: 9, reason: 'entry #9 is missing (the log jumps from #8 to #11)' });
    db.close();
  });

  it('finds a log emptied together with its head, when the workspace holds what it recorded', async () => {
    const db = openWorkspace(file);
    db.prepare("INSERT INTO sources (kind, format, file_name, sha256, byte_size, rows_accepted, rows_rejected, options, report, imported_at) VALUES ('changes', 'csv', 'c.csv', 'x', 10, 3, 0, '{}', '{}', 0)").run();
    db.close();
    sqlite(file, "DELETE FROM audit_log; DELETE FROM meta WHERE key = 'audit.head';");
    const r = await cli(['audit', 'verify', '--workspace', file]);
    expect(r.code).toBe(1);
    expect(r.out).toContain('the log is empty, but the workspace holds 1 import: every entry was removed');
    // A new, empty workspace has nothing to account for.
    expect(verifyAudit(openWorkspace(path.join(tempDir(), 'empty.sbw'), { create: true }))).toMatchObject({ ok: true, entries: 0 });
  });

  it('says the log was removed when its table is gone (exit 1, not an unexpected failure)', async () => {
    sqlite(file, 'DROP TABLE audit_log;');
    const r = await cli(['audit', 'verify', '--workspace', file]);
    expect(r.code).toBe(1);
    expect(r.out).toContain('the audit log table itself has been removed');
  });

  it('finds a row inserted, with or without renumbering', async () => {
    sqlite(file, "INSERT INTO audit_log (seq, ts, actor, action, subject, payload, prev_hash, hash) VALUES (11, 0, 'eve', 'model.retire', 'x', '{}', 'f', 'f');");
    expect(verifyAudit(openWorkspace(file))).toMatchObject({ ok: false, firstBad: 11, reason: 'entry #11 does not follow entry #10: a row was inserted, removed or reordered there' });
  });

  it('finds two rows swapped', async () => {
    sqlite(file, `CREATE TEMP TABLE t AS SELECT * FROM audit_log WHERE seq IN (3, 4);
      UPDATE audit_log SET ts = (SELECT ts FROM t WHERE seq = 4), actor = (SELECT actor FROM t WHERE seq = 4), action = (SELECT action FROM t WHERE seq = 4), subject = (SELECT subject FROM t WHERE seq = 4), payload = (SELECT payload FROM t WHERE seq = 4), prev_hash = (SELECT prev_hash FROM t WHERE seq = 4), hash = (SELECT hash FROM t WHERE seq = 4) WHERE seq = 3;
      UPDATE audit_log SET ts = (SELECT ts FROM t WHERE seq = 3), actor = (SELECT actor FROM t WHERE seq = 3), action = (SELECT action FROM t WHERE seq = 3), subject = (SELECT subject FROM t WHERE seq = 3), payload = (SELECT payload FROM t WHERE seq = 3), prev_hash = (SELECT prev_hash FROM t WHERE seq = 3), hash = (SELECT hash FROM t WHERE seq = 3) WHERE seq = 4;`);
    expect(verifyAudit(openWorkspace(file))).toMatchObject({ ok: false, firstBad: 3 });
  });

  it('finds the guards removed: dropped triggers, a missing head, a payload stored other than as hashed', async () => {
    // Triggers dropped, nothing edited (yet): the chain holds, but the log can now be edited in place.
    sqlite(file, 'SELECT 1;');
    const r = await cli(['audit', 'verify', '--workspace', file]);
    expect([r.code, r.out]).toEqual([1, expect.stringMatching(/^audit log BROKEN: the chain holds, but the triggers that refuse editing the log \(audit_no_update, audit_no_delete\) were dropped or changed/)]);
    // A trigger of the same name that does nothing is no guard.
    const neutered = path.join(tempDir(), 'neutered.sbw');
    const n = openWorkspace(neutered, { create: true });
    appendAudit(n, { actor: 'ana', action: 'model.add', subject: 'm' });
    n.exec('DROP TRIGGER audit_no_update; CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit_log WHEN 0 BEGIN SELECT 1; END;');
    expect(verifyAudit(n)).toMatchObject({ ok: false, firstBad: null, reason: expect.stringContaining('(audit_no_update) were dropped or changed') });
    n.close();
    // The head removed: the newest entries could go unseen.
    const copy = path.join(tempDir(), 'nohead.sbw');
    const db = openWorkspace(copy, { create: true });
    appendAudit(db, { actor: 'ana', action: 'model.add', subject: 'm' });
    db.close();
    spawnSync('sqlite3', [copy], { input: "DELETE FROM meta WHERE key = 'audit.head';" });
    expect(verifyAudit(openWorkspace(copy))).toMatchObject({ ok: false, firstBad: null, reason: expect.stringContaining('the recorded head (meta "audit.head") is missing') });
    // A duplicate key: SQL's json_extract reads the first value, JSON.parse (and so the hash) the last.
    sqlite(file, `UPDATE audit_log SET payload = '{"id":5,"note":"a lie","note":"entry 5"}' WHERE seq = 5;`);
    expect(verifyAudit(openWorkspace(file))).toMatchObject({ ok: false, firstBad: 5, reason: expect.stringContaining('its payload is not stored as it was written') });
  });

  it('holds a head recorded elsewhere against a chain rewritten with every hash and the head fixed', async () => {
    const recorded = (verifyAudit(openWorkspace(file)) as { head: string }).head;
    const db = openWorkspace(file);
    appendAudit(db, { actor: 'ana', action: 'model.add', subject: 'model m11 v1' });
    db.close();
    // The log has grown since the head was recorded: it still holds it.
    expect((await cli(['audit', 'verify', '--workspace', file, '--expect-head', recorded])).code).toBe(0);
    // Rewrite entry 3 and every hash after it, head included, with the app's own hashing, and put the triggers back.
    sqlite(file, "SELECT 1;");
    const w = openWorkspace(file);
    const rows = w.prepare('SELECT seq, ts, actor, action, subject, payload FROM audit_log ORDER BY seq').all() as Array<{ seq: number; ts: number; actor: string; action: string; subject: string; payload: string }>;
    let prev = '0'.repeat(64);
    for (const r of rows) {
      const subject = r.seq === 3 ? 'model m3 v2' : r.subject;
      const hash = entryHash(prev, { seq: r.seq, ts: r.ts, actor: r.actor, action: r.action, subject, payload: JSON.parse(r.payload) });
      w.prepare('UPDATE audit_log SET subject = ?, prev_hash = ?, hash = ? WHERE seq = ?').run(subject, prev, hash, r.seq);
      prev = hash;
    }
    w.prepare("UPDATE meta SET value = ? WHERE key = 'audit.head'").run(`${rows.length}:${prev}`);
    w.exec("CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END; CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit_log BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;");
    w.close();
    expect((await cli(['audit', 'verify', '--workspace', file])).code).toBe(0);
    const r = await cli(['audit', 'verify', '--workspace', file, '--expect-head', recorded]);
    expect(r.code).toBe(1);
    expect(r.out).toContain(`BROKEN at entry #10: entry #10 is not the one recorded outside the workspace`);
    expect((await cli(['audit', 'verify', '--workspace', file, '--expect-head', `#0 ${'0'.repeat(64)}`])).code).toBe(2);
    const shorter = await cli(['audit', 'verify', '--workspace', file, '--expect-head', `#99 ${'a'.repeat(64)}`]);
    expect(shorter.out).toContain('the log ends at entry #11, but entry #99 was recorded outside the workspace');
  });

  it('verifies an intact chain of 100k entries', () => {
    const big = path.join(tempDir(), 'big.sbw');
    const db = openWorkspace(big, { create: true });
    db.transaction(() => {
      for (let i = 0; i < 100_000; i++) appendAudit(db, { actor: 'ci', action: 'feedback.add', subject: `change ${i}`, payload: { i, verdict: i % 3 ? 'agree' : 'disagree' } });
    })();
    expect(verifyAudit(db)).toMatchObject({ ok: true, entries: 100_000 });
    db.close();
  }, 120_000);
});

describe('what writes to the audit log', () => {
  it('records imports, model changes and runs with who and when', async () => {
    const dir = tempDir();
    const engine = createEngine({ workspacesDir: dir, actor: 'sam' });
    await engine.call('workspace.openPath', { path: path.join(dir, 'w.sbw'), create: true });
    await importPath(engine, writeFile(dir, 'changes.csv', 'id,service,timestamp,lines_added\nc1,api,2026-09-01T00:00:00Z,10\nc2,api,2026-09-02T00:00:00Z,300\n'), { kind: 'changes' });
    const m = await engine.call('models.train', { name: 'rules', kind: 'heuristic' });
    await engine.call('roles.setChampion', { modelId: m.id });
    // Naming the champion it already is changes nothing and writes nothing.
    expect(await engine.call('roles.setChampion', { modelId: m.id })).toEqual({ championId: m.id, changed: false });
    await engine.call('models.retire', { id: m.id });
    await expect(engine.call('models.retire', { id: m.id })).rejects.toThrow('Model rules v1 is already retired');
    const log = await engine.call('audit.list', {});
    expect(log.rows.map((e) => e.action).reverse()).toEqual(['import.start', 'import.finish', 'model.train', 'model.status', 'model.retire']);
    // Retiring the champion left the task without one: its entry says so.
    expect(log.rows[0]!.payload).toMatchObject({ id: m.id, champion: 'none: it was the champion' });
    expect(log.rows.every((e) => e.actor === 'sam')).toBe(true);
    const source = (await engine.call('sources.list', {}))[0]!;
    // The import is named by its source id and its file's content, so the log can be checked against both.
    expect(log.rows.find((e) => e.action === 'import.finish')!.payload).toMatchObject({ state: 'done', result: { id: source.id, rowsAccepted: 2, sha256: source.sha256, bytes: source.bytes } });
    expect(await engine.call('audit.verify', {})).toMatchObject({ ok: true, entries: 5 });
    // Saving a mapping, exporting a model's weights and a deploy's advisory score are logged too.
    await engine.call('mappings.save', { name: 'pd', options: { kind: 'incidents' } });
    const lr = await engine.call('models.train', { name: 'lr', kind: 'heuristic' });
    await engine.call('changes.score', { modelId: lr.id, change: { id: 'PR-1', service: 'api', attributes: { lines_added: 900 } } });
    const more = (await engine.call('audit.list', {})).rows.map((e) => `${e.action} ${e.subject}`);
    expect(more).toContain('mapping.save mapping pd v1');
    expect(more).toContain('change.score PR-1 by lr v1');
    engine.close();
  });

  it('keeps an entry while another program holds the write lock, and writes it at close at the latest', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'w.sbw');
    const engine = createEngine({ workspacesDir: dir, actor: 'sam' });
    await engine.call('workspace.openPath', { path: file, create: true });
    await importPath(engine, writeFile(dir, 'changes.csv', 'id,service,timestamp,lines_added\nc1,api,2026-09-01T00:00:00Z,10\n'), { kind: 'changes' });
    const other = openWorkspace(file);
    other.exec('BEGIN IMMEDIATE');
    // A read under the lock works; its entry cannot be written yet, so it waits in the queue.
    expect((await engine.call('datasets.export', {})).rows).toBe(1);
    // A write under the lock is refused by name, not as an unexpected failure.
    await expect(engine.call('settings.setPii', { rules: [], dropColumns: ['x'] })).rejects.toThrow(/w\.sbw is busy: another program is writing to it/);
    other.exec('COMMIT');
    other.close();
    engine.close();
    const db = openWorkspace(file);
    expect(db.prepare('SELECT action FROM audit_log ORDER BY seq').pluck().all()).toEqual(['import.start', 'import.finish', 'dataset.export']);
    expect(verifyAudit(db)).toMatchObject({ ok: true, entries: 3 });
    db.close();
  }, 20_000);
});

describe('audit entries while another program holds the write lock', () => {
  /** A second process that holds the workspace's write lock for `ms`, as a long import would. */
  async function holdLock(workspace: string, ms: number): Promise<void> {
    const { spawn } = await import('node:child_process');
    const child = spawn(process.execPath, ['-e', `const D = require('better-sqlite3'); const db = new D(${JSON.stringify(workspace)}); db.exec('BEGIN IMMEDIATE'); console.log('locked'); setTimeout(() => { db.exec('COMMIT'); db.close(); }, ${ms});`], { cwd: path.join(import.meta.dirname, '../..'), stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
  }
  const backups = (log: { rows: Array<{ action: string }> }): number => log.rows.filter((e) => e.action === 'workspace.backup').length;

  it('waits for the lock to write a backup\'s entry, then exits 0', async () => {
    const dir = tempDir();
    await holdLock(file, 2500);
    const r = await cli(['backup', '--workspace', file, '--out', path.join(dir, 'b.sbw')]);
    expect([r.code, r.err]).toEqual([0, expect.stringContaining('waiting for') as unknown as string]);
    const engine = createEngine({ workspacesDir: dir });
    await engine.call('workspace.openPath', { path: file });
    expect(backups(await engine.call('audit.list', {}))).toBe(1);
    engine.close();
  });

  it('fails the command, naming what happened, when the entry cannot be written in time', async () => {
    const dir = tempDir();
    process.env.SBW_AUDIT_WAIT_MS = '600';
    try {
      await holdLock(file, 4000);
      const r = await cli(['backup', '--workspace', file, '--out', path.join(dir, 'b.sbw')]);
      expect(r.code).toBe(2);
      expect(r.err).toContain('1 audit entry of this command could not be written');
      expect(r.err).toContain('What the command did stands, but the log does not show it');
    } finally {
      delete process.env.SBW_AUDIT_WAIT_MS;
    }
  });
});
