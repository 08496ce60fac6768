import { computeMetrics, sortPredictions, type Costs, type Prediction } from './classification.js';
import { evidenceOf, flatten, quantile, resampleState, type Interval } from './bootstrap.js';
import { MIN_EVIDENCE } from './evidence.js';
import { drawWeights, resampleMetrics, resampleScratch, RESAMPLE_KEYS } from './resample.js';

/**
 * Champion vs challenger on the same subjects (DESIGN.md §6 "Comparisons"): a paired bootstrap of
 * every metric's difference (the same resampled subjects for both models), McNemar's exact test on
 * whether each model's decision was right, and a verdict per metric.
 */

/** Whether a bigger value of the metric is better; null where neither is (how much gets flagged). */
/**
 * Each metric's verdict is at 95 %, but a comparison gives one for every metric: between two equally
 * good models about a quarter of comparisons show some "better" or "worse" by chance (an A/A
 * simulation with this code, 1000 trials: 23 %; 4–6 % per metric). A gate is not affected the same
 * way: it passes only if every criterion does.
 */
export const MULTIPLE_METRICS_NOTE = 'Every metric is judged at 95 % on its own: between two equally good models about 1 comparison in 4 shows some "better" or "worse" by chance, so decide on the metric your gate names, not on the count of better ones.';

export const HIGHER_IS_BETTER: Record<string, boolean | null> = {
  auc_roc: true, average_precision: true, precision: true, recall: true, f1: true,
  capture_at_5: true, capture_at_10: true, capture_at_20: true, capture_at_50: true,
  brier: false, log_loss: false, ece: false, fpr: false, expected_cost: false,
  flagged_share: null,
  // detection, for gates that compare a detector with the imported alerts
  incident_recall: true, false_alerts_per_day: false, time_to_know_min: false,
};

/** Whether a higher value of `metric` is better; null: no preference; undefined: not a metric that compares. */
export function higherIsBetter(metric: string): boolean | null | undefined {
  // Recall within one severity (incident_recall_sev1 …), which detector gates can name.
  return HIGHER_IS_BETTER[metric] ?? (/^incident_recall_sev\d+$/.test(metric) ? true : undefined);
}

export type Verdict = 'better' | 'worse' | 'not enough evidence' | 'no preference';

export interface MetricComparison {
  metric: string;
  champion: number | null;
  challenger: number | null;
  /** challenger − champion, with its paired-bootstrap interval */
  difference: Interval;
  verdict: Verdict;
}

/** The verdict a difference interval supports, for a metric where higher is (or is not) better. */
export function verdictOf(diff: Interval, higherIsBetter: boolean | null): Verdict {
  if (higherIsBetter === null) return 'no preference';
  if (diff.lo === null || diff.hi === null) return 'not enough evidence';
  if (diff.lo > 0) return higherIsBetter ? 'better' : 'worse';
  if (diff.hi < 0) return higherIsBetter ? 'worse' : 'better';
  return 'not enough evidence';
}

/**
 * McNemar's exact test: of the subjects the two models disagree on, `b` only the first got right
 * and `c` only the second. Two-sided p = min(1, 2·P(X ≤ min(b, c))), X ~ Binomial(b + c, ½).
 */
export function mcnemarExact(b: number, c: number): number {
  const n = b + c;
  if (n === 0) return 1;
  const k = Math.min(b, c);
  // Sum the binomial pmf in log space: n can be in the thousands.
  let logC = 0; // log C(n, 0)
  let tail = 0;
  for (let i = 0; i <= k; i++) {
    if (i > 0) logC += Math.log(n - i + 1) - Math.log(i);
    tail += Math.exp(logC - n * Math.LN2);
  }
  return Math.min(1, 2 * tail);
}

export interface PairedInput {
  /** per subject, in the same order for both */
  labels: readonly (0 | 1)[];
  champion: readonly number[];
  challenger: readonly number[];
  championThreshold: number;
  challengerThreshold: number;
}

