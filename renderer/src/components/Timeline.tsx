import { useEffect, useMemo, useRef, useState } from 'react';
import type { Timeline as TimelineData } from '../../../shared/contract/records.js';
import { DARK, LIGHT } from '../../../shared/charts/theme.js';
import { timelineHeight, timelineOption } from '../../../shared/charts/timeline.js';
import { messageOf } from '../client/client.js';
import { fmtInt, fmtTime } from '../format.js';
import { useStore } from '../store.js';
import { Chart, type ChartEvents } from './Chart.js';

const PANEL = 110;
const DEFAULT_SPAN = 7 * 24 * 3600 * 1000;

/**
 * A service's metrics with change markers, incident bands and detection moments. Zooming asks the
 * engine for the visible window again, so the resolution follows the zoom while the engine only
 * ever returns a few thousand buckets.
 */
export function Timeline({ service, risk, detectionRunId }: { service: string; risk?: { runId: number; modelId: number } | undefined; detectionRunId?: number | undefined }) {
  const client = useStore((s) => s.client);
  const theme = useStore((s) => s.theme);
  const [data, setData] = useState<TimelineData | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [zoom, setZoom] = useState<{ from: number; until: number } | undefined>(undefined);
  const debounce = useRef<ReturnType<typeof setTimeout> | null>(null);

  useEffect(() => {
    setZoom(undefined);
    setData(null);
  }, [service]);

  useEffect(() => {
    if (!client) return;
    let stale = false;
    client.call('timeline.query', { service, ...(zoom ? { from: zoom.from, until: zoom.until } : {}), maxBuckets: 1200, ...(risk ? { risk } : {}), ...(detectionRunId !== undefined ? { detectionRunId } : {}) })
      .then((t) => {
        if (stale) return;
        // Open on the last week: at sixty days an incident is a hairline; the slider shows the rest.
        if (!zoom && t.extent && t.extent.until - t.extent.from > DEFAULT_SPAN) {
          setZoom({ from: t.extent.until - DEFAULT_SPAN, until: t.extent.until });
          return;
        }
        setData(t);
        setError(null);
      })
      .catch((err: unknown) => !stale && setError(messageOf(err)));
    return () => {
      stale = true;
    };
  }, [client, service, zoom, risk, detectionRunId]);

  const option = useMemo(() => (data ? timelineOption(data, { theme: theme === 'dark' ? DARK : LIGHT, panelHeight: PANEL, window: zoom }) : null), [data, theme, zoom]);
  const events = useMemo<ChartEvents>(() => ({
    datazoom: (_params, chart) => {
      const zoom = (chart.getOption() as { dataZoom?: Array<{ startValue?: number; endValue?: number }> }).dataZoom?.[0];
      if (zoom?.startValue === undefined || zoom.endValue === undefined) return;
      const next = { from: Math.floor(zoom.startValue), until: Math.ceil(zoom.endValue) };
      if (debounce.current) clearTimeout(debounce.current);
      debounce.current = setTimeout(() => setZoom(next), 250);
    },
  }), []);

  if (error) return <p className="error-text">{error}</p>;
  if (!data || !option) return <div className="chart-placeholder" style={{ height: timelineHeight(4, PANEL) }}>Loading timeline…</div>;
  if (data.series.length === 0) return <p className="muted">No telemetry for {service}. Import some on the Data page.</p>;
  const shown = zoom ?? { from: data.from, until: data.until };
  return (
    <div className="timeline" data-testid="timeline" data-service={service} data-changes={data.changes.length} data-incidents={data.incidents.length} data-alerts={data.alerts.length} data-model-alerts={data.modelAlerts?.length ?? 0}>
      <div className="timeline-legend">
        {data.risk ? <>
          <span><i className="swatch change" /> low risk</span>
          <span><i className="swatch approaching" /> approaching threshold (dashed)</span>
          <span><i className="swatch held" aria-hidden>●</i> would be held back, dot at the foot ({Object.values(data.risk).filter((r) => r >= (data.riskThreshold ?? 0.5)).length})</span>
          <span><i className="swatch rolled" aria-hidden>◆</i> rolled back (at the top)</span>
          <span><i className="swatch unscored" /> not scored in this run (faint)</span>
        </> : <>
          <span><i className="swatch change" /> change</span>
          <span><i className="swatch rollback" /> rolled back</span>
        </>}
        <span><i className="swatch incident" /> incident (start → resolved)</span>
        <span><i className="swatch detected" /> humans noticed</span>
        <span><i className="swatch alert" /> static alert fired (dotted){data.modelAlerts ? `; detector alert (solid): ${data.modelAlerts.length}` : ''}</span>
        <span className="muted">{fmtTime(shown.from)} → {fmtTime(shown.until)} UTC · {data.changesInRange !== undefined && data.changesInRange > data.changes.length ? <strong className="verdict-inconclusive" data-testid="timeline-capped">the first {fmtInt(data.changes.length)} of {fmtInt(data.changesInRange)} changes marked: zoom in to see the rest</strong> : `${data.changes.length} changes`} · {data.incidents.length} incidents · bucket {Math.round(data.series[0]!.bucketMs / 60000)} min</span>
        {data.extent && <button className="link" onClick={() => setZoom({ from: data.extent!.from, until: data.extent!.until })}>Show all</button>}
      </div>
      <Chart option={option} height={timelineHeight(data.series.length, PANEL)} events={events} testId="timeline-chart" />
    </div>
  );
}
