import { beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../electron/engine/engine.js';
import { scoreWindows } from '../../electron/engine/detection/onnx-detector.js';
import { loadSession } from '../../electron/engine/models/onnx-model.js';
import { WindowManifest, type DetectionRunInfo } from '../../shared/contract/detection.js';
import { freshEngine, importPath, writeFile } from '../helpers/workspace.js';
import { nanModel, windowZModel } from '../helpers/onnx-models.js';

const MIN = 60_000;
const T0 = Date.UTC(2026, 8, 1);
const W = 12;

/** Two services, five-minute steps, a calm sine with a spike on `api` at step 300. */
function telemetry(): string {
  const lines = ['timestamp,service,metric,value'];
  for (const service of ['api', 'db']) {
    for (let i = 0; i < 400; i++) {
      const base = 100 + 5 * Math.sin(i / 7) + (i % 3);
      lines.push(`${T0 + i * 5 * MIN},${service},latency_ms,${service === 'api' && i >= 300 && i < 304 ? base + 80 : base}`);
    }
  }
  return lines.join('\n');
}

let engine: Engine;
let dir: string;
const manifest = { name: 'win-z', input: 'window', output: 'score', window: { metrics: ['latency_ms'], length: W, stepSeconds: 300, normalisation: 'none' }, threshold: 3 } as const;

beforeAll(async () => {
  ({ engine, dir } = await freshEngine());
  await importPath(engine, writeFile(dir, 'telemetry.csv', telemetry()), { kind: 'telemetry', timeUnit: 'ms' });
  await importPath(engine, writeFile(dir, 'incidents.csv', `id,service,severity,started_at,detected_at,resolved_at\nINC-1,api,2,${T0 + 299 * 5 * MIN},${T0 + 310 * 5 * MIN},${T0 + 320 * 5 * MIN}\n`), { kind: 'incidents', timeUnit: 'ms' });
  return () => engine.close();
});

describe('ONNX window detectors', () => {
  it('scores each step from the window ending at it, batched, exactly as the model computes', async () => {
    const session = await loadSession('w', windowZModel(W));
    const m = WindowManifest.parse(manifest);
    const times = Float64Array.from({ length: 50 }, (_, i) => i * MIN);
    const values = Float64Array.from(times, (_, i) => (i === 40 ? 50 : 10 + (i % 4)));
    const out = await scoreWindows(session, m, times, [values], 'test');
    // By hand at step 40: the window is steps 29..40.
    const win = Array.from(values.subarray(29, 41));
    const mean = win.reduce((a, b) => a + b, 0) / W;
    const sd = Math.sqrt(win.reduce((a, b) => a + (b - mean) ** 2, 0) / W + 1e-6);
    expect(out.score[40]).toBeCloseTo((50 - mean) / sd, 4);
    expect(out.score[W - 2]).toBe(0); // not a full window yet
    // Never the future: changing what comes after step 30 leaves scores up to 30 as they were.
    const changed = Float64Array.from(values, (v, i) => (i > 30 ? v * 7 + 3 : v));
    const again = await scoreWindows(session, m, times, [changed], 'test');
    expect(Array.from(again.score.subarray(0, 31))).toEqual(Array.from(out.score.subarray(0, 31)));
    await session.release();
  });

  it('registers, runs and raises an alert on the spike with an explanation of what deviated', async () => {
    const model = await engine.call('detectors.addOnnxPath', { path: writeFile(dir, 'win.onnx', Buffer.from(windowZModel(W))), manifest: manifest as never });
    expect(model).toMatchObject({ task: 'detection', kind: 'onnx', features: ['latency_ms'], threshold: 3 });
    const { jobId } = await engine.call('detection.start', { models: [model.id] });
    const job = await engine.jobs.wait(jobId);
    expect(job.state, job.error?.message).toBe('done');
    const run = job.result as DetectionRunInfo;
    const report = await engine.call('detection.report', { runId: run.id, resamples: 100 });
    const card = report.scorecards.find((c) => c.modelId === model.id)!;
    expect(card.metrics.incident_recall.value).toBe(1);
    const frame = await engine.call('detection.replay', { runId: run.id, incident: 'INC-1', cursor: T0 + 305 * 5 * MIN });
    const alert = frame.alerts.find((a) => a.modelId === model.id)!;
    expect(alert.start).toBe(T0 + 300 * 5 * MIN);
    expect(alert.explanation).toMatch(/window model score [\d.]+; latency_ms 1\d\d vs \d+(\.\d+)? over the window before it \([\d.]+σ\)/);
  });

  it('accepts an [N, 1, W] input for one metric', async () => {
    const m = await engine.call('detectors.addOnnxPath', { path: writeFile(dir, 'win3.onnx', Buffer.from(windowZModel(W, { rank3: true }))), manifest: { ...manifest, name: 'win-z3' } as never });
    const { jobId } = await engine.call('detection.start', { models: [m.id] });
    expect((await engine.jobs.wait(jobId)).state).toBe('done');
  });
});

describe('bad window models', () => {
  const add = (bytes: Uint8Array, m: object) => engine.call('detectors.addOnnxPath', { path: writeFile(dir, `m${Math.random()}.onnx`, Buffer.from(bytes)), manifest: { ...manifest, ...m } as never });

  it('names the mismatch: window length, input name, unknown metric, several metrics on an [N, W] input', async () => {
    await expect(add(windowZModel(W), { window: { ...manifest.window, length: 24 } })).rejects.toThrow(/takes windows of 12 steps, but the manifest says 24/);
    await expect(add(windowZModel(W), { input: 'x' })).rejects.toThrow(/names input "x", but the model's inputs are "window"/);
    await expect(add(windowZModel(W), { window: { ...manifest.window, metrics: ['cpu'] } })).rejects.toThrow(/no metric cpu\. Metrics: latency_ms/);
    await expect(add(windowZModel(W), { window: { ...manifest.window, metrics: ['latency_ms', 'latency_ms'] } })).rejects.toThrow(/several metrics need an \[N, M, W\] input/);
  });

  it('refuses a truncated file and a model whose scores are NaN', async () => {
    const bytes = windowZModel(W);
    await expect(add(bytes.subarray(0, bytes.length - 40), {})).rejects.toThrow(/Model win-z: (the file is not an ONNX model|onnxruntime could not load it)/);
    await expect(add(nanModel(W), { input: 'features', output: 'risk' })).rejects.toThrow(/returned NaN on a trial window .*scores must be finite numbers/);
  });

  it('refuses telemetry sampled at another step than the model was trained on, and leaves no output behind', async () => {
    const m = await engine.call('detectors.addOnnxPath', { path: writeFile(dir, 'win60.onnx', Buffer.from(windowZModel(W))), manifest: { ...manifest, name: 'win-60s', window: { ...manifest.window, stepSeconds: 60 } } as never });
    const { jobId } = await engine.call('detection.start', { models: [m.id] });
    const job = await engine.jobs.wait(jobId);
    expect(job.state).toBe('failed');
    expect(job.error?.message).toBe("Model win-60s expects a step of 60 s, but api's telemetry is sampled every 300 s");
    const failed = (await engine.call('detection.runs', {})).find((r) => r.state === 'failed')!;
    expect(failed.error).toContain('expects a step of 60 s');
  });

});

describe('detector logs from a shadow deployment', () => {
  it('imports per-step scores and evaluates them like a detector that ran here', async () => {
    const lines = ['timestamp,series,detector,version,anomaly_score'];
    for (let i = 0; i < 400; i++) lines.push(`${T0 + i * 5 * MIN},api,prod-detector,2.1,${i >= 301 && i < 303 ? 0.97 : 0.05}`);
    lines.push(`${T0},db,prod-detector,2.1,not-a-number`);
    const report = await importPath(engine, writeFile(dir, 'scores.csv', lines.join('\n')), { kind: 'detector-scores', timeUnit: 'ms', acceptValidRows: true });
    expect(report.rowsAccepted).toBe(400);
    expect(report.rejected[0]).toMatchObject({ line: 402 });
    expect(report.rejected[0]!.reason).toMatch(/score/);
    const model = (await engine.call('models.list', {})).find((m) => m.name === 'prod-detector')!;
    expect(model).toMatchObject({ task: 'detection', kind: 'imported-log', threshold: 0.5 });
    const { jobId } = await engine.call('detection.start', { models: [model.id] });
    const job = await engine.jobs.wait(jobId);
    expect(job.state, job.error?.message).toBe('done');
    const runId = (job.result as DetectionRunInfo).id;
    const incidents = await engine.call('detection.incidents', { runId });
    // Logged alert at step 301, humans at step 310: 45 minutes earlier.
    expect(incidents[0]!.detections['prod-detector v1']).toEqual({ at: T0 + 301 * 5 * MIN, leadMin: 45 });
  });
});
