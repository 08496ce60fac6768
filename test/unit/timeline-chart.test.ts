import { describe, expect, it } from 'vitest';
import type { Timeline } from '../../shared/contract/records.js';
import { timelineOption } from '../../shared/charts/timeline.js';
import { LIGHT } from '../../shared/charts/theme.js';

describe('the timeline chart', () => {
  it('marks a run\'s risk by shape and dash as well as colour: held back carries a dot, approaching is dashed', () => {
    const change = (id: number, rolledBack = false) => ({ id, externalId: `c${id}`, service: 's', ts: 1000 * id, author: null, kind: null, rolledBack, attributes: {} });
    const timeline = {
      service: 's', from: 0, until: 10_000, extent: null, incidents: [], alerts: [],
      series: [{ seriesId: 1, metric: 'latency', labels: {}, bucketMs: 1000, buckets: [[0, 1, 2, 1.5]] }],
      changes: [change(1), change(2), change(3, true)], risk: { 1: 0.9, 2: 0.3, 3: 0.05 }, riskThreshold: 0.5,
    } as unknown as Timeline;
    const option = timelineOption(timeline, { theme: LIGHT }) as { series: Array<{ markLine?: { data: Array<{ name: string; symbol?: string[]; lineStyle: { type: string; color: string } }> } }> };
    const lines = option.series.find((x) => x.markLine)!.markLine!.data;
    expect(lines[0]).toMatchObject({ name: 'c1 · risk 0.90 · would be held back', symbol: ['circle', 'none'], lineStyle: { type: 'solid', color: LIGHT.held } });
    expect(lines[1]).toMatchObject({ name: 'c2 · risk 0.30', lineStyle: { type: 'dashed', color: LIGHT.rollback } });
    expect(lines[1]!.symbol).toBeUndefined();
    // A rollback keeps its mark with a risk shown: a diamond at the top, in the rollback colour.
    expect(lines[2]).toMatchObject({ name: 'c3 · risk 0.05 · rolled back', lineStyle: { type: 'solid' }, symbol: ['none', 'diamond'], itemStyle: { color: LIGHT.rollback } });
    // A change the run did not score is faint and dotted, not the grey of low risk.
    const partial = timelineOption({ ...timeline, changes: [...timeline.changes, change(4)] } as Timeline, { theme: LIGHT }) as typeof option;
    expect(partial.series.find((x) => x.markLine)!.markLine!.data[3]).toMatchObject({ name: 'c4 · not scored in this run', lineStyle: { type: 'dotted', opacity: 0.35 } });
    expect(LIGHT.held).not.toBe(LIGHT.detected);
  });
});