export interface PairedComparison {
  n: number;
  positives: number;
  metrics: MetricComparison[];
  mcnemar: { championOnlyRight: number; challengerOnlyRight: number; p: number };
  /** subjects where one model's decision differs from the other's */
  disagreements: number[];
}

/**
 * Paired bootstrap: each resample draws one Poisson(1) weight per subject and scores both models
 * with those same weights, so the difference's interval reflects only how the models differ on
 * the same changes — not how the sample of changes varies.
 */
export function comparePaired(input: PairedInput, costs: Costs, options: { resamples?: number; seed?: number; level?: number } = {}): PairedComparison {
  const resamples = options.resamples ?? 1000;
  const seed = options.seed ?? 20260901;
  const level = options.level ?? 0.95;
  const n = input.labels.length;
  if (input.champion.length !== n || input.challenger.length !== n) throw new Error('both models must score the same subjects');
  const toPredictions = (scores: readonly number[]): Prediction[] => scores.map((score, i) => ({ score, label: input.labels[i]! }));
  const a = sortPredictions(toPredictions(input.champion));
  const b = sortPredictions(toPredictions(input.challenger));
  const fullA = computeMetrics(a, input.championThreshold, costs);
  const fullB = computeMetrics(b, input.challengerThreshold, costs);
  const pointA = flatten(fullA);
  const pointB = flatten(fullB);
  const scratchA = resampleScratch(a);
  const scratchB = resampleScratch(b);
  const width = RESAMPLE_KEYS.length;
  const diffs = RESAMPLE_KEYS.map(() => [] as number[]);
  const w = new Uint8Array(n);
  const wA = new Uint8Array(n);
  const wB = new Uint8Array(n);
  for (let r = 0; r < resamples && n > 0; r++) {
    // Draw each subject's weight once, then lay the weights out in each model's sorted order.
    const state = resampleState(seed, r);
    drawWeights(state, w);
    for (let k = 0; k < n; k++) {
      wA[k] = w[a.order[k]!]!;
      wB[k] = w[b.order[k]!]!;
    }
    const outA = Float64Array.from(resampleMetrics(a, input.championThreshold, costs, state, scratchA, wA));
    const outB = resampleMetrics(b, input.challengerThreshold, costs, state, scratchB, wB);
    for (let j = 0; j < width; j++) {
      const d = outB[j]! - outA[j]!;
      if (Number.isFinite(d)) diffs[j]!.push(d);
    }
  }
  const alpha = (1 - level) / 2;
  const metrics = RESAMPLE_KEYS.map((key, j) => {
    const got = Float64Array.from(diffs[j]!).sort();
    // A difference needs the evidence each side's interval needs (MIN_EVIDENCE of what it rests on).
    const enough = Math.min(evidenceOf(key, fullA).count, evidenceOf(key, fullB).count) >= MIN_EVIDENCE;
    const usable = resamples > 0 && got.length >= resamples / 2 && n > 0 && enough;
    const ca = pointA[key] ?? null;
    const cb = pointB[key] ?? null;
    const difference: Interval = { value: ca !== null && cb !== null ? cb - ca : null, lo: usable ? quantile(got, alpha) : null, hi: usable ? quantile(got, 1 - alpha) : null };
    return { metric: key, champion: ca, challenger: cb, difference, verdict: verdictOf(difference, HIGHER_IS_BETTER[key] ?? null) };
  });
  let championOnlyRight = 0;
  let challengerOnlyRight = 0;
  const disagreements: number[] = [];
  for (let i = 0; i < n; i++) {
    const da = input.champion[i]! >= input.championThreshold ? 1 : 0;
    const db = input.challenger[i]! >= input.challengerThreshold ? 1 : 0;
    if (da === db) continue;
    disagreements.push(i);
    if (da === input.labels[i]) championOnlyRight++;
    else challengerOnlyRight++;
  }
  return {
    n, positives: input.labels.filter((l) => l === 1).length, metrics,
    mcnemar: { championOnlyRight, challengerOnlyRight, p: mcnemarExact(championOnlyRight, challengerOnlyRight) },
    disagreements,
  };
}
