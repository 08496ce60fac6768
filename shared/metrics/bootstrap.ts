import { CAPTURE_LEVELS, computeMetrics, DEFAULT_COSTS, type ClassificationMetrics, type Costs, type Sorted } from './classification.js';
import { withEvidence } from './evidence.js';
import { resampleMetrics, resampleScratch, RESAMPLE_KEYS, sfc32State } from './resample.js';

/** A headline number with its percentile bootstrap interval; null where the metric is undefined. */
export interface Interval {
  value: number | null;
  lo: number | null;
  hi: number | null;
}

export interface BootstrapOptions {
  resamples: number;
  seed: number;
  level: number;
}

export const DEFAULT_BOOTSTRAP: BootstrapOptions = { resamples: 1000, seed: 20260901, level: 0.95 };

/** The numbers a scorecard carries intervals for, flattened to one key each. */
export function flatten(m: ClassificationMetrics): Record<string, number | null> {
  const out: Record<string, number | null> = {
    auc_roc: m.auc_roc, average_precision: m.average_precision, brier: m.brier, log_loss: m.log_loss, ece: m.ece,
    precision: m.precision, recall: m.recall, fpr: m.fpr, f1: m.f1, flagged_share: m.flagged_share, expected_cost: m.expected_cost,
  };
  for (const k of CAPTURE_LEVELS) out[`capture_at_${k}`] = m.capture_at[String(k)] ?? null;
  return out;
}

/** Linear interpolation between order statistics, as numpy's default percentile. */
export function quantile(sortedValues: ArrayLike<number>, q: number): number {
  const pos = (sortedValues.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sortedValues[lo]! + (sortedValues[hi]! - sortedValues[lo]!) * (pos - lo);
}

/** The generator state for resample `r` of a bootstrap seeded with `seed`. */
export function resampleState(seed: number, r: number): Int32Array {
  return sfc32State((seed + Math.imul(r + 1, 0x9e3779b9)) | 0);
}

/**
 * Resamples `from` ≤ r < `to` of a seeded bootstrap: one row of RESAMPLE_KEYS values per resample
 * (NaN where a metric is undefined in that resample). Every resample has its own seed, so a
 * bootstrap split into ranges — across worker threads — gives exactly the numbers of one pass.
 */
export function bootstrapSamples(sorted: Sorted, threshold: number, costs: Costs, seed: number, from: number, to: number): Float64Array {
  const width = RESAMPLE_KEYS.length;
  const rows = new Float64Array(Math.max(0, to - from) * width);
  if (sorted.n === 0) return rows.fill(Number.NaN);
  const scratch = resampleScratch(sorted);
  for (let r = from; r < to; r++) rows.set(resampleMetrics(sorted, threshold, costs, resampleState(seed, r), scratch), (r - from) * width);
  return rows;
}

/**
 * Percentile intervals from the resample rows of `bootstrapSamples` (all ranges, in order).
 * Resamples where a metric is undefined (no positives drawn) are left out of that metric's
 * interval; if more than half are, the interval is null rather than misleading.
 */
export function intervalsFromSamples(point: ClassificationMetrics, rows: Float64Array, level: number = DEFAULT_BOOTSTRAP.level): Record<string, Interval> {
  const flat = flatten(point);
  const width = RESAMPLE_KEYS.length;
  const resamples = rows.length / width;
  const alpha = (1 - level) / 2;
  const intervals: Record<string, Interval> = {};
  for (const [k, v] of Object.entries(flat)) {
    const column = (RESAMPLE_KEYS as readonly string[]).indexOf(k);
    const got: number[] = [];
    for (let r = 0; r < resamples; r++) {
      const x = rows[r * width + column]!;
      if (Number.isFinite(x)) got.push(x);
    }
    const values = Float64Array.from(got).sort();
    const usable = resamples > 0 && values.length >= resamples / 2;
    const iv = { value: v ?? null, lo: usable ? quantile(values, alpha) : null, hi: usable ? quantile(values, 1 - alpha) : null };
    const { count, successes } = evidenceOf(k, point);
    intervals[k] = withEvidence(iv, count, successes === undefined ? undefined : { successes }, level);
  }
  return intervals;
}

/**
 * What each metric rests on: the subjects it is a share of (or, for ranking metrics, the scarcer
 * class), and for a plain share how many of them count.
 */
export function evidenceOf(key: string, point: Pick<ClassificationMetrics, 'n' | 'positives' | 'confusion'>): { count: number; what: string; successes?: number } {
  const { tp, fp } = point.confusion;
  const negatives = point.n - point.positives;
  const failures = 'incident-causing changes';
  switch (key) {
    case 'recall': return { count: point.positives, what: failures, successes: tp };
    case 'fpr': return { count: negatives, what: 'good changes', successes: fp };
    case 'precision': return { count: tp + fp, what: 'flagged changes', successes: tp };
    case 'flagged_share': return { count: point.n, what: 'changes', successes: tp + fp };
    case 'auc_roc': return point.positives <= negatives ? { count: point.positives, what: failures } : { count: negatives, what: 'good changes' };
    case 'average_precision': case 'f1': return { count: point.positives, what: failures };
    default: return key.startsWith('capture_at_') ? { count: point.positives, what: failures } : { count: point.n, what: 'changes' };
  }
}

/**
 * Percentile bootstrap over subjects (changes), seeded so the same run gives the same intervals.
 *
 * Each resample weights every subject by an independent Poisson(1) draw — the Poisson bootstrap,
 * the large-sample form of drawing n subjects with replacement — so a resample is one sequential
 * pass with no sort, which is what keeps 1000 resamples over 100k predictions fast. The engine
 * runs the same resamples split across worker threads (electron/engine/metrics).
 */
export function bootstrapMetrics(sorted: Sorted, threshold: number, costs: Costs = DEFAULT_COSTS, options: Partial<BootstrapOptions> = {}): { point: ClassificationMetrics; intervals: Record<string, Interval> } {
  const { resamples, seed, level } = { ...DEFAULT_BOOTSTRAP, ...options };
  const point = computeMetrics(sorted, threshold, costs);
  return { point, intervals: intervalsFromSamples(point, bootstrapSamples(sorted, threshold, costs, seed, 0, resamples), level) };
}
