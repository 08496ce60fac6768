import type { Perturbation, RunGuard } from '../../../shared/contract/drills.js';
import { faultPlan, perturbFeature, reflectAcross, reflectUnbounded, streamSeed, stringSalt } from '../../../shared/drills/perturb.js';
import type { ServiceFrame } from './replay-detection.js';

/**
 * The detection runner's guard (DESIGN.md §7), step by step where the change-risk guard goes row
 * by row: a drill's input faults applied to the telemetry a detector reads, gaps in its inputs
 * imputed or refused, its per-step time budget, its scores checked, and the failed steps handed to
 * the fallback. What happened at each step is kept as a bit set beside the stored scores.
 */

export const STEP_FAULT = {
  error: 1,
  timeout: 2,
  'invalid-input': 4,
  'invalid-output': 8,
  imputed: 16,
  flipped: 32,
  /** the fallback answered (another detector's decision, or the imported alerts in the span) */
  fallback: 64,
  /** nobody answered: no score, no alert */
  'no-answer': 128,
} as const;
export type StepFault = keyof typeof STEP_FAULT;
export const FAILED = STEP_FAULT.error | STEP_FAULT.timeout | STEP_FAULT['invalid-input'] | STEP_FAULT['invalid-output'];

export function faultNames(code: number): StepFault[] {
  return (Object.keys(STEP_FAULT) as StepFault[]).filter((k) => (code & STEP_FAULT[k]) !== 0);
}

/** One seed stream per service, so a service's faults do not depend on which other services ran. */
export function serviceSeed(seed: number, service: string): number {
  return streamSeed(seed, 0x5e41, stringSalt(service));
}

/** Valid detection scores by default: "how unusual", so never negative; no upper bound. */
export function detectionRange(guard: RunGuard | undefined): [number, number] {
  return guard?.outputRange ? [guard.outputRange[0], guard.outputRange[1]] : [0, Number.POSITIVE_INFINITY];
}

/**
 * The frame with a drill's input perturbations applied to the steps in the range (index ≥ start).
 * σ is each metric's spread over those steps; stale spans cover a share of the service's steps' time.
 */
export function perturbFrame(frame: ServiceFrame, start: number, metrics: readonly string[], perturbations: readonly Perturbation[], seed: number): ServiceFrame {
  const inputs = perturbations.filter((p) => 'features' in p);
  if (inputs.length === 0 || frame.times.length - start <= 0) return frame;
  const times = frame.times.subarray(start);
  const rows = { times, services: new Uint8Array(times.length) };
  const values = frame.values.map((column, m) => {
    const name = metrics[m]!;
    if (!inputs.some((p) => 'features' in p && p.features.includes(name))) return column;
    // Indices into the spec's own list, so each perturbation keeps its own seeded stream.
    const { values: changed } = perturbFeature(name, column.subarray(start), rows, perturbations, seed);
    const out = Float64Array.from(column);
    out.set(changed, start);
    return out;
  });
  return { times: frame.times, values };
}

/**
 * The NaN policy on the steps in range: "impute" carries each metric's last value forward (gaps the
 * telemetry already had included); "refuse" marks the steps where any of the metric is missing.
 * Returns the frame the detectors read and, per metric, which in-range steps were imputed or missing.
 */
export function applyNanPolicy(frame: ServiceFrame, start: number, policy: RunGuard['nanPolicy']): { frame: ServiceFrame; touched: Uint8Array[] } {
  const n = Math.max(0, frame.times.length - start);
  if (policy === 'pass') return { frame, touched: frame.values.map(() => new Uint8Array(n)) };
  const touched: Uint8Array[] = [];
  const values = frame.values.map((column) => {
    const mask = new Uint8Array(n);
    touched.push(mask);
    let out: Float64Array | null = null;
    let last = Number.NaN;
    for (let i = 0; i < column.length; i++) {
      const v = column[i]!;
      if (!Number.isNaN(v)) { last = v; continue; }
      if (i < start) continue;
      if (policy === 'refuse') { mask[i - start] = 1; continue; }
      // Nothing to carry forward yet: the gap stays a gap, and the detector skips it.
      if (Number.isNaN(last)) continue;
      out ??= Float64Array.from(column);
      out[i] = last;
      mask[i - start] = 1;
    }
    return out ?? column;
  });
  return { frame: { times: frame.times, values }, touched };
}

