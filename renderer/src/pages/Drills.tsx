import { useCallback, useEffect, useMemo, useState } from 'react';
import { NoWorkspace } from '../components/Empty.js';
import type { DrillModelReport, DrillReport, PerturbationInput, SavedDrill } from '../../../shared/contract/drills.js';
import type { JobStatus } from '../../../shared/contract/records.js';
import { warmUpSummary } from '../../../shared/drills/warm-up.js';
import { JobProgress } from '../components/Progress.js';
import { fmtTime } from '../format.js';
import { useStore } from '../store.js';

// A difference that rounds to zero is 0.000, not "-0.000".
const num = (v: number | null | undefined, d = 3): string => (v === null || v === undefined ? '—' : (Math.abs(v) < 0.5 * 10 ** -d ? 0 : v).toFixed(d));

/** A starting point for each kind of fault; the JSON is the spec, these only write into it. */
function template(kind: PerturbationInput['kind'], features: string[]): PerturbationInput {
  const f = features.slice(0, 1);
  switch (kind) {
    case 'drift': return { kind, features: f, shift: 3, scale: 1, share: 1 };
    case 'noise': return { kind, features: f, sigma: 1, share: 1 };
    case 'missing': return { kind, features: f, share: 0.2 };
    case 'stale': return { kind, features: f, mode: 'freeze', share: 0.2, at: 0.5 };
    case 'flip': return { kind, share: 0.1 };
    case 'latency': return { kind, ms: 200, distribution: 'pareto', alpha: 1.5, share: 0.1 };
    case 'failure': return { kind, share: 0.2 };
    case 'garbage': return { kind, value: 'out-of-range', share: 0.1 };
  }
}
const KINDS: PerturbationInput['kind'][] = ['drift', 'noise', 'missing', 'stale', 'flip', 'latency', 'failure', 'garbage'];

function parse(text: string): { spec: Record<string, unknown> | null; error: string | null } {
  try {
    const spec = JSON.parse(text) as unknown;
    if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) return { spec: null, error: 'the spec is a JSON object' };
    return { spec: spec as Record<string, unknown>, error: null };
  } catch (err) {
    return { spec: null, error: `not JSON: ${(err as Error).message}` };
  }
}

/** Define a drill, run it with progress, read its report; saved drills and past results beside. */
/** One fault in a few words: its kind, what it touches and how much of the run. */
function describeFault(p: PerturbationInput): string {
  const share = 'share' in p && p.share !== undefined ? ` on ${Math.round(p.share * 100)} %` : '';
  const on = 'features' in p ? ` of ${p.features.join(', ')}` : '';
  const how = p.kind === 'drift' ? ` ${p.shift ?? 0}σ${p.scale !== undefined && p.scale !== 1 ? ` ×${p.scale}` : ''}` : p.kind === 'noise' ? ` σ×${p.sigma}` : p.kind === 'latency' ? ` +${p.ms} ms` : p.kind === 'stale' ? ` (${p.mode ?? 'freeze'})` : '';
  return `${p.kind}${how}${on}${share}`;
}

