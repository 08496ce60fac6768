/**
 * Change-risk metrics (DESIGN.md §6), computed from scores and 0/1 outcomes.
 *
 * Everything is computed in one pass over the subjects sorted by descending score, with an
 * optional weight per subject. Weights are how the bootstrap resamples (a subject drawn k times
 * has weight k), so a resample costs one pass, not a sort. A metric that is undefined for the
 * data (AUC with no positives, precision with nothing flagged) is `null`, never NaN.
 */

export interface Prediction {
  score: number;
  label: 0 | 1;
}

export interface Costs {
  /** Cost of letting an incident-causing change through. */
  missedIncident: number;
  /** Cost of holding back a good change. */
  delayedChange: number;
}

export const DEFAULT_COSTS: Costs = { missedIncident: 20, delayedChange: 1 };
export const CAPTURE_LEVELS = [5, 10, 20, 50] as const;

export interface Confusion { tp: number; fp: number; tn: number; fn: number }

export interface ClassificationMetrics {
  n: number;
  positives: number;
  auc_roc: number | null;
  average_precision: number | null;
  brier: number | null;
  log_loss: number | null;
  ece: number | null;
  precision: number | null;
  recall: number | null;
  fpr: number | null;
  f1: number | null;
  flagged_share: number | null;
  capture_at: Record<string, number | null>;
  expected_cost: number | null;
  confusion: Confusion;
}

/**
 * Subjects sorted once by descending score, with tie groups and each subject's share of the
 * additive metrics precomputed, so a weighted pass is multiply-adds only.
 */
export interface Sorted {
  n: number;
  scores: Float64Array;
  labels: Float64Array; // 0 or 1, as numbers so they multiply
  brierTerm: Float64Array;
  logTerm: Float64Array;
  bin: Uint8Array;
  /** start index of each tie group, plus n at the end */
  groups: Int32Array;
  /** tie group of each sorted position */
  groupOf: Int32Array;
  /** sorted position -> original position */
  order: Int32Array;
}

const clip = (p: number): number => Math.min(1 - 1e-15, Math.max(1e-15, p));

export function sortPredictions(predictions: readonly Prediction[]): Sorted {
  const n = predictions.length;
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  for (let i = 0; i < n; i++) {
    const p = predictions[i]!;
    if (!Number.isFinite(p.score)) throw new Error(`score of subject ${i} is not a finite number`);
    if (p.label !== 0 && p.label !== 1) throw new Error(`label of subject ${i} must be 0 or 1`);
  }
  // Stable on ties (original order) so every pass, and every run, sees the same sequence.
  order.sort((a, b) => predictions[b]!.score - predictions[a]!.score || a - b);
  const scores = new Float64Array(n);
  const labels = new Float64Array(n);
  const brierTerm = new Float64Array(n);
  const logTerm = new Float64Array(n);
  const bin = new Uint8Array(n);
  const starts: number[] = [];
  for (let i = 0; i < n; i++) {
    const p = predictions[order[i]!]!;
    const s = p.score;
    const y = p.label;
    scores[i] = s;
    labels[i] = y;
    brierTerm[i] = (s - y) * (s - y);
    logTerm[i] = -(y === 1 ? Math.log(clip(s)) : Math.log(1 - clip(s)));
    bin[i] = Math.min(Math.max(Math.floor(10 * s), 0), 9);
    if (i === 0 || s !== scores[i - 1]) starts.push(i);
  }
  starts.push(n);
  const groupOf = new Int32Array(n);
  for (let g = 0; g + 1 < starts.length; g++) groupOf.fill(g, starts[g]!, starts[g + 1]!);
  return { n, scores, labels, brierTerm, logTerm, bin, groups: Int32Array.from(starts), groupOf, order };
}

/** Weighted sums a pass over the subjects collects; everything else is derived from them. */
export interface Accumulated {
  gPos: Float64Array;
  gAll: Float64Array;
  binCount: Float64Array;
  binScore: Float64Array;
  binLabel: Float64Array;
  brier: number;
  logLoss: number;
}

