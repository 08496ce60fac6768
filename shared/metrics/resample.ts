import { CAPTURE_LEVELS, type Costs, type Sorted } from './classification.js';

/**
 * One bootstrap resample of the change-risk metrics in a single pass over the tie groups, with
 * the subjects' Poisson(1) weights drawn inline. This is the hot loop of every scorecard (1000
 * resamples × every change), so it avoids allocation, scattered writes and a second pass: AUC is
 * accumulated as N·P − Σ pos·(negatives ranked above + ½ tied), which needs no totals up front.
 * `computeMetrics` is the readable definition; a test holds the two to the same numbers.
 */

// Poisson(1) cumulative probabilities on the signed 32-bit scale of `t ^ 0x80000000`: weight k while
// the draw is >= CDF[k]. Comparing int32s keeps the hottest loop in the app in integer arithmetic.
const P = [0.36787944117144233, 0.7357588823428847, 0.9196986029286058, 0.9810118431238462, 0.9963401531726563, 0.9994058151824183, 0.9999167588507119, 0.9999897508033253]
  .map((p) => (Math.floor(p * 4294967296) - 2147483648) | 0);
const [C0, C1, C2, C3, C4, C5, C6, C7] = P as [number, number, number, number, number, number, number, number];

export const RESAMPLE_KEYS = ['auc_roc', 'average_precision', 'brier', 'log_loss', 'ece', 'precision', 'recall', 'fpr', 'f1', 'flagged_share', 'expected_cost', ...CAPTURE_LEVELS.map((k) => `capture_at_${k}`)] as const;

export interface ResampleScratch {
  weights: Float64Array;
  cumAll: Float64Array;
  cumPos: Float64Array;
  cumScore: Float64Array;
  /** per calibration bin (0-9): one past its last tie group; scores run high to low, so bins are contiguous */
  binEnd: Int32Array;
  out: Float64Array; // one value per RESAMPLE_KEYS entry; NaN = undefined in this resample
}

export function resampleScratch(sorted: Sorted): ResampleScratch {
  const groups = sorted.groups.length - 1;
  const binEnd = new Int32Array(10);
  // Groups in descending score order fall into bins 9, 8, …, 0 in turn.
  for (let g = 0; g < groups; g++) {
    const b = sorted.bin[sorted.groups[g]!]!;
    binEnd[b] = g + 1;
  }
  for (let b = 8; b >= 0; b--) if (binEnd[b] === 0) binEnd[b] = binEnd[b + 1]!;
  return {
    weights: new Float64Array(sorted.n), cumAll: new Float64Array(groups), cumPos: new Float64Array(groups), cumScore: new Float64Array(groups),
    binEnd, out: new Float64Array(RESAMPLE_KEYS.length),
  };
}

/** A small, fast, seedable generator (sfc32); state is four 32-bit words, advanced in place. */
export function sfc32State(seed: number): Int32Array {
  const s = Int32Array.of(0x9e3779b9, 0x243f6a88, 0xb7e15162, seed | 0);
  for (let i = 0; i < 12; i++) sfc32(s);
  return s;
}

export function sfc32(s: Int32Array): number {
  const t = (((s[0]! + s[1]!) | 0) + s[3]!) | 0;
  s[3] = (s[3]! + 1) | 0;
  s[0] = s[1]! ^ (s[1]! >>> 9);
  s[1] = (s[2]! + (s[2]! << 3)) | 0;
  s[2] = ((s[2]! << 21) | (s[2]! >>> 11)) + t;
  return t >>> 0;
}

/** Fills `into` with independent Poisson(1) draws from the generator state (advanced in place). */
function drawWeights(state: Int32Array, into: Float64Array): void {
  let a = state[0]!, b = state[1]!, c = state[2]!, d = state[3]!;
  const n = into.length;
  for (let i = 0; i < n; i++) {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (((c << 21) | (c >>> 11)) + t) | 0;
    const u = t ^ -2147483648;
    into[i] = u < C0 ? 0 : u < C1 ? 1 : u < C2 ? 2 : u < C3 ? 3 : u < C4 ? 4 : u < C5 ? 5 : u < C6 ? 6 : u < C7 ? 7 : 8;
  }
  state[0] = a; state[1] = b; state[2] = c; state[3] = d;
}

/** Number of tie groups scoring at or above the threshold: they are a prefix of the sorted groups. */
function flaggedGroups(sorted: Sorted, threshold: number): number {
  let lo = 0;
  let hi = sorted.groups.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted.scores[sorted.groups[mid]!]! >= threshold) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * @param weights  if given, fixed per-subject weights in sorted order (no random draws): used by
 *                 the paired bootstrap and by the consistency test; otherwise Poisson(1) draws.
 */
