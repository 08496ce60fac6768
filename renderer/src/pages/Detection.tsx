import { matchingRules, NAB_RULES, unresolvedSentence } from '../../../shared/detection/rules.js';
import { NoWorkspace } from '../components/Empty.js';
import type { DetectionRunInfo } from '../../../shared/contract/detection.js';
import { useEffect, useMemo, useRef, useState } from 'react';
import type { DetectionScorecard, IncidentDetection, ReplayFrame } from '../../../shared/contract/detection.js';
import { alertBudgetOption, replayOption } from '../../../shared/charts/detection.js';
import { DARK, LIGHT } from '../../../shared/charts/theme.js';
import { Chart } from '../components/Chart.js';
import { JobProgress } from '../components/Progress.js';
import { AddDetectorForm } from '../components/AddDetector.js';
import { DetectionGate } from '../components/DetectionGate.js';
import { fmtDuration, fmtTime } from '../format.js';

const span = (ms: number): string => (ms >= 2 * 86_400_000 ? `${(ms / 86_400_000).toFixed(1)} days` : fmtDuration(ms));
import { useStore } from '../store.js';

const num = (v: number | null | undefined, digits = 2): string => (v === null || v === undefined ? '—' : v.toFixed(digits));
const iv = (m: { value: number | null; lo: number | null; hi: number | null }, digits = 2) => (
  <>{num(m.value, digits)} <span className="muted small">[{num(m.lo, digits)}, {num(m.hi, digits)}]</span></>
);
/** A detector's first alert against when humans noticed (lead: minutes, positive = earlier). */
const vsHumans = (leadMin: number): string => (Math.round(leadMin) === 0 ? 'same minute' : `${Math.abs(Math.round(leadMin))} min ${leadMin > 0 ? 'earlier' : 'later'}`);
/** HH:MM, with the day as well when it is not the incident's start day (an alert may come the next day). */
const clock = (t: number, started: number): string => (fmtTime(t).slice(0, 10) === fmtTime(started).slice(0, 10) ? fmtTime(t).slice(11) : fmtTime(t).slice(5));

