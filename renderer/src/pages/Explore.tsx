import { useCallback, useEffect, useMemo, useState } from 'react';
import { NoWorkspace } from '../components/Empty.js';
import type { Alert, Change, Incident, SeriesInfo } from '../../../shared/contract/records.js';
import { Timeline } from '../components/Timeline.js';
import { VirtualTable, type Column } from '../components/VirtualTable.js';
import { fmtDuration, fmtInt, fmtTime, runName } from '../format.js';
import { useStore } from '../store.js';

type Tab = 'changes' | 'incidents' | 'alerts' | 'series';

const changeColumns: Column<Change>[] = [
  { key: 'time', title: 'Time (UTC)', width: 140, render: (c) => fmtTime(c.ts) },
  { key: 'id', title: 'Change', width: 120, render: (c) => c.externalId },
  { key: 'service', title: 'Service', width: 130, render: (c) => c.service },
  { key: 'kind', title: 'Kind', width: 70, render: (c) => c.kind },
  { key: 'author', title: 'Author', width: 120, render: (c) => c.author ?? '—' },
  { key: 'la', title: 'Lines +', width: 84, align: 'right', render: (c) => fmtInt(c.attributes.lines_added ?? c.attributes.la ?? 0) },
  { key: 'files', title: 'Files', width: 60, align: 'right', render: (c) => fmtInt(c.attributes.files_changed ?? c.attributes.nf ?? 0) },
  { key: 'rb', title: 'Rolled back', width: 110, render: (c) => (c.rolledBack ? <span className="badge badge-warn">rolled back</span> : '') },
];

const incidentColumns: Column<Incident>[] = [
  { key: 'start', title: 'Started (UTC)', width: 140, render: (i) => fmtTime(i.startedTs) },
  { key: 'id', title: 'Incident', width: 90, render: (i) => i.externalId },
  { key: 'service', title: 'Service', width: 130, render: (i) => i.service },
  { key: 'sev', title: 'Sev', width: 66, render: (i) => <span className={`badge sev-${i.severity}`}>SEV{i.severity}</span> },
  { key: 'ttd', title: 'Noticed after', width: 118, align: 'right', render: (i) => (i.detectedTs === null ? '—' : fmtDuration(i.detectedTs - i.startedTs)) },
  { key: 'dur', title: 'Lasted', width: 90, align: 'right', render: (i) => (i.resolvedTs === null ? '—' : fmtDuration(i.resolvedTs - i.startedTs)) },
  { key: 'cause', title: 'Postmortem cause', width: 172, render: (i) => i.causeChangeId ?? '—' },
  { key: 'title', title: 'Title', width: 280, render: (i) => i.title ?? '' },
];

const alertColumns: Column<Alert>[] = [
  { key: 'time', title: 'Fired (UTC)', width: 140, render: (a) => fmtTime(a.ts) },
  { key: 'service', title: 'Service', width: 130, render: (a) => a.service },
  { key: 'name', title: 'Alert', width: 260, render: (a) => a.name ?? '—' },
  { key: 'metric', title: 'Metric', width: 130, render: (a) => a.metric ?? '—' },
  { key: 'dur', title: 'Firing for', width: 100, align: 'right', render: (a) => (a.resolvedTs === null ? '—' : fmtDuration(a.resolvedTs - a.ts)) },
];

const spacing = (ms: number): string => (ms < 60_000 ? `${Math.round(ms / 1000)} s` : fmtDuration(ms));

