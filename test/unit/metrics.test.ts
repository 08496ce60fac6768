import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { computeMetrics, sortPredictions, thresholdSweep, type Prediction } from '../../shared/metrics/classification.js';
import { bootstrapMetrics, flatten, quantile } from '../../shared/metrics/bootstrap.js';
import { resampleMetrics, resampleScratch, RESAMPLE_KEYS, sfc32State } from '../../shared/metrics/resample.js';

const preds = (scores: number[], labels: number[]): Prediction[] => scores.map((score, i) => ({ score, label: labels[i] as 0 | 1 }));
const metrics = (scores: number[], labels: number[], threshold = 0.5) => computeMetrics(sortPredictions(preds(scores, labels)), threshold);

describe('classification metrics against reference values', () => {
  it('matches scikit-learn\'s documented examples', () => {
    // roc_auc_score and average_precision_score docs: y=[0,0,1,1], s=[0.1,0.4,0.35,0.8]
    const m = metrics([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]);
    expect(m.auc_roc).toBeCloseTo(0.75, 12);
    expect(m.average_precision).toBeCloseTo(0.8333333333333333, 12);
    // brier_score_loss docs: y=[0,1,1,0], p=[0.1,0.9,0.8,0.3] -> 0.0375
    expect(metrics([0.1, 0.9, 0.8, 0.3], [0, 1, 1, 0]).brier).toBeCloseTo(0.0375, 12);
    // log_loss docs: P(spam) = [.9,.1,.2,.65] for [spam, ham, ham, spam] -> 0.21616...
    expect(metrics([0.9, 0.1, 0.2, 0.65], [1, 0, 0, 1]).log_loss).toBeCloseTo(0.21616187468057912, 12);
  });

  it('counts tied scores as half in AUC and as one threshold in AP', () => {
    // pos {0.8, 0.5}, neg {0.5, 0.2}: (0.8,0.5)=1 (0.8,0.2)=1 (0.5,0.5)=½ (0.5,0.2)=1 -> 3.5/4
    const m = metrics([0.8, 0.5, 0.5, 0.2], [1, 1, 0, 0]);
    expect(m.auc_roc).toBe(0.875);
    // thresholds 0.8: P=1, R=.5; 0.5: P=2/3, R=1 -> AP = .5*1 + .5*2/3
    expect(m.average_precision).toBeCloseTo(0.5 + 1 / 3, 12);
    const allTied = metrics([0.3, 0.3, 0.3, 0.3], [1, 0, 1, 0]);
    expect(allTied.auc_roc).toBe(0.5);
    expect(allTied.average_precision).toBe(0.5);
  });

  it('gives 1 for a perfect ranking and 0 for an inverted one', () => {
    expect(metrics([0.9, 0.8, 0.2, 0.1], [1, 1, 0, 0]).auc_roc).toBe(1);
    expect(metrics([0.9, 0.8, 0.2, 0.1], [0, 0, 1, 1]).auc_roc).toBe(0);
    expect(metrics([0.9, 0.8, 0.2, 0.1], [1, 1, 0, 0]).average_precision).toBe(1);
  });

  it('says "undefined" (null), never NaN, when a class is missing', () => {
    const allPos = metrics([0.2, 0.7], [1, 1]);
    expect(allPos.auc_roc).toBeNull();
    expect(allPos.fpr).toBeNull();
    expect(allPos.average_precision).toBe(1);
    const allNeg = metrics([0.2, 0.7], [0, 0]);
    expect(allNeg.auc_roc).toBeNull();
    expect(allNeg.average_precision).toBeNull();
    expect(allNeg.recall).toBeNull();
    expect(Object.values(flatten(allNeg)).some((v) => typeof v === 'number' && Number.isNaN(v))).toBe(false);
    const nothingFlagged = metrics([0.1, 0.2], [1, 0], 0.9);
    expect(nothingFlagged.precision).toBeNull();
    expect(nothingFlagged.recall).toBe(0);
  });

  it('computes the threshold metrics and costs by hand', () => {
    const m = computeMetrics(sortPredictions(preds([0.9, 0.7, 0.6, 0.4, 0.3, 0.1], [1, 0, 1, 0, 1, 0])), 0.5, { missedIncident: 10, delayedChange: 1 });
    expect(m.confusion).toEqual({ tp: 2, fp: 1, tn: 2, fn: 1 });
    expect(m.precision).toBeCloseTo(2 / 3, 12);
    expect(m.recall).toBeCloseTo(2 / 3, 12);
    expect(m.fpr).toBeCloseTo(1 / 3, 12);
    expect(m.f1).toBeCloseTo(2 / 3, 12);
    expect(m.expected_cost).toBeCloseTo((1 * 10 + 1 * 1) / 6, 12);
  });

  it('bins calibration as 10 equal-width bins with a score of 1.0 in the last', () => {
    // bins: 0.05 -> 0 (y 0), 0.15 -> 1 (y 0), 1.0 -> 9 (y 1), 0.95 -> 9 (y 0)
    const m = metrics([0.05, 0.15, 1.0, 0.95], [0, 0, 1, 0]);
    const expected = (1 / 4) * 0.05 + (1 / 4) * 0.15 + (2 / 4) * Math.abs(0.5 - 0.975);
    expect(m.ece).toBeCloseTo(expected, 12);
  });

  it('captures the right share of failures when gating the riskiest k %, splitting tie groups fairly', () => {
    // 20 changes, 4 bad; top 10% = 2 changes.
    const scores = Array.from({ length: 20 }, (_, i) => 1 - i / 20);
    const labels = scores.map((_, i) => (i === 0 || i === 3 || i === 9 || i === 15 ? 1 : 0));
    const m = metrics(scores, labels);
    expect(m.capture_at['5']).toBe(0.25);
    expect(m.capture_at['10']).toBe(0.25);
    expect(m.capture_at['20']).toBe(0.5);
    expect(m.capture_at['50']).toBe(0.75);
    // One tie group of 10 holding 2 of the 2 failures: gating 5 % (half a change) catches 0.1 of them on average.
    const tied = metrics(Array(10).fill(0.5), [1, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(tied.capture_at['5']).toBeCloseTo(0.05, 12);
    expect(tied.capture_at['50']).toBeCloseTo(0.5, 12);
  });

  it('sweeps thresholds and finds the cheapest one', () => {
    const s = thresholdSweep(sortPredictions(preds([0.9, 0.8, 0.3, 0.2], [1, 1, 0, 0])), { missedIncident: 5, delayedChange: 1 });
    expect(s.points.map((p) => p.recall)).toEqual([0, 0.5, 1, 1, 1]);
    expect(s.costOptimal).toMatchObject({ threshold: 0.8, expected_cost: 0 });
  });
});

describe('the fast resample pass', () => {
  it('equals the readable definition when every weight is one, on any data', () => {
    fc.assert(fc.property(
      fc.array(fc.record({ score: fc.oneof(fc.double({ min: 0, max: 1, noNaN: true }), fc.constantFrom(0, 0.25, 0.5, 1)), label: fc.constantFrom(0 as const, 1 as const) }), { minLength: 1, maxLength: 200 }),
      fc.double({ min: 0, max: 1, noNaN: true }),
      (ps, threshold) => {
        const sorted = sortPredictions(ps);
        const fast = resampleMetrics(sorted, threshold, { missedIncident: 20, delayedChange: 1 }, sfc32State(1), resampleScratch(sorted), new Uint8Array(ps.length).fill(1));
        const slow = flatten(computeMetrics(sorted, threshold));
        RESAMPLE_KEYS.forEach((k, i) => {
          const want = slow[k];
          if (want === null || want === undefined) expect(Number.isNaN(fast[i]!), k).toBe(true);
          else expect(fast[i]!, k).toBeCloseTo(want, 9);
        });
      },
    ), { numRuns: 300 });
  });

  it('draws Poisson(1) weights: mean and variance one', () => {
    const n = 200_000;
    const sorted = sortPredictions(Array.from({ length: n }, (_, i) => ({ score: i / n, label: (i % 2) as 0 | 1 })));
    const scratch = resampleScratch(sorted);
    const state = sfc32State(42);
    // The resample's total weight is the pass's first sum; half the scores are >= 0.5.
    let sum = 0;
    let sumSq = 0;
    const runs = 40;
    for (let r = 0; r < runs; r++) {
      const out = resampleMetrics(sorted, 0.5, { missedIncident: 0, delayedChange: 1 }, state, scratch);
      const total = scratch.sums[0]!;
      sum += total / n;
      sumSq += (total / n) ** 2;
      expect(out[9]).toBeGreaterThan(0.49);
      expect(out[9]).toBeLessThan(0.51);
    }
    const mean = sum / runs;
    // The total of n Poisson(1) weights has mean n and sd √n: its ratio to n has sd 1/√n.
    expect(Math.abs(mean - 1)).toBeLessThan(4 / Math.sqrt(n * runs));
    expect(Math.sqrt(sumSq / runs - mean * mean)).toBeLessThan(5 / Math.sqrt(n));
  });
});

describe('bootstrap intervals', () => {
  const data = (seed: number, n: number): Prediction[] => {
    let s = seed;
    const next = (): number => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
    return Array.from({ length: n }, () => {
      const y = next() < 0.2 ? 1 : 0;
      return { score: Math.min(1, Math.max(0, 0.25 * y + 0.75 * next())), label: y as 0 | 1 };
    });
  };

  it('are reproducible with the same seed and contain the point estimate', () => {
    const sorted = sortPredictions(data(3, 2000));
    const a = bootstrapMetrics(sorted, 0.5, undefined, { resamples: 300, seed: 9 });
    const b = bootstrapMetrics(sorted, 0.5, undefined, { resamples: 300, seed: 9 });
    expect(a.intervals).toEqual(b.intervals);
    for (const [key, iv] of Object.entries(a.intervals)) {
      if (iv.value === null) continue;
      expect(iv.lo!, key).toBeLessThanOrEqual(iv.value + 1e-9);
      expect(iv.hi!, key).toBeGreaterThanOrEqual(iv.value - 1e-9);
    }
    const other = bootstrapMetrics(sorted, 0.5, undefined, { resamples: 300, seed: 10 });
    expect(other.intervals.auc_roc).not.toEqual(a.intervals.auc_roc);
  });

  it('narrow as the sample grows, about as 1/√n', () => {
    const width = (n: number): number => {
      const iv = bootstrapMetrics(sortPredictions(data(5, n)), 0.5, undefined, { resamples: 400 }).intervals.auc_roc!;
      return iv.hi! - iv.lo!;
    };
    const ratio = width(1000) / width(16000);
    expect(ratio).toBeGreaterThan(2.8);
    expect(ratio).toBeLessThan(5.5);
  });

  it('are null when a metric is undefined in most resamples', () => {
    const scores = Array.from({ length: 12 }, (_, i) => 0.1 + 0.05 * i);
    const iv = bootstrapMetrics(sortPredictions(preds(scores, scores.map(() => 0))), 0.5, undefined, { resamples: 200 }).intervals;
    expect(iv.auc_roc).toEqual({ value: null, lo: null, hi: null });
    expect(iv.fpr!.lo).not.toBeNull();
  });

  it('are null below ten of what a metric rests on, and exact where a share sits at 0 or 1', () => {
    // The reviewer's case: 40 changes, one incident, scored highest. The bootstrap alone said recall
    // 1 [1, 1] and AUC 1 [1, 1]; one incident cannot show either.
    const scores = Array.from({ length: 40 }, (_, i) => (i === 0 ? 0.9 : 0.01 + 0.007 * i));
    const labels = scores.map((_, i) => (i === 0 ? 1 : 0));
    const one = bootstrapMetrics(sortPredictions(preds(scores, labels)), 0.5, undefined, { resamples: 300 }).intervals;
    expect(one.recall).toEqual({ value: 1, lo: null, hi: null });
    expect(one.auc_roc).toEqual({ value: 1, lo: null, hi: null });
    expect(one.precision).toEqual({ value: 1, lo: null, hi: null }); // one change flagged
    // fpr rests on 39 good changes, none flagged: 0 with the exact interval [0, 1 − 0.025^(1/39)].
    expect(one.fpr!.value).toBe(0);
    expect(one.fpr!.lo).toBe(0);
    expect(one.fpr!.hi).toBeCloseTo(1 - 0.025 ** (1 / 39), 12);
    // Thirty incidents all caught: [0.025^(1/30), 1] ≈ [0.884, 1], not the bootstrap's [1, 1].
    const many = sortPredictions(preds([...Array(30).fill(0.9), ...Array(70).fill(0.1)], [...Array(30).fill(1), ...Array(70).fill(0)]));
    const all = bootstrapMetrics(many, 0.5, undefined, { resamples: 300 }).intervals;
    expect(all.recall!.lo).toBeCloseTo(0.025 ** (1 / 30), 12);
    expect(all.recall!.lo).toBeCloseTo(0.884, 3);
    expect(all.recall!.hi).toBe(1);
  });

  it('interpolates percentiles as numpy does', () => {
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantile([10, 20, 30], 0.025)).toBeCloseTo(10.5, 12);
  });
});