/** Detection results: detectors against the imported alerts, the alert budget, per-incident leads, the incident replay, attribution. */
export function Detection() {
  const { models, runs, detectionRuns, detectionJobId, jobs, startDetection, openDetection, detection, replay, openReplay, rankAttribution, attributionRiskRun, theme, workspace } = useStore();
  const detectors = models.filter((m) => m.task === 'detection' && m.status === 'active');
  const [chosen, setChosen] = useState<number[] | null>(null);
  const [opening, setOpening] = useState<number | null>(null);
  const picked = chosen ?? detectors.map((m) => m.id);
  const job = detectionJobId ? jobs[detectionJobId] : undefined;
  const chartTheme = theme === 'dark' ? DARK : LIGHT;
  useEffect(() => {
    // Open the latest finished run when arriving with none open (a real one before a drill's).
    const done = detectionRuns.filter((r) => r.state === 'done');
    const latest = done.find((r) => !r.config.drill) ?? done[0];
    if (!detection && latest) void openDetection(latest.id);
  }, [detection, detectionRuns, openDetection]);
  const budget = useMemo(() => (detection ? alertBudgetOption(detection.report.scorecards, chartTheme) : null), [detection, chartTheme]);
  if (!workspace) return <NoWorkspace />;
  return (
    <div className="page detection">
      <form className="card form" onSubmit={(e) => {
        e.preventDefault();
        void startDetection({ models: picked });
      }}>
        <h2>Detection run</h2>
        <p className="muted small">Each detector scores every service's telemetry in time order, seeing only the past; its alerts are compared with the incidents and with the alerts the workspace already had (the incumbent).</p>
        {detectors.length === 0 ? <p className="muted">No detectors yet: add one below (or with <code>shadowbench detectors add</code>; the demo workspace ships four).</p> : (
          <div className="checks" data-testid="detectors">
            {detectors.map((m) => (
              <label key={m.id} className="checkbox" title={m.description}>
                <input type="checkbox" checked={picked.includes(m.id)} onChange={(e) => setChosen(e.target.checked ? [...picked, m.id] : picked.filter((x) => x !== m.id))} />
                {m.name} v{m.version} <span className="muted small">threshold {m.threshold}</span>
              </label>
            ))}
          </div>
        )}
        <div className="form-row">
          <button className="primary" disabled={picked.length === 0 || job?.state === 'running'} data-testid="detection-start">Run detection</button>
          {detectionRuns.length > 0 && (
            <label>Results of
              <select value={opening ?? detection?.runId ?? ''} onChange={(e) => {
                // A report takes seconds: the choice shows at once, and says it is on its way.
                const id = Number(e.target.value);
                setOpening(id);
                void openDetection(id).finally(() => setOpening((o) => (o === id ? null : o)));
              }} data-testid="detection-run-select">
                {detectionRuns.filter((r) => r.state === 'done').map((r) => <option key={r.id} value={r.id}>detection run {r.id}{r.config.drill ? ` · drill "${r.config.drill.name}" of detection run ${r.config.drill.baseRun}` : ''} · {r.models.map((m) => m.name).join(', ')}{r.config.services?.length ? ` · ${r.config.services.join(', ')}` : ''} · {fmtTime(r.startedAt)}</option>)}
              </select>
            </label>
          )}
        </div>
        {opening !== null && opening !== detection?.runId && <p className="muted small" data-testid="detection-opening">Scoring detection run {opening}…</p>}
        {job && job.state !== 'done' && <JobProgress job={job} />}
      </form>
      <AddDetectorForm open={detectors.length === 0} />
      {detection && (
        <>
          <section className="card">
            <h2>Scorecards <span className="muted small">detection run {detection.runId}{detection.report.run.config.drill ? ` (drill "${detection.report.run.config.drill.name}" of detection run ${detection.report.run.config.drill.baseRun}: faults injected, see Drills)` : ''} · {detection.report.run.config.services?.length ? `services ${detection.report.run.config.services.join(', ')}` : 'every service'} · {detection.report.run.from !== null && detection.report.run.until !== null ? `${fmtTime(detection.report.run.from).slice(0, 10)} → ${fmtTime(detection.report.run.until).slice(0, 10)}` : ''} · {detection.report.scorecards[0]?.incidents ?? 0} incidents over {num(detection.report.scorecards[0]?.days, 0)} days · 95 % intervals</span></h2>
            <p className="muted small" data-testid="matching-rules">{matchingRules(detection.report.run.config)}</p>
            {unresolvedSentence(detection.report.unresolvedIncidents) && <p className="small verdict-inconclusive" data-testid="unresolved-incidents">⚠ {unresolvedSentence(detection.report.unresolvedIncidents)}</p>}
            <Scorecards cards={detection.report.scorecards} />
            <p className="muted small">{NAB_RULES}</p>
            <InputDrift drift={detectionRuns.find((r) => r.id === detection.runId)?.drift ?? null} />
            <ul className="verdicts" data-testid="detection-verdicts">
              {detection.report.comparisons.map((c) => (
                <li key={c.modelId} className={`verdict verdict-${c.verdict === 'earlier' && c.tradeOffs.length > 0 ? 'tradeoff' : c.verdict.replace(/ /g, '-')}`} data-testid={`detection-verdict-${c.modelId}`}>{c.summary}</li>
              ))}
            </ul>
          </section>
          <section className="card">
            {budget && <Chart option={budget} height={340} testId="alert-budget" />}
          </section>
          <DetectionGate run={detection.report.run} />
          <section className="card">
            <h2>Incidents <span className="muted small">click one to replay it · a detector&apos;s cell: its first alert, earlier or later than humans noticed</span></h2>
            <IncidentTable incidents={detection.incidents} names={detection.report.scorecards.map((c) => c.name)} onOpen={(id) => void openReplay(id)} selected={replay?.incident.id ?? null} />
          </section>
          {replay && <Replay frame={replay} option={replayOption(replay, chartTheme)} onCursor={(t) => void openReplay(replay.incident.id, t)} onClose={() => void openReplay(null)} />}
          <section className="card">
            <div className="row-between">
              <h2>Attribution <span className="muted small">the whole workspace, not only this run · {detection.attribution.incidentsWithCause} of {detection.attribution.incidentsTotal} incidents have a postmortem cause · candidates: changes in the {detection.attribution.lookbackHours} h before · 95 % intervals</span></h2>
              {runs.some((r) => r.state === 'done') && (
                <label className="small">Also rank by the models of
                  <select value={attributionRiskRun ?? ''} onChange={(e) => void rankAttribution(e.target.value ? Number(e.target.value) : null)} data-testid="attribution-risk-run">
                    <option value="">—</option>
                    {runs.filter((r) => r.state === 'done' && r.manifest).map((r) => <option key={r.id} value={r.id}>change-risk run {r.id} · {r.manifest!.models.map((m) => m.name).join(', ')}</option>)}
                  </select>
                </label>
              )}
            </div>
            <table className="table" data-testid="attribution">
              <thead><tr><th>Ranker</th><th className="num">incidents</th><th className="num">top 1</th><th className="num">top 3</th><th className="num">MRR</th><th className="num">coverage</th></tr></thead>
              <tbody>
                {detection.attribution.rankers.map((r) => (
                  <tr key={r.name}><td>{r.name}</td><td className="num">{r.incidents}</td><td className="num">{iv(r.top1, 3)}</td><td className="num">{iv(r.top3, 3)}</td><td className="num">{iv(r.mrr, 3)}</td><td className="num">{iv(r.coverage, 3)}</td></tr>
                ))}
              </tbody>
            </table>
            {detection.attribution.rankers.filter((r) => r.note).map((r) => <p key={r.name} className="small verdict-inconclusive" data-testid="attribution-note">⚠ {r.note}</p>)}
          </section>
        </>
      )}
    </div>
  );
}

