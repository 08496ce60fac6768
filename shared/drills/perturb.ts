import type { Perturbation } from '../contract/drills.js';
import { sfc32, sfc32State } from '../metrics/resample.js';

/**
 * The faults a drill injects, as pure functions of the run's rows and a seed. Every perturbation
 * picks exactly round(share · rows) rows (or the rows in a span of exactly share · the time range),
 * and the same seed picks the same rows: a drill is as reproducible as the run it perturbs.
 */

/** One stream per (seed, perturbation, salt), so adding a perturbation does not move the others' rows. */
export function streamSeed(seed: number, index: number, salt = 0): number {
  let h = (seed ^ 0x5bd1e995) | 0;
  for (const v of [index, salt]) {
    h = Math.imul(h ^ v, 0x9e3779b1);
    h ^= h >>> 15;
  }
  return h | 0;
}

export function uniform(seed: number): () => number {
  const s = sfc32State(seed);
  return () => sfc32(s) / 4294967296;
}

/** Standard normal draws (Box-Muller), from a seeded uniform stream. */
export function normal(next: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
}

export function stringSalt(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h | 0;
}

/** Exactly round(share · n) of n rows, chosen uniformly without replacement (a partial Fisher-Yates shuffle). */
export function pickRows(n: number, share: number, seed: number): Uint8Array {
  const k = Math.round(share * n);
  const mask = new Uint8Array(n);
  const order = Int32Array.from({ length: n }, (_, i) => i);
  const next = uniform(seed);
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(next() * (n - i));
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
    mask[order[i]!] = 1;
  }
  return mask;
}

/** The rows the drill is run over, in run order: when each change happened and on which service. */
export interface DrillRows {
  times: ArrayLike<number>;
  services: ArrayLike<number>;
}

/** The span a stale-telemetry perturbation covers: share of the rows' time range, `at` of the way in. */
export function staleSpan(rows: DrillRows, share: number, at: number): { from: number; until: number } {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < rows.times.length; i++) {
    lo = Math.min(lo, rows.times[i]!);
    hi = Math.max(hi, rows.times[i]!);
  }
  // +1 ms: the range is half-open, so a full-share span must still hold the last change.
  const range = hi - lo + 1;
  const from = lo + at * (1 - share) * range;
  return { from, until: from + share * range };
}

function sd(values: ArrayLike<number>): number {
  let n = 0;
  let mean = 0;
  let m2 = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v)) continue;
    n++;
    const d = v - mean;
    mean += d / n;
    m2 += d * (v - mean);
  }
  return n > 1 ? Math.sqrt(m2 / (n - 1)) : 0;
}

/**
 * One feature's column after the drill's input perturbations, with how many rows each changed.
 * σ is the feature's standard deviation over the unperturbed rows.
 */
export function perturbFeature(feature: string, column: ArrayLike<number>, rows: DrillRows, perturbations: readonly Perturbation[], seed: number): { values: Float64Array; touched: number[] } {
  const values = Float64Array.from(column);
  const sigma = sd(column);
  const touched = perturbations.map(() => 0);
  perturbations.forEach((p, index) => {
    if (!('features' in p) || !p.features.includes(feature)) return;
    if (p.kind === 'stale') {
      const span = staleSpan(rows, p.share, p.at);
      const last = new Map<number, number>();
      for (let i = 0; i < values.length; i++) {
        const t = rows.times[i]!;
        const service = rows.services[i]!;
        if (t < span.from) last.set(service, values[i]!);
        else if (t < span.until) {
          values[i] = p.mode === 'drop' ? Number.NaN : last.get(service) ?? Number.NaN;
          touched[index]!++;
        }
      }
      return;
    }
    const mask = pickRows(values.length, p.share, streamSeed(seed, index));
    const gauss = p.kind === 'noise' ? normal(uniform(streamSeed(seed, index, stringSalt(feature)))) : null;
    for (let i = 0; i < values.length; i++) {
      if (!mask[i]) continue;
      touched[index]!++;
      if (p.kind === 'drift') values[i] = values[i]! * p.scale + p.shift * sigma;
      else if (p.kind === 'noise') values[i] = values[i]! + gauss!() * p.sigma * sigma;
      else values[i] = Number.NaN;
    }
  });
  return { values, touched };
}

/** What the drill does to the model's answers, per row. */
export interface FaultPlan {
  fail: Uint8Array;
  garbage: Uint8Array;
  garbageValue: Float64Array;
  flip: Uint8Array;
  /** ms added to each row's latency */
  latency: Float64Array;
  /** rows touched, by perturbation kind */
  injected: Record<string, number>;
}

/** `range`: the scores a valid answer can take; garbage lands outside it (above and below where it is bounded). */
export function faultPlan(n: number, perturbations: readonly Perturbation[], seed: number, range: readonly [number, number] = [0, 1]): FaultPlan {
  const [lo, hi] = range;
  const plan: FaultPlan = { fail: new Uint8Array(n), garbage: new Uint8Array(n), garbageValue: new Float64Array(n), flip: new Uint8Array(n), latency: new Float64Array(n), injected: {} };
  perturbations.forEach((p, index) => {
    if ('features' in p) return;
    const mask = pickRows(n, p.share, streamSeed(seed, index));
    const next = uniform(streamSeed(seed, index, 1));
    let count = 0;
    for (let i = 0; i < n; i++) {
      if (!mask[i]) continue;
      count++;
      if (p.kind === 'failure') plan.fail[i] = 1;
      else if (p.kind === 'flip') plan.flip[i] = 1;
      else if (p.kind === 'garbage') {
        plan.garbage[i] = 1;
        // Out of range on both sides (above 1 and below 0 for a probability), never a valid answer.
        const u = 0.01 + next();
        plan.garbageValue[i] = p.value === 'nan' ? Number.NaN : i % 2 === 0 && Number.isFinite(hi) ? hi + u : lo - u;
      } else if (p.kind === 'latency') {
        plan.latency[i]! += p.distribution === 'fixed' ? p.ms : p.ms / Math.pow(1 - next(), 1 / p.alpha);
      }
    }
    plan.injected[p.kind] = (plan.injected[p.kind] ?? 0) + count;
  });
  return plan;
}

/**
 * A flipped decision for an unbounded "how unusual" score (≥ 0): above the threshold t it drops to
 * t²/(s + t) (at most t/2), below it rises to 2t − s (more than t). NaN (no score yet) stays NaN.
 */
export function reflectUnbounded(score: number, threshold: number): number {
  return score >= threshold ? (threshold * threshold) / (score + threshold) : 2 * threshold - score;
}

/**
 * A flipped decision: the score reflected across the threshold, so the decision flips and the
 * score stays in [0, 1] and keeps its order on each side.
 */
export function reflectAcross(score: number, threshold: number): number {
  if (threshold <= 0 || threshold >= 1) return 1 - score;
  if (score >= threshold) return Math.min(threshold * (1 - score) / (1 - threshold), threshold * (1 - 1e-9));
  return Math.min(1, threshold + (1 - threshold) * (threshold - score) / threshold);
}