export interface FallbackScores {
  /** the fallback detector's scores on the same grid */
  score: Float32Array;
  threshold: number;
}

export interface GuardStepsInput {
  /** the detector's scores over the whole grid; NaN where it gave none */
  score: Float32Array;
  /** steps the detector threw on (a failed ONNX batch), indexed like `score` */
  thrown: Uint8Array | null;
  start: number;
  threshold: number;
  guard: RunGuard | undefined;
  perturbations: readonly Perturbation[];
  seed: number;
  /** in-range steps whose inputs were imputed, and refused (missing under "refuse") */
  imputed: Uint8Array | null;
  refused: Uint8Array | null;
  /** measured compute time per step, ms */
  perStepMs: number;
  fallback: FallbackScores | 'static-alerts' | null;
}

/**
 * Faults injected between the detector and the checks (so the checks are what catch them), then
 * each failed step answered by the fallback: a detector's score rescaled by the thresholds' ratio
 * (its decision kept), or NaN marked "fallback" for the imported alerts, or NaN marked "no-answer".
 * Returns the scores to store and a fault code per in-range step.
 */
export function guardSteps(input: GuardStepsInput): { score: Float32Array; faults: Uint8Array } {
  const { start, threshold, guard } = input;
  const n = Math.max(0, input.score.length - start);
  const range = detectionRange(guard);
  const [lo, hi] = range;
  const plan = faultPlan(n, input.perturbations, input.seed, range);
  const bounded = hi <= 1 && threshold > 0 && threshold < 1;
  const score = Float32Array.from(input.score);
  const faults = new Uint8Array(n);
  const valid = (v: number): boolean => Number.isFinite(v) && v >= lo && v <= hi;
  for (let k = 0; k < n; k++) {
    const i = start + k;
    let code = input.imputed?.[k] ? STEP_FAULT.imputed : 0;
    if (input.refused?.[k]) code |= STEP_FAULT['invalid-input'];
    else if (plan.fail[k] || input.thrown?.[i]) code |= STEP_FAULT.error;
    else if (guard?.timeoutMs !== undefined && input.perStepMs + plan.latency[k]! > guard.timeoutMs) code |= STEP_FAULT.timeout;
    else {
      let s = plan.garbage[k] ? plan.garbageValue[k]! : input.score[i]!;
      if (plan.flip[k] && !Number.isNaN(s)) {
        s = bounded ? reflectAcross(s, threshold) : reflectUnbounded(s, threshold);
        code |= STEP_FAULT.flipped;
      }
      if (valid(s)) score[i] = s;
      else code |= STEP_FAULT['invalid-output'];
    }
    if (code & FAILED) {
      const fb = input.fallback;
      if (fb === 'static-alerts') {
        score[i] = Number.NaN;
        code |= STEP_FAULT.fallback;
      } else if (fb !== null && Number.isFinite(fb.score[i]!) && fb.score[i]! >= 0) {
        // On the failing detector's scale: above its threshold exactly when the fallback alerts.
        score[i] = fb.score[i]! * (threshold / fb.threshold);
        code |= STEP_FAULT.fallback;
      } else {
        score[i] = Number.NaN;
        code |= STEP_FAULT['no-answer'];
      }
    }
    faults[k] = code;
  }
  return { score, faults };
}

/** Runs of failed steps answered by the imported alerts: [from, until) in time, for picking those alerts. */
export function staticSpans(times: Float64Array, start: number, faults: Uint8Array, until: number): [number, number][] {
  const spans: [number, number][] = [];
  for (let k = 0; k < faults.length; k++) {
    if (!(faults[k]! & STEP_FAULT.fallback)) continue;
    const from = times[start + k]!;
    const to = start + k + 1 < times.length ? times[start + k + 1]! : until;
    const last = spans[spans.length - 1];
    if (last && last[1] === from) last[1] = to;
    else spans.push([from, to]);
  }
  return spans;
}