function Scorecards({ cards }: { cards: DetectionScorecard[] }) {
  const rows: Array<[string, (c: DetectionScorecard) => React.ReactNode]> = [
    ['threshold', (c) => (c.threshold === null ? 'as configured' : c.threshold)],
    ['alerts (pages)', (c) => (c.importedRows !== null && c.importedRows !== c.alerts ? <span title="imported alert rows, merged by the same cooldown as the detectors' alerts">{c.alerts} <span className="muted">({c.importedRows} rows)</span></span> : c.alerts)],
    ['incident recall', (c) => iv(c.metrics.incident_recall, 3)],
    ['alert precision', (c) => iv(c.metrics.alert_precision, 3)],
    ['false alerts / day', (c) => iv(c.metrics.false_alerts_per_day)],
    ['lead vs humans, median (min)', (c) => iv(c.metrics.lead_vs_human_min.median, 1)],
    ['earlier / same minute / later / missed', (c) => `${c.metrics.lead_vs_human_min.earlier} / ${c.metrics.lead_vs_human_min.same} / ${c.metrics.lead_vs_human_min.later} / ${c.metrics.lead_vs_human_min.missed}`],
    // A detector scores 0 until its baseline has the history it needs: incidents that began then were out of its reach.
    ['incidents in its warm-up', (c) => (c.warmUp ? <span data-testid="detection-warm-up" title={`it scores 0 for the first ${span(c.warmUp.ms)} of each service's telemetry`}>{c.warmUp.incidents} <span className="muted">(first {span(c.warmUp.ms)})</span>{c.warmUp.withoutTelemetry > 0 && <span className="verdict-inconclusive" title="incidents on services that have none of the metrics this detector reads: it could not see them, and they count as missed"> · {c.warmUp.withoutTelemetry} on services without its metrics</span>}</span> : '—')],
    // Humans' figures cover every incident; the model's only those it caught (a miss has no time), so it is not comparable with them.
    ['MTTD, humans with its advice (min)', (c) => iv(c.metrics.mttd_min.humans_with_model, 1)],
    ['MTTD, humans alone', (c) => iv(c.metrics.mttd_min.humans, 1)],
    ['MTTD, model, on those it caught', (c) => <>{iv(c.metrics.mttd_min.model, 1)} <span className="muted small">({c.incidents - c.metrics.lead_vs_human_min.missed})</span></>],
    ['NAB standard / low FP / low FN', (c) => (c.nab ? Object.values(c.nab).map((v) => num(v.score, 1)).join(' / ') : '—')],
    ['NAB at its best threshold', (c) => (c.nab ? Object.values(c.nab).map((v) => num(v.optimised.score, 1)).join(' / ') : '—')],
    ['recall by severity', (c) => c.recallBySeverity.map((s) => <span key={s.severity} className="sev">SEV{s.severity} {num(s.recall, 2)} <span className="muted">({s.incidents})</span></span>)],
  ];
  return (
    <div className="table-scroll">
      <table className="table det-scorecards" data-testid="detection-scorecards">
        <thead><tr><th />{cards.map((c) => <th key={c.name} className={c.modelId === null ? 'incumbent' : ''}>{c.name}</th>)}</tr></thead>
        <tbody>
          {rows.map(([label, cell]) => (
            <tr key={label}><th scope="row">{label}</th>{cards.map((c) => <td key={c.name} className="num">{cell(c)}</td>)}</tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function IncidentTable({ incidents, names, onOpen, selected }: { incidents: IncidentDetection[]; names: string[]; onOpen: (id: string) => void; selected: string | null }) {
  return (
    <div className="table-scroll tall">
      <table className="table incidents" data-testid="incident-table">
        <thead><tr><th>Incident</th><th>Service</th><th>Sev</th><th>Started (UTC)</th><th>Humans noticed</th>{names.map((n) => <th key={n}>{n}</th>)}</tr></thead>
        <tbody>
          {incidents.map((i) => (
            <tr key={i.incident} className={`clickable${selected === i.incident ? ' selected' : ''}`} onClick={() => onOpen(i.incident)} data-testid={`incident-${i.incident}`}
              tabIndex={0} title="Enter: replay this incident" onKeyDown={(e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); onOpen(i.incident); } }}>
              <td>{i.incident}</td><td>{i.service}</td><td>SEV{i.severity}</td><td>{fmtTime(i.started)}</td>
              <td>{i.detectedByHumans === null ? '—' : `${clock(i.detectedByHumans, i.started)} (${Math.round((i.detectedByHumans - i.started) / 60_000)} min in)`}</td>
              {names.map((n) => {
                const d = i.detections[n];
                return <td key={n} className={d?.leadMin !== null && d?.leadMin !== undefined ? (d.leadMin > 0 ? 'good' : d.leadMin < 0 ? 'bad' : '') : 'muted'}>{d?.at ? `${clock(d.at, i.started)}${d.leadMin === null ? '' : ` (${vsHumans(d.leadMin)})`}` : 'missed'}</td>;
              })}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

const STEP = 5 * 60_000;

function Replay({ frame, option, onCursor, onClose }: { frame: ReplayFrame; option: Record<string, unknown>; onCursor: (t: number) => void; onClose: () => void }) {
  const [cursor, setCursor] = useState(frame.cursor);
  const pending = useRef<number | null>(null);
  useEffect(() => setCursor(frame.cursor), [frame.cursor]);
  // The slider moves at once; the frame follows shortly after the last move.
  const move = (t: number): void => {
    setCursor(t);
    if (pending.current !== null) window.clearTimeout(pending.current);
    pending.current = window.setTimeout(() => onCursor(t), 120);
  };
  const inc = frame.incident;
  const rankers = [...new Set(frame.candidates.flatMap((c) => Object.keys(c.ranks)))];
  return (
    <section className="card replay" data-testid="replay">
      <div className="row-between">
        <h2>Replay {inc.id} <span className="muted small">{inc.title} · {inc.service} · SEV{inc.severity}</span></h2>
        <button className="link" onClick={onClose}>Close</button>
      </div>
      <div className="form-row">
        <input type="range" min={frame.from} max={frame.until} step={STEP} value={cursor} onChange={(e) => move(Number(e.target.value))} aria-label="replay cursor" aria-valuetext={`${fmtTime(cursor)} UTC`} data-testid="replay-cursor" className="grow" />
        <span className="mono" data-testid="replay-time">{fmtTime(cursor)}</span>
        <span className="muted small">{cursor < inc.started ? `${Math.round((inc.started - cursor) / 60_000)} min before it started` : `${Math.round((cursor - inc.started) / 60_000)} min after it started`}</span>
      </div>
      <Chart option={option} height={Math.max(220, frame.series.length * 110)} testId="replay-chart" />
      <p className="muted small">Shaded: alerts the detectors had raised by the cursor · dashed red: the incident started · dotted: what humans did · solid: the cursor.</p>
      <div className="replay-columns">
        <div>
          <h3>Alerts raised by then</h3>
          {frame.alerts.length === 0 ? <p className="muted small" data-testid="replay-no-alerts">None yet.</p> : (
            <ul className="plain" data-testid="replay-alerts">
              {frame.alerts.map((a) => <li key={`${a.modelId}-${a.start}`}><span className="mono">{fmtTime(a.start).slice(11)}</span> {a.explanation}</li>)}
            </ul>
          )}
          <h3>What humans did</h3>
          {frame.humans.length === 0 ? <p className="muted small">Nothing yet.</p> : (
            <ul className="plain">{frame.humans.map((h) => <li key={h.what}><span className="mono">{fmtTime(h.ts).slice(11)}</span> {h.what}</li>)}</ul>
          )}
          {inc.cause && <p className="small">Postmortem cause: <strong>{inc.cause}</strong></p>}
        </div>
        <div>
          <h3>Candidate changes <span className="muted small">ranked by each attribution model</span></h3>
          {frame.candidates.length === 0 ? <p className="muted small">No changes in the lookback window.</p> : (
            <table className="table small" data-testid="replay-candidates">
              <thead><tr><th>Change</th><th>Service</th><th>Time</th>{rankers.map((r) => <th key={r} className="num">{r}</th>)}</tr></thead>
              <tbody>
                {frame.candidates.slice(0, 8).map((c) => (
                  <tr key={c.id} className={inc.cause === c.id ? 'selected' : ''}><td>{c.id}</td><td>{c.service}</td><td className="mono">{fmtTime(c.ts).slice(5)}</td>{rankers.map((r) => <td key={r} className="num">#{c.ranks[r]}</td>)}</tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
      </div>
    </section>
  );
}

/** PSI of each detection input in the run against the same series before it. */
function InputDrift({ drift }: { drift: DetectionRunInfo['drift'] }) {
  if (!drift) return null;
  const drifting = drift.inputs.filter((i) => i.band === 'drift');
  return (
    <p className={`small ${drift.flag ? 'verdict-fail' : 'muted'}`} data-testid="detection-drift">
      {drift.flag ? '⚠ Input drift: ' : 'Inputs stable: '}max PSI {num(drift.maxPsi, 2)} on {drift.worst ?? '—'} against the history before the run
      {drifting.length > 0 ? ` (${drifting.length} of ${drift.inputs.length} series past 0.25: ${drifting.slice(0, 4).map((i) => `${i.service}/${i.metric}`).join(', ')}${drifting.length > 4 ? ', …' : ''})` : ''}
    </p>
  );
}