export function emptyAccumulator(sorted: Sorted): Accumulated {
  const groupCount = sorted.groups.length - 1;
  return {
    gPos: new Float64Array(groupCount), gAll: new Float64Array(groupCount),
    binCount: new Float64Array(10), binScore: new Float64Array(10), binLabel: new Float64Array(10), brier: 0, logLoss: 0,
  };
}

/** One weighted pass. `weights` are per subject in *sorted* order; omitted = every subject once. */
export function accumulate(sorted: Sorted, weights?: ArrayLike<number>, into: Accumulated = emptyAccumulator(sorted)): Accumulated {
  const { n, scores, labels, brierTerm, logTerm, bin, groupOf } = sorted;
  const { gPos, gAll, binCount, binScore, binLabel } = into;
  gPos.fill(0);
  gAll.fill(0);
  binCount.fill(0);
  binScore.fill(0);
  binLabel.fill(0);
  let brier = 0;
  let logLoss = 0;
  for (let i = 0; i < n; i++) {
    const w = weights ? weights[i]! : 1;
    if (w === 0) continue;
    const wy = w * labels[i]!;
    const g = groupOf[i]!;
    gPos[g]! += wy;
    gAll[g]! += w;
    brier += w * brierTerm[i]!;
    logLoss += w * logTerm[i]!;
    const b = bin[i]!;
    binCount[b]! += w;
    binScore[b]! += w * scores[i]!;
    binLabel[b]! += wy;
  }
  into.brier = brier;
  into.logLoss = logLoss;
  return into;
}

/**
 * All metrics at `threshold` (a subject is flagged when score >= threshold), from one pass.
 * @param weights per subject in sorted order (bootstrap draws); omitted = every subject once
 */
export function computeMetrics(sorted: Sorted, threshold: number, costs: Costs = DEFAULT_COSTS, weights?: ArrayLike<number>): ClassificationMetrics {
  return metricsFrom(sorted, accumulate(sorted, weights), threshold, costs);
}

export function metricsFrom(sorted: Sorted, acc: Accumulated, threshold: number, costs: Costs = DEFAULT_COSTS): ClassificationMetrics {
  const { scores, groups } = sorted;
  const { gPos, gAll, binCount, binScore, binLabel } = acc;
  const groupCount = gPos.length;
  let total = 0;
  let positives = 0;
  for (let g = 0; g < groupCount; g++) {
    total += gAll[g]!;
    positives += gPos[g]!;
  }
  const negatives = total - positives;

  // Descending through tie groups: AUC (Mann-Whitney, ties count ½), AP (sklearn: the sum over
  // thresholds of ΔR·P), and the confusion counts at the threshold.
  let aucSum = 0;
  let ap = 0;
  let tpAbove = 0;
  let fpAbove = 0;
  let tp = 0;
  let fp = 0;
  for (let g = 0; g < groupCount; g++) {
    const pos = gPos[g]!;
    const neg = gAll[g]! - pos;
    aucSum += pos * (negatives - fpAbove - neg / 2);
    tpAbove += pos;
    fpAbove += neg;
    if (pos > 0) ap += (pos / positives) * (tpAbove / (tpAbove + fpAbove));
    if (scores[groups[g]!]! >= threshold) {
      tp += pos;
      fp += neg;
    }
  }
  const fn = positives - tp;
  const tn = negatives - fp;
  let ece = 0;
  for (let b = 0; b < 10; b++) if (binCount[b]! > 0) ece += (binCount[b]! / total) * Math.abs(binLabel[b]! / binCount[b]! - binScore[b]! / binCount[b]!);

  const precision = tp + fp > 0 ? tp / (tp + fp) : null;
  const recall = positives > 0 ? tp / positives : null;
  return {
    n: total,
    positives,
    auc_roc: positives > 0 && negatives > 0 ? aucSum / (positives * negatives) : null,
    average_precision: positives > 0 ? ap : null,
    brier: total > 0 ? acc.brier / total : null,
    log_loss: total > 0 ? acc.logLoss / total : null,
    ece: total > 0 ? ece : null,
    precision,
    recall,
    fpr: negatives > 0 ? fp / negatives : null,
    f1: precision === null || recall === null ? null : precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0,
    flagged_share: total > 0 ? (tp + fp) / total : null,
    capture_at: captureAt(gPos, gAll, positives, total),
    expected_cost: total > 0 ? (fn * costs.missedIncident + fp * costs.delayedChange) / total : null,
    confusion: { tp, fp, tn, fn },
  };
}

