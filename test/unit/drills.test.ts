import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Perturbation, type PerturbationInput } from '../../shared/contract/drills.js';
import { faultPlan, perturbFeature, pickRows, reflectAcross, staleSpan } from '../../shared/drills/perturb.js';
import { kolmogorovQ, ks2, psi, psiBand } from '../../shared/metrics/drift.js';

const p = (input: PerturbationInput): Perturbation => Perturbation.parse(input);
const sum = (a: ArrayLike<number>): number => Array.from(a).reduce((x, y) => x + y, 0);

// 1000 changes over 1000 minutes on 3 services; feature value = row index.
const N = 1000;
const rows = { times: Float64Array.from({ length: N }, (_, i) => i * 60_000), services: Int32Array.from({ length: N }, (_, i) => i % 3) };
const column = Float64Array.from({ length: N }, (_, i) => i);
const changed = (a: ArrayLike<number>, b: ArrayLike<number>): number[] => Array.from(a).flatMap((v, i) => (Object.is(v, b[i]) ? [] : [i]));

describe('row selection', () => {
  it('picks exactly round(share · n) rows, the same ones for the same seed and others for another', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 3000 }), fc.double({ min: 0, max: 1, noNaN: true }), fc.integer(), (n, share, seed) => {
      const mask = pickRows(n, share, seed);
      expect(sum(mask)).toBe(Math.round(share * n));
      expect(pickRows(n, share, seed)).toEqual(mask);
    }), { numRuns: 200 });
    expect(pickRows(1000, 0.3, 1)).not.toEqual(pickRows(1000, 0.3, 2));
  });
});

describe('input perturbations change exactly the rows they claim', () => {
  const sigma = Math.sqrt(column.reduce((a, v) => a + (v - 499.5) ** 2, 0) / (N - 1));

  it('drift: a share of rows shifted by exactly k σ and scaled, the rest untouched', () => {
    const { values, touched } = perturbFeature('x', column, rows, [p({ kind: 'drift', features: ['x'], shift: 3, scale: 2, share: 0.25 })], 7);
    const idx = changed(values, column);
    expect(idx.length).toBe(250);
    expect(touched).toEqual([250]);
    for (const i of idx) expect(values[i]).toBeCloseTo(column[i]! * 2 + 3 * sigma, 9);
    expect(perturbFeature('x', column, rows, [p({ kind: 'drift', features: ['x'], shift: 3, scale: 2, share: 0.25 })], 7).values).toEqual(values);
  });

  it('a perturbation of other features leaves this one alone', () => {
    const { values, touched } = perturbFeature('x', column, rows, [p({ kind: 'drift', features: ['y'], shift: 3 })], 7);
    expect(values).toEqual(column);
    expect(touched).toEqual([0]);
  });

  it('noise: exactly the share of rows moved, by draws whose spread is sigma · σ', () => {
    const { values } = perturbFeature('x', column, rows, [p({ kind: 'noise', features: ['x'], sigma: 0.5, share: 0.6 })], 3);
    const idx = changed(values, column);
    expect(idx.length).toBe(600);
    const d = idx.map((i) => values[i]! - column[i]!);
    const sd = Math.sqrt(d.reduce((a, v) => a + v * v, 0) / d.length);
    expect(sd / (0.5 * sigma)).toBeGreaterThan(0.85);
    expect(sd / (0.5 * sigma)).toBeLessThan(1.15);
  });

  it('missing: exactly the share of rows become NaN', () => {
    const { values } = perturbFeature('x', column, rows, [p({ kind: 'missing', features: ['x'], share: 0.1 })], 3);
    expect(Array.from(values).filter(Number.isNaN).length).toBe(100);
  });

  it('stale (freeze): every change in a span of exactly share · the range keeps its service\'s last value before the span', () => {
    const spec = p({ kind: 'stale', features: ['x'], mode: 'freeze', share: 0.2, at: 0.5 });
    const span = staleSpan(rows, 0.2, 0.5);
    expect(span.until - span.from).toBeCloseTo(0.2 * (rows.times[N - 1]! - rows.times[0]! + 1), 6);
    const { values, touched } = perturbFeature('x', column, rows, [spec], 1);
    const inSpan = Array.from(rows.times).flatMap((t, i) => (t >= span.from && t < span.until ? [i] : []));
    expect(touched).toEqual([inSpan.length]);
    expect(inSpan.length).toBe(200);
    const first = inSpan[0]!;
    for (const i of inSpan) expect(values[i]).toBe(column[first - 3 + ((i - first) % 3 + 3) % 3]!);
    for (let i = 0; i < N; i++) if (!inSpan.includes(i)) expect(values[i]).toBe(column[i]);
  });

  it('stale (drop): the span\'s values are gone (NaN)', () => {
    const { values } = perturbFeature('x', column, rows, [p({ kind: 'stale', features: ['x'], mode: 'drop', share: 0.3, at: 0 })], 1);
    expect(Array.from(values).filter(Number.isNaN).length).toBe(300);
    expect(Number.isNaN(values[0]!)).toBe(true);
    expect(values[300]).toBe(300);
  });
});

