import Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openWorkspace, PAGE_SIZE } from '../../electron/engine/db/workspace.js';
import { LATEST_VERSION, migrations } from '../../electron/engine/db/migrations/index.js';
import { createEngine, UPLOAD_TTL_MS } from '../../electron/engine/engine.js';
import { freshEngine, importPath, tempDir, writeFile } from '../helpers/workspace.js';
import { cli } from '../helpers/cli.js';

describe('workspace files', () => {
  it('creates a workspace with WAL, foreign keys and every migration applied', () => {
    const file = path.join(tempDir(), 'new.sbw');
    const db = openWorkspace(file, { create: true });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(db.pragma('user_version', { simple: true })).toBe(LATEST_VERSION);
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all();
    expect(tables).toEqual(expect.arrayContaining(['sources', 'services', 'series', 'points', 'changes', 'incidents', 'alerts']));
    db.close();
    // Re-opening applies nothing twice.
    const again = openWorkspace(file);
    expect(again.prepare("SELECT count(*) FROM meta WHERE key = 'format'").pluck().get()).toBe(1);
    again.close();
  });

  it('gives a new workspace 16 KiB pages and leaves an older one with 4 KiB pages as it is', () => {
    const dir = tempDir();
    const fresh = openWorkspace(path.join(dir, 'new.sbw'), { create: true });
    expect(fresh.pragma('page_size', { simple: true })).toBe(PAGE_SIZE);
    expect(PAGE_SIZE).toBe(16384);
    fresh.close();
    // A workspace made before (SQLite's default pages): rewritten to 4 KiB the way only VACUUM can.
    const file = path.join(dir, 'older.sbw');
    const old = openWorkspace(file, { create: true });
    old.prepare("INSERT INTO services (name) VALUES ('api')").run();
    old.pragma('journal_mode = DELETE');
    old.pragma('page_size = 4096');
    old.exec('VACUUM');
    old.pragma('journal_mode = WAL');
    old.close();
    const reopened = openWorkspace(file);
    expect(reopened.pragma('page_size', { simple: true })).toBe(4096);
    expect(reopened.prepare('SELECT name FROM services').pluck().all()).toEqual(['api']);
    reopened.close();
  });

  it('refuses a text file, an empty file and a stranger\'s SQLite database with a clear message', () => {
    const dir = tempDir();
    const text = path.join(dir, 'notes.sbw');
    fs.writeFileSync(text, 'these are my notes, not a database\n'.repeat(20));
    expect(() => openWorkspace(text)).toThrow(/is not a Shadowbench workspace/);
    const empty = path.join(dir, 'empty.sbw');
    fs.writeFileSync(empty, '');
    expect(() => openWorkspace(empty)).toThrow(/empty file, not a Shadowbench workspace/);
    const other = path.join(dir, 'other.db');
    const db = new Database(other);
    db.exec('CREATE TABLE t (x)');
    db.close();
    expect(() => openWorkspace(other)).toThrow(/an SQLite database but not a Shadowbench workspace/);
    // Refusing must not have changed the stranger's file.
    expect(new Database(other).prepare("SELECT count(*) FROM sqlite_master").pluck().get()).toBe(1);
  });

  it('refuses a workspace written by a newer version and leaves it untouched', () => {
    const file = path.join(tempDir(), 'future.sbw');
    openWorkspace(file, { create: true }).close();
    const raw = new Database(file);
    raw.pragma(`user_version = ${LATEST_VERSION + 5}`);
    raw.close();
    expect(() => openWorkspace(file)).toThrow(`newer Shadowbench (schema ${LATEST_VERSION + 5}; this version understands up to ${LATEST_VERSION})`);
    const check = new Database(file);
    expect(check.pragma('user_version', { simple: true })).toBe(LATEST_VERSION + 5);
    check.close();
  });

  it('reports a damaged workspace instead of opening it', () => {
    const file = path.join(tempDir(), 'damaged.sbw');
    const db = openWorkspace(file, { create: true });
    db.exec('CREATE TABLE filler (x TEXT)');
    const insert = db.prepare('INSERT INTO filler VALUES (?)');
    for (let i = 0; i < 2000; i++) insert.run(`row ${i} ${'x'.repeat(200)}`);
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.close();
    const bytes = fs.readFileSync(file);
    // Scribble over the middle pages, as a bad disk or a partial copy would.
    bytes.fill(0x41, 8192, 8192 + 4096 * 4);
    fs.writeFileSync(file, bytes);
    expect(() => openWorkspace(file)).toThrow(/integrity check|not a Shadowbench workspace|malformed/);
  });

  it('refuses, untouched, a backup restored over a crashed workspace whose log is still beside it; its own log after a crash is replayed', () => {
    const dir = tempDir();
    const main = path.join(dir, 'main.sbw');
    const db = openWorkspace(main, { create: true });
    db.exec('CREATE TABLE filler (x TEXT)');
    const insert = db.prepare('INSERT INTO filler VALUES (?)');
    const batch = (tag: string): void => db.transaction(() => { for (let i = 0; i < 3000; i++) insert.run(`${tag} ${i} ${'x'.repeat(200)}`); })();
    db.pragma('wal_checkpoint(TRUNCATE)');
    const backup = path.join(dir, 'last-week.sbw');
    fs.copyFileSync(main, backup);
    // This week's work reaches the file; then more is committed to the log and the app is killed.
    batch('week');
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.pragma('wal_autocheckpoint = 0');
    batch('today');
    for (const f of ['main.sbw', 'main.sbw-wal']) fs.copyFileSync(path.join(dir, f), path.join(dir, `crashed-${f}`));
    const log = path.join(dir, 'today.wal');
    fs.copyFileSync(`${main}-wal`, log);
    db.close();
    // Its own log: the next open replays it, and nothing is lost.
    const crashed = openWorkspace(path.join(dir, 'crashed-main.sbw'));
    expect(crashed.prepare('SELECT count(*) FROM filler').pluck().get()).toBe(6000);
    crashed.close();
    // Last week's backup copied over the crashed file, today's log left beside it.
    const victim = path.join(dir, 'victim.sbw');
    fs.copyFileSync(backup, victim);
    fs.copyFileSync(log, `${victim}-wal`);
    const before = fs.readFileSync(victim);
    expect(() => openWorkspace(victim)).toThrow(/does not agree with the write-ahead log beside it .*victim\.sbw-wal.*Nothing was changed/);
    expect(fs.readFileSync(victim).equals(before)).toBe(true);
    expect(fs.existsSync(`${victim}-wal`)).toBe(true);
    // Moved aside as the message says, the backup opens as it was.
    fs.renameSync(`${victim}-wal`, path.join(dir, 'aside.wal'));
    fs.rmSync(`${victim}-shm`, { force: true });
    const restored = openWorkspace(victim);
    expect(restored.prepare('SELECT count(*) FROM filler').pluck().get()).toBe(0);
    restored.close();
  });

  it('backs up a workspace in use into one consistent file, what is still in its log included, and never overwrites', async () => {
    const { engine, dir, workspace } = await freshEngine();
    await importPath(engine, writeFile(dir, 'changes.csv', 'id,service,timestamp,lines_added\nc1,api,2026-09-01T00:00:00Z,10\nc2,api,2026-09-02T00:00:00Z,300\n'), { kind: 'changes' });
    await new Promise((r) => setTimeout(r, 50));
    expect(fs.statSync(`${workspace}-wal`).size).toBe(0);
    await engine.call('models.train', { name: 'rules', kind: 'heuristic' });
    // After a job the log is folded into the file; the training since is still only in the -wal.
    expect(fs.statSync(`${workspace}-wal`).size).toBeGreaterThan(0);
    const out = path.join(dir, 'copy.sbw');
    const r = await cli(['backup', '--workspace', workspace, '--out', out, '--json']);
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ path: out, auditHead: expect.stringMatching(/^#3 [0-9a-f]{64}$/) });
    expect(fs.existsSync(`${out}-wal`)).toBe(false);
    const copy = openWorkspace(out);
    expect(copy.prepare('SELECT name FROM models').pluck().all()).toEqual(['rules']);
    expect(copy.prepare('SELECT count(*) FROM changes').pluck().get()).toBe(2);
    copy.close();
    const again = await cli(['backup', '--workspace', workspace, '--out', out]);
    expect(again.code).toBe(2);
    expect(again.err).toContain('already exists; a backup never overwrites a file');
    expect((await engine.call('audit.list', { action: 'workspace.' })).rows[0]).toMatchObject({ action: 'workspace.backup', subject: 'backup to copy.sbw' });
    engine.close();
  });

  it('answers through the API with a code and message for a file that is not a workspace', async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'bad.sbw'), 'nope');
    const engine = createEngine({ workspacesDir: dir });
    const result = await engine.dispatch('workspace.openPath', { path: path.join(dir, 'bad.sbw') }, { privileged: true });
    expect(result).toMatchObject({ ok: false, error: { code: 'not_a_workspace', message: expect.stringContaining('bad.sbw') } });
    const missing = await engine.dispatch('workspace.open', { name: 'nothing-here' });
    expect(missing).toMatchObject({ ok: false, error: { code: 'not_found' } });
  });
  it('upgrades a schema-11 workspace: drill results kept, marked change-risk, and free to name detection runs', () => {
    const file = path.join(tempDir(), 'v11.sbw');
    const raw = new Database(file);
    for (const m of migrations.filter((x) => x.version <= 11)) raw.exec(m.sql);
    raw.pragma('application_id = 1396856625');
    raw.prepare("INSERT INTO meta (key, value) VALUES ('format', 'shadowbench-workspace')").run();
    raw.pragma('user_version = 11');
    raw.pragma('foreign_keys = OFF');
    raw.prepare("INSERT INTO drill_results (id, drill, drill_version, base_run_id, drill_run_id, report, created_at) VALUES (7, 'old', 2, 1, 2, '{}', 123)").run();
    raw.close();
    const db = openWorkspace(file);
    expect(db.pragma('user_version', { simple: true })).toBe(LATEST_VERSION);
    expect(db.prepare('SELECT id, drill, drill_version, task, base_run_id, drill_run_id, report, created_at FROM drill_results').all())
      .toEqual([{ id: 7, drill: 'old', drill_version: 2, task: 'change-risk', base_run_id: 1, drill_run_id: 2, report: '{}', created_at: 123 }]);
    // No foreign key into runs any more: a detection drill's ids live in detection_runs.
    expect(() => db.prepare("INSERT INTO drill_results (drill, task, base_run_id, drill_run_id, report, created_at) VALUES ('d', 'detection', 900, 901, '{}', 1)").run()).not.toThrow();
    db.close();
  });

  it('removes uploads nobody can use any more when it starts (older than the upload lifetime), and keeps recent ones', () => {
    const dir = tempDir();
    const uploads = path.join(dir, '.uploads');
    fs.mkdirSync(uploads);
    const old = path.join(uploads, 'a'.repeat(32));
    const fresh = path.join(uploads, 'b'.repeat(32));
    fs.writeFileSync(old, 'timestamp,service,metric,value\n');
    fs.writeFileSync(fresh, 'timestamp,service,metric,value\n');
    const past = new Date(Date.now() - UPLOAD_TTL_MS - 60_000);
    fs.utimesSync(old, past, past);
    const engine = createEngine({ workspacesDir: dir });
    expect(fs.existsSync(old)).toBe(false);
    expect(fs.existsSync(fresh)).toBe(true);
    engine.close();
    // No uploads folder at all is fine too.
    expect(() => createEngine({ workspacesDir: tempDir() }).close()).not.toThrow();
  });
});

