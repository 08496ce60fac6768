import { describe, expect, it } from 'vitest';
import { reliabilityOption } from '../../shared/charts/scorecard.js';
import { LIGHT } from '../../shared/charts/theme.js';
import type { Scorecard } from '../../shared/contract/models.js';

describe('the reliability chart', () => {
  it('carries each bin\'s change count: points grow with it and the tooltip says it; empty bins are left out', () => {
    const card = {
      model: { id: 1, name: 'm', version: 1 }, metrics: { ece: { value: 0.05, lo: null, hi: null } },
      reliability: [
        { bin: 0, count: 400, meanScore: 0.04, observedRate: 0.05 },
        { bin: 5, count: 0, meanScore: null, observedRate: null },
        { bin: 9, count: 2, meanScore: 0.93, observedRate: 1 },
      ],
    } as unknown as Scorecard;
    const option = reliabilityOption([card], LIGHT) as { tooltip: { trigger: string }; series: Array<{ data: number[][]; symbolSize?: (v: number[]) => number; tooltip?: { formatter: (p: unknown) => string } }> };
    const s = option.series[0]!;
    expect(s.data).toEqual([[0.04, 0.05, 400], [0.93, 1, 2]]);
    expect(s.symbolSize!(s.data[0]!)).toBeGreaterThan(s.symbolSize!(s.data[1]!));
    expect(s.tooltip!.formatter({ seriesName: 'm v1 · ECE 0.050', value: s.data[1] })).toBe('m v1 · ECE 0.050\npredicted 0.93, observed 1.00 (2 changes)');
    expect(option.tooltip.trigger).toBe('item');
  });
});
