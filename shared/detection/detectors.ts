import type { DetectorSpec } from '../contract/detection.js';

/**
 * The built-in detectors over contiguous arrays (one pass, no query per point). Step t's score uses
 * values at or before t; its baseline uses only values before t, so a detector never sees the
 * future (a property test holds it to that). Scores are z-like: how many spreads the value is from
 * what the baseline expected; static thresholds score 1 when they fire and 0 otherwise.
 */

export interface DetectorInput {
  times: Float64Array;
  /** one array per metric the spec names, aligned with `times`; NaN = no point at that step */
  values: Float64Array[];
}

export interface DetectorOutput {
  /** per step: the score (max over metrics), 0 where there is not enough history */
  score: Float32Array;
  /** per step: which metric gave the score (index into the spec's metrics) */
  metric: Uint8Array;
  /** per step: the value that metric was expected to have, and its spread (NaN for static) */
  expected: Float32Array;
  spread: Float32Array;
}

export function detectorMetrics(spec: DetectorSpec): string[] {
  return spec.kind === 'static' ? [spec.metric] : spec.metrics;
}

const MIN_HISTORY = 12;
const WEEK_MS = 7 * 24 * 3600 * 1000;

/** Spreads below this share of the level (or an absolute floor) would turn rounding into alarms. */
function floorSpread(spread: number, level: number): number {
  return Math.max(spread, 0.01 * Math.abs(level), 1e-6);
}

function directed(z: number, direction: 'up' | 'down' | 'both'): number {
  const d = direction === 'up' ? z : direction === 'down' ? -z : Math.abs(z);
  return d > 0 ? d : 0;
}

/** z of each value against the mean and spread of the `window` valid values before it. */
function rollingZ(values: Float64Array, window: number, out: Float64Array, expected: Float64Array, spread: Float64Array): void {
  const ring = new Float64Array(window);
  let head = 0;
  let count = 0;
  let sum = 0;
  let sumSq = 0;
  for (let t = 0; t < values.length; t++) {
    const x = values[t]!;
    if (count >= Math.min(window, MIN_HISTORY) && !Number.isNaN(x)) {
      const mean = sum / count;
      const sd = floorSpread(Math.sqrt(Math.max(0, sumSq / count - mean * mean)), mean);
      out[t] = (x - mean) / sd;
      expected[t] = mean;
      spread[t] = sd;
    } else out[t] = Number.NaN;
    if (Number.isNaN(x)) continue;
    // Only now does x join the baseline: step t+1 sees it, step t did not.
    if (count === window) {
      const old = ring[head]!;
      sum -= old;
      sumSq -= old * old;
    } else count++;
    ring[head] = x;
    head = (head + 1) % window;
    sum += x;
    sumSq += x * x;
  }
}

function ewmaZ(values: Float64Array, alpha: number, out: Float64Array, expected: Float64Array, spread: Float64Array): void {
  let mean = Number.NaN;
  let variance = 0;
  let seen = 0;
  for (let t = 0; t < values.length; t++) {
    const x = values[t]!;
    if (seen >= MIN_HISTORY && !Number.isNaN(x)) {
      const sd = floorSpread(Math.sqrt(variance), mean);
      out[t] = (x - mean) / sd;
      expected[t] = mean;
      spread[t] = sd;
    } else out[t] = Number.NaN;
    if (Number.isNaN(x)) continue;
    if (seen === 0) mean = x;
    else {
      const diff = x - mean;
      mean += alpha * diff;
      variance = (1 - alpha) * (variance + alpha * diff * diff);
    }
    seen++;
  }
}

/** Residuals against the value a week earlier (within half a step), then their rolling z. */
function weekOverWeekZ(times: Float64Array, values: Float64Array, window: number, out: Float64Array, expected: Float64Array, spread: Float64Array): void {
  const n = values.length;
  const residual = new Float64Array(n).fill(Number.NaN);
  const lastWeek = new Float64Array(n).fill(Number.NaN);
  const step = n > 1 ? (times[n - 1]! - times[0]!) / (n - 1) : 0;
  let j = 0;
  for (let t = 0; t < n; t++) {
    const target = times[t]! - WEEK_MS;
    while (j + 1 < t && times[j + 1]! <= target + step / 2) j++;
    if (j < t && Math.abs(times[j]! - target) <= step / 2 && !Number.isNaN(values[j]!) && !Number.isNaN(values[t]!)) {
      residual[t] = values[t]! - values[j]!;
      lastWeek[t] = values[j]!;
    }
  }
  const rz = new Float64Array(n);
  const rMean = new Float64Array(n);
  const rSpread = new Float64Array(n);
  rollingZ(residual, window, rz, rMean, rSpread);
  for (let t = 0; t < n; t++) {
    out[t] = rz[t]!;
    // Expected value = last week's value plus the residual's recent mean.
    expected[t] = lastWeek[t]! + rMean[t]!;
    spread[t] = rSpread[t]!;
  }
}