describe('switching to the demo workspace', () => {
  it('is refused under a running job, and calls made while it switches are refused instead of acting on the workspace about to close', async () => {
    const { engine, dir, workspace } = await freshEngine();
    try {
      const csv = writeFile(dir, 'changes.csv', 'id,service,timestamp\nc1,api,2026-01-01T00:00:00Z\n');
      const { jobId } = await engine.call('import.startPath', { path: csv, kind: 'changes' });
      await expect(engine.call('demo.open', {})).rejects.toThrow('A job is still running');
      await engine.jobs.wait(jobId);
      const demo = await engine.call('demo.open', {});
      // A job queued now would capture the old workspace, which the demo job closes.
      await expect(engine.call('import.startPath', { path: csv, kind: 'changes' })).rejects.toThrow('The demo workspace is being opened');
      expect((await engine.jobs.wait(demo.jobId)).state).toBe('done');
      expect((await engine.call('workspace.info', {})).name).toBe('demo');
      // Each log describes its own file: the import is in the first workspace's log and not the demo's.
      const entries = (file: string): string[] => {
        const db = new Database(file, { readonly: true });
        try {
          return db.prepare("SELECT action || ' ' || subject FROM audit_log ORDER BY seq").pluck().all() as string[];
        } finally {
          db.close();
        }
      };
      expect(entries(workspace).filter((a) => a.startsWith('import.'))).toEqual(['import.start changes from changes.csv', expect.stringMatching(/^import\.finish /)]);
      expect(entries(path.join(dir, 'workspaces', 'demo.sbw')).filter((a) => a.startsWith('import.') && !a.endsWith('(demo)'))).toEqual([]);
      expect((await engine.call('audit.verify', {})).ok).toBe(true);
    } finally {
      engine.close();
    }
  }, 120_000);
});

