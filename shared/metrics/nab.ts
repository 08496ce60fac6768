/**
 * NAB scoring, as ../shared/data/nab/SCORING.md describes it: per-row weights from a scaled
 * sigmoid around labelled windows, one true positive per window (the earliest), every false
 * positive penalised on its own, a probationary start ignored, one threshold for the whole corpus,
 * normalised so the null detector scores 0 and the perfect one 100.
 *
 * The detection scorecard reuses it with windows built from a workspace's incidents.
 */

export const NAB_PROFILE_NAMES = ['standard', 'reward_low_FP_rate', 'reward_low_FN_rate'] as const;
export type NabProfileName = (typeof NAB_PROFILE_NAMES)[number];

/** Weights as stored (all positive); signs come from the formulas. */
export interface NabProfile {
  tp: number;
  fp: number;
  fn: number;
}

export const NAB_PROFILES: Record<NabProfileName, NabProfile> = {
  standard: { tp: 1, fp: 0.11, fn: 1 },
  reward_low_FP_rate: { tp: 1, fp: 0.22, fn: 1 },
  reward_low_FN_rate: { tp: 1, fp: 0.11, fn: 2 },
};

/** One scored series: a row per time step, in ascending time, and its labelled windows. */
export interface NabSeries {
  name: string;
  /** row times (any unit, e.g. epoch ms), in file order */
  times: ArrayLike<number>;
  scores: ArrayLike<number>;
  /** inclusive [start, end] in the same unit as `times` */
  windows: readonly (readonly [number, number])[];
}

/** S(y): the scaled sigmoid of SCORING.md §4. */
export function scaledSigmoid(y: number): number {
  if (y > 3) return -1;
  return 2 / (1 + Math.exp(5 * y)) - 1;
}

const MAX_TP = scaledSigmoid(-1);

/** P = min(floor(0.15·N), 750): rows before it are ignored entirely (§3). */
export function probationLength(rows: number): number {
  return Math.min(Math.floor(0.15 * rows), 750);
}

/** A series prepared for scoring at any threshold: each row's weight and window. */
export interface NabRows {
  name: string;
  scores: ArrayLike<number>;
  probation: number;
  /** per row: its weight under the profile (§5) */
  weight: Float64Array;
  /** per row: index into `windowRanges`, or -1 outside every window */
  window: Int32Array;
  /** [firstRow, lastRow] per window that has at least one row */
  windowRanges: [number, number][];
  /** windows that have a row past the probationary period: the ones raw scores count */
  scoredWindows: number[];
}

export function prepareSeries(series: NabSeries, profile: NabProfile): NabRows {
  const n = series.times.length;
  if (series.scores.length !== n) throw new Error(`${series.name}: ${series.scores.length} scores for ${n} rows`);
  const window = new Int32Array(n).fill(-1);
  const windowRanges: [number, number][] = [];
  for (const [start, end] of series.windows) {
    // The window is the run of rows from the first at or after its start while they stay at or
    // before its end. A scan rather than a binary search, because real exports are not always
    // monotone (NAB's machine_temperature file steps back an hour once).
    let first = 0;
    while (first < n && series.times[first]! < start) first++;
    let lastRow = first - 1;
    while (lastRow + 1 < n && series.times[lastRow + 1]! <= end) lastRow++;
    if (lastRow < first) continue; // a window between two rows covers none of them
    const id = windowRanges.length;
    windowRanges.push([first, lastRow]);
    for (let i = first; i <= lastRow; i++) {
      if (window[i] !== -1) throw new Error(`${series.name}: windows overlap at row ${i}`);
      window[i] = id;
    }
  }
  const weight = new Float64Array(n);
  let prevRight = -1;
  let prevWidth = 0;
  for (let i = 0; i < n; i++) {
    const w = window[i]!;
    if (w >= 0) {
      const [left, right] = windowRanges[w]!;
      const width = right - left + 1;
      weight[i] = (profile.tp * scaledSigmoid(-(right - i + 1) / width)) / MAX_TP;
      if (i === right) {
        prevRight = right;
        prevWidth = width;
      }
    } else if (prevRight < 0) {
      weight[i] = -profile.fp;
    } else {
      // A one-row window makes this 1/0 = ∞, and S(∞) = -1: a full penalty, as in NAB.
      weight[i] = scaledSigmoid(Math.abs(i - prevRight) / (prevWidth - 1)) * profile.fp;
    }
  }
  const probation = probationLength(n);
  const scoredWindows = windowRanges.flatMap(([, last], id) => (last >= probation ? [id] : []));
  return { name: series.name, scores: series.scores, probation, weight, window, windowRanges, scoredWindows };
}

/** Counts kept beside the score: detected and undetected rows in and out of windows (§6). */
export interface NabCounts {
  tp: number;
  fp: number;
  fn: number;
  tn: number;
}

