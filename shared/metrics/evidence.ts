import type { Interval } from './bootstrap.js';

/**
 * How much evidence an interval needs. A percentile bootstrap over very few of a kind says more than
 * the data can: with one incident, every resample that draws it gives recall 1 and AUC 1, the rest
 * are undefined and dropped, and the "interval" is [1, 1]. So:
 *  - below MIN_EVIDENCE subjects of the kind a metric is a share of (incidents for recall, good
 *    changes for fpr, flagged changes for precision…) there is no interval, and a gate criterion on
 *    it is inconclusive;
 *  - a share that is exactly 0 or 1 gets at least the exact (Clopper–Pearson) interval, because the
 *    bootstrap of a share at its bound collapses to the bound whatever the sample size (30 of 30 is
 *    [1, 1] by bootstrap, [0.884, 1] exactly).
 */
export const MIN_EVIDENCE = 10;

/** The exact two-sided interval of a share at its bound: x = 0 → [0, 1 − (α/2)^(1/n)], x = n → [(α/2)^(1/n), 1]. */
export function exactAtBound(successes: number, n: number, level = 0.95): [number, number] | null {
  if (n <= 0) return null;
  const tail = ((1 - level) / 2) ** (1 / n);
  if (successes === 0) return [0, 1 - tail];
  if (successes === n) return [tail, 1];
  return null;
}

/**
 * The interval as reported: none below MIN_EVIDENCE (`n` is the count the metric rests on), and for a
 * share (`successes` of `n`) at 0 or 1, widened to cover the exact interval.
 */
export function withEvidence(iv: Interval, n: number, share?: { successes: number }, level = 0.95): Interval {
  if (iv.value === null || n < MIN_EVIDENCE) return { value: iv.value, lo: null, hi: null };
  if (!share || iv.lo === null || iv.hi === null) return iv;
  const exact = exactAtBound(share.successes, n, level);
  return exact ? { value: iv.value, lo: Math.min(iv.lo, exact[0]), hi: Math.max(iv.hi, exact[1]) } : iv;
}

/** Why a metric has no interval, for gate reasons and notes. */
export function tooFewSentence(count: number, what: string): string {
  return `it rests on ${count} ${count === 1 ? what.replace(/s$/, '') : what}, and an interval needs at least ${MIN_EVIDENCE}`;
}
