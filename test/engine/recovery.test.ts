import { spawn, spawnSync } from 'node:child_process';
import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { openWorkspace } from '../../electron/engine/db/workspace.js';
import { createEngine } from '../../electron/engine/engine.js';
import { beginRetrain } from '../../electron/engine/runs/recovery.js';
import { changesCsv, freshEngine, heuristicRun, importPath, writeFile } from '../helpers/workspace.js';

/** The pid of a process that has certainly exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

/** A small workspace with one finished run of the heuristic, and a copy of it marked as still running under `owner`. */
async function withRunningRun(owner: string): Promise<{ workspace: string; dir: string; runId: number; modelId: number }> {
  const { engine, dir, workspace } = await freshEngine();
  await importPath(engine, writeFile(dir, 'changes.csv', changesCsv(40)), { kind: 'changes' });
  const m = { id: await heuristicRun(engine) };
  engine.close();
  const db = openWorkspace(workspace);
  const runId = Number(db.prepare("INSERT INTO runs (task, state, config, started_at, owner) SELECT task, 'running', config, started_at, ? FROM runs WHERE id = 1").run(owner).lastInsertRowid);
  db.prepare('INSERT INTO suggestions SELECT ?, model_id, change_id, replay_ts, score, decision, latency_ms, error, fallback_model_id, label, label_source, incident, explanation, fault FROM suggestions WHERE run_id = 1 LIMIT 17').run(runId);
  db.close();
  return { workspace, dir, runId, modelId: m.id };
}

describe('what a killed process left behind', () => {
  it('a run whose process is gone is marked interrupted on the next open, its partial suggestions removed and the fact audited', async () => {
    const { workspace, dir, runId } = await withRunningRun(`${os.hostname()}:${deadPid()}`);
    const engine = createEngine({ workspacesDir: dir });
    await engine.call('workspace.openPath', { path: workspace });
    const run = await engine.call('runs.get', { id: runId });
    expect(run).toMatchObject({ state: 'interrupted', error: expect.stringContaining('partial results were removed') });
    expect((await engine.call('runs.suggestions', { runId, modelId: 1, offset: 0, limit: 10 })).total).toBe(0);
    await expect(engine.call('reports.start', { runId, format: 'md' })).rejects.toThrow(`Run ${runId} is interrupted`);
    const log = await engine.call('audit.list', { action: 'run.' });
    expect(log.rows[0]).toMatchObject({ action: 'run.interrupted', payload: { run: runId } });
    expect(await engine.call('audit.verify', {})).toMatchObject({ ok: true });
    engine.close();
  });

  it('a run another live process is running is left alone (a second window, a CLI beside serve mode)', async () => {
    const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
    try {
      const { workspace, dir, runId } = await withRunningRun(`${os.hostname()}:${sleeper.pid}`);
      const engine = createEngine({ workspacesDir: dir });
      await engine.call('workspace.openPath', { path: workspace });
      expect(await engine.call('runs.get', { id: runId })).toMatchObject({ state: 'running', error: null });
      engine.close();
      const db = openWorkspace(workspace);
      expect(db.prepare('SELECT count(*) FROM suggestions WHERE run_id = ?').pluck().get(runId)).toBe(17);
      db.close();
    } finally {
      sleeper.kill();
    }
  });

  it('a workspace opens and reads while another program holds its write lock (an import in another window)', async () => {
    const { workspace, dir, runId } = await withRunningRun(`${os.hostname()}:${deadPid()}`);
    const other = openWorkspace(workspace);
    other.exec('BEGIN IMMEDIATE');
    try {
      const engine = createEngine({ workspacesDir: dir });
      await engine.call('workspace.openPath', { path: workspace });
      // The clean-up waits for a later open rather than for the lock: reading must not.
      expect(await engine.call('runs.get', { id: runId })).toMatchObject({ state: 'running' });
      expect((await engine.call('runs.list', {})).length).toBe(2);
      expect(await engine.call('audit.verify', {})).toMatchObject({ ok: true });
      engine.close();
    } finally {
      other.exec('COMMIT');
      other.close();
    }
  });

  it('a retraining whose process died leaves no version behind, and the log says so', async () => {
    const { workspace, dir, modelId } = await withRunningRun(`${os.hostname()}:${deadPid()}`);
    const db = openWorkspace(workspace);
    // What a killed retrain leaves: v2 registered, marked pending under a process that is gone.
    const v2 = Number(db.prepare("INSERT INTO models (name, version, task, kind, sha256, onnx, manifest, notes, created_at) SELECT name, 2, task, kind, sha256, onnx, manifest, notes, created_at FROM models WHERE id = ?").run(modelId).lastInsertRowid);
    beginRetrain(db, v2, 1);
    db.prepare("UPDATE meta SET value = json_set(value, '$.owner', ?) WHERE key = 'retrain.pending'").run(`${os.hostname()}:${deadPid()}`);
    db.close();
    const engine = createEngine({ workspacesDir: dir });
    await engine.call('workspace.openPath', { path: workspace });
    expect((await engine.call('models.list', {})).map((m) => `${m.name} v${m.version}`)).toEqual(['rules v1']);
    expect((await engine.call('runs.list', {})).map((r) => r.id)).toEqual([1]);
    expect((await engine.call('audit.list', { action: 'model.retrain' })).rows[0]).toMatchObject({ action: 'model.retrain.interrupted', subject: 'model rules v2' });
    engine.close();
  });
});
