import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openWorkspace, type Db } from '../../electron/engine/db/workspace.js';
import type { Engine } from '../../electron/engine/engine.js';
import type { JobContext } from '../../electron/engine/jobs/jobs.js';
import { releaseIdleOnnxThreads } from '../../electron/engine/models/onnx-thread.js';
import { runChangeRisk } from '../../electron/engine/runs/replay-changes.js';
import { RunConfig } from '../../shared/contract/models.js';
import { partlyThrowingModel } from '../helpers/onnx-models.js';
import { freshEngine, importPath, writeFile } from '../helpers/workspace.js';

/**
 * A model that throws on some rows has its failing batches split until the rows are found, up to
 * 2000 rows per model tried alone (guard.ts). On a model thread many batches are in flight at once;
 * they must still be split in run order, or the rows tried alone (and so which rows keep a score)
 * depend on which failure came back first. Found by a review: 57 of 6000 rows differed.
 */

const T0 = Date.UTC(2026, 2, 1);
let engine: Engine;
let db: Db;
let throwing: number;
const job = (): JobContext => ({ id: 'test', cancelled: false, throwIfCancelled: () => undefined, progress: () => undefined });

beforeAll(async () => {
  let dir: string;
  let workspace: string;
  ({ engine, dir, workspace } = await freshEngine());
  // Every second change (after the registry's 64 trial rows) makes the model throw: 2968 failing rows, more than the budget.
  const rows = Array.from({ length: 6000 }, (_, i) => `c${i},svc${i % 4},${T0 + i * 60_000},${i >= 64 && i % 2 === 0 ? 0 : 50}`);
  await importPath(engine, writeFile(dir, 'changes.csv', `id,service,timestamp,guard\n${rows.join('\n')}\n`), { kind: 'changes', timeUnit: 'ms' });
  const file = path.join(dir, 'throwing.onnx');
  fs.writeFileSync(file, partlyThrowingModel(1));
  throwing = (await engine.call('models.addOnnxPath', { path: file, manifest: { name: 'throwing', input: 'features', features: ['guard'], output: 'risk' } })).id;
  db = openWorkspace(workspace);
}, 60_000);

afterAll(async () => {
  db.close();
  engine.close();
  await releaseIdleOnnxThreads();
});

const stored = (runId: number): unknown[] => db.prepare('SELECT change_id, score, decision, error, fault FROM suggestions WHERE run_id = ? ORDER BY change_id').all(runId);

describe('a model that throws on more rows than may be tried alone', () => {
  it('has the same rows scored and the same errors on its thread, batches in flight, as batch by batch on one thread', async () => {
    const config = RunConfig.parse({ models: [throwing], batchSize: 256 });
    const threaded = await runChangeRisk(db, config, job(), { modelsOnThread: true, writeOnThread: true });
    const oneThread = await runChangeRisk(db, config, job(), { modelsOnThread: false, writeOnThread: false });
    const rows = stored(threaded.id) as Array<{ score: number | null; error: string | null }>;
    expect(rows).toEqual(stored(oneThread.id));
    // The budget ran out part way: 2000 rows were found alone, the failing batches after it failed whole.
    expect(rows.filter((r) => r.error?.startsWith('model throwing failed on c')).length).toBe(2000);
    expect(rows.filter((r) => r.score !== null).length).toBeGreaterThan(2000);
    // Each batch's time is the model's over its tries, not the time it waited behind others.
    const latency = db.prepare('SELECT sum(latency_ms) FROM suggestions WHERE run_id = ?').pluck().get(threaded.id) as number;
    expect(latency).toBeLessThanOrEqual(threaded.finishedAt! - threaded.startedAt + 5);
  }, 60_000);
});
