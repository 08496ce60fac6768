import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { openWorkspace, type Db } from '../../electron/engine/db/workspace.js';
import type { Engine } from '../../electron/engine/engine.js';
import { buildFeatureColumns, loadChanges } from '../../electron/engine/features/catalog.js';
import { defaultRule, labelChanges } from '../../electron/engine/features/outcomes.js';
import type { JobContext } from '../../electron/engine/jobs/jobs.js';
import { idleOnnxThreads, leaseOnnxThread, onnxHere, onnxOnThread, releaseIdleOnnxThreads } from '../../electron/engine/models/onnx-thread.js';
import { runChangeRisk, type RunOptions } from '../../electron/engine/runs/replay-changes.js';
import { ReplaySource, subjectFilter } from '../../electron/engine/runs/replay-source.js';
import { modelDrift } from '../../electron/engine/runs/drift.js';
import { OUTCOME_SOURCES, type RunSubjects } from '../../electron/engine/runs/suggestion-writer.js';
import { ModelManifest, RunConfig } from '../../shared/contract/models.js';
import { ModelUnavailable } from '../../electron/engine/errors.js';
import { namesOf, runnerScorer } from '../../electron/engine/models/scorer.js';
import { startGuarded } from '../../electron/engine/runs/guard.js';
import { linearModel, partlyThrowingModel } from '../helpers/onnx-models.js';
import { freshEngine, importPath, writeFile } from '../helpers/workspace.js';

/**
 * A big replay reads its changes a slice at a time while each ONNX model scores on a thread of its
 * own (replay-source.ts, onnx-thread.ts). However the work is cut and wherever it runs, a run must
 * store what the same run stores read all at once and scored on one thread. The changes here are
 * imported out of time order, with several at the same time, so that slices cut through ties and
 * the table's order is not the run's.
 */

const T0 = Date.UTC(2026, 2, 1);
const HOUR = 3_600_000;
let engine: Engine;
let dir: string;
let db: Db;
let models: { linear: number; throwing: number; lr: number; fallback: number };
const HISTORY = ['size', 'service_changes_7d', 'author_changes_90d', 'hours_since_prev_change', 'service_failed_change_rate_90d', 'service_incidents_30d'];

const job = (): JobContext => ({ id: 'test', cancelled: false, throwIfCancelled: () => undefined, progress: () => undefined });

beforeAll(async () => {
  let workspace: string;
  ({ engine, dir, workspace } = await freshEngine());
  const rows: string[] = [];
  for (let i = 0; i < 400; i++) {
    // Every third change shares its time with the one before; the file is written in a shuffled order.
    const ts = T0 + Math.floor(i - i / 3) * 2 * HOUR;
    rows.push(`c${i},svc${(i * 7) % 4},${ts},dev${(i * 5) % 6},${(i * 37) % 100},${i >= 64 && i % 10 === 0 ? 0 : 50}`);
  }
  const shuffled = rows.map((r, i) => ({ r, k: (i * 7919) % 401 })).sort((a, b) => a.k - b.k).map((x) => x.r);
  await importPath(engine, writeFile(dir, 'changes.csv', `id,service,timestamp,author,size,guard\n${shuffled.join('\n')}\n`), { kind: 'changes', timeUnit: 'ms' });
  // Incidents with no named cause: the attribution rule blames the changes shortly before them.
  const incidents = Array.from({ length: 30 }, (_, k) => {
    const at = T0 + k * 17 * HOUR + HOUR;
    return `I${k},svc${k % 4},${1 + (k % 3)},${at},${at + 2 * HOUR}`;
  });
  await importPath(engine, writeFile(dir, 'incidents.csv', `id,service,severity,started,detected\n${incidents.join('\n')}\n`), { kind: 'incidents', timeUnit: 'ms' });
  const add = async (name: string, bytes: Uint8Array, features: string[], output = 'score'): Promise<number> => {
    const file = path.join(dir, `${name}.onnx`);
    fs.writeFileSync(file, bytes);
    return (await engine.call('models.addOnnxPath', { path: file, manifest: { name, input: 'features', features, output } })).id;
  };
  models = {
    linear: await add('linear', linearModel([0.004, 0.01, 0.002, 0.0005, 0.2, 0.05]), HISTORY),
    throwing: await add('throwing', partlyThrowingModel(1), ['guard'], 'risk'),
    lr: (await engine.call('models.train', { name: 'lr', kind: 'logistic', features: ['size', 'service_changes_7d', 'is_weekend'] })).id,
    fallback: (await engine.call('models.train', { name: 'fallback', kind: 'logistic', features: ['size'] })).id,
  };
  db = openWorkspace(workspace);
});

