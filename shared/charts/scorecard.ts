import type { Scorecard } from '../contract/models.js';
import type { ChartTheme } from './theme.js';

/**
 * Scorecard charts as echarts options (pure functions of plain data), shared by the Results page
 * and the server-rendered reports: ROC, precision–recall, reliability and the threshold sweep.
 */
type Obj = Record<string, unknown>;

/**
 * Legend rows a chart of these models needs (two entries fit a row of a card-width chart, the
 * dashed reference line included); charts make room below the plot for all of them.
 */
export const legendRows = (models: number): number => Math.ceil((models + 1) / 2);

const base = (theme: ChartTheme, title: string, x: string, y: string, rows = 1): Obj => ({
  animation: false,
  backgroundColor: 'transparent',
  textStyle: { color: theme.text },
  title: { text: title, left: 8, top: 4, textStyle: { fontSize: 13, fontWeight: 600, color: theme.text } },
  grid: { left: 52, right: 16, top: 40, bottom: 64 + 20 * rows },
  tooltip: { trigger: 'axis', confine: true, renderMode: 'richText', backgroundColor: theme.background, borderColor: theme.grid, textStyle: { color: theme.text, fontSize: 12 } },
  legend: { bottom: 0, itemHeight: 8, textStyle: { color: theme.muted, fontSize: 11 } },
  xAxis: { type: 'value', min: 0, max: 1, name: x, nameLocation: 'middle', nameGap: 24, axisLabel: { color: theme.muted }, splitLine: { lineStyle: { color: theme.grid } } },
  yAxis: { type: 'value', min: 0, max: 1, name: y, nameLocation: 'middle', nameGap: 36, axisLabel: { color: theme.muted }, splitLine: { lineStyle: { color: theme.grid } } },
});

const color = (theme: ChartTheme, i: number): string => theme.series[i % theme.series.length]!;
const label = (c: Scorecard): string => `${c.model.name} v${c.model.version}`;

export function rocOption(cards: readonly Scorecard[], theme: ChartTheme): Obj {
  return {
    ...base(theme, 'ROC', 'good changes held back (FPR)', 'failures caught (recall)', legendRows(cards.length)),
    series: [
      ...cards.map((c, i) => ({
        type: 'line', name: `${label(c)} · AUC ${c.metrics.auc_roc?.value?.toFixed(3) ?? '—'}`, showSymbol: false, step: false,
        lineStyle: { color: color(theme, i), width: 2 }, itemStyle: { color: color(theme, i) },
        data: [...c.sweep].sort((a, b) => (a.fpr ?? 0) - (b.fpr ?? 0) || (a.recall ?? 0) - (b.recall ?? 0)).map((p) => [p.fpr ?? 0, p.recall ?? 0]),
      })),
      { type: 'line', name: 'chance', data: [[0, 0], [1, 1]], showSymbol: false, lineStyle: { color: theme.muted, type: 'dashed', width: 1 }, tooltip: { show: false } },
    ],
  };
}

export function prOption(cards: readonly Scorecard[], theme: ChartTheme): Obj {
  return {
    ...base(theme, 'Precision–recall', 'recall (failures caught)', 'precision', legendRows(cards.length)),
    series: cards.map((c, i) => ({
      type: 'line', name: `${label(c)} · AP ${c.metrics.average_precision?.value?.toFixed(3) ?? '—'}`, showSymbol: false, step: 'end',
      lineStyle: { color: color(theme, i), width: 2 }, itemStyle: { color: color(theme, i) },
      data: c.sweep.filter((p) => p.precision !== null && p.recall !== null).map((p) => [p.recall, p.precision]),
    })),
  };
}

/** Changes a reliability bin needs before its observed rate is drawn as part of the line. */
const MIN_BIN = 10;

