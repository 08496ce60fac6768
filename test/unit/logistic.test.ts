import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { explainLogistic, predictLogistic, trainLogistic } from '../../electron/engine/models/logistic.js';

function data(n: number, seed: number): { rows: number[][]; labels: number[] } {
  let s = seed;
  const next = (): number => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
  const rows: number[][] = [];
  const labels: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = [next() * 10, next() * 100, next() < 0.3 ? 1 : 0];
    const p = 1 / (1 + Math.exp(-(-2 + 0.3 * x[0]! - 0.01 * x[1]! + 1.5 * x[2]!)));
    rows.push(x);
    labels.push(next() < p ? 1 : 0);
  }
  return { rows, labels };
}

describe('logistic regression', () => {
  it('reaches the optimum of sklearn\'s objective: the gradient vanishes', () => {
    const { rows, labels } = data(2000, 7);
    const m = trainLogistic(['a', 'b', 'c'], rows, labels, { C: 0.5 });
    // ∂/∂w_j [½‖w‖² + C Σ logloss] = w_j + C Σ (p − y) x̃_j, and the intercept's is C Σ (p − y).
    const grad = [0, 0, 0, 0];
    rows.forEach((r, i) => {
      const p = predictLogistic(m, r);
      grad[0]! += m.C * (p - labels[i]!);
      for (let j = 0; j < 3; j++) grad[j + 1]! += m.C * (p - labels[i]!) * ((r[j]! - m.mean[j]!) / m.scale[j]!);
    });
    for (let j = 0; j < 3; j++) grad[j + 1]! += m.coef[j]!;
    for (const g of grad) expect(Math.abs(g)).toBeLessThan(1e-8);
    expect(m.coef[0]).toBeGreaterThan(0);
    expect(m.coef[1]).toBeLessThan(0);
  });

  it('standardises with the training rows only', () => {
    const m = trainLogistic(['x'], [[0], [2], [4], [6]], [0, 0, 1, 1]);
    expect(m.mean).toEqual([3]);
    expect(m.scale[0]).toBeCloseTo(Math.sqrt(5), 12);
    const logged = trainLogistic(['x'], [[0], [2], [4], [6]], [0, 0, 1, 1], { log1p: true });
    expect(logged.mean[0]).toBeCloseTo((Math.log1p(0) + Math.log1p(2) + Math.log1p(4) + Math.log1p(6)) / 4, 12);
  });

  it('refuses training data with one class only, and says so', () => {
    expect(() => trainLogistic(['x'], [[1], [2]], [0, 0])).toThrow(/only negative outcomes/);
  });

  it('explains each score exactly: contributions sum to score minus reference score', () => {
    const { rows, labels } = data(500, 3);
    const m = trainLogistic(['a', 'b', 'c'], rows, labels, { log1p: true });
    fc.assert(fc.property(fc.tuple(fc.double({ min: 0, max: 50, noNaN: true }), fc.double({ min: 0, max: 500, noNaN: true }), fc.constantFrom(0, 1)), (row) => {
      const reference = [5, 50, 0];
      const parts = explainLogistic(m, row, reference);
      const sum = parts.reduce((a, p) => a + p.contribution, 0);
      expect(Math.abs(sum - (predictLogistic(m, row) - predictLogistic(m, reference)))).toBeLessThan(1e-9);
    }));
  });
});