afterAll(async () => {
  db.close();
  engine.close();
  await releaseIdleOnnxThreads();
});

/** A run's suggestions without what differs between two runs of the same thing (its id, and timing). */
function stored(runId: number): Array<Record<string, unknown>> {
  return db.prepare('SELECT * FROM suggestions WHERE run_id = ? ORDER BY model_id, change_id').all(runId).map((r) => {
    const { run_id: _r, latency_ms: latency, ...rest } = r as Record<string, unknown>;
    expect(latency).toBeGreaterThanOrEqual(0);
    return rest;
  });
}

const ONE_THREAD: RunOptions = { modelsOnThread: false, writeOnThread: false, slice: 100_000, firstSlice: 100_000 };
const SLICED: RunOptions = { modelsOnThread: true, writeOnThread: true, slice: 7, firstSlice: 3 };

describe('a replay read a slice at a time, its ONNX models on threads of their own', () => {
  it('stores what the same run stores read at once on one thread: scores, errors, fallback answers, outcomes', async () => {
    const config = RunConfig.parse({ models: [models.linear, models.throwing, models.lr], fallbackModel: models.fallback, batchSize: 5 });
    const warn = vi.spyOn(console, 'warn');
    const sliced = await runChangeRisk(db, config, job(), SLICED);
    const whole = await runChangeRisk(db, config, job(), ONE_THREAD);
    expect(warn).not.toHaveBeenCalledWith(expect.stringMatching(/thread unavailable/));
    warn.mockRestore();
    expect(sliced.state).toBe('done');
    const rows = stored(sliced.id);
    expect(rows).toHaveLength(1200);
    expect(rows).toEqual(stored(whole.id));
    // The model that throws where `guard` is 0 did so on its thread, row by row, and the fallback answered.
    const thrown = rows.filter((r) => r.model_id === models.throwing && r.error !== null);
    expect(thrown).toHaveLength(33); // c70, c80 … c390
    expect(thrown.every((r) => r.fallback_model_id === models.fallback && typeof r.score === 'number')).toBe(true);
    // The rule blamed some changes; history features were not all zero (the slices carried history across).
    expect(rows.filter((r) => r.label === 1).length).toBeGreaterThan(0);
    expect(new Set(rows.filter((r) => r.model_id === models.linear).map((r) => r.score)).size).toBeGreaterThan(100);
    expect(sliced.manifest!.subjects).toBe(400);
    // Each batch's time is counted once, where it ran, not while it waited behind others: a model's
    // latencies add up to no more than the run took.
    for (const run of [sliced, whole]) {
      const total = db.prepare('SELECT sum(latency_ms) FROM suggestions WHERE run_id = ? AND model_id = ?').pluck().get(run.id, models.linear) as number;
      expect(total).toBeGreaterThan(0);
      expect(total).toBeLessThanOrEqual(run.finishedAt! - run.startedAt + 5);
    }
    expect(sliced.manifest!.timings!.modelMs).toBeGreaterThan(0);
    expect(sliced.manifest!.drift).toEqual(whole.manifest!.drift);
    // Outcome sources counted slice by slice: the same counts, each subject once, as the stored rows say.
    expect(sliced.manifest!.outcomeSources).toEqual(whole.manifest!.outcomeSources);
    const bySource = db.prepare('SELECT label_source, count(*) AS n FROM suggestions WHERE run_id = ? AND model_id = ? GROUP BY label_source').all(sliced.id, models.linear) as Array<{ label_source: string; n: number }>;
    expect(sliced.manifest!.outcomeSources).toEqual(Object.fromEntries(bySource.map((r) => [r.label_source, r.n])));
    expect(Object.keys(sliced.manifest!.outcomeSources).length).toBeGreaterThan(1);
  });

  it('keeps to a time range and services the same way', async () => {
    const config = RunConfig.parse({ models: [models.linear], batchSize: 4, from: T0 + 100 * HOUR, until: T0 + 400 * HOUR, services: ['svc1', 'svc3'] });
    const sliced = await runChangeRisk(db, config, job(), SLICED);
    const whole = await runChangeRisk(db, config, job(), ONE_THREAD);
    const rows = stored(sliced.id);
    const inRange = db.prepare("SELECT count(*) FROM changes c JOIN services s ON s.id = c.service_id WHERE c.ts >= ? AND c.ts < ? AND s.name IN ('svc1', 'svc3')").pluck().get(T0 + 100 * HOUR, T0 + 400 * HOUR) as number;
    expect(inRange).toBeGreaterThan(20);
    expect(rows).toHaveLength(inRange);
    expect(rows).toEqual(stored(whole.id));
    // The run keeps only the changes before its first subject for the drift check: what it finds is
    // what the check finds given every change in the workspace and every outcome.
    const all = loadChanges(db);
    const labels = labelChanges(db, defaultRule(db), all);
    const subjects = all.filter(subjectFilter(db, config).keeps);
    const expected = modelDrift(db, {
      modelId: models.linear, features: HISTORY, replayed: buildFeatureColumns(db, subjects, HISTORY, labels, all), replayedTimes: subjects.map((c) => c.ts),
      history: all, outcomes: labels, firstSubjectTs: subjects[0]!.ts, trainedUntil: null,
    });
    expect(expected!.referenceRows).toBeGreaterThanOrEqual(30);
    expect(sliced.manifest!.drift).toEqual([expected]);
    expect(whole.manifest!.drift).toEqual([expected]);
  });

  it('gives every subject the features buildFeatureColumns gives it from all the changes, however the reads are cut', () => {
    const config = RunConfig.parse({ models: [models.linear] });
    const all = loadChanges(db);
    const rule = defaultRule(db);
    const labels = labelChanges(db, rule, all);
    const expected = buildFeatureColumns(db, all, HISTORY, labels, all);
    for (const [firstSlice, slice] of [[1, 1], [2, 3], [3, 7], [64, 5], [399, 1], [400, 400]] as const) {
      const parts: RunSubjects[] = [];
      const source = new ReplaySource(db, config, rule, HISTORY, (part) => parts.push(part), { firstSlice, slice });
      source.finishReading();
      expect(source.count).toBe(all.length);
      expect(parts.flatMap((p) => Array.from(p.changeIds))).toEqual(all.map((c) => c.id));
      expect(Array.from(source.subjectRows().times)).toEqual(all.map((c) => c.ts));
      expect(Array.from(source.subjectRows().services)).toEqual(all.map((c) => c.serviceId));
      // Each change's external id (read from its slice when first asked for), asked for last to first.
      const names = source.names(0, all.length);
      expect(all.map((_, k) => names.nameOf(all.length - 1 - k)).reverse()).toEqual(all.map((c) => c.externalId));
      // Explicit outcomes, postmortem links and the rule all arrive with their subjects.
      expect(parts.flatMap((p) => Array.from(p.labels))).toEqual(all.map((c) => labels.get(c.id)!.label));
      expect(parts.flatMap((p) => Array.from(p.sources, (s) => OUTCOME_SOURCES[s]))).toEqual(all.map((c) => labels.get(c.id)!.source));
      HISTORY.forEach((f, j) => expect(Array.from(source.column(f)), `${f}, reads of ${firstSlice} then ${slice}`).toEqual(Array.from(expected[j]!)));
      // The run starts at the workspace's first change: nothing comes before it.
      expect(source.before).toEqual([]);
    }
    // A run of some services in a range: each subject's name is found in its slice among the rows
    // that are not subjects; the changes before the first subject are kept, with their outcomes.
    const ranged = RunConfig.parse({ models: [models.linear], from: T0 + 100 * HOUR, until: T0 + 400 * HOUR, services: ['svc1', 'svc3'] });
    const subjects = all.filter(subjectFilter(db, ranged).keeps);
    for (const [firstSlice, slice] of [[1, 1], [3, 7], [400, 400]] as const) {
      const source = new ReplaySource(db, ranged, rule, HISTORY, () => undefined, { firstSlice, slice });
      source.finishReading();
      const names = source.names(0, subjects.length);
      expect(subjects.map((_, k) => names.nameOf(k))).toEqual(subjects.map((c) => c.externalId));
      expect(source.names(5, 3).nameOf(2)).toBe(subjects[7]!.externalId);
      const before = all.filter((c) => c.ts < subjects[0]!.ts);
      expect(source.before.map((c) => c.id)).toEqual(before.map((c) => c.id));
      expect(before.map((c) => source.beforeOutcomes.get(c.id))).toEqual(before.map((c) => labels.get(c.id)));
      const ofSubjects = buildFeatureColumns(db, subjects, HISTORY, labels, all);
      HISTORY.forEach((f, j) => expect(Array.from(source.column(f)), `${f}, ranged, reads of ${firstSlice} then ${slice}`).toEqual(Array.from(ofSubjects[j]!)));
    }
  });

  it('fails the run, storing nothing, when a model\'s session cannot be created on its thread', async () => {
    const copy = Number(db.prepare("INSERT INTO models (name, version, task, kind, sha256, onnx, manifest, notes, created_at) SELECT 'broken', 1, task, kind, 'x', substr(onnx, 1, 40), manifest, notes, created_at FROM models WHERE id = ?").run(models.linear).lastInsertRowid);
    const before = db.prepare('SELECT count(*) FROM suggestions').pluck().get();
    await expect(runChangeRisk(db, RunConfig.parse({ models: [copy] }), job(), SLICED)).rejects.toThrow(/^Model linear: (the file is not an ONNX model|onnxruntime could not load it)/);
    const run = db.prepare('SELECT state, error FROM runs ORDER BY id DESC LIMIT 1').get() as { state: string; error: string };
    expect(run.state).toBe('failed');
    expect(run.error).toMatch(/^Model linear:/);
    expect(db.prepare('SELECT count(*) FROM suggestions').pluck().get()).toBe(before);
    db.prepare('DELETE FROM runs WHERE id = (SELECT max(id) FROM runs)').run();
    db.prepare('DELETE FROM models WHERE id = ?').run(copy);
  });

  it('keeps a model\'s thread for the next run of it, and lets it go when asked', async () => {
    await releaseIdleOnnxThreads();
    const config = RunConfig.parse({ models: [models.linear], batchSize: 50 });
    const first = await runChangeRisk(db, config, job(), SLICED);
    expect(idleOnnxThreads()).toBe(1);
    const second = await runChangeRisk(db, config, job(), SLICED);
    expect(idleOnnxThreads()).toBe(1);
    expect(stored(second.id)).toEqual(stored(first.id));
    await releaseIdleOnnxThreads();
    expect(idleOnnxThreads()).toBe(0);
  });

  it('scores on the run\'s own thread when the run gives each row a time budget', async () => {
    // On a thread, a batch given up for its time would go on running there, and the next would
    // wait behind it on its own clock.
    const config = RunConfig.parse({ models: [models.linear], batchSize: 50, guard: { timeoutMs: 1000 } });
    const run = await runChangeRisk(db, config, job(), SLICED);
    expect(run.state).toBe('done');
    expect(idleOnnxThreads()).toBe(0);
    expect(stored(run.id)).toEqual(stored((await runChangeRisk(db, config, job(), ONE_THREAD)).id));
  });
});

