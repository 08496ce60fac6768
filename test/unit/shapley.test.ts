import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { exactShapley, sampledShapley } from '../../electron/engine/models/scorer.js';
import { explainLogistic, predictLogistic, type LogisticModel } from '../../electron/engine/models/logistic.js';

type Fn = (x: readonly number[]) => number;
const runOf = (f: Fn) => async (rows: readonly (readonly number[])[]) => ({ scores: Float64Array.from(rows, f), errors: rows.map(() => null) });

/** Shapley values by their definition: the average over every ordering of the features (d! of them). */
function byOrderings(f: Fn, row: readonly number[], reference: readonly number[]): number[] {
  const d = row.length;
  const phi = new Array<number>(d).fill(0);
  let count = 0;
  const permute = (order: number[], rest: number[]): void => {
    if (rest.length === 0) {
      count++;
      const x = [...reference];
      for (const i of order) {
        const before = f(x);
        x[i] = row[i]!;
        phi[i]! += f(x) - before;
      }
      return;
    }
    rest.forEach((r, j) => permute([...order, r], [...rest.slice(0, j), ...rest.slice(j + 1)]));
  };
  permute([], Array.from({ length: d }, (_, i) => i));
  return phi.map((p) => p / count);
}

describe('exact Shapley values', () => {
  it('split an interaction evenly where 32 sampled orderings did not', async () => {
    // risk = 0.1 + 0.8·[large]·[evening] + 0.05·[many files]: large and evening share the 0.8.
    const f: Fn = (x) => 0.1 + 0.8 * (x[0]! > 200 ? 1 : 0) * (x[1]! >= 18 ? 1 : 0) + 0.05 * (x[2]! > 10 ? 1 : 0);
    const exact = await exactShapley(runOf(f), ['lines_added', 'hour_of_day', 'files_changed'], [300, 20, 20], [0, 0, 0]);
    expect(exact.map((c) => c.contribution)).toEqual([0.4, 0.4, 0.05].map((v) => expect.closeTo(v, 12)));
    const sampled = await sampledShapley(runOf(f), ['lines_added', 'hour_of_day', 'files_changed'], [300, 20, 20], [0, 0, 0], 7);
    expect(Math.abs(sampled[0]!.contribution - 0.4)).toBeGreaterThan(0.01);
  });

  it('equal the average over every ordering, sum to score − reference, and give 0 to a feature at its reference', () => {
    fc.assert(fc.asyncProperty(
      fc.array(fc.double({ min: -2, max: 2, noNaN: true }), { minLength: 5, maxLength: 5 }),
      fc.array(fc.integer({ min: -3, max: 3 }), { minLength: 5, maxLength: 5 }),
      async (w, rowInts) => {
        // A non-additive model: a sigmoid of a weighted sum with one product term.
        const f: Fn = (x) => 1 / (1 + Math.exp(-(w[0]! * x[0]! + w[1]! * x[1]! + w[2]! * x[0]! * x[2]! + w[3]! * x[3]! - w[4]!)));
        const row = rowInts.map(Number);
        const reference = [0, 1, 0, 0, row[4]!]; // the last feature sits at its reference
        const exact = (await exactShapley(runOf(f), ['a', 'b', 'c', 'd', 'e'], row, reference)).map((c) => c.contribution);
        const truth = byOrderings(f, row, reference);
        exact.forEach((v, i) => expect(v).toBeCloseTo(truth[i]!, 12));
        expect(exact.reduce((a, b) => a + b, 0)).toBeCloseTo(f(row) - f(reference), 12);
        expect(exact[4]).toBe(0);
      },
    ), { numRuns: 100 });
  });

  it('differ from the rescaled log-odds terms of a logistic model where features pull opposite ways', async () => {
    const model: LogisticModel = { kind: 'logistic', features: ['a', 'b'], log1p: false, mean: [0, 0], scale: [1, 1], coef: [3, -2.5], intercept: 0 } as LogisticModel;
    const f: Fn = (x) => predictLogistic(model, x);
    const exact = await exactShapley(runOf(f), model.features, [2, 2], [0, 0]);
    const rescaled = explainLogistic(model, [2, 2], [0, 0]);
    const truth = byOrderings(f, [2, 2], [0, 0]);
    exact.forEach((c, i) => expect(c.contribution).toBeCloseTo(truth[i]!, 12));
    expect(Math.abs(rescaled[0]!.contribution - truth[0]!)).toBeGreaterThan(0.05);
  });
});
