import { useMemo, useState } from 'react';
import { NoWorkspace } from '../components/Empty.js';
import { JobProgress } from '../components/Progress.js';
import { fmtTime } from '../format.js';
import { useStore } from '../store.js';

const DAY = 86_400_000;

export function Runs() {
  const { models, runs, services, startRun, runJobId, jobs, openRun, workspace, navigate } = useStore();
  const active = models.filter((m) => m.status === 'active' && m.task === 'change-risk');
  const [chosen, setChosen] = useState<number[]>([]);
  // The first whole day after the latest training cutoff: the day of the cutoff itself still holds
  // changes the model was trained on (the date input has no time of day).
  const defaultFrom = useMemo(() => {
    const cutoffs = active.filter((m) => chosen.includes(m.id) && m.trainedUntil !== null).map((m) => m.trainedUntil!);
    return cutoffs.length > 0 ? new Date(Math.ceil(Math.max(...cutoffs) / DAY) * DAY).toISOString().slice(0, 10) : '';
  }, [active, chosen]);
  const [from, setFrom] = useState('');
  const [until, setUntil] = useState('');
  const [service, setService] = useState('');
  const [rule, setRule] = useState({ enabled: false, maxSeverity: 2, windowHours: 6 });
  const [useRule, setUseRule] = useState(false);
  const [thresholds, setThresholds] = useState<Record<number, string>>({});
  const job = runJobId ? jobs[runJobId] : undefined;
  if (!workspace) return <NoWorkspace />;
  const effectiveFrom = from || defaultFrom;
  // A run that starts before a model's training cutoff scores changes it learned from: its metrics read too good.
  const fromMs = effectiveFrom ? Date.parse(`${effectiveFrom}T00:00:00Z`) : -Infinity;
  const trainedOnRun = active.filter((m) => chosen.includes(m.id) && m.trainedUntil !== null && fromMs < m.trainedUntil);
  return (
    <div className="page runs">
      <form className="card form" onSubmit={(e) => {
        e.preventDefault();
        void startRun({
          models: chosen,
          ...(effectiveFrom ? { from: Date.parse(`${effectiveFrom}T00:00:00Z`) } : {}),
          ...(until ? { until: Date.parse(`${until}T00:00:00Z`) } : {}),
          ...(service ? { services: [service] } : {}),
          ...(useRule ? { attribution: rule } : {}),
          thresholds: Object.fromEntries(Object.entries(thresholds).filter(([id, v]) => v !== '' && chosen.includes(Number(id))).map(([id, v]) => [id, Number(v)])),
        });
      }}>
        <h2>New shadow run</h2>
        <p className="muted small">Every chosen model scores every change in the range, in time order, with features as they were at that moment. Nothing is acted on; each suggestion is compared with what the change really did.</p>
        {active.length === 0 ? <p className="muted">No models yet: <button type="button" className="link" onClick={() => navigate('models')} data-testid="runs-go-models">train a baseline or add an ONNX model</button> first.</p> : (
          <div className="checks" data-testid="run-models">
            {active.map((m) => (
              <label key={m.id} className="checkbox">
                <input type="checkbox" checked={chosen.includes(m.id)} onChange={(e) => setChosen(e.target.checked ? [...chosen, m.id] : chosen.filter((x) => x !== m.id))} />
                {m.name} v{m.version} <span className="muted small">{m.kind}{m.builtin ? ` · ${m.builtin}` : ''}</span>
                {chosen.includes(m.id) && <span className="small"> · threshold <input type="number" min={0} max={1} step={0.01} className="narrow" placeholder={String(m.threshold)}
                  value={thresholds[m.id] ?? ''} onChange={(e) => setThresholds({ ...thresholds, [m.id]: e.target.value })} aria-label={`threshold for ${m.name}`} /></span>}
              </label>
            ))}
          </div>
        )}
        <div className="form-row">
          <label>From <input type="date" value={effectiveFrom} onChange={(e) => setFrom(e.target.value)} /></label>
          <label>Until <input type="date" value={until} onChange={(e) => setUntil(e.target.value)} /></label>
          <label>Service
            <select value={service} onChange={(e) => setService(e.target.value)}>
              <option value="">all services</option>
              {services.map((s) => <option key={s.name} value={s.name}>{s.name}</option>)}
            </select>
          </label>
        </div>
        {trainedOnRun.length > 0 && (
          <p className="verdict-inconclusive small" data-testid="run-training-overlap">
            ⚠ {trainedOnRun.map((m) => `${m.name} v${m.version} was trained on changes before ${fmtTime(m.trainedUntil!)}`).join('; ')} UTC: this range
            includes some of them, so {trainedOnRun.length > 1 ? 'their' : 'its'} scores there are not a fair test. Start on or after {defaultFrom} for a clean one.
          </p>
        )}
        <div className="form-row">
          <label className="checkbox"><input type="checkbox" checked={useRule} onChange={(e) => setUseRule(e.target.checked)} /> Set the attribution rule</label>
          {useRule && <>
            <label className="checkbox"><input type="checkbox" checked={rule.enabled} onChange={(e) => setRule({ ...rule, enabled: e.target.checked })} /> a change caused an incident if one of severity ≤</label>
            <input type="number" min={0} max={9} value={rule.maxSeverity} onChange={(e) => setRule({ ...rule, maxSeverity: Number(e.target.value) })} className="narrow" />
            <label>hit its service within <input type="number" min={1} max={720} value={rule.windowHours} onChange={(e) => setRule({ ...rule, windowHours: Number(e.target.value) })} className="narrow" /> h</label>
          </>}
          {!useRule && <span className="muted small">Default: postmortem links; the rule (SEV ≤ 2 within 6 h) only where the workspace has no links.</span>}
        </div>
        <div className="form-row"><button className="primary" disabled={chosen.length === 0 || job?.state === 'running'} data-testid="run-start">Start run</button></div>
        {job && job.state !== 'done' && <JobProgress job={job} />}
      </form>
      <section className="card">
        <h2>Runs</h2>
        {runs.length === 0 ? <p className="muted">No runs yet.</p> : (
          <table className="table" data-testid="runs-table">
            <thead><tr><th>#</th><th>State</th><th>Models</th><th className="num">Changes</th><th>Started (UTC)</th><th /></tr></thead>
            <tbody>
              {runs.map((r) => (
                <tr key={r.id}>
                  <td>{r.id}{r.config.drill && <div className="muted small" data-testid="run-drill">drill “{r.config.drill.name}” of run {r.config.drill.baseRun}</div>}</td>
                  <td><span className={`badge badge-${r.state === 'done' ? 'imported' : r.state === 'failed' ? 'refused' : 'cancelled'}`}>{r.state}</span>{r.error && <div className="error-text small">{r.error}</div>}</td>
                  <td>{r.manifest ? r.manifest.models.map((m) => `${m.name} v${m.version}`).join(', ') : `${r.config.models.length} models`}</td>
                  <td className="num">{r.manifest?.subjects ?? '—'}</td>
                  <td>{fmtTime(r.startedAt)}</td>
                  <td>{r.state === 'done' && <button onClick={() => openRun(r.id)}>Results</button>}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </div>
  );
}