/**
 * Recall when gating the riskiest k % of changes. Where the cut falls inside a tie group, the
 * group contributes in proportion to how much of it fits: the expected recall under a random
 * tie-break, so a model cannot gain by the order its ties happen to be stored in.
 */
function captureAt(gPos: Float64Array, gAll: Float64Array, positives: number, total: number): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  for (const k of CAPTURE_LEVELS) out[String(k)] = null;
  if (positives === 0 || total === 0) return out;
  const quotas = CAPTURE_LEVELS.map((k) => (k / 100) * total);
  let taken = 0;
  let caught = 0;
  let next = 0;
  for (let g = 0; g < gAll.length && next < quotas.length; g++) {
    const all = gAll[g]!;
    while (next < quotas.length && taken + all >= quotas[next]!) {
      const fraction = all > 0 ? (quotas[next]! - taken) / all : 0;
      out[String(CAPTURE_LEVELS[next])] = (caught + fraction * gPos[g]!) / positives;
      next++;
    }
    taken += all;
    caught += gPos[g]!;
  }
  return out;
}

export interface SweepPoint { threshold: number; precision: number | null; recall: number | null; fpr: number | null; flagged_share: number; expected_cost: number }

/**
 * Precision, recall, FPR and cost at each distinct score (thinned to at most `maxPoints`), plus
 * the threshold with the lowest expected cost. The ROC and PR curves are read from the same points.
 */
export function thresholdSweep(sorted: Sorted, costs: Costs = DEFAULT_COSTS, maxPoints = 200): { points: SweepPoint[]; costOptimal: SweepPoint | null } {
  const { n, scores, labels, groups } = sorted;
  let positives = 0;
  for (let i = 0; i < n; i++) positives += labels[i]!;
  const negatives = n - positives;
  // Threshold above every score: nothing flagged.
  const all: SweepPoint[] = [{
    threshold: n > 0 ? scores[0]! + 1e-9 : 1, precision: null, recall: positives > 0 ? 0 : null, fpr: negatives > 0 ? 0 : null,
    flagged_share: 0, expected_cost: n > 0 ? (positives * costs.missedIncident) / n : 0,
  }];
  let tp = 0;
  let fp = 0;
  for (let g = 0; g + 1 < groups.length; g++) {
    for (let i = groups[g]!; i < groups[g + 1]!; i++) {
      if (labels[i] === 1) tp++;
      else fp++;
    }
    all.push({
      threshold: scores[groups[g]!]!,
      precision: tp / (tp + fp),
      recall: positives > 0 ? tp / positives : null,
      fpr: negatives > 0 ? fp / negatives : null,
      flagged_share: (tp + fp) / n,
      expected_cost: ((positives - tp) * costs.missedIncident + fp * costs.delayedChange) / n,
    });
  }
  let best: SweepPoint | null = null;
  for (const p of all) if (best === null || p.expected_cost < best.expected_cost) best = p;
  const step = Math.max(1, Math.ceil(all.length / maxPoints));
  const points = all.filter((_, i) => i % step === 0 || i === all.length - 1);
  return { points, costOptimal: n > 0 ? best : null };
}
