import { describe, expect, it } from 'vitest';
import { sortPredictions } from '../../shared/metrics/classification.js';
import { bootstrapMetrics } from '../../shared/metrics/bootstrap.js';
import { bootstrapParallel } from '../../electron/engine/metrics/parallel-bootstrap.js';
import { sfc32, sfc32State } from '../../shared/metrics/resample.js';

function predictions(n: number, seed: number): { score: number; label: 0 | 1 }[] {
  const state = sfc32State(seed);
  return Array.from({ length: n }, () => {
    const y = sfc32(state) / 2 ** 32 < 0.15 ? 1 : 0;
    // Rounded scores, so there are ties as well as distinct values.
    return { score: Math.round((0.3 * y + 0.7 * (sfc32(state) / 2 ** 32)) * 500) / 500, label: y as 0 | 1 };
  });
}

describe('bootstrap across worker threads', () => {
  it('gives exactly the intervals of the one-thread pass, for any split', async () => {
    const sorted = sortPredictions(predictions(3000, 7));
    const serial = bootstrapMetrics(sorted, 0.4, undefined, { resamples: 203, seed: 99 });
    for (const threads of [2, 4]) {
      const parallel = await bootstrapParallel(sorted, 0.4, undefined, { resamples: 203, seed: 99, threads });
      expect(parallel.threads).toBe(threads);
      expect(parallel.intervals).toEqual(serial.intervals);
    }
    // A different seed moves the intervals: the comparison above is not vacuous.
    const other = bootstrapMetrics(sorted, 0.4, undefined, { resamples: 203, seed: 100 });
    expect(other.intervals.auc_roc).not.toEqual(serial.intervals.auc_roc);
  });

  it('stays on one thread for small work and still matches', async () => {
    const sorted = sortPredictions(predictions(500, 3));
    const got = await bootstrapParallel(sorted, 0.5, undefined, { resamples: 100, seed: 1 });
    expect(got.threads).toBe(1);
    expect(got.intervals).toEqual(bootstrapMetrics(sorted, 0.5, undefined, { resamples: 100, seed: 1 }).intervals);
  });
});

describe('concurrent scorecards on the shared threads', () => {
  it('each gets its own numbers', async () => {
    const a = sortPredictions(predictions(2000, 11));
    const b = sortPredictions(predictions(2500, 12));
    const [pa, pb] = await Promise.all([
      bootstrapParallel(a, 0.5, undefined, { resamples: 120, seed: 5, threads: 2 }),
      bootstrapParallel(b, 0.5, undefined, { resamples: 120, seed: 5, threads: 2 }),
    ]);
    expect(pa.intervals).toEqual(bootstrapMetrics(a, 0.5, undefined, { resamples: 120, seed: 5 }).intervals);
    expect(pb.intervals).toEqual(bootstrapMetrics(b, 0.5, undefined, { resamples: 120, seed: 5 }).intervals);
  });
});
