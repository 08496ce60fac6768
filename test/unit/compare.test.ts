import { describe, expect, it } from 'vitest';
import { comparePaired, mcnemarExact, verdictOf } from '../../shared/metrics/compare.js';
import { sfc32, sfc32State } from '../../shared/metrics/resample.js';

const costs = { missedIncident: 20, delayedChange: 1 };

describe("McNemar's exact test", () => {
  it('matches hand-computed binomial tails', () => {
    expect(mcnemarExact(0, 0)).toBe(1);
    expect(mcnemarExact(1, 5)).toBeCloseTo((2 * (1 + 6)) / 64, 12);
    expect(mcnemarExact(5, 1)).toBeCloseTo((2 * (1 + 6)) / 64, 12);
    expect(mcnemarExact(0, 10)).toBeCloseTo(2 / 1024, 12);
    expect(mcnemarExact(2, 8)).toBeCloseTo((2 * (1 + 10 + 45)) / 1024, 12);
    expect(mcnemarExact(10, 10)).toBe(1);
    // Large tables stay finite: 400 vs 520 discordant pairs is a clear difference.
    expect(mcnemarExact(400, 520)).toBeLessThan(1e-4);
    expect(mcnemarExact(400, 520)).toBeGreaterThan(0);
  });
});

describe('verdicts', () => {
  it('reads the interval in the direction that is better for the metric', () => {
    expect(verdictOf({ value: 0.05, lo: 0.01, hi: 0.09 }, true)).toBe('better');
    expect(verdictOf({ value: 0.05, lo: 0.01, hi: 0.09 }, false)).toBe('worse');
    expect(verdictOf({ value: -0.05, lo: -0.09, hi: -0.01 }, false)).toBe('better');
    expect(verdictOf({ value: 0.01, lo: -0.02, hi: 0.04 }, true)).toBe('not enough evidence');
    expect(verdictOf({ value: 0, lo: 0, hi: 0 }, true)).toBe('not enough evidence');
    expect(verdictOf({ value: 0.2, lo: 0.1, hi: 0.3 }, null)).toBe('no preference');
  });
});

function normal(state: Int32Array): number {
  const u = (sfc32(state) + 0.5) / 2 ** 32;
  const v = (sfc32(state) + 0.5) / 2 ** 32;
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** Φ, by the Abramowitz–Stegun erf approximation (|error| < 1.5e-7). */
function phi(x: number): number {
  const t = 1 / (1 + 0.3275911 * (Math.abs(x) / Math.SQRT2));
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-(x * x) / 2);
  return x >= 0 ? (1 + y) / 2 : (1 - y) / 2;
}

describe('the paired bootstrap', () => {
  it('says nothing is better when a model is compared with itself', () => {
    const state = sfc32State(3);
    const labels = Array.from({ length: 500 }, () => (sfc32(state) / 2 ** 32 < 0.2 ? 1 : 0) as 0 | 1);
    const scores = labels.map((y) => 1 / (1 + Math.exp(-(y + normal(state)))));
    const c = comparePaired({ labels, champion: scores, challenger: scores, championThreshold: 0.5, challengerThreshold: 0.5 }, costs, { resamples: 200 });
    for (const m of c.metrics) expect(['not enough evidence', 'no preference'], m.metric).toContain(m.verdict);
    expect(c.metrics.find((m) => m.metric === 'auc_roc')!.difference).toEqual({ value: 0, lo: 0, hi: 0 });
    expect(c.mcnemar).toEqual({ championOnlyRight: 0, challengerOnlyRight: 0, p: 1 });
    expect(c.disagreements).toEqual([]);
  });

  it('gives no interval, rather than NaN, when asked for no resamples', () => {
    const labels: (0 | 1)[] = [0, 1, 0, 1, 1, 0];
    const c = comparePaired({ labels, champion: [0.1, 0.9, 0.2, 0.8, 0.7, 0.3], challenger: [0.2, 0.6, 0.4, 0.9, 0.5, 0.1], championThreshold: 0.5, challengerThreshold: 0.5 }, costs, { resamples: 0 });
    for (const m of c.metrics) {
      expect(m.difference.lo, m.metric).toBeNull();
      expect(Number.isNaN(m.difference.value ?? 0)).toBe(false);
    }
  });

  it('covers the true AUC difference in about 95 % of simulated trials, and rarely covers a wrong one', () => {
    // Scores: μ·label + N(0, 1) noise, so the true AUC is Φ(μ/√2) for each model.
    const muA = 0.8;
    const muB = 1.2;
    const truth = phi(muB / Math.SQRT2) - phi(muA / Math.SQRT2);
    const state = sfc32State(20260901);
    let covered = 0;
    let coveredWrong = 0;
    const trials = 200;
    for (let t = 0; t < trials; t++) {
      const labels = Array.from({ length: 400 }, () => (sfc32(state) / 2 ** 32 < 0.3 ? 1 : 0) as 0 | 1);
      const champion = labels.map((y) => muA * y + normal(state));
      const challenger = labels.map((y) => muB * y + normal(state));
      const d = comparePaired({ labels, champion, challenger, championThreshold: 0.5, challengerThreshold: 0.5 }, costs, { resamples: 200, seed: t })
        .metrics.find((m) => m.metric === 'auc_roc')!.difference;
      if (d.lo! <= truth && truth <= d.hi!) covered++;
      if (d.lo! <= truth + 0.1 && truth + 0.1 <= d.hi!) coveredWrong++;
    }
    // 200 trials: the share's standard error is 1.5 points, so 0.89–0.99 is four of them either side.
    expect(covered / trials).toBeGreaterThan(0.89);
    expect(covered / trials).toBeLessThan(0.99);
    expect(coveredWrong / trials).toBeLessThan(0.3);
  });

  it('finds a clearly better challenger better, and counts who was right where they disagree', () => {
    const state = sfc32State(11);
    const labels = Array.from({ length: 2000 }, () => (sfc32(state) / 2 ** 32 < 0.2 ? 1 : 0) as 0 | 1);
    const champion = labels.map(() => sfc32(state) / 2 ** 32); // noise
    const challenger = labels.map((y) => 1 / (1 + Math.exp(-(2.5 * y - 1.5 + normal(state)))));
    const c = comparePaired({ labels, champion, challenger, championThreshold: 0.5, challengerThreshold: 0.5 }, costs, { resamples: 300 });
    expect(c.metrics.find((m) => m.metric === 'auc_roc')!.verdict).toBe('better');
    expect(c.metrics.find((m) => m.metric === 'brier')!.verdict).toBe('better');
    expect(c.mcnemar.challengerOnlyRight).toBeGreaterThan(c.mcnemar.championOnlyRight);
    expect(c.mcnemar.p).toBeLessThan(0.001);
    expect(c.disagreements.length).toBe(c.mcnemar.challengerOnlyRight + c.mcnemar.championOnlyRight);
  });
});
