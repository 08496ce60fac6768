import { describe, expect, it } from 'vitest';
import { explainHeuristic, heuristicFor, scoreHeuristic } from '../../electron/engine/models/heuristic.js';

// Rows are [size, hour of day, weekend, incidents in 30 days, tier].
describe('the heuristic rules', () => {
  it('give the same risk, exactly, however the rules add up to it (a 0.4 threshold must hold back every 0.4)', () => {
    const offHoursMedium = [200, 22, 0, 1, 3]; // 0.05 + 0.1 + 0.15 + 0.1: 0.39999999999999997 in floating point
    const hugeTierOne = [900, 12, 0, 0, 1]; // 0.05 + 0.3 + 0.05
    const weekend = [200, 12, 1, 1, 1]; // 0.05 + 0.1 + 0.1 + 0.1 + 0.05
    expect([offHoursMedium, hugeTierOne, weekend].map(scoreHeuristic)).toEqual([0.4, 0.4, 0.4]);
    expect(scoreHeuristic([900, 3, 1, 2, 1])).toBe(0.75); // every rule: 0.05 + 0.3 + 0.15 + 0.1 + 0.1 + 0.05
  });

  it('explain a score as rule contributions that sum to its difference from the reference', () => {
    const model = heuristicFor('lines_added');
    const row = [900, 3, 1, 2, 1];
    const reference = [20, 12, 0, 0, 3];
    const parts = explainHeuristic(model, row, reference);
    expect(parts.reduce((a, p) => a + p.contribution, 0)).toBeCloseTo(scoreHeuristic(row) - scoreHeuristic(reference), 12);
  });
});
