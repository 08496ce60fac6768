import { describe, expect, it } from 'vitest';
import { NAB_PROFILES, normalizedScore, optimizeThreshold, prepareSeries, probationLength, rawScore, scaledSigmoid, scoreProfile, type NabSeries } from '../../shared/metrics/nab.js';

const standard = NAB_PROFILES.standard;

/** 100 rows at t = 0..99, one window over rows [lo, hi]. */
function series(scores: number[], windows: [number, number][]): NabSeries {
  return { name: 'test', times: scores.map((_, i) => i), scores, windows };
}

describe('the scaled sigmoid', () => {
  it('matches the sample values of SCORING.md §4', () => {
    expect(scaledSigmoid(-1)).toBeCloseTo(0.98661429815143, 12);
    expect(scaledSigmoid(-0.5)).toBeCloseTo(0.84828, 5);
    expect(scaledSigmoid(0)).toBe(0);
    expect(scaledSigmoid(0.5)).toBeCloseTo(-0.84828, 5);
    expect(scaledSigmoid(3)).toBeCloseTo(-0.9999994, 7);
    expect(scaledSigmoid(3.0001)).toBe(-1);
  });
});

describe('row weights', () => {
  it('gives the full A_TP at a window’s left edge, less later, and -A_FP before any window', () => {
    const rows = prepareSeries(series(new Array(100).fill(0), [[40, 49]]), standard);
    expect(rows.weight[40]).toBeCloseTo(1, 12);
    expect(rows.weight[49]).toBeCloseTo((2 / (1 + Math.exp(-5 / 10)) - 1) / scaledSigmoid(-1), 12);
    expect(rows.weight[45]!).toBeLessThan(rows.weight[40]!);
    expect(rows.weight[10]).toBe(-0.11);
    // Just after the window the penalty is small, and it grows towards -A_FP.
    expect(rows.weight[50]).toBeCloseTo(scaledSigmoid(1 / 9) * 0.11, 12);
    expect(rows.weight[99]).toBeCloseTo(scaledSigmoid(50 / 9) * 0.11, 12);
    expect(rows.weight[99]).toBe(-0.11);
  });

  it('ignores the probationary rows: min(floor(0.15·N), 750)', () => {
    expect(probationLength(100)).toBe(15);
    expect(probationLength(10_000)).toBe(750);
    // A detection inside the probation neither helps nor hurts.
    const scores = new Array(100).fill(0);
    scores[5] = 1;
    const { raw, counts } = rawScore(prepareSeries(series(scores, [[40, 49]]), standard), standard, 0.5);
    expect(raw).toBe(-1);
    expect(counts.fp).toBe(0);
  });
});

describe('raw score at a threshold', () => {
  it('counts one true positive per window (the earliest) and every false positive', () => {
    const scores = new Array(100).fill(0);
    scores[42] = 0.9; // early in the window
    scores[47] = 0.9; // later in the same window: adds nothing
    scores[20] = 0.9; // false positive before any window: -0.11
    scores[80] = 0.9; // false positive after the window
    const rows = prepareSeries(series(scores, [[40, 49]]), standard);
    const { raw, counts, detectedWindows } = rawScore(rows, standard, 0.5);
    expect(raw).toBeCloseTo(rows.weight[42]! - 0.11 + rows.weight[80]!, 12);
    // 85 rows past probation: 10 in the window (2 detected), 75 outside (2 detected).
    expect(counts).toEqual({ tp: 2, fp: 2, fn: 8, tn: 73 });
    expect(detectedWindows).toBe(1);
  });

  it('charges A_FN for a missed window', () => {
    const rows = prepareSeries(series(new Array(100).fill(0), [[40, 49], [70, 79]]), NAB_PROFILES.reward_low_FN_rate);
    expect(rawScore(rows, NAB_PROFILES.reward_low_FN_rate, 0.5).raw).toBe(-4);
  });
});

describe('normalised scores', () => {
  const windows: [number, number][] = [[30, 39], [60, 69]];
  it('scores 100 for a detector firing exactly at each window start, in every profile', () => {
    const scores = new Array(100).fill(0);
    scores[30] = 1;
    scores[60] = 1;
    for (const name of ['standard', 'reward_low_FP_rate', 'reward_low_FN_rate'] as const) {
      const r = scoreProfile([series(scores, windows)], name);
      expect(r.score).toBeCloseTo(100, 9);
      expect(r.threshold).toBe(1);
    }
  });

  it('scores 0 for a constant detector, in every profile', () => {
    for (const name of ['standard', 'reward_low_FP_rate', 'reward_low_FN_rate'] as const) {
      expect(scoreProfile([series(new Array(100).fill(0.5), windows)], name).score).toBe(0);
    }
  });

  it('does not count a window that lies inside the probationary period', () => {
    // 100 rows: probation is the first 15; a window at rows 2-5 is never scored.
    const r = scoreProfile([series(new Array(100).fill(0), [[2, 5], [60, 69]])], 'standard');
    expect(r.windows).toBe(1);
    expect(r.score).toBe(0);
  });

  it('uses the denominators 2·windows (standard, low FP) and 3·windows (low FN)', () => {
    expect(normalizedScore(0, 116, NAB_PROFILES.standard)).toBeCloseTo(100 * 116 / 232, 12);
    expect(normalizedScore(0, 116, NAB_PROFILES.reward_low_FN_rate)).toBeCloseTo(100 * 232 / 348, 12);
    expect(normalizedScore(5, 0, standard)).toBeNull();
  });
});

describe('threshold optimisation', () => {
  it('finds the best of every distinct score and prefers the higher threshold on a tie', () => {
    const scores = new Array(100).fill(0.1);
    scores[31] = 0.8; // in window 1
    scores[61] = 0.6; // in window 2
    scores[90] = 0.7; // a false positive between them in score order
    const rows = prepareSeries(series(scores, [[30, 39], [60, 69]]), standard);
    const best = optimizeThreshold([rows], standard);
    // Brute force over every candidate threshold gives the same optimum.
    const candidates = [1.1, 0.8, 0.7, 0.6, 0.1];
    const raws = candidates.map((t) => rawScore(rows, standard, t).raw);
    const max = Math.max(...raws);
    expect(best.raw).toBeCloseTo(max, 12);
    expect(best.threshold).toBe(candidates[raws.indexOf(max)]);
    expect(best.threshold).toBe(0.6);
  });

  it('keeps the higher threshold when two give the same raw score', () => {
    // Nothing in any window, and no false positives either way: every threshold scores -A_FN.
    const rows = prepareSeries(series(new Array(100).fill(0), [[30, 39]]), standard);
    expect(optimizeThreshold([rows], standard)).toEqual({ threshold: 1.1, raw: -1 });
  });
});