describe('model faults', () => {
  const kinds: PerturbationInput[] = [
    { kind: 'failure', share: 0.2 }, { kind: 'flip', share: 0.05 }, { kind: 'garbage', share: 0.1, value: 'out-of-range' }, { kind: 'latency', ms: 40, share: 0.3 },
  ];

  it('each fault hits exactly its share of rows, reproducibly', () => {
    const plan = faultPlan(N, kinds.map(p), 11);
    expect(sum(plan.fail)).toBe(200);
    expect(sum(plan.flip)).toBe(50);
    expect(sum(plan.garbage)).toBe(100);
    expect(Array.from(plan.latency).filter((v) => v > 0).length).toBe(300);
    expect(Array.from(plan.latency).filter((v) => v > 0).every((v) => v === 40)).toBe(true);
    expect(plan.injected).toEqual({ failure: 200, flip: 50, garbage: 100, latency: 300 });
    expect(faultPlan(N, kinds.map(p), 11)).toEqual(plan);
    // Garbage is never a probability: out of [0, 1] on both sides.
    for (let i = 0; i < N; i++) if (plan.garbage[i]) expect(plan.garbageValue[i]! > 1 || plan.garbageValue[i]! < 0).toBe(true);
  });

  it('heavy-tailed latency is at least its minimum and sometimes far above it', () => {
    const plan = faultPlan(N, [p({ kind: 'latency', ms: 10, distribution: 'pareto', alpha: 1.2 })], 5);
    const added = Array.from(plan.latency);
    expect(Math.min(...added)).toBeGreaterThanOrEqual(10);
    expect(Math.max(...added)).toBeGreaterThan(100);
  });

  it('a flip reflects the score across the threshold: the decision flips, the score stays in [0, 1]', () => {
    fc.assert(fc.property(fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0.01, max: 0.99, noNaN: true }), (s, t) => {
      const r = reflectAcross(s, t);
      expect(r).toBeGreaterThanOrEqual(0);
      expect(r).toBeLessThanOrEqual(1);
      expect(r >= t).toBe(!(s >= t));
    }), { numRuns: 500 });
  });
});

describe('drift metrics', () => {
  it('PSI: zero for the same distribution, the hand-computed value for a known shift, and the usual bands', () => {
    const ref = Float64Array.from({ length: 1000 }, (_, i) => i % 10);
    expect(psi(ref, ref)).toBe(0);
    // Reference: ten values equally often (deciles = one bin each). Replayed: half in bin 0, the rest spread evenly.
    const replayed = Float64Array.from({ length: 900 }, (_, i) => (i < 450 ? 0 : 1 + (i % 9)));
    const a0 = 0.5;
    const ai = 0.5 / 9;
    const expected = (a0 - 0.1) * Math.log(a0 / 0.1) + 9 * (ai - 0.1) * Math.log(ai / 0.1);
    expect(psi(ref, replayed)).toBeCloseTo(expected, 12);
    expect(psiBand(0.05)).toBe('stable');
    expect(psiBand(0.1)).toBe('moderate');
    expect(psiBand(0.2499)).toBe('moderate');
    expect(psiBand(0.25)).toBe('drift');
  });

  it('PSI counts missing values as a bin: a feature that goes missing drifts', () => {
    const ref = Float64Array.from({ length: 1000 }, (_, i) => i);
    const gone = Float64Array.from(ref, (v, i) => (i % 2 ? Number.NaN : v));
    expect(psi(ref, gone)).toBeGreaterThan(0.25);
  });

  it('KS: D is the largest gap between the empirical CDFs; p follows Kolmogorov\'s distribution', () => {
    expect(ks2([1, 2, 3, 4, 5], [6, 7, 8, 9, 10]).d).toBe(1);
    expect(ks2([1, 2, 3, 4], [3, 4, 5, 6]).d).toBe(0.5);
    // Ties move both CDFs together: identical samples have no gap.
    expect(ks2([1, 1, 2, 2], [1, 1, 2, 2])).toEqual({ d: 0, p: 1 });
    // Textbook critical values of the Kolmogorov distribution: Q(1.358) = 0.05, Q(1.628) = 0.01, Q(1.224) = 0.10.
    expect(kolmogorovQ(1.358)).toBeCloseTo(0.05, 3);
    expect(kolmogorovQ(1.628)).toBeCloseTo(0.01, 3);
    expect(kolmogorovQ(1.224)).toBeCloseTo(0.1, 3);
    const shifted = ks2(Float64Array.from({ length: 500 }, (_, i) => i / 500), Float64Array.from({ length: 500 }, (_, i) => 0.3 + i / 500));
    expect(shifted.d).toBeCloseTo(0.3, 2);
    expect(shifted.p).toBeLessThan(1e-9);
  });
});
