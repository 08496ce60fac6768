import type { Timeline, TimelineSeries } from '../contract/records.js';
import type { ChartTheme } from './theme.js';

/**
 * echarts options for a service timeline: one panel per metric sharing a zoomable time axis; each
 * panel shows the min–max band of every bucket and its mean, change markers, incident bands from
 * start to resolution, the moment humans noticed, and alerts. A pure function of plain data so
 * the UI and the server-rendered reports draw the same chart.
 */

export const METRIC_LABELS: Record<string, string> = {
  request_rate: 'Requests / s',
  latency_p99_ms: 'p99 latency (ms)',
  error_rate_pct: 'Errors (%)',
  cpu_pct: 'CPU (%)',
};

const METRIC_ORDER = Object.keys(METRIC_LABELS);

/** Traffic first, then what users feel (latency, errors), then saturation; unknown metrics after. */
function metricRank(metric: string): number {
  const i = METRIC_ORDER.indexOf(metric);
  return i === -1 ? METRIC_ORDER.length : i;
}

export function metricLabel(series: Pick<TimelineSeries, 'metric' | 'labels'>): string {
  const base = METRIC_LABELS[series.metric] ?? series.metric;
  const labels = Object.entries(series.labels).map(([k, v]) => `${k}=${v}`).join(', ');
  return labels ? `${base} {${labels}}` : base;
}

export interface TimelineChartOptions {
  theme: ChartTheme;
  /** Panel height in pixels; the caller sizes the chart to `panels * panelHeight + chrome`. */
  panelHeight?: number;
  /** Current zoom window in epoch ms, kept across data refreshes. */
  window?: { from: number; until: number } | undefined;
  animation?: boolean;
}

// top leaves room for the first panel's title, which sits above its grid (nameGap + one line of text).
export const TIMELINE_CHROME = { top: 30, bottom: 64, gap: 34 };

export function timelineHeight(panels: number, panelHeight = 120): number {
  return TIMELINE_CHROME.top + TIMELINE_CHROME.bottom + Math.max(1, panels) * (panelHeight + TIMELINE_CHROME.gap);
}

type Obj = Record<string, unknown>;

/**
 * Grey below half the threshold, amber approaching it, the held-back colour at or above it (not the
 * red that incidents and "humans noticed" already mean on this chart).
 */
export function riskColor(risk: number, threshold: number, theme: ChartTheme): string {
  if (risk >= threshold) return theme.held;
  if (risk >= threshold / 2) return theme.rollback;
  return theme.change;
}

