import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { freshEngine, importPath, REPO, writeFile } from '../helpers/workspace.js';

describe('a process killed mid-import', () => {
  it('leaves a consistent workspace with nothing of the interrupted file in it', async () => {
    const { engine, dir, workspace } = await freshEngine();
    await importPath(engine, writeFile(dir, 'first.csv', 'timestamp,service,metric,value\n2026-09-01T00:00:00Z,api,cpu,1\n'), { kind: 'telemetry' });
    engine.close();
    const rows = Array.from({ length: 600_000 }, (_, i) => `${1788220800 + i * 60},svc${i % 5},cpu,${i % 100}`).join('\n');
    const big = writeFile(dir, 'big.csv', `timestamp,service,metric,value\n${rows}\n`);
    const child = spawn(process.execPath, [path.join(REPO, 'bin', 'shadowbench.js'), 'import', '--workspace', workspace, '--kind', 'telemetry', big], { stdio: ['ignore', 'pipe', 'pipe'] });
    // Kill it hard once it reports progress, i.e. in the middle of its transaction.
    await new Promise<void>((resolve, reject) => {
      child.stderr.on('data', (chunk: Buffer) => {
        if (/rows read/.test(chunk.toString())) {
          child.kill('SIGKILL');
          resolve();
        }
      });
      child.on('exit', (code) => (code === 0 ? reject(new Error('the import finished before it could be killed')) : resolve()));
    });
    await new Promise((r) => child.once('exit', r));
    const db = new Database(workspace);
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    expect(db.prepare('SELECT count(*) FROM points').pluck().get()).toBe(1);
    expect(db.prepare('SELECT count(*) FROM sources').pluck().get()).toBe(1);
    expect(db.prepare('SELECT count(*) FROM point_rollups WHERE level = 3600000').pluck().get()).toBe(1);
    db.close();
  }, 60_000);

  it('SIGTERM (what CI sends on a timeout) cancels the job like Ctrl-C: nothing half-written, the cancellation audited', async () => {
    const { engine, dir, workspace } = await freshEngine();
    engine.close();
    const rows = Array.from({ length: 600_000 }, (_, i) => `${1788220800 + i * 60},svc${i % 5},cpu,${i % 100}`).join('\n');
    const big = writeFile(dir, 'big.csv', `timestamp,service,metric,value\n${rows}\n`);
    const child = spawn(process.execPath, [path.join(REPO, 'bin', 'shadowbench.js'), 'import', '--workspace', workspace, '--kind', 'telemetry', big], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (chunk: Buffer) => {
      err += chunk.toString();
      if (/rows read/.test(chunk.toString()) && !child.killed) child.kill('SIGTERM');
    });
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    expect(err).toContain('cancelling (SIGTERM)');
    expect(err).toContain('cancelled; nothing was imported');
    // As a shell reports a process ended by SIGTERM: a script tells it from a bad file (2).
    expect(code).toBe(143);
    const db = new Database(workspace);
    expect(db.prepare('SELECT count(*) FROM points').pluck().get()).toBe(0);
    expect(db.prepare('SELECT action FROM audit_log ORDER BY seq').pluck().all()).toEqual(['import.start', 'import.cancelled']);
    db.close();
  }, 60_000);
});