describe('a model thread', () => {
  const manifest = ModelManifest.parse({ name: 'linear', input: 'features', features: ['a', 'b'], output: 'score' });
  const bytes = linearModel([0.25, 0.5]);
  const rows = (): Float32Array => Float32Array.of(1, 0, 0, 1, 0.5, 0.5);

  it('scores as the session on this thread does, and times each batch where it ran', async () => {
    const there = onnxOnThread(manifest, bytes);
    const here = onnxHere(manifest, bytes);
    await Promise.all([there.ready, here.ready]);
    expect(there.threaded).toBe(true);
    const a = await there.run(rows(), 3);
    const b = await here.run(rows(), 3);
    expect(Array.from(a.scores)).toEqual(Array.from(b.scores));
    expect(Array.from(a.scores)).toEqual([0.25, 0.5, 0.375]);
    expect(a.elapsedMs).toBeGreaterThanOrEqual(0);
    await Promise.all([there.release(), here.release()]);
  });

  it('scores on this thread when the thread cannot start, and says so once', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const runner = onnxOnThread(manifest, bytes, { code: 'throw new Error("no loader here")', eval: true });
    await runner.ready;
    expect(Array.from((await runner.run(rows(), 3)).scores)).toEqual([0.25, 0.5, 0.375]);
    expect(runner.threaded).toBe(false);
    expect(runner.healthy).toBe(false);
    expect(warn).toHaveBeenCalledWith(expect.stringMatching(/model thread unavailable \(no loader here\); scoring on one thread/));
    warn.mockRestore();
    await runner.release();
  });

  it('fails what it was asked, and everything after, when its thread dies', async () => {
    const dies = "const { parentPort } = require('node:worker_threads'); parentPort.on('message', (m) => { if (m.type === 'load') parentPort.postMessage({ type: 'loaded' }); else process.exit(3); });";
    const runner = onnxOnThread(manifest, bytes, { code: dies, eval: true });
    await runner.ready;
    const first = runner.run(rows(), 3);
    await expect(first).rejects.toThrow(/^Model linear: its inference thread stopped \(exit code 3\)$/);
    // Not an answer about the rows: the guard passes it on, so the run fails instead of storing
    // the thread's end as every row's error.
    await expect(first).rejects.toBeInstanceOf(ModelUnavailable);
    await expect(runner.run(rows(), 3)).rejects.toThrow(/inference thread stopped/);
    const scorer = runnerScorer(1, manifest, runner.run);
    const guarded = startGuarded(scorer, { rows: 3, width: 2, values: Float64Array.from(rows()) }, namesOf([]), { guard: undefined, reference: [0, 0], threshold: 0.5, plan: null, offset: 0 });
    await expect(guarded.settle()).rejects.toBeInstanceOf(ModelUnavailable);
    expect(runner.healthy).toBe(false);
    await runner.release();
  });

  it('is kept for the next run only when nothing is left queued on it', async () => {
    await releaseIdleOnnxThreads();
    const busy = leaseOnnxThread('busy', manifest, bytes);
    await busy.ready;
    // A run that stopped part way lets go with batches still queued: the next run must not wait behind them.
    const queued = Array.from({ length: 10 }, () => busy.run(rows(), 3));
    await busy.release();
    expect(idleOnnxThreads()).toBe(0);
    expect((await Promise.allSettled(queued)).every((r) => r.status === 'fulfilled')).toBe(true);
    const quiet = leaseOnnxThread('quiet', manifest, bytes);
    await quiet.ready;
    await quiet.run(rows(), 3);
    await quiet.release();
    expect(idleOnnxThreads()).toBe(1);
    await releaseIdleOnnxThreads();
  });

  it('lets go when asked while its thread is still starting, even if the thread then fails', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const runner = onnxOnThread(manifest, bytes, { code: 'setTimeout(() => process.exit(4), 50)', eval: true });
    const released = await Promise.race([runner.release().then(() => 'released'), new Promise((resolve) => setTimeout(() => resolve('still waiting'), 3000))]);
    expect(released).toBe('released');
    await expect(runner.ready).rejects.toThrow(/inference thread stopped \(exit code 4\)/);
    // Asked to let go first, it does not start a session here instead.
    expect(warn).not.toHaveBeenCalled();
    warn.mockRestore();
  });
});