describe('the name "demo"', () => {
  it('is not given to a new workspace, and rebuilding the demo moves a workspace it did not make aside instead of deleting it', async () => {
    const { engine, dir } = await freshEngine();
    try {
      await expect(engine.call('workspace.create', { name: 'Demo' })).rejects.toThrow('"demo" is the demo workspace\'s name');
      // Someone's own workspace under that name (made before the name was reserved, or by hand).
      const theirs = path.join(dir, 'workspaces', 'demo.sbw');
      const db = openWorkspace(theirs, { create: true });
      db.prepare("INSERT INTO mappings (name, version, options, saved_at) VALUES ('precious', 1, '{}', 0)").run();
      db.close();
      const { jobId } = await engine.call('demo.open', { rebuild: true });
      expect((await engine.jobs.wait(jobId)).state).toBe('done');
      const kept = fs.readdirSync(path.join(dir, 'workspaces')).filter((f) => /^demo-replaced-\d{8}-\d{6}\.sbw$/.test(f));
      expect(kept).toHaveLength(1);
      const old = new Database(path.join(dir, 'workspaces', kept[0]!), { readonly: true });
      expect(old.prepare('SELECT name FROM mappings').pluck().all()).toEqual(['precious']);
      old.close();
      // The demo it built is marked as the demo's: rebuilding it again replaces it, nothing else is kept aside.
      const again = await engine.call('demo.open', { rebuild: true });
      expect((await engine.jobs.wait(again.jobId)).state).toBe('done');
      expect(fs.readdirSync(path.join(dir, 'workspaces')).filter((f) => /^demo-replaced-.*\.sbw$/.test(f))).toHaveLength(1);
    } finally {
      engine.close();
    }
  }, 240_000);
});