export function reliabilityOption(cards: readonly Scorecard[], theme: ChartTheme): Obj {
  return {
    ...base(theme, 'Reliability', 'predicted risk', 'observed failure rate', legendRows(cards.length)),
    tooltip: { ...(base(theme, '', '', '').tooltip as Obj), trigger: 'item' },
    series: [
      // The line joins only bins with enough changes to read a rate from; a bin of one or two changes
      // (a rate of 0 or 1 by construction) is a hollow point beside it, not a spike of the line.
      ...cards.flatMap((c, i) => {
        const name = `${label(c)} · ECE ${c.metrics.ece?.value?.toFixed(3) ?? '—'}`;
        const bins = c.reliability.filter((b) => b.count > 0).map((b) => [b.meanScore, b.observedRate, b.count] as [number, number, number]);
        const tooltip = (few: boolean) => ({ formatter: (p: { seriesName: string; value: [number, number, number] }) => `${p.seriesName}\npredicted ${p.value[0].toFixed(2)}, observed ${p.value[1].toFixed(2)} (${p.value[2]} changes${few ? ', too few to read a rate from' : ''})` });
        return [{
          type: 'line', name,
          // A bin's point grows with the changes in it.
          symbolSize: (v: [number, number, number]) => Math.min(14, 3 + 1.5 * Math.sqrt(v[2])),
          lineStyle: { color: color(theme, i), width: 2 }, itemStyle: { color: color(theme, i) },
          tooltip: tooltip(false),
          data: bins.filter((b) => b[2] >= MIN_BIN),
        }, {
          type: 'scatter', name, symbol: 'emptyCircle', symbolSize: 7,
          itemStyle: { color: color(theme, i), opacity: 0.7 }, tooltip: tooltip(true),
          data: bins.filter((b) => b[2] < MIN_BIN),
        }];
      }),
      { type: 'line', name: 'perfectly calibrated', data: [[0, 0], [1, 1]], showSymbol: false, lineStyle: { color: theme.muted, type: 'dashed', width: 1 }, tooltip: { show: false } },
    ],
  };
}

/** Recall and share of changes held back against the threshold, with the current threshold marked. */
export function sweepOption(card: Scorecard, theme: ChartTheme, threshold: number): Obj {
  const points = [...card.sweep].sort((a, b) => a.threshold - b.threshold);
  return {
    ...base(theme, `Threshold sweep · ${label(card)}`, 'threshold', 'share'),
    xAxis: { type: 'value', min: 0, max: 1, name: 'threshold', nameLocation: 'middle', nameGap: 24, axisLabel: { color: theme.muted }, splitLine: { lineStyle: { color: theme.grid } } },
    series: [
      { type: 'line', name: 'recall', showSymbol: false, step: 'start', lineStyle: { color: theme.series[0], width: 2 }, itemStyle: { color: theme.series[0] }, data: points.map((p) => [Math.min(1, p.threshold), p.recall]) },
      { type: 'line', name: 'precision', showSymbol: false, step: 'start', lineStyle: { color: theme.series[1], width: 2 }, itemStyle: { color: theme.series[1] }, data: points.filter((p) => p.precision !== null).map((p) => [Math.min(1, p.threshold), p.precision]) },
      {
        type: 'line', name: 'changes held back', showSymbol: false, step: 'start', lineStyle: { color: theme.series[3], width: 2 }, itemStyle: { color: theme.series[3] },
        data: points.map((p) => [Math.min(1, p.threshold), p.flagged_share]),
        markLine: { silent: true, symbol: 'none', lineStyle: { color: theme.text, type: 'dashed' }, label: { formatter: `threshold ${threshold.toFixed(2)}`, color: theme.text }, data: [{ xAxis: threshold }] },
      },
    ],
  };
}

/** Horizontal bars of a suggestion's feature contributions, largest first. */
export function contributionsOption(contributions: ReadonlyArray<{ feature: string; value: number; contribution: number }>, theme: ChartTheme, limit = 10): Obj {
  const top = [...contributions].sort((a, b) => Math.abs(b.contribution) - Math.abs(a.contribution)).slice(0, limit).reverse();
  return {
    animation: false,
    backgroundColor: 'transparent',
    grid: { left: 170, right: 48, top: 8, bottom: 24 },
    tooltip: { trigger: 'item', confine: true, renderMode: 'richText', backgroundColor: theme.background, borderColor: theme.grid, textStyle: { color: theme.text, fontSize: 12 } },
    xAxis: { type: 'value', axisLabel: { color: theme.muted }, splitLine: { lineStyle: { color: theme.grid } } },
    yAxis: { type: 'category', data: top.map((c) => `${c.feature} = ${formatValue(c.value)}`), axisLabel: { color: theme.text, fontSize: 11 } },
    series: [{
      type: 'bar', barMaxWidth: 16,
      data: top.map((c) => ({ value: c.contribution, itemStyle: { color: c.contribution >= 0 ? theme.detected : theme.series[1] } })),
      label: { show: true, position: 'right', color: theme.muted, fontSize: 10, formatter: (p: { value: number }) => `${p.value >= 0 ? '+' : ''}${p.value.toFixed(3)}` },
    }],
  };
}

function formatValue(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(2);
}