export function resampleMetrics(sorted: Sorted, threshold: number, costs: Costs, state: Int32Array, scratch: ResampleScratch, weights?: Float64Array): Float64Array {
  const { labels, brierTerm, logTerm, scores, groups } = sorted;
  const { cumAll, cumPos, cumScore, binEnd, out } = scratch;
  // Two simple passes beat one clever one: draw every weight, then accumulate. Everything that
  // depends on the threshold or the calibration bins is read off the cumulative sums afterwards,
  // so the per-element loop is only multiply-adds.
  const w = weights ?? scratch.weights;
  if (!weights) drawWeights(state, w);
  let total = 0, positives = 0, fpBefore = 0, tiePenalty = 0, apSum = 0, brier = 0, logLoss = 0, scoreSum = 0;
  const groupCount = groups.length - 1;
  for (let g = 0; g < groupCount; g++) {
    let pos = 0;
    let all = 0;
    const end = groups[g + 1]!;
    for (let i = groups[g]!; i < end; i++) {
      const wi = w[i]!;
      pos += wi * labels[i]!;
      all += wi;
      brier += wi * brierTerm[i]!;
      logLoss += wi * logTerm[i]!;
      scoreSum += wi * scores[i]!;
    }
    const neg = all - pos;
    tiePenalty += pos * (fpBefore + neg / 2);
    if (pos > 0) apSum += (pos * (positives + pos)) / (positives + pos + fpBefore + neg);
    total += all;
    positives += pos;
    fpBefore += neg;
    cumAll[g] = total;
    cumPos[g] = positives;
    cumScore[g] = scoreSum;
  }
  const k = flaggedGroups(sorted, threshold);
  const tp = k > 0 ? cumPos[k - 1]! : 0;
  const fp = k > 0 ? cumAll[k - 1]! - tp : 0;
  const negatives = total - positives;
  const NaN_ = Number.NaN;
  let ece = 0;
  for (let b = 9; b >= 0; b--) {
    const endG = binEnd[b]!;
    const startG = b === 9 ? 0 : binEnd[b + 1]!;
    if (endG <= startG) continue;
    const before = (arr: Float64Array): number => (startG > 0 ? arr[startG - 1]! : 0);
    const count = cumAll[endG - 1]! - before(cumAll);
    if (count > 0) ece += Math.abs(cumPos[endG - 1]! - before(cumPos) - (cumScore[endG - 1]! - before(cumScore))) / total;
  }
  const precision = tp + fp > 0 ? tp / (tp + fp) : NaN_;
  const recall = positives > 0 ? tp / positives : NaN_;
  out[0] = positives > 0 && negatives > 0 ? (positives * negatives - tiePenalty) / (positives * negatives) : NaN_;
  out[1] = positives > 0 ? apSum / positives : NaN_;
  out[2] = total > 0 ? brier / total : NaN_;
  out[3] = total > 0 ? logLoss / total : NaN_;
  out[4] = total > 0 ? ece : NaN_;
  out[5] = precision;
  out[6] = recall;
  out[7] = negatives > 0 ? fp / negatives : NaN_;
  out[8] = Number.isNaN(precision) || Number.isNaN(recall) ? NaN_ : precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
  out[9] = total > 0 ? (tp + fp) / total : NaN_;
  out[10] = total > 0 ? ((positives - tp) * costs.missedIncident + fp * costs.delayedChange) / total : NaN_;
  // capture_at: find where each quota falls in the cumulative counts; a tie group cut in two
  // contributes in proportion, as in computeMetrics.
  for (let q = 0; q < CAPTURE_LEVELS.length; q++) {
    if (positives === 0) {
      out[11 + q] = NaN_;
      continue;
    }
    const quota = (CAPTURE_LEVELS[q]! / 100) * total;
    let lo = 0;
    let hi = groupCount - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cumAll[mid]! >= quota) hi = mid;
      else lo = mid + 1;
    }
    const prevAll = lo > 0 ? cumAll[lo - 1]! : 0;
    const prevPos = lo > 0 ? cumPos[lo - 1]! : 0;
    const gAll = cumAll[lo]! - prevAll;
    const gPos = cumPos[lo]! - prevPos;
    out[11 + q] = (prevPos + (gAll > 0 ? ((quota - prevAll) / gAll) * gPos : 0)) / positives;
  }
  return out;
}