/** Raw score of one series at threshold t (§6): a row detects when past probation and score >= t. */
export function rawScore(rows: NabRows, profile: NabProfile, threshold: number): { raw: number; counts: NabCounts; detectedWindows: number } {
  const best = new Map<number, number>();
  const counts: NabCounts = { tp: 0, fp: 0, fn: 0, tn: 0 };
  let fpSum = 0;
  for (let i = rows.probation; i < rows.scores.length; i++) {
    const detected = rows.scores[i]! >= threshold;
    const w = rows.window[i]!;
    if (w >= 0) {
      if (detected) {
        counts.tp++;
        best.set(w, Math.max(best.get(w) ?? -Infinity, rows.weight[i]!));
      } else counts.fn++;
    } else if (detected) {
      counts.fp++;
      fpSum += rows.weight[i]!;
    } else counts.tn++;
  }
  let raw = fpSum;
  for (const id of rows.scoredWindows) raw += best.get(id) ?? -profile.fn;
  return { raw, counts, detectedWindows: best.size };
}

/**
 * The best single threshold for a set of series (§7): an exhaustive sweep over every distinct
 * score, highest first; on a tie the higher threshold wins.
 */
export function optimizeThreshold(all: readonly NabRows[], profile: NabProfile): { threshold: number; raw: number } {
  let count = 0;
  for (const r of all) count += r.scores.length - r.probation;
  const score = new Float64Array(count);
  const weight = new Float64Array(count);
  const windowKey = new Int32Array(count).fill(-1);
  let k = 0;
  let windowBase = 0;
  let windows = 0;
  for (const r of all) {
    for (let i = r.probation; i < r.scores.length; i++) {
      score[k] = r.scores[i]!;
      weight[k] = r.weight[i]!;
      if (r.window[i]! >= 0) windowKey[k] = windowBase + r.window[i]!;
      k++;
    }
    windowBase += r.windowRanges.length;
    windows += r.scoredWindows.length;
  }
  const order = Int32Array.from({ length: count }, (_, i) => i);
  order.sort((a, b) => score[b]! - score[a]! || a - b);
  const windowBest = new Float64Array(windowBase).fill(-profile.fn);
  let raw = -profile.fn * windows;
  // "Nothing detected" is threshold 1.1 for NAB's [0, 1] scores; above any score for z-like ones.
  let top = 1.1;
  for (let i = 0; i < count; i++) if (score[i]! >= top) top = score[i]! + 1;
  let bestThreshold = top;
  let bestRaw = raw;
  let previous = top;
  for (let j = 0; j < count; j++) {
    const i = order[j]!;
    if (score[i] !== previous) {
      if (raw > bestRaw) {
        bestRaw = raw;
        bestThreshold = previous;
      }
      previous = score[i]!;
    }
    const w = windowKey[i]!;
    if (w >= 0) {
      const next = Math.max(windowBest[w]!, weight[i]!);
      raw += next - windowBest[w]!;
      windowBest[w] = next;
    } else raw += weight[i]!;
  }
  if (raw > bestRaw) {
    bestRaw = raw;
    bestThreshold = previous;
  }
  return { threshold: bestThreshold, raw: bestRaw };
}

/** 100·(raw − null)/(perfect − null), with null = −A_FN·windows and perfect = A_TP·windows (§8). */
export function normalizedScore(raw: number, windows: number, profile: NabProfile): number | null {
  if (windows === 0) return null;
  const nullScore = -profile.fn * windows;
  return (100 * (raw - nullScore)) / (profile.tp * windows - nullScore);
}

export interface NabProfileResult {
  profile: NabProfileName;
  threshold: number;
  raw: number;
  score: number | null;
  counts: NabCounts;
  detectedWindows: number;
  windows: number;
  perSeries: { name: string; raw: number }[];
}

/**
 * Scores series under one profile at a given threshold, or at the optimised one when `threshold`
 * is undefined. `totalWindows` is the label file's window count (defaults to the windows found).
 */
export function scoreProfile(series: readonly NabSeries[], name: NabProfileName, threshold?: number, totalWindows?: number): NabProfileResult {
  const profile = NAB_PROFILES[name];
  const prepared = series.map((s) => prepareSeries(s, profile));
  const t = threshold ?? optimizeThreshold(prepared, profile).threshold;
  const counts: NabCounts = { tp: 0, fp: 0, fn: 0, tn: 0 };
  let raw = 0;
  let detectedWindows = 0;
  const perSeries = prepared.map((rows) => {
    const r = rawScore(rows, profile, t);
    raw += r.raw;
    detectedWindows += r.detectedWindows;
    counts.tp += r.counts.tp; counts.fp += r.counts.fp; counts.fn += r.counts.fn; counts.tn += r.counts.tn;
    return { name: rows.name, raw: r.raw };
  });
  // Without the label file's count, windows inside the probationary period (never scored) do not count.
  const windows = totalWindows ?? prepared.reduce((a, r) => a + r.scoredWindows.length, 0);
  return { profile: name, threshold: t, raw, score: normalizedScore(raw, windows, profile), counts, detectedWindows, windows, perSeries };
}