/** A service's series: what was imported for it, how much, over what span and how often. */
function SeriesTable({ service }: { service: string }) {
  const { client, workspace, fail } = useStore();
  const [series, setSeries] = useState<SeriesInfo[] | null>(null);
  const points = workspace?.counts.points;
  useEffect(() => {
    if (!client) return;
    let stale = false;
    setSeries(null);
    void client.call('series.list', { service }).then((s) => !stale && setSeries(s)).catch(fail);
    return () => {
      stale = true;
    };
  }, [client, service, points, fail]);
  if (!series) return <p className="muted small">Loading series…</p>;
  if (series.length === 0) return <p className="muted small" data-testid="series-table">No telemetry for {service} yet.</p>;
  return (
    <table className="table" data-testid="series-table">
      <thead><tr><th>Metric</th><th>Labels</th><th className="num">Points</th><th>From (UTC)</th><th>Until (UTC)</th><th className="num">Every</th></tr></thead>
      <tbody>
        {series.map((x) => (
          <tr key={x.id}>
            <td><code>{x.metric}</code></td>
            <td className="small">{Object.entries(x.labels).map(([k, v]) => `${k}=${v}`).join(', ') || '—'}</td>
            <td className="num">{fmtInt(x.points)}</td>
            <td>{x.from === null ? '—' : fmtTime(x.from)}</td>
            <td>{x.until === null ? '—' : fmtTime(x.until)}</td>
            {/* The mean spacing: equal to the step for evenly sampled series, longer where there are gaps. */}
            <td className="num" title="mean spacing between points">{x.points > 1 && x.from !== null && x.until !== null ? spacing((x.until - x.from) / (x.points - 1)) : '—'}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function Explore() {
  const { services, selectedService, selectService, workspace, client, runs, detectionRuns } = useStore();
  const [alertRun, setAlertRun] = useState('');
  const [tab, setTab] = useState<Tab>('changes');
  const [riskKey, setRiskKey] = useState('');
  const riskOptions = runs.filter((r) => r.state === 'done' && r.manifest).flatMap((r) => r.manifest!.models.map((m) => ({ key: `${r.id}:${m.id}`, label: `${runName(r)} · ${m.name} v${m.version}` })));
  const risk = useMemo(() => (riskKey ? { runId: Number(riskKey.split(':')[0]), modelId: Number(riskKey.split(':')[1]) } : undefined), [riskKey]);
  const [onlyService, setOnlyService] = useState(true);
  const service = onlyService ? selectedService ?? undefined : undefined;
  const fetchChanges = useCallback((offset: number, limit: number) => client!.call('changes.page', { offset, limit, ...(service ? { service } : {}) }), [client, service]);
  const fetchIncidents = useCallback((offset: number, limit: number) => client!.call('incidents.page', { offset, limit, ...(service ? { service } : {}) }), [client, service]);
  const fetchAlerts = useCallback((offset: number, limit: number) => client!.call('alerts.page', { offset, limit, ...(service ? { service } : {}) }), [client, service]);
  const resetKey = useMemo(() => `${workspace?.path}|${service ?? '*'}|${workspace?.counts.changes}|${workspace?.counts.incidents}`, [workspace, service]);

  if (!workspace) return <NoWorkspace />;
  if (services.length === 0) return <div className="page"><p className="muted">This workspace is empty. Import telemetry, changes and incidents on the Data page.</p></div>;
  return (
    <div className="page explore">
      <nav className="service-list" aria-label="Services">
        <h2>Services</h2>
        {services.map((s) => (
          <button key={s.name} className={`service${s.name === selectedService ? ' selected' : ''}`} onClick={() => selectService(s.name)} data-testid={`service-${s.name}`}>
            <span className="service-name">{s.name}</span>
            <span className="service-meta">{s.tier !== null && <span className={`tier tier-${s.tier}`}>T{s.tier}</span>}{s.team && <span>{s.team}</span>}</span>
            <span className="service-meta muted">{s.changes} changes · {s.incidents} incidents</span>
          </button>
        ))}
      </nav>
      <div className="explore-main">
        {selectedService && (
          <section className="card">
            <div className="card-head">
              <h2>{selectedService}</h2>
              <span className="muted small">{(() => {
                const s = services.find((x) => x.name === selectedService);
                return s && s.dependsOn.length > 0 ? `calls ${s.dependsOn.join(', ')}` : '';
              })()}</span>
              {riskOptions.length > 0 && (
                <label className="right small">Colour changes by risk from
                  <select value={riskKey} onChange={(e) => setRiskKey(e.target.value)} data-testid="risk-source">
                    <option value="">—</option>
                    {riskOptions.map((o) => <option key={o.key} value={o.key}>{o.label}</option>)}
                  </select>
                </label>
              )}
            </div>
            {detectionRuns.some((r) => r.state === 'done') && (
              <div className="form-row small">
                <label>Show alerts of
                  <select value={alertRun} onChange={(e) => setAlertRun(e.target.value)} data-testid="alerts-source">
                    <option value="">—</option>
                    {detectionRuns.filter((r) => r.state === 'done').map((r) => <option key={r.id} value={r.id}>detection run {r.id} · {r.models.map((m) => m.name).join(', ')}</option>)}
                  </select>
                </label>
              </div>
            )}
            <Timeline service={selectedService} risk={risk} detectionRunId={alertRun ? Number(alertRun) : undefined} />
          </section>
        )}
        <section className="card">
          <div className="tabs" role="tablist">
            {(['changes', 'incidents', 'alerts', 'series'] as const).map((t) => (
              <button key={t} role="tab" aria-selected={tab === t} className={tab === t ? 'active' : ''} onClick={() => setTab(t)}>
                {t[0]!.toUpperCase() + t.slice(1)}
              </button>
            ))}
            {tab === 'series'
              ? <span className="checkbox right muted">of {selectedService}</span>
              : <label className="checkbox right"><input type="checkbox" checked={onlyService} onChange={(e) => setOnlyService(e.target.checked)} /> only {selectedService}</label>}
          </div>
          {tab === 'changes' && <VirtualTable columns={changeColumns} fetchPage={fetchChanges} resetKey={`c|${resetKey}`} testId="changes-table" label="Changes" />}
          {tab === 'incidents' && <VirtualTable columns={incidentColumns} fetchPage={fetchIncidents} resetKey={`i|${resetKey}`} testId="incidents-table" label="Incidents" />}
          {tab === 'alerts' && <VirtualTable columns={alertColumns} fetchPage={fetchAlerts} resetKey={`a|${resetKey}`} testId="alerts-table" label="Alerts" />}
          {tab === 'series' && (selectedService ? <SeriesTable service={selectedService} /> : <p className="muted small">Pick a service to see its series.</p>)}
        </section>
      </div>
    </div>
  );
}
