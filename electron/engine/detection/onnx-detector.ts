import * as ort from 'onnxruntime-node';
import type { WindowManifest } from '../../../shared/contract/detection.js';
import type { DetectorOutput } from '../../../shared/detection/detectors.js';
import { EngineFailure } from '../errors.js';

/**
 * ONNX window detectors: the score at step t is the model's output for the window of the last
 * `length` steps ending at t (never later), each metric normalised within its window. Windows
 * are cut from contiguous arrays and sent in batches.
 */

const BATCH = 4096;

/** Whether the model's input is rank 3 ([N, M, W]) even for one metric. */
export function inputRank(session: ort.InferenceSession, manifest: WindowManifest): 2 | 3 {
  const meta = (session as unknown as { inputMetadata?: Array<{ name: string; shape?: Array<number | string> }> }).inputMetadata;
  const shape = meta?.find((m) => m.name === manifest.input)?.shape;
  if (shape && shape.length === 3) return 3;
  if (shape && shape.length === 2) return 2;
  return manifest.window.metrics.length > 1 ? 3 : 2;
}

/** Checks the input and output names and the window shape the model declares against the manifest. */
export function checkWindowManifest(session: ort.InferenceSession, manifest: WindowManifest): void {
  const { name } = manifest;
  if (!session.inputNames.includes(manifest.input)) throw new EngineFailure('input_error', `Model ${name}: the manifest names input "${manifest.input}", but the model's inputs are ${session.inputNames.map((n) => `"${n}"`).join(', ')}`);
  if (!session.outputNames.includes(manifest.output)) throw new EngineFailure('input_error', `Model ${name}: the manifest names output "${manifest.output}", but the model's outputs are ${session.outputNames.map((n) => `"${n}"`).join(', ')}`);
  const meta = (session as unknown as { inputMetadata?: Array<{ name: string; shape?: Array<number | string> }> }).inputMetadata;
  const shape = meta?.find((m) => m.name === manifest.input)?.shape ?? [];
  const { metrics, length } = manifest.window;
  if (shape.length === 2 && metrics.length > 1) throw new EngineFailure('input_error', `Model ${name}: input "${manifest.input}" is [N, W], but the manifest names ${metrics.length} metrics; several metrics need an [N, M, W] input`);
  const w = shape[shape.length - 1];
  if (typeof w === 'number' && w > 0 && w !== length) throw new EngineFailure('input_error', `Model ${name}: input "${manifest.input}" takes windows of ${w} steps, but the manifest says ${length}`);
  const m = shape.length === 3 ? shape[1] : undefined;
  if (typeof m === 'number' && m > 0 && m !== metrics.length) throw new EngineFailure('input_error', `Model ${name}: input "${manifest.input}" takes ${m} metrics, but the manifest names ${metrics.length} (${metrics.join(', ')})`);
}

