import { describe, expect, it } from 'vitest';
import { reliabilityOption } from '../../shared/charts/scorecard.js';
import { DARK, LIGHT } from '../../shared/charts/theme.js';
import type { Scorecard } from '../../shared/contract/models.js';

describe('the reliability chart', () => {
  it('carries each bin\'s change count: points grow with it, small bins stand apart from the line, the tooltip says it; empty bins are left out', () => {
    const card = {
      model: { id: 1, name: 'm', version: 1 }, metrics: { ece: { value: 0.05, lo: null, hi: null } },
      reliability: [
        { bin: 0, count: 400, meanScore: 0.04, observedRate: 0.05 },
        { bin: 5, count: 0, meanScore: null, observedRate: null },
        { bin: 9, count: 2, meanScore: 0.93, observedRate: 1 },
      ],
    } as unknown as Scorecard;
    const option = reliabilityOption([card], LIGHT) as { tooltip: { trigger: string }; series: Array<{ data: number[][]; symbolSize?: (v: number[]) => number; tooltip?: { formatter: (p: unknown) => string } }> };
    const [line, few] = [option.series[0]!, option.series[1]!];
    // The line joins bins with at least 10 changes; a bin of 2 (a rate of 1 by construction) is a hollow point beside it.
    expect(line.data).toEqual([[0.04, 0.05, 400]]);
    expect(few.data).toEqual([[0.93, 1, 2]]);
    expect(line.symbolSize!([0, 0, 400])).toBeGreaterThan(line.symbolSize!([0, 0, 2]));
    expect(line.tooltip!.formatter({ seriesName: 'm v1 · ECE 0.050', value: line.data[0] })).toBe('m v1 · ECE 0.050\npredicted 0.04, observed 0.05 (400 changes)');
    expect(few.tooltip!.formatter({ seriesName: 'm v1 · ECE 0.050', value: few.data[0] })).toBe('m v1 · ECE 0.050\npredicted 0.93, observed 1.00 (2 changes, too few to read a rate from)');
    expect(option.tooltip.trigger).toBe('item');
  });
});

describe('the model colours', () => {
  // Charts put up to six models side by side; two colours a reader cannot tell apart make a
  // legend useless (teal and cyan once stood next to each other). Plain RGB distance is a crude
  // measure, but the pair that was confused sat at 42 and every pair now is above 80.
  const rgb = (hex: string): number[] => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  const distance = (a: string, b: string): number => Math.hypot(...rgb(a).map((v, i) => v - rgb(b)[i]!));
  it.each([LIGHT, DARK])('are told apart in the $name theme', (theme) => {
    for (let i = 0; i < theme.series.length; i++) {
      for (let j = i + 1; j < theme.series.length; j++) expect(distance(theme.series[i]!, theme.series[j]!), `${theme.series[i]} vs ${theme.series[j]}`).toBeGreaterThan(80);
    }
  });
});
