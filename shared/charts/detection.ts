import type { DetectionScorecard, ReplayFrame } from '../contract/detection.js';
import type { ChartTheme } from './theme.js';

/** Detection charts as echarts options: the alert budget, and the incident replay's metrics up to the cursor. */
type Obj = Record<string, unknown>;

const color = (theme: ChartTheme, i: number): string => theme.series[i % theme.series.length]!;
// Tooltips render as rich text on the canvas (the CSP allows no inline styles), so names need no escaping.

/**
 * Threshold vs false alerts per day vs recall: each detector's sweep as a line (labelled by
 * threshold), its configured threshold as a large point, and the imported alerts as one point.
 */
export function alertBudgetOption(cards: readonly DetectionScorecard[], theme: ChartTheme): Obj {
  const models = cards.filter((c) => c.modelId !== null);
  const incumbent = cards.find((c) => c.modelId === null);
  // The axis ends past the busiest operating point, far enough to show the sweeps' bend (up to three
  // times it), not at a fixed 5 that left half the plot empty.
  const busiest = Math.max(0, ...cards.map((c) => c.metrics.false_alerts_per_day.value ?? 0));
  const sweepEnd = Math.max(0, ...models.flatMap((c) => c.sweep.map((s) => s.falseAlertsPerDay)));
  const maxX = Math.max(1, busiest * 1.5, Math.min(sweepEnd, busiest * 3));
  return {
    animation: false,
    backgroundColor: 'transparent',
    textStyle: { color: theme.text },
    title: { text: 'Alert budget: false alerts per day vs incidents caught', left: 8, top: 4, textStyle: { fontSize: 13, fontWeight: 600, color: theme.text } },
    grid: { left: 52, right: 16, top: 40, bottom: 84 },
    tooltip: { trigger: 'item', confine: true, renderMode: 'richText', backgroundColor: theme.background, borderColor: theme.grid, textStyle: { color: theme.text, fontSize: 12 } },
    legend: { bottom: 0, itemHeight: 8, textStyle: { color: theme.muted, fontSize: 11 } },
    xAxis: { type: 'value', min: 0, max: Math.ceil(maxX), name: 'false alerts per day', nameLocation: 'middle', nameGap: 24, axisLabel: { color: theme.muted }, splitLine: { lineStyle: { color: theme.grid } } },
    yAxis: { type: 'value', min: 0, max: 1, name: 'incident recall', nameLocation: 'middle', nameGap: 36, axisLabel: { color: theme.muted }, splitLine: { lineStyle: { color: theme.grid } } },
    series: [
      ...models.map((c, i) => ({
        type: 'line', name: c.name, symbolSize: 5, lineStyle: { color: color(theme, i), width: 2 }, itemStyle: { color: color(theme, i) },
        tooltip: { formatter: (p: { data: [number, number, number] }) => `${c.name}\nthreshold ${p.data[2]}: ${p.data[0].toFixed(2)} false alerts/day, recall ${p.data[1].toFixed(2)}` },
        data: c.sweep.filter((s) => s.recall !== null && s.falseAlertsPerDay <= maxX).map((s) => [s.falseAlertsPerDay, s.recall, s.threshold]),
      })),
      ...models.map((c, i) => ({
        type: 'scatter', name: c.name, symbolSize: 13, itemStyle: { color: color(theme, i), borderColor: theme.background, borderWidth: 2 },
        tooltip: { formatter: () => `${c.name} at its threshold ${c.threshold}: ${(c.metrics.false_alerts_per_day.value ?? 0).toFixed(2)} false alerts/day, recall ${(c.metrics.incident_recall.value ?? 0).toFixed(2)}` },
        data: [[c.metrics.false_alerts_per_day.value, c.metrics.incident_recall.value]],
      })),
      ...(incumbent ? [{
        // In the text colour, outside the detectors' palette: the one to beat must not share a detector's hue.
        type: 'scatter', name: incumbent.name, symbol: 'diamond', symbolSize: 15, itemStyle: { color: theme.text },
        tooltip: { formatter: () => `${incumbent.name}: ${(incumbent.metrics.false_alerts_per_day.value ?? 0).toFixed(2)} false alerts/day, recall ${(incumbent.metrics.incident_recall.value ?? 0).toFixed(2)}` },
        data: [[incumbent.metrics.false_alerts_per_day.value, incumbent.metrics.incident_recall.value]],
      }] : []),
    ],
  };
}

/** The incident service's metrics up to the cursor, on the replay's whole time axis, with what had happened by then. */
export function replayOption(frame: ReplayFrame, theme: ChartTheme): Obj {
  const metrics = frame.series;
  const n = Math.max(1, metrics.length);
  const height = 100 / n;
  const events = [
    { name: 'started', xAxis: frame.incident.started, lineStyle: { color: theme.detected, type: 'dashed' } },
    ...frame.humans.map((h) => ({ name: h.what.split(' ')[h.what.startsWith('humans') ? 1 : 0], xAxis: h.ts, lineStyle: { color: theme.muted, type: 'dotted' } })),
  ];
  // The cursor's label is left out where it would print over an event's (at 0 min it sits on "started").
  const near = events.some((e) => Math.abs(e.xAxis - frame.cursor) < (frame.until - frame.from) * 0.02);
  const marks = [...events, { name: 'cursor', xAxis: frame.cursor, lineStyle: { color: theme.text, width: 2 }, label: { show: !near } }];
  return {
    animation: false,
    backgroundColor: 'transparent',
    textStyle: { color: theme.text },
    tooltip: { trigger: 'axis', confine: true, renderMode: 'richText', backgroundColor: theme.background, borderColor: theme.grid, textStyle: { color: theme.text, fontSize: 12 } },
    axisPointer: { link: [{ xAxisIndex: 'all' }] },
    // Room above each grid for its metric's name (the first one was clipped at 3 %).
    grid: metrics.map((_, i) => ({ left: 64, right: 16, top: `${i * height + 6}%`, height: `${height - 11}%` })),
    xAxis: metrics.map((_, i) => ({
      type: 'time', gridIndex: i, min: frame.from, max: frame.until,
      axisLabel: { show: i === n - 1, color: theme.muted }, splitLine: { show: false },
    })),
    yAxis: metrics.map((m, i) => ({
      type: 'value', gridIndex: i, name: m.metric, nameTextStyle: { color: theme.muted, fontSize: 11, align: 'left' }, scale: true, splitNumber: 3,
      axisLabel: { color: theme.muted, fontSize: 10 }, splitLine: { lineStyle: { color: theme.grid } },
    })),
    series: metrics.map((m, i) => ({
      type: 'line', name: m.metric, xAxisIndex: i, yAxisIndex: i, showSymbol: false, data: m.points,
      lineStyle: { color: color(theme, i), width: 1.5 }, itemStyle: { color: color(theme, i) },
      // Labels run along their lines (insideEndTop), so events minutes apart do not overprint.
      markLine: { silent: true, symbol: 'none', label: { show: i === 0, position: 'insideEndTop', color: theme.muted, fontSize: 10, formatter: '{b}' }, data: marks },
      markArea: {
        silent: true, itemStyle: { color: theme.alert, opacity: 0.16 },
        data: frame.alerts.map((a) => [{ xAxis: a.start }, { xAxis: Math.max(a.end, a.start + 60_000) }]),
      },
    })),
  };
}
