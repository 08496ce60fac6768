import { CAPTURE_LEVELS, sortPredictions, type Costs, type Sorted } from './classification.js';

/**
 * One bootstrap resample of the change-risk metrics: draw a Poisson(1) weight per subject, then one
 * pass over the subjects. This is the hot loop of every scorecard (1000 resamples × every change)
 * and it is bound by memory traffic, so the pass reads only what it must per subject (weight byte,
 * label byte, group-end byte, log-loss term, score), and writes only the cumulative sums that
 * thresholds, calibration bins and capture quotas are read from afterwards. AUC is accumulated as
 * N·P − Σ pos·(negatives ranked above + ½ tied), which needs no totals up front.
 * `computeMetrics` is the readable definition; a test holds the two to the same numbers.
 */

// Poisson(1) weights come from a 65536-entry table indexed by 16 random bits, so one 32-bit draw
// yields two weights with no branches. Each cumulative probability is rounded to 1/65536 (an error
// far below the bootstrap's own Monte Carlo noise); a test checks the draws' mean and variance.
const POISSON_CDF = [0.36787944117144233, 0.7357588823428847, 0.9196986029286058, 0.9810118431238462, 0.9963401531726563, 0.9994058151824183, 0.9999167588507119, 0.9999897508033253];
const POISSON_TABLE = (() => {
  const table = new Uint8Array(65536);
  let k = 0;
  for (let u = 0; u < 65536; u++) {
    while (k < POISSON_CDF.length && (u + 0.5) / 65536 >= POISSON_CDF[k]!) k++;
    table[u] = k;
  }
  return table;
})();

export const RESAMPLE_KEYS = ['auc_roc', 'average_precision', 'brier', 'log_loss', 'ece', 'precision', 'recall', 'fpr', 'f1', 'flagged_share', 'expected_cost', ...CAPTURE_LEVELS.map((k) => `capture_at_${k}`)] as const;

export interface ResampleScratch {
  /** this resample's weight per subject, in sorted order (Poisson(1) draws, or given) */
  weights: Uint8Array;
  /** per subject: label as a byte */
  labels: Uint8Array;
  /** per subject: 1 if it is the last of its tie group */
  lastOfGroup: Uint8Array;
  /** per tie group, cumulative over groups so far: weighted count, positives and score */
  cumAll: Float64Array;
  cumPos: Float64Array;
  cumScore: Float64Array;
  /** per calibration bin (0-9): one past its last tie group; scores run high to low, so bins are contiguous */
  binEnd: Int32Array;
  sums: Float64Array;
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
  const lastOfGroup = new Uint8Array(sorted.n);
  for (let g = 1; g <= groups; g++) lastOfGroup[sorted.groups[g]! - 1] = 1;
  return {
    weights: new Uint8Array(sorted.n), labels: Uint8Array.from(sorted.labels), lastOfGroup,
    cumAll: new Float64Array(groups), cumPos: new Float64Array(groups), cumScore: new Float64Array(groups),
    binEnd, sums: new Float64Array(6), out: new Float64Array(RESAMPLE_KEYS.length),
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

/** Fills `into` with independent Poisson(1) draws, two per generator step (state advanced in place). */
export function drawWeights(state: Int32Array, into: Uint8Array): void {
  let a = state[0]!, b = state[1]!, c = state[2]!, d = state[3]!;
  const n = into.length;
  const table = POISSON_TABLE;
  for (let i = 0; i < n; i += 2) {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (((c << 21) | (c >>> 11)) + t) | 0;
    into[i] = table[t & 0xffff]!;
    if (i + 1 < n) into[i + 1] = table[t >>> 16]!;
  }
  state[0] = a; state[1] = b; state[2] = c; state[3] = d;
}

/**
 * The pass over subjects in descending score order. Within a tie group every subject has the same
 * score, so Brier and score sums follow from the group's weighted count and positives; log loss
 * uses the per-subject term (already clipped) so 0 and 1 scores stay finite. One flat loop with a
 * flag at each group's end: a loop nested per group costs more when most groups are single
 * subjects, as they are for continuous scores.
 * Returns [total, positives, tiePenalty, apSum, brier, logLoss] in `scratch.sums`.
 */
function accumulate(sorted: Sorted, scratch: ResampleScratch, w: Uint8Array): Float64Array {
  const { logTerm, scores, n } = sorted;
  const { labels, lastOfGroup, cumAll, cumPos, cumScore, sums } = scratch;
  let total = 0, positives = 0, fpBefore = 0, tiePenalty = 0, apSum = 0, brier = 0, logLoss = 0, scoreSum = 0;
  let pos = 0;
  let all = 0;
  let g = 0;
  for (let i = 0; i < n; i++) {
    const wi = w[i]!;
    all += wi;
    pos += wi & -labels[i]!; // wi when the label is 1, else 0: integers, exact
    logLoss += wi * logTerm[i]!;
    if (lastOfGroup[i] === 1) {
      const s = scores[i]!;
      const neg = all - pos;
      brier += pos * (1 - s) * (1 - s) + neg * s * s;
      scoreSum += all * s;
      tiePenalty += pos * (fpBefore + neg / 2);
      if (pos > 0) apSum += (pos * (positives + pos)) / (positives + pos + fpBefore + neg);
      total += all;
      positives += pos;
      fpBefore += neg;
      cumAll[g] = total;
      cumPos[g] = positives;
      cumScore[g] = scoreSum;
      g++;
      pos = 0;
      all = 0;
    }
  }
  sums[0] = total; sums[1] = positives; sums[2] = tiePenalty; sums[3] = apSum; sums[4] = brier; sums[5] = logLoss;
  return sums;
}

/**
 * Runs the pass a few times over nothing, so the stores after its loop have type feedback before the
 * loop gets hot. Otherwise V8 (Node 20) compiles the hot loop on-stack with those stores unvisited,
 * deoptimises at them on every call and re-enters the loop in the interpreter (measured: ~1.5× slower).
 */
function warmUp(): void {
  const empty = sortPredictions([]);
  const scratch = resampleScratch(empty);
  for (let i = 0; i < 50; i++) accumulate(empty, scratch, scratch.weights);
}
warmUp();

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
 * @param weights  if given, fixed per-subject counts in sorted order (no random draws): used by
 *                 the paired bootstrap and by the consistency test; otherwise Poisson(1) draws.
 */
export function resampleMetrics(sorted: Sorted, threshold: number, costs: Costs, state: Int32Array, scratch: ResampleScratch, weights?: Uint8Array): Float64Array {
  const { cumAll, cumPos, cumScore, binEnd, out } = scratch;
  if (!weights) drawWeights(state, scratch.weights);
  const sums = accumulate(sorted, scratch, weights ?? scratch.weights);
  const total = sums[0]!, positives = sums[1]!, tiePenalty = sums[2]!, apSum = sums[3]!, brier = sums[4]!, logLoss = sums[5]!;
  const groupCount = sorted.groups.length - 1;
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
    const p = startG - 1; // the last group before this bin, or -1
    const count = cumAll[endG - 1]! - (p >= 0 ? cumAll[p]! : 0);
    const binPos = cumPos[endG - 1]! - (p >= 0 ? cumPos[p]! : 0);
    const binScore = cumScore[endG - 1]! - (p >= 0 ? cumScore[p]! : 0);
    if (count > 0) ece += Math.abs(binPos - binScore) / total;
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
