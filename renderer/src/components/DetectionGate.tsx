import { useEffect, useState } from 'react';
import type { DetectionRunInfo } from '../../../shared/contract/detection.js';
import type { GateResult } from '../../../shared/contract/gates.js';
import { messageOf } from '../client/client.js';
import { useStore } from '../store.js';
import { JobProgress } from './Progress.js';
import { CriteriaVerdicts, SavedGates } from './GateParts.js';

/**
 * A gate for one detector of a detection run: the criteria file `gate --detection-run` reads, so what
 * is decided here is what a pipeline would decide. Checking is a decision and is audited, like the
 * command line's; there is no live preview because a detection gate reads every service's scores.
 * The run's report (every detector, judged by this gate) is exported from here too.
 */
export const DETECTION_GATE_EXAMPLE = JSON.stringify({
  name: 'pager budget',
  description: 'Catches most incidents, pages at most once a day for nothing, and lets people know sooner than the alerts they have today.',
  criteria: [
    { metric: 'incident_recall', op: '>=', value: 0.6 },
    { metric: 'false_alerts_per_day', op: '<=', value: 1 },
    { vs: 'imported_alerts', metric: 'time_to_know_min', op: 'improves' },
  ],
}, null, 2);

export function DetectionGate({ run }: { run: DetectionRunInfo }) {
  const client = useStore((s) => s.client);
  const loadGates = useStore((s) => s.loadGates);
  const exportReport = useStore((s) => s.exportDetectionReport);
  const reportJobId = useStore((s) => s.reportJobId);
  const reportJob = useStore((s) => (s.reportJobId ? s.jobs[s.reportJobId] ?? null : null));
  const [modelId, setModelId] = useState<number>(run.models[0]?.id ?? 0);
  const [specText, setSpecText] = useState(DETECTION_GATE_EXAMPLE);
  const [result, setResult] = useState<GateResult | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [saved, setSaved] = useState<string | null>(null);
  useEffect(() => void loadGates(), [loadGates]);
  // Another run, or another detector: the verdict shown must be of what is chosen.
  useEffect(() => {
    setModelId((id) => (run.models.some((m) => m.id === id) ? id : run.models[0]?.id ?? 0));
    setResult(null);
  }, [run]);

  const check = async (): Promise<void> => {
    if (!client) return;
    setBusy(true);
    setError(null);
    setResult(null);
    try {
      setResult(await client.call('gates.checkDetection', { runId: run.id, modelId, spec: JSON.parse(specText) as unknown }));
    } catch (err) {
      setError(err instanceof SyntaxError ? `The gate is not JSON: ${err.message}` : messageOf(err));
    } finally {
      setBusy(false);
    }
  };
  const save = async (): Promise<void> => {
    if (!client) return;
    try {
      const g = await client.call('gates.save', { spec: JSON.parse(specText) as unknown });
      await loadGates();
      setSaved(`Saved ${g.name} v${g.version}`);
    } catch (err) {
      setError(err instanceof SyntaxError ? `The gate is not JSON: ${err.message}` : messageOf(err));
    }
  };
  const chosen = run.models.find((m) => m.id === modelId);
  return (
    <section className="card" data-testid="detection-gate">
      <div className="row-between">
        <h2>Gate <span className="muted small">a detector of detection run {run.id} against its criteria; “vs imported_alerts” compares it with the alerts the team has today, over the same incidents</span></h2>
        <SavedGates onPick={(text) => { setSpecText(text); setResult(null); }} />
      </div>
      <div className="gate-editor">
        <textarea value={specText} onChange={(e) => { setSpecText(e.target.value); setResult(null); }} spellCheck={false} rows={14} aria-label="detection gate spec" data-testid="detection-gate-spec" />
        <div>
          <div className="form-row">
            <label>Detector
              <select value={modelId} onChange={(e) => { setModelId(Number(e.target.value)); setResult(null); }} data-testid="detection-gate-model">
                {run.models.map((m) => <option key={m.id} value={m.id}>{m.name} v{m.version}</option>)}
              </select>
            </label>
            <button className="primary" onClick={() => void check()} disabled={busy || !chosen} data-testid="detection-gate-check">{busy ? 'Checking…' : 'Check gate'}</button>
            <button onClick={() => void save()} data-testid="detection-gate-save">Save gate</button>
            {saved && <span className="muted small">{saved}</span>}
          </div>
          {error && <p className="error-text" data-testid="detection-gate-error">{error}</p>}
          {result && (
            <div data-testid="detection-gate-result">
              <p className={`gate-verdict verdict-${result.verdict}`} data-testid="detection-gate-verdict">{result.verdict.toUpperCase()} <span className="muted small">{result.model.name} v{result.model.version}</span></p>
              <CriteriaVerdicts result={result} />
            </div>
          )}
          <div className="form-row">
            <span className="muted small">Report of detection run {run.id}, judged by this gate:</span>
            <button type="button" disabled={reportJobId !== null} onClick={() => void exportReport(run.id, 'html', specText)} data-testid="detection-export-html">Export HTML</button>
            <button type="button" disabled={reportJobId !== null} onClick={() => void exportReport(run.id, 'md', specText)} data-testid="detection-export-md">Export Markdown</button>
          </div>
          {reportJob && <JobProgress job={reportJob} />}
          {!result && !error && (
            <p className="muted small">Metrics: incident_recall (and incident_recall_sev1… within one severity), alert_precision, false_alerts_per_day, lead_vs_human_min, mttd_min (the detector&apos;s own), time_to_know_min (the earlier of humans and the alert), max_psi, error_rate, fallback_rate, nab_standard, nab_reward_low_FP_rate, nab_reward_low_FN_rate. The same file works with <code>shadowbench gate --detection-run {run.id} --model {chosen ? `${chosen.name}@${chosen.version}` : 'NAME'} --gate FILE</code> (exit 0 pass, 1 fail, 3 inconclusive).</p>
          )}
        </div>
      </div>
    </section>
  );
}