export function Drills() {
  const { client, runs, detectionRuns, models, workspace, fail, refresh } = useStore();
  // The runs a drill can re-run, of either task: finished, and not drills themselves.
  const changeRuns = runs.filter((r) => r.state === 'done' && r.manifest && !r.config.drill)
    .map((r) => ({ id: r.id, models: r.config.models, label: `run ${r.id} · ${r.manifest!.models.map((m) => `${m.name} v${m.version}`).join(', ')}` }));
  const detectRuns = detectionRuns.filter((r) => r.state === 'done' && !r.config.drill)
    .map((r) => ({ id: r.id, models: r.models.map((m) => m.id), label: `detection run ${r.id} · ${r.models.map((m) => `${m.name} v${m.version}`).join(', ')}` }));
  const [text, setText] = useState('');
  const [saved, setSaved] = useState<SavedDrill[]>([]);
  const [results, setResults] = useState<DrillReport[]>([]);
  const [report, setReport] = useState<DrillReport | null>(null);
  const [job, setJob] = useState<JobStatus | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const [kind, setKind] = useState<PerturbationInput['kind']>('drift');
  const { spec, error } = parse(text);
  const task = spec?.task === 'detection' ? 'detection' : 'change-risk';
  const baseRuns = task === 'detection' ? detectRuns : changeRuns;
  const baseRun = baseRuns.find((r) => r.id === spec?.baseRun) ?? null;
  const features = useMemo(() => {
    const ids = baseRun?.models ?? [];
    return [...new Set(models.filter((m) => ids.includes(m.id)).flatMap((m) => m.features))];
  }, [baseRun, models]);
  const load = useCallback(async () => {
    if (!client || !workspace) return;
    try {
      const [s, r] = await Promise.all([client.call('drills.list', {}), client.call('drills.results', {})]);
      setSaved(s);
      setResults(r);
    } catch (err) {
      fail(err);
    }
  }, [client, workspace, fail]);
  useEffect(() => void load(), [load]);
  // A first spec to edit: the latest run of a task, a 3σ shift of its first model's first input.
  const starter = useCallback((which: 'change-risk' | 'detection'): string | null => {
    const run = (which === 'detection' ? detectRuns : changeRuns)[0];
    if (!run) return null;
    const first = models.find((m) => m.id === run.models[0]);
    return JSON.stringify({ name: 'my drill', task: which, baseRun: run.id, seed: 1, perturbations: [template('drift', first?.features ?? [])], runner: { nanPolicy: 'impute', fallback: which === 'detection' ? 'static-alerts' : 'none' } }, null, 2);
  }, [changeRuns, detectRuns, models]);
  useEffect(() => {
    if (text) return;
    const first = starter('change-risk') ?? starter('detection');
    if (first) setText(first);
  }, [text, starter]);
  const edit = (change: (s: Record<string, unknown>) => void): void => {
    if (!spec) return;
    const next = structuredClone(spec);
    change(next);
    setText(JSON.stringify(next, null, 2));
  };
  const faults = (spec?.perturbations as PerturbationInput[] | undefined) ?? [];
  const runner = (spec?.runner ?? {}) as { fallback?: string | number; nanPolicy?: string; timeoutMs?: number };
  // Who can answer for a failed row: change-risk models; for a detector, another detector (not a log) or the imported alerts.
  const activeModels = models.filter((m) => m.task === task && m.status === 'active' && (task === 'change-risk' || m.features.length > 0));

  const start = async (): Promise<void> => {
    if (!client || !spec) return;
    setNote(null);
    try {
      const { jobId } = await client.call('drills.start', { spec });
      // Follow the job here: the page shows its progress and opens its report when it ends.
      for (;;) {
        const status = await client.call('jobs.get', { jobId });
        setJob(status);
        if (status.finishedAt !== null) {
          if (status.state === 'done') {
            // Lists first, then the report: once it shows, the drill's run is on every page that lists runs.
            await Promise.all([load(), refresh()]);
            setReport(status.result as DrillReport);
          } else if (status.error) setNote(`The drill ${status.state}: ${status.error.message}`);
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    } catch (err) {
      setNote((err as Error).message);
    }
  };
  const save = async (): Promise<void> => {
    if (!client || !spec) return;
    try {
      const d = await client.call('drills.save', { spec });
      setNote(`Saved "${d.name}" v${d.version}`);
      await load();
    } catch (err) {
      setNote((err as Error).message);
    }
  };

  if (!workspace) return <NoWorkspace />;
  if (changeRuns.length === 0 && detectRuns.length === 0) return <div className="page"><p className="muted">A drill re-runs a finished change-risk or detection run under faults: start a run on the Runs or Detection page first.</p></div>;
  const running = job !== null && job.finishedAt === null;
  return (
    <div className="page drills">
      <section className="card">
        <div className="row-between">
          <h2>Define a drill <span className="muted small">re-run a run with its inputs or its model made to fail, and see whether the fallbacks hold</span></h2>
          {saved.length > 0 && (
            <select defaultValue="" aria-label="saved drills" data-testid="drill-saved" onChange={(e) => {
              const d = saved.find((x) => `${x.name}@${x.version}` === e.target.value);
              if (d) setText(JSON.stringify(d.spec, null, 2));
            }}>
              <option value="">saved drills…</option>
              {saved.map((d) => <option key={`${d.name}@${d.version}`} value={`${d.name}@${d.version}`}>{d.name} v{d.version} · {d.author}</option>)}
            </select>
          )}
        </div>
        <div className="form-row">
          <label>Task
            <select value={task} data-testid="drill-task" onChange={(e) => {
              const next = starter(e.target.value as 'change-risk' | 'detection');
              if (next) setText(next);
              else setNote(`No finished ${e.target.value} run to drill yet: start one on the ${e.target.value === 'detection' ? 'Detection' : 'Runs'} page.`);
            }}>
              <option value="change-risk">change-risk</option>
              <option value="detection">detection</option>
            </select>
          </label>
          <label>Base run
            <select value={baseRun?.id ?? ''} onChange={(e) => edit((s) => { s.baseRun = Number(e.target.value); })} data-testid="drill-base">
              {!baseRun && <option value="">choose…</option>}
              {baseRuns.map((r) => <option key={r.id} value={r.id}>{r.label}</option>)}
            </select>
          </label>
          <label>Add a fault
            <select value={kind} onChange={(e) => setKind(e.target.value as PerturbationInput['kind'])} data-testid="drill-kind">
              {KINDS.map((k) => <option key={k} value={k}>{k}</option>)}
            </select>
          </label>
          <button onClick={() => edit((s) => { s.perturbations = [...((s.perturbations as unknown[]) ?? []), template(kind, features)]; })} data-testid="drill-add">Add</button>
          <button onClick={() => edit((s) => { s.perturbations = []; })}>Clear faults</button>
          <label>Fallback
            <select value={String(runner.fallback ?? 'none')} onChange={(e) => edit((s) => { s.runner = { ...runner, fallback: e.target.value === 'none' || e.target.value === 'static-alerts' ? e.target.value : Number(e.target.value) }; })} data-testid="drill-fallback">
              <option value="none">none (no suggestion)</option>
              {task === 'detection' && <option value="static-alerts">the imported alerts (static alerts)</option>}
              {activeModels.map((m) => <option key={m.id} value={m.id}>{m.name} v{m.version}{m.builtin ? ` (${m.builtin})` : ''}</option>)}
            </select>
          </label>
          <label>Missing inputs
            <select value={runner.nanPolicy ?? 'impute'} onChange={(e) => edit((s) => { s.runner = { ...runner, nanPolicy: e.target.value }; })}>
              <option value="impute">{task === 'detection' ? 'carry the last value forward' : 'impute the reference value'}</option>
              <option value="refuse">refuse the {task === 'detection' ? 'step' : 'row'}</option>
              <option value="pass">pass to the model</option>
            </select>
          </label>
          <label>Timeout (ms)
            <input type="number" min={1} value={runner.timeoutMs ?? ''} placeholder="none" style={{ width: 90 }} onChange={(e) => edit((s) => {
              const { timeoutMs: _old, ...rest } = runner;
              s.runner = e.target.value ? { ...rest, timeoutMs: Number(e.target.value) } : rest;
            })} />
          </label>
        </div>
        <p className="small faults" data-testid="drill-faults">
          {/* The spec below is the truth; this line says what it holds, so a starter fault is not added twice unseen. */}
          Faults in this drill: {faults.length === 0 ? <span className="muted">none yet</span>
            : faults.map((p, i) => (
              <span key={i} className="badge">
                {describeFault(p)}{' '}
                <button className="link" aria-label={`Remove fault ${i + 1}`} onClick={() => edit((s) => { s.perturbations = (s.perturbations as unknown[]).filter((_, j) => j !== i); })}>×</button>
              </span>
            ))}
        </p>
        <div className="gate-editor">
          <textarea value={text} onChange={(e) => setText(e.target.value)} spellCheck={false} rows={16} aria-label="drill spec" data-testid="drill-spec" />
          <div>
            <p className="muted small">
              {task === 'detection' ? (
                <>Each fault applies to its <code>share</code> of each service&apos;s time steps in the run (exactly that many, chosen by the seed) — or, for <code>stale</code>,
                  to a span of that share of the run&apos;s time. Input faults name the metrics the detectors read: {features.join(', ') || '—'}. A <code>gate</code> (a saved
                  gate over detection metrics such as incident_recall or false_alerts_per_day) judges both runs.</>
              ) : (
                <>Each fault applies to its <code>share</code> of the run&apos;s changes (exactly that many, chosen by the seed) — or, for <code>stale</code>,
                  to the changes in a span of that share of the run&apos;s time. Features: {features.join(', ') || '—'}. A <code>gate</code> (a saved gate&apos;s name, or
                  &quot;advisory&quot; / &quot;gating&quot;) judges both runs.</>
              )}
            </p>
            {error && <p className="error-text" data-testid="drill-json-error">{error}</p>}
            {note && <p className="muted" data-testid="drill-note">{note}</p>}
            <div className="form-row">
              <button className="primary" disabled={!spec || running} onClick={() => void start()} data-testid="drill-run">{running ? 'Running…' : 'Run drill'}</button>
              <button disabled={!spec} onClick={() => void save()} data-testid="drill-save">Save (new version)</button>
            </div>
            {job && job.finishedAt === null && <JobProgress job={job} />}
          </div>
        </div>
      </section>
      {report && <DrillReportView report={report} />}
      <section className="card">
        <h2>Past drills</h2>
        {results.length === 0 ? <p className="muted">None yet.</p> : (
          <table className="table" data-testid="drill-results">
            <thead><tr><th>Drill</th><th>Task</th><th>When</th><th>Base run</th><th>Drill run</th><th>Unhandled</th><th>Drift flag</th><th /></tr></thead>
            <tbody>
              {results.map((r) => (
                <tr key={r.id} className={report?.id === r.id ? 'selected' : ''}>
                  <td>{r.drill}{r.drillVersion ? ` v${r.drillVersion}` : ''}</td><td>{r.task}</td><td>{fmtTime(r.createdAt)}</td><td>{r.baseRunId}</td><td>{r.drillRunId}</td>
                  <td className={r.models.some((m) => m.unhandled > 0) ? 'verdict-fail' : 'verdict-pass'}>{r.models.reduce((a, m) => a + m.unhandled, 0)}</td>
                  <td>{r.models.some((m) => m.drift.drill?.flag) ? 'raised' : '—'}</td>
                  <td><button className="link" onClick={() => setReport(r)}>Open</button></td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </div>
  );
}

export function DrillReportView({ report }: { report: DrillReport }) {
  return (
    <section className="card" data-testid="drill-report">
      <h2>Drill &ldquo;{report.drill}&rdquo;{report.drillVersion ? ` v${report.drillVersion}` : ''} <span className="muted small">{report.task === 'detection' ? 'detection ' : ''}run {report.drillRunId} re-ran {report.task === 'detection' ? 'detection ' : ''}run {report.baseRunId} · {fmtTime(report.createdAt)}</span></h2>
      <ul className="plain" data-testid="drill-summary">{report.summary.map((line, i) => <li key={i}>{line}</li>)}</ul>
      {report.models.map((m) => <DrillModel key={m.model.id} m={m} detection={report.task === 'detection'} />)}
    </section>
  );
}

function DrillModel({ m, detection }: { m: DrillModelReport; detection: boolean }) {
  const unit = detection ? 'steps' : 'rows';
  const base = new Map((m.drift.base?.features ?? []).map((f) => [f.feature, f]));
  const drift = [...(m.drift.drill?.features ?? [])].sort((a, b) => (b.psi ?? 0) - (a.psi ?? 0)).slice(0, 8);
  const failed = Object.values(m.failures).reduce((a, b) => a + b, 0);
  const warmUp = m.drift.drill ? warmUpSummary(m.drift.drill) : null;
  return (
    <div className="drill-model" data-testid={`drill-model-${m.model.name}`}>
      <h3>{m.model.name} v{m.model.version}</h3>
      <div className="stats">
        <div><span className="stat">{m.rows.toLocaleString('en-US')}</span><span className="muted small">{detection ? 'time steps scored' : 'changes'}</span></div>
        <div><span className="stat">{failed}</span><span className="muted small">failed {Object.entries(m.failures).map(([k, v]) => `${k} ${v}`).join(', ')}</span></div>
        <div><span className="stat">{m.answeredByFallback}</span><span className="muted small">answered by fallback ({(100 * m.fallbackRate).toFixed(1)} %)</span></div>
        <div><span className="stat">{m.noSuggestion}</span><span className="muted small">{detection ? 'no answer' : 'no suggestion'}</span></div>
        <div><span className={`stat ${m.unhandled > 0 ? 'verdict-fail' : 'verdict-pass'}`} data-testid="drill-unhandled">{m.unhandled}</span><span className="muted small">unhandled</span></div>
        <div><span className={`stat ${m.drift.drill?.flag ? 'verdict-fail' : ''}`}>{num(m.drift.drill?.maxPsi ?? null, 2)}</span><span className="muted small">max PSI ({m.drift.drill?.flag ? 'drift flag raised' : 'no flag'}; base {num(m.drift.base?.maxPsi ?? null, 2)})</span></div>
        {m.gate && <div><span className={`stat verdict-${m.gate.drill}`}>{m.gate.base} → {m.gate.drill}</span><span className="muted small">gate &ldquo;{m.gate.name}&rdquo;{m.gate.changed ? ' changed' : ''}</span></div>}
      </div>
      <p className="muted small">Injected: {Object.entries(m.injected).map(([k, v]) => `${k} on ${v} ${unit}`).join(', ') || 'nothing'}{m.garbageRows > 0 ? `; output validation caught ${m.garbageCaught} of ${m.garbageRows} garbage outputs` : ''}{m.identicalToBase ? `; every ${detection ? 'score and alert' : 'suggestion'} identical to the base run` : ''}.{detection ? ` Deltas are paired over the ${m.paired} incidents in the range (false alerts: over its days).` : ''}</p>
      <div className="drill-tables">
        <table className="table" data-testid="drill-deltas">
          <thead><tr><th>Metric</th><th title="The base run on the same rows as the drill (the ones both answered), so its numbers can differ from the base run's own scorecard">Base (same {detection ? 'incidents' : `${m.paired} changes`})</th><th>Drill</th><th>Drill − base [95 %]</th><th>Verdict</th></tr></thead>
          <tbody>
            {m.deltas.map((d) => (
              <tr key={d.metric}>
                <td>{d.metric}</td><td>{num(d.champion)}</td><td>{num(d.challenger)}</td>
                <td>{num(d.difference.value)} [{num(d.difference.lo)}, {num(d.difference.hi)}]</td>
                {/* Under injected faults "better" praises nothing (a corrupted model flagging more can raise recall): neutral, not green. */}
                <td className={d.verdict === 'better' ? '' : `verdict-${d.verdict.replaceAll(' ', '-')}`}>{d.verdict === 'better' ? 'drill better (under faults)' : d.verdict === 'worse' ? 'drill worse' : d.verdict}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {drift.length === 0 ? <p className="muted small" data-testid="drill-drift-none">No drift check: {detection ? 'the run starts at the first telemetry, so nothing before it is a reference. Start a detection run later than that to get one.' : 'the run has no reference window for its models.'}</p> : <table className="table" data-testid="drill-drift">
          <thead><tr><th>{detection ? 'Input (service/metric)' : 'Feature'}</th><th>PSI base</th><th>PSI drill</th><th>Band</th><th>KS p</th></tr></thead>
          <tbody>
            {drift.map((f) => (
              <tr key={f.feature}>
                <td>{f.feature}{f.warmUp && f.band !== 'stable' ? <span className="muted small"> (partly warm-up)</span> : null}</td><td>{num(base.get(f.feature)?.psi ?? null, 2)}</td><td>{num(f.psi, 2)}</td>
                <td className={f.band === 'drift' ? 'verdict-fail' : f.band === 'moderate' ? 'verdict-inconclusive' : ''}>{f.band ?? '—'}</td><td>{f.ksP === null ? '—' : f.ksP < 1e-4 ? '< 0.0001' : f.ksP.toFixed(4)}</td>
              </tr>
            ))}
          </tbody>
        </table>}
      </div>
      {warmUp && <p className="muted small">{warmUp}</p>}
      {m.drift.drill && <p className="muted small">Drift reference: {m.drift.drill.reference} ({m.drift.drill.referenceRows.toLocaleString('en-US')} {detection ? 'points at least' : 'changes'}); PSI bands: under 0.1 stable, 0.1–0.25 moderate, 0.25 and over drift.</p>}
    </div>
  );
}