function staticScore(values: Float64Array, spec: Extract<DetectorSpec, { kind: 'static' }>, out: Float64Array, expected: Float64Array, spread: Float64Array): void {
  let run = 0;
  for (let t = 0; t < values.length; t++) {
    const x = values[t]!;
    const beyond = !Number.isNaN(x) && (spec.direction === 'above' ? x > spec.value : x < spec.value);
    run = beyond ? run + 1 : 0;
    out[t] = run >= spec.steps ? 1 : 0;
    expected[t] = spec.value;
    spread[t] = Number.NaN;
  }
}

/**
 * How long after a service's telemetry begins a detector can first score (it answers 0 before):
 * the history its baseline needs. Incidents that start earlier could not have been caught by it.
 */
export function detectorWarmUpMs(spec: DetectorSpec, stepMs: number): number {
  if (spec.kind === 'static') return spec.steps * stepMs;
  if (spec.kind === 'ewma') return MIN_HISTORY * stepMs;
  if (spec.kind === 'zscore') return Math.min(spec.window, MIN_HISTORY) * stepMs;
  return WEEK_MS + Math.min(spec.window, MIN_HISTORY) * stepMs;
}

export function runDetector(spec: DetectorSpec, input: DetectorInput): DetectorOutput {
  const n = input.times.length;
  const metrics = detectorMetrics(spec);
  if (input.values.length !== metrics.length) throw new Error(`the detector needs ${metrics.length} metric(s) (${metrics.join(', ')}), got ${input.values.length}`);
  const score = new Float32Array(n);
  const metric = new Uint8Array(n);
  const expected = new Float32Array(n).fill(Number.NaN);
  const spread = new Float32Array(n).fill(Number.NaN);
  const z = new Float64Array(n);
  const e = new Float64Array(n);
  const s = new Float64Array(n);
  metrics.forEach((_, m) => {
    const values = input.values[m]!;
    if (values.length !== n) throw new Error(`metric ${metrics[m]} has ${values.length} values for ${n} steps`);
    if (spec.kind === 'static') staticScore(values, spec, z, e, s);
    else if (spec.kind === 'zscore') rollingZ(values, spec.window, z, e, s);
    else if (spec.kind === 'ewma') ewmaZ(values, spec.alpha, z, e, s);
    else weekOverWeekZ(input.times, values, spec.window, z, e, s);
    const direction = spec.kind === 'static' ? 'up' : spec.direction;
    for (let t = 0; t < n; t++) {
      const v = Number.isNaN(z[t]!) ? 0 : directed(z[t]!, direction);
      if (m === 0 || v > score[t]!) {
        score[t] = v;
        metric[t] = m;
        expected[t] = e[t]!;
        spread[t] = s[t]!;
      }
    }
  });
  return { score, metric, expected, spread };
}

/** A sentence for an alert's peak: which signal deviated, by how much, against what baseline. */
export function explainPeak(spec: DetectorSpec, metricName: string, value: number, expected: number, spread: number, score: number): string {
  const fmt = (v: number): string => (Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(2) : v.toPrecision(3));
  if (spec.kind === 'static') return `${metricName} ${fmt(value)} ${spec.direction} ${fmt(spec.value)} for ${spec.steps}+ steps`;
  const what = spec.kind === 'zscore' ? `its mean over the previous ${spec.window} steps` : spec.kind === 'ewma' ? 'its moving average' : 'the same time last week (adjusted)';
  return `${metricName} ${fmt(value)} vs ${fmt(expected)} expected from ${what} (spread ${fmt(spread)}): ${score.toFixed(1)}σ`;
}
