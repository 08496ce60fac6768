import { describe, expect, it } from 'vitest';
import { MIN_CONTRIBUTION, mitigationsFor, referenceOf } from '../../shared/explain/mitigations.js';

const c = (feature: string, value: number, contribution: number) => ({ feature, value, contribution });
const ref = { lines_added: 45, author_changes_90d: 12, hour_of_day: 13, tests_changed: 2, hours_since_prev_change: 30, service_changes_7d: 6 };

describe('mitigations', () => {
  it('give advice only where the value says what the advice says', () => {
    // The cases a reviewer found in a report: a one-line change called large, a 09:35 deploy
    // called off-hours, an author with 51 changes called a stranger to the code.
    expect(mitigationsFor([c('lines_added', 1, 0.05), c('hour_of_day', 9, 0.04), c('author_changes_90d', 51, 0.03)], {}, ref)).toEqual([]);
    const advice = mitigationsFor([c('lines_added', 1240, 0.2), c('hour_of_day', 23, 0.1), c('author_changes_90d', 2, 0.05)], {}, ref);
    expect(advice.map((m) => m.text)).toEqual([
      'Large change, lines_added (1,240; typical 45): roll it out progressively (canary, then 5 % → 25 % → 100 %) and watch error rate and p99 latency at each step.',
      'Off-hours deploy (23:00 UTC): ship it in business hours, when the owning team is at hand to respond.',
      'The author rarely changes this code, author_changes_90d (2; typical 12): pair with a service owner for the review.',
    ]);
  });

  it('ignore contributions too small to act on, and those that lowered the risk', () => {
    expect(mitigationsFor([c('lines_added', 1240, MIN_CONTRIBUTION / 5)], {}, ref)).toEqual([]);
    expect(mitigationsFor([c('lines_added', 1240, -0.3)], {}, ref)).toEqual([]);
    expect(mitigationsFor([c('lines_added', 1240, MIN_CONTRIBUTION)], {}, ref)).toHaveLength(1);
  });

  it('give each advice once, from the larger contribution, and at most three', () => {
    const advice = mitigationsFor([c('service_changes_7d', 20, 0.03), c('hours_since_prev_change', 0.5, 0.08), c('tests_changed', 0, 0.05), c('service_tier', 1, 0.04), c('is_weekend', 1, 0.02)], {}, ref);
    expect(advice.map((m) => m.feature)).toEqual(['hours_since_prev_change', 'tests_changed', 'service_tier']);
    expect(advice[0]!.text).toMatch(/^Stacked on a recent change, 30 min after the previous one \(typical 30 h\)/);
    expect(mitigationsFor([c('service_tier', 3, 0.2)], {}, ref)).toEqual([]);
  });

  it('take a manifest\'s own text as written, still only for a contribution worth acting on', () => {
    const overrides = { lines_added: 'Split it: our services take changes under 200 lines.' };
    expect(mitigationsFor([c('lines_added', 1, 0.05)], overrides, ref)).toEqual([{ feature: 'lines_added', text: overrides.lines_added }]);
    expect(mitigationsFor([c('lines_added', 1, 0.001)], overrides, ref)).toEqual([]);
  });

  it('without a reference, a size is large when above zero and an author count is never called low', () => {
    expect(mitigationsFor([c('la', 300, 0.1), c('exp', 0, 0.1)])).toEqual([{ feature: 'la', text: expect.stringMatching(/^Large change, la \(300\):/) }]);
    expect(referenceOf(['a', 'b'], [1, 2])).toEqual({ a: 1, b: 2 });
  });
});