export function timelineOption(timeline: Timeline, options: TimelineChartOptions): Obj {
  const { theme } = options;
  const panelHeight = options.panelHeight ?? 120;
  const panels = [...timeline.series].sort((a, b) => metricRank(a.metric) - metricRank(b.metric) || a.metric.localeCompare(b.metric));
  const grids: Obj[] = [];
  const xAxes: Obj[] = [];
  const yAxes: Obj[] = [];
  const series: Obj[] = [];
  const windowFrom = options.window?.from ?? timeline.from;
  const windowUntil = options.window?.until ?? timeline.until;

  // With a run's risk, markers go from grey (low) to red (at or above the model's threshold).
  const risk = timeline.risk;
  const threshold = timeline.riskThreshold ?? 0.5;
  const changeLines = timeline.changes.map((c) => {
    const r = risk?.[String(c.id)];
    // With a run's risk, a change the run did not score (before its range, another service's model)
    // is faint, not the grey of "low risk".
    const unscored = risk !== undefined && r === undefined;
    const color = r === undefined ? (c.rolledBack ? theme.rollback : theme.change) : riskColor(r, threshold, theme);
    // Risk is not told by colour alone (red and amber are close for many colour-blind readers): a
    // held-back change has a dot at its foot, an approaching one is dashed; a rollback keeps its
    // diamond at the top whatever the risk says.
    const held = r !== undefined && r >= threshold;
    const near = r !== undefined && !held && r >= threshold / 2;
    const rolled = risk !== undefined && c.rolledBack === true;
    return {
      xAxis: c.ts,
      name: r === undefined ? `${c.externalId}${unscored ? ' · not scored in this run' : ''}` : `${c.externalId} · risk ${r.toFixed(2)}${held ? ' · would be held back' : ''}${c.rolledBack ? ' · rolled back' : ''}`,
      lineStyle: { color, width: held ? 2 : c.rolledBack ? 1.5 : 1, type: near ? 'dashed' : unscored ? 'dotted' : 'solid', opacity: unscored ? 0.35 : 0.8 },
      ...(held || rolled ? { symbol: [held ? 'circle' : 'none', rolled ? 'diamond' : 'none'], symbolSize: 7 } : {}),
      ...(rolled && !held ? { itemStyle: { color: theme.rollback } } : {}),
    };
  });
  const incidentAreas = timeline.incidents.map((i) => [
    { xAxis: i.startedTs, name: `${i.externalId} · SEV${i.severity}` },
    { xAxis: i.resolvedTs ?? i.mitigatedTs ?? i.startedTs + 60_000 },
  ]);
  const detectedLines = timeline.incidents.filter((i) => i.detectedTs !== null).map((i) => ({
    xAxis: i.detectedTs!, name: `${i.externalId} detected`, lineStyle: { color: theme.detected, type: 'dashed', width: 1.5 },
  }));
  const alertLines = timeline.alerts.map((a) => ({ xAxis: a.ts, name: a.name ?? 'alert', lineStyle: { color: theme.alert, type: 'dotted', width: 1.5 } }));
  // A detection run's alerts: a solid mark at each alert's start, named by the detector.
  const modelAlertLines = (timeline.modelAlerts ?? []).map((a) => ({ xAxis: a.start, name: `${a.model}: ${a.explanation}`, lineStyle: { color: theme.alert, type: 'solid', width: 2 } }));

  panels.forEach((s, index) => {
    const top = TIMELINE_CHROME.top + index * (panelHeight + TIMELINE_CHROME.gap);
    const color = theme.series[index % theme.series.length]!;
    const last = index === panels.length - 1;
    grids.push({ left: 64, right: 24, top, height: panelHeight, containLabel: false });
    xAxes.push({
      // The axis spans everything the service has; the zoom window picks the part on screen, and the
      // data is re-queried for that window at a finer resolution.
      type: 'time', gridIndex: index, min: timeline.extent?.from ?? timeline.from, max: timeline.extent?.until ?? timeline.until,
      axisLabel: { show: last, color: theme.muted, hideOverlap: true }, axisTick: { show: last },
      axisLine: { lineStyle: { color: theme.grid } }, splitLine: { show: false },
    });
    yAxes.push({
      type: 'value', gridIndex: index, scale: true, name: metricLabel(s), nameLocation: 'end', nameGap: 12,
      nameTextStyle: { color: theme.text, align: 'left', fontWeight: 600, padding: [0, 0, 0, -56] },
      axisLabel: { color: theme.muted, fontSize: 10 }, splitLine: { lineStyle: { color: theme.grid } }, splitNumber: 3,
    });
    const lows = s.buckets.map((b) => [b[0], b[1]]);
    const spans = s.buckets.map((b) => [b[0], b[2] - b[1]]);
    const means = s.buckets.map((b) => [b[0], b[3]]);
    const stack = `band-${s.seriesId}`;
    series.push(
      { type: 'line', name: `${metricLabel(s)} min`, xAxisIndex: index, yAxisIndex: index, data: lows, stack, symbol: 'none', lineStyle: { opacity: 0 }, silent: true, tooltip: { show: false } },
      { type: 'line', name: `${metricLabel(s)} range`, xAxisIndex: index, yAxisIndex: index, data: spans, stack, symbol: 'none', lineStyle: { opacity: 0 }, areaStyle: { color, opacity: 0.18 }, silent: true, tooltip: { show: false } },
      {
        type: 'line', name: metricLabel(s), xAxisIndex: index, yAxisIndex: index, data: means, symbol: 'none', sampling: undefined,
        lineStyle: { color, width: 1.2 }, itemStyle: { color },
        markLine: {
          silent: false, symbol: ['none', 'none'], label: { show: false },
          emphasis: { label: { show: true, formatter: '{b}', color: theme.text } },
          data: [...changeLines, ...detectedLines, ...(index === 0 ? [...alertLines, ...modelAlertLines] : [])],
        },
        // Labels would pile up at this density; the name shows on hover instead.
        markArea: { silent: false, itemStyle: { color: theme.incident }, label: { show: false }, emphasis: { label: { show: true, color: theme.detected, fontSize: 11, position: 'insideTop' } }, data: incidentAreas },
      },
    );
  });

  const indices = panels.map((_, i) => i);
  return {
    animation: options.animation ?? false,
    backgroundColor: 'transparent',
    textStyle: { color: theme.text },
    grid: grids,
    xAxis: xAxes,
    yAxis: yAxes,
    series,
    axisPointer: { link: [{ xAxisIndex: 'all' }], lineStyle: { color: theme.muted } },
    tooltip: { trigger: 'axis', confine: true, renderMode: 'richText', backgroundColor: theme.background, borderColor: theme.grid, textStyle: { color: theme.text, fontSize: 12 } },
    dataZoom: indices.length === 0 ? [] : [
      { type: 'inside', xAxisIndex: indices, filterMode: 'none', startValue: windowFrom, endValue: windowUntil },
      {
        type: 'slider', xAxisIndex: indices, filterMode: 'none', startValue: windowFrom, endValue: windowUntil, bottom: 12, height: 22,
        borderColor: theme.grid, textStyle: { color: theme.muted }, labelFormatter: (value: number) => new Date(value).toISOString().slice(5, 16).replace('T', ' '),
      },
    ],
  };
}