function normalise(window: Float32Array, mode: WindowManifest['window']['normalisation']): void {
  if (mode === 'none') return;
  let lo = Infinity;
  let hi = -Infinity;
  let sum = 0;
  for (const v of window) {
    sum += v;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (mode === 'minmax') {
    const span = hi - lo || 1;
    for (let i = 0; i < window.length; i++) window[i] = (window[i]! - lo) / span;
    return;
  }
  const mean = sum / window.length;
  let sq = 0;
  for (const v of window) sq += (v - mean) * (v - mean);
  const sd = Math.sqrt(sq / window.length) || 1;
  for (let i = 0; i < window.length; i++) window[i] = (window[i]! - mean) / sd;
}

/**
 * Scores every step of a service's aligned metrics. Steps before a full window score 0; missing
 * points inside a window repeat the previous value (the window's first known value at its start).
 * A NaN or infinite score is an error naming the model, the service and the time.
 */
export async function scoreWindows(session: ort.InferenceSession, manifest: WindowManifest, times: Float64Array, values: Float64Array[], where: string, cancelled: () => boolean = () => false, options: { guarded?: boolean } = {}): Promise<DetectorOutput & { thrown: Uint8Array | null }> {
  const n = times.length;
  const { length: w, metrics, normalisation } = manifest.window;
  const m = metrics.length;
  const rank = inputRank(session, manifest);
  // Guarded (a run with a guard): a failing batch marks its steps and a non-finite score is kept, for the guard to judge.
  const thrown = options.guarded ? new Uint8Array(n) : null;
  const out: DetectorOutput = { score: new Float32Array(n), metric: new Uint8Array(n), expected: new Float32Array(n).fill(Number.NaN), spread: new Float32Array(n).fill(Number.NaN) };
  const window = new Float32Array(w);
  for (let start = w - 1; start < n; start += BATCH) {
    if (cancelled()) break;
    const rows = Math.min(BATCH, n - start);
    const batch = new Float32Array(rows * m * w);
    for (let r = 0; r < rows; r++) {
      const t = start + r;
      for (let k = 0; k < m; k++) {
        const series = values[k]!;
        let last = Number.NaN;
        for (let j = 0; j < w; j++) {
          const v = series[t - w + 1 + j]!;
          if (!Number.isNaN(v)) last = v;
          window[j] = last;
        }
        // Leading gaps take the first known value; a window with no value at all is zeros.
        const first = window.findIndex((v) => !Number.isNaN(v));
        for (let j = 0; j < w; j++) if (Number.isNaN(window[j]!)) window[j] = first >= 0 ? window[first]! : 0;
        normalise(window, normalisation);
        batch.set(window, (r * m + k) * w);
      }
    }
    const dims = rank === 3 ? [rows, m, w] : [rows, w];
    let result: ort.InferenceSession.OnnxValueMapType;
    try {
      result = await session.run({ [manifest.input]: new ort.Tensor('float32', batch, dims) });
    } catch (err) {
      if (thrown) {
        thrown.fill(1, start, start + rows);
        out.score.fill(Number.NaN, start, start + rows);
        continue;
      }
      throw new EngineFailure('input_error', `Model ${manifest.name} failed on ${where} at ${new Date(times[start]!).toISOString()}: ${(err as Error).message.split('\n')[0]}`);
    }
    const tensor = result[manifest.output] as ort.Tensor;
    const data = tensor.data as Float32Array | Float64Array;
    const width = tensor.dims.length >= 2 ? Number(tensor.dims[tensor.dims.length - 1]) : 1;
    if (tensor.dims[0] !== rows && !(tensor.dims.length === 1 && data.length === rows)) throw new EngineFailure('input_error', `Model ${manifest.name}: output "${manifest.output}" has shape [${tensor.dims.join(', ')}] for ${rows} windows; expected [N], [N, 1] or [N, k]`);
    const column = manifest.column ?? (width === 2 ? 1 : 0);
    if (column >= width) throw new EngineFailure('input_error', `Model ${manifest.name}: output "${manifest.output}" has ${width} column(s); the manifest asks for column ${column}`);
    for (let r = 0; r < rows; r++) {
      const v = Number(data[r * width + column]);
      if (!Number.isFinite(v) && !thrown) throw new EngineFailure('input_error', `Model ${manifest.name} returned ${v} on ${where} at ${new Date(times[start + r]!).toISOString()}: scores must be finite numbers`);
      out.score[start + r] = v;
    }
  }
  return { ...out, thrown };
}

/** The metric that deviated most at step t, against the rest of its window: for explanations. */
export function windowDeviation(values: Float64Array[], t: number, w: number): { metric: number; value: number; expected: number; spread: number; z: number } {
  let best = { metric: 0, value: Number.NaN, expected: Number.NaN, spread: Number.NaN, z: -Infinity };
  values.forEach((series, k) => {
    const past: number[] = [];
    for (let j = Math.max(0, t - w + 1); j < t; j++) if (!Number.isNaN(series[j]!)) past.push(series[j]!);
    const x = series[t]!;
    if (past.length < 2 || Number.isNaN(x)) return;
    const mean = past.reduce((a, b) => a + b, 0) / past.length;
    const sd = Math.max(Math.sqrt(past.reduce((a, b) => a + (b - mean) ** 2, 0) / past.length), 1e-6, 0.01 * Math.abs(mean));
    const z = Math.abs(x - mean) / sd;
    if (z > best.z) best = { metric: k, value: x, expected: mean, spread: sd, z };
  });
  return best;
}
