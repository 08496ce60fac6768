/**
 * Input drift between a model's reference window and the window being replayed: the population
 * stability index (PSI) over the reference's decile bins, and the two-sample Kolmogorov-Smirnov
 * test. Missing values (NaN) are a bin of their own, so a feature that goes missing drifts too.
 */

export type DriftBand = 'stable' | 'moderate' | 'drift';

/** The usual reading of PSI: under 0.1 stable, 0.1–0.25 moderate shift, 0.25 and over drift. */
export const PSI_MODERATE = 0.1;
export const PSI_DRIFT = 0.25;

export function psiBand(psi: number): DriftBand {
  return psi >= PSI_DRIFT ? 'drift' : psi >= PSI_MODERATE ? 'moderate' : 'stable';
}

/** Proportions floor at this, so an empty bin on one side gives a large but finite term. */
const FLOOR = 1e-4;

function finiteSorted(values: ArrayLike<number>): Float64Array {
  const out: number[] = [];
  for (let i = 0; i < values.length; i++) if (Number.isFinite(values[i]!)) out.push(values[i]!);
  return Float64Array.from(out).sort();
}

/**
 * Bin edges at the reference's quantiles (deciles by default). Tied quantiles collapse into one
 * edge, so a feature with few distinct values (a flag, an hour) gets one bin per value instead of
 * empty bins.
 */
export function quantileEdges(sortedReference: Float64Array, bins = 10): number[] {
  const edges: number[] = [];
  for (let k = 1; k < bins; k++) {
    const v = sortedReference[Math.min(sortedReference.length - 1, Math.floor((k * sortedReference.length) / bins))]!;
    if (edges.length === 0 || v > edges[edges.length - 1]!) edges.push(v);
  }
  return edges;
}

/** Share of values in each bin: bin j holds edges[j-1] <= v < edges[j]; the last bin is NaN. */
function shares(values: ArrayLike<number>, edges: readonly number[]): number[] {
  const counts = new Array<number>(edges.length + 2).fill(0);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v)) {
      counts[edges.length + 1]!++;
      continue;
    }
    let lo = 0;
    let hi = edges.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (v < edges[mid]!) hi = mid;
      else lo = mid + 1;
    }
    counts[lo]!++;
  }
  return counts.map((c) => c / Math.max(values.length, 1));
}

/** PSI = Σ (actual − expected) · ln(actual / expected) over the bins, expected from the reference. */
export function psi(reference: ArrayLike<number>, replayed: ArrayLike<number>, bins = 10): number {
  if (reference.length === 0 || replayed.length === 0) return Number.NaN;
  const sorted = finiteSorted(reference);
  const edges = sorted.length > 0 ? quantileEdges(sorted, bins) : [];
  const e = shares(reference, edges);
  const a = shares(replayed, edges);
  let total = 0;
  for (let j = 0; j < e.length; j++) {
    if (e[j] === 0 && a[j] === 0) continue;
    const ej = Math.max(e[j]!, FLOOR);
    const aj = Math.max(a[j]!, FLOOR);
    total += (aj - ej) * Math.log(aj / ej);
  }
  return total;
}

/**
 * Kolmogorov's limiting distribution, Q(λ) = 2 Σ (−1)^(k−1) exp(−2 k² λ²): the chance of a KS
 * statistic at least this large if both samples came from one distribution.
 */
export function kolmogorovQ(lambda: number): number {
  if (lambda < 1e-3) return 1;
  let sum = 0;
  let sign = 1;
  for (let k = 1; k <= 100; k++) {
    const term = sign * Math.exp(-2 * k * k * lambda * lambda);
    sum += term;
    if (Math.abs(term) < 1e-12) break;
    sign = -sign;
  }
  return Math.min(1, Math.max(0, 2 * sum));
}

/**
 * Two-sample KS over the finite values: D is the largest gap between the two empirical CDFs; the
 * p-value is the asymptotic one with Stephens' small-sample correction (as Numerical Recipes'
 * kstwo), which is close to exact once both samples have a few dozen values.
 */
export function ks2(reference: ArrayLike<number>, replayed: ArrayLike<number>): { d: number; p: number } {
  const a = finiteSorted(reference);
  const b = finiteSorted(replayed);
  if (a.length === 0 || b.length === 0) return { d: Number.NaN, p: Number.NaN };
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < a.length && j < b.length) {
    const v = Math.min(a[i]!, b[j]!);
    // Step past every copy of v on both sides before comparing: ties move both CDFs at once.
    while (i < a.length && a[i] === v) i++;
    while (j < b.length && b[j] === v) j++;
    d = Math.max(d, Math.abs(i / a.length - j / b.length));
  }
  const ne = (a.length * b.length) / (a.length + b.length);
  const sq = Math.sqrt(ne);
  return { d, p: kolmogorovQ((sq + 0.12 + 0.11 / sq) * d) };
}
