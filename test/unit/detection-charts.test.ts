import { describe, expect, it } from 'vitest';
import type { DetectionScorecard, ReplayFrame } from '../../shared/contract/detection.js';
import { alertBudgetOption, replayOption } from '../../shared/charts/detection.js';
import { LIGHT } from '../../shared/charts/theme.js';

const iv = (value: number | null) => ({ value, lo: value, hi: value });
const card = (modelId: number | null, name: string, fa: number, recall: number, sweep: DetectionScorecard['sweep'] = []): DetectionScorecard => ({
  modelId, name, threshold: modelId === null ? null : 4, incidents: 10, alerts: 20, importedRows: null, days: 30,
  metrics: {
    incident_recall: iv(recall), alert_precision: iv(0.5), false_alerts_per_day: iv(fa),
    lead_vs_human_min: { median: iv(5), p10: 1, p90: 9, earlier: 6, same: 0, later: 2, missed: 2 },
    mttd_min: { model: iv(3), humans: iv(10), humans_with_model: iv(4) },
  },
  recallBySeverity: [], nab: null, sweep, warmUp: null,
});

describe('detection charts', () => {
  it('draws each detector’s sweep, its operating point and the incumbent as one point', () => {
    const option = alertBudgetOption([card(null, 'imported alerts', 0.9, 0.8), card(3, 'zscore v1', 1.5, 0.7, [
      { threshold: 3, falseAlertsPerDay: 4, recall: 0.9, medianLeadMin: 10 }, { threshold: 6, falseAlertsPerDay: 1.5, recall: 0.7, medianLeadMin: 9 },
    ])], LIGHT) as { series: { type: string; name: string; data: unknown[] }[] };
    const line = option.series.find((s) => s.type === 'line')!;
    expect(line.data).toEqual([[4, 0.9, 3], [1.5, 0.7, 6]]);
    expect(option.series.filter((s) => s.type === 'scatter').map((s) => [s.name, s.data])).toEqual([['zscore v1', [[1.5, 0.7]]], ['imported alerts', [[0.9, 0.8]]]]);
  });

  it('replays only the frame it is given: one panel per metric and the cursor marked', () => {
    const frame: ReplayFrame = {
      incident: { id: 'I', service: 's', severity: 2, title: null, started: 100, detected: 200, mitigated: null, resolved: null, cause: null },
      cursor: 150, from: 0, until: 400,
      series: [{ metric: 'a', points: [[0, 1], [150, 2]] }, { metric: 'b', points: [[0, 3]] }],
      alerts: [{ modelId: 1, service: 's', start: 120, end: 150, peakScore: null, explanation: 'x', incident: null }],
      candidates: [], humans: [],
    };
    const option = replayOption(frame, LIGHT) as { grid: unknown[]; series: { data: unknown[]; markLine: { data: { name: string; xAxis: number }[] }; markArea: { data: unknown[] } }[] };
    expect(option.grid).toHaveLength(2);
    expect(option.series[0]!.data).toEqual([[0, 1], [150, 2]]);
    expect(option.series[0]!.markLine.data.map((m) => [m.name, m.xAxis])).toEqual([['started', 100], ['cursor', 150]]);
    expect(option.series[0]!.markArea.data).toEqual([[{ xAxis: 120 }, { xAxis: 60_120 }]]);
    // The cursor keeps its label away from events; on top of one ("started" at 0 min) it drops it.
    const label = (f: ReplayFrame): boolean | undefined => ((replayOption(f, LIGHT) as { series: { markLine: { data: { name: string; label?: { show: boolean } }[] } }[] }).series[0]!.markLine.data.find((m) => m.name === 'cursor')!.label?.show);
    expect(label(frame)).toBe(true);
    expect(label({ ...frame, cursor: 101 })).toBe(false);
  });
});
