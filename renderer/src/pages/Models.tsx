import { useEffect, useState } from 'react';
import { NoWorkspace } from '../components/Empty.js';
import { messageOf } from '../client/client.js';
import type { MethodOutput } from '../../../shared/contract/methods.js';
import { fmtTime } from '../format.js';
import { useStore } from '../store.js';
import { JobProgress } from '../components/Progress.js';
import { MODEL_NAME } from '../../../shared/contract/models.js';
import { Promote } from '../components/Promote.js';
import type { ModelEvent } from '../../../shared/contract/models.js';

type Catalog = MethodOutput<'features.catalog'>;

function TrainForm({ catalog }: { catalog: Catalog | null }) {
  const trainModel = useStore((s) => s.trainModel);
  const [name, setName] = useState('risk-logistic');
  // The registry's rule for names (ModelManifest), said beside the field rather than as a schema error.
  const nameOk = MODEL_NAME.test(name);
  const [kind, setKind] = useState<'logistic' | 'single-feature' | 'heuristic'>('logistic');
  const [cutoff, setCutoff] = useState('');
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState<string | null>(null);
  return (
    <form className="card form" onSubmit={(e) => {
      e.preventDefault();
      setBusy(true);
      setDone(null);
      void trainModel({ name, kind, ...(cutoff ? { cutoff: Date.parse(`${cutoff}T00:00:00Z`) } : {}) }).then((m) => {
        setBusy(false);
        if (m) setDone(`Trained ${m.name} v${m.version}: ${m.description}`);
      });
    }}>
      <h2>Train a baseline</h2>
      <p className="muted small">Built in, so every run has an honest baseline. Trained only on changes before the cutoff (default: the first 70 % by time); evaluate it on the rest.</p>
      <div className="form-row">
        <label>Name <input value={name} onChange={(e) => setName(e.target.value)} maxLength={64} aria-invalid={!nameOk} aria-describedby="train-name-help" data-testid="train-name" /></label>
        <label>Kind
          <select value={kind} onChange={(e) => setKind(e.target.value as typeof kind)} data-testid="train-kind">
            <option value="logistic">logistic regression (all features)</option>
            <option value="single-feature">single feature (lines added)</option>
            <option value="heuristic">heuristic rules</option>
          </select>
        </label>
        <label>Train on changes before <input type="date" value={cutoff} onChange={(e) => setCutoff(e.target.value)} /></label>
        <button className="primary" disabled={busy || !nameOk} data-testid="train-start">{busy ? 'Training…' : 'Train'}</button>
      </div>
      <p id="train-name-help" className={`small ${nameOk ? 'muted' : 'error-text'}`} data-testid="train-name-help">A name is 1–64 letters, digits, dots, dashes or underscores, starting with a letter or digit.</p>
      {catalog && <p className="muted small">Features: {[...catalog.history.map((h) => h.name), ...catalog.attributes].join(', ')}.
        Telemetry in the hour before each change (name them in a manifest or with models train --features): {catalog.telemetry.join(', ') || 'none imported'}.</p>}
      {done && <p className="ok-text" data-testid="train-done">{done}</p>}
    </form>
  );
}

function AddOnnxForm({ catalog }: { catalog: Catalog | null }) {
  const addOnnx = useStore((s) => s.addOnnx);
  const [file, setFile] = useState<File | null>(null);
  const [manifest, setManifest] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  const [added, setAdded] = useState<string | null>(null);
  useEffect(() => {
    if (catalog && manifest === '') {
      setManifest(JSON.stringify({ name: 'my-model', input: 'features', features: catalog.attributes.slice(0, 3), output: 'risk', threshold: 0.5 }, null, 2));
    }
  }, [catalog, manifest]);
  return (
    <form className="card form" onSubmit={(e) => {
      e.preventDefault();
      setProblem(null);
      setAdded(null);
      let parsed: unknown;
      try {
        parsed = JSON.parse(manifest);
      } catch (err) {
        setProblem(`The manifest is not JSON: ${(err as Error).message}`);
        return;
      }
      if (!file) return;
      void addOnnx(file, parsed)
        .then((m) => setAdded(`Added ${m.name} v${m.version}${m.notes.length ? ` — ${m.notes.join('; ')}` : ''}`))
        .catch((err: unknown) => setProblem(`Not added: ${messageOf(err)}`));
    }}>
      <h2>Add an ONNX model</h2>
      <p className="muted small">The file is checked on the way in: it must load, match the manifest's input, output and feature count, name only features this workspace has, and give finite scores on real changes. skl2onnx classifiers with a ZipMap output are rewired to their probability tensor.</p>
      <div className="form-row">
        <label>Model file <input type="file" accept=".onnx" onChange={(e) => setFile(e.target.files?.[0] ?? null)} data-testid="onnx-file" /></label>
      </div>
      <label className="block">Manifest (JSON)
        <textarea value={manifest} onChange={(e) => setManifest(e.target.value)} rows={8} spellCheck={false} data-testid="onnx-manifest" />
      </label>
      <div className="form-row"><button className="primary" disabled={!file} data-testid="onnx-add">Validate and add</button></div>
      {problem && <p className="error-text" role="alert" data-testid="onnx-problem">{problem}</p>}
      {added && <p className="ok-text" data-testid="onnx-added">{added}</p>}
    </form>
  );
}

/** Who made which model champion, challenger or retired, and when; one step back to the previous champion. */
function Governance({ onRevert }: { onRevert: () => void }) {
  const { client, models } = useStore();
  const [events, setEvents] = useState<ModelEvent[]>([]);
  useEffect(() => {
    if (client) void client.call('models.history', {}).then((e) => setEvents(e.filter((x) => x.id !== 0 || x.note.includes('change-risk'))));
  }, [client, models]);
  const changes = events.filter((e) => e.id !== 0);
  return (
    <section className="card">
      <div className="row-between">
        <h2>Governance <span className="muted small">role changes, newest first</span></h2>
        <button onClick={onRevert} disabled={!changes.some((e) => e.role === 'champion')} data-testid="revert-champion">Revert to the previous champion</button>
      </div>
      {changes.length === 0 ? <p className="muted small">No role changes yet: make a model the champion from the registry or the Compare page.</p> : (
        <table className="table" data-testid="model-history">
          <thead><tr><th>Time (UTC)</th><th>Model</th><th>Became</th><th>Who</th><th>Note</th></tr></thead>
          <tbody>{[...changes].reverse().map((e) => <tr key={e.id}><td>{fmtTime(e.ts)}</td><td>{e.model}</td><td>{e.role}</td><td>{e.actor}</td><td className="muted">{e.note}</td></tr>)}</tbody>
        </table>
      )}
    </section>
  );
}

export function Models() {
  const { models, client, workspace, retireModel, retrain, retrainJobId, jobs, revertChampion, exportDataset } = useStore();
  const [useFeedback, setUseFeedback] = useState(true);
  const retrainJob = retrainJobId ? jobs[retrainJobId] : undefined;
  const [catalog, setCatalog] = useState<Catalog | null>(null);
  useEffect(() => {
    if (client && workspace) void client.call('features.catalog', {}).then(setCatalog);
  }, [client, workspace]);
  if (!workspace) return <NoWorkspace />;
  const changeRisk = models.filter((m) => m.task === 'change-risk');
  const detectors = models.filter((m) => m.task !== 'change-risk');
  return (
    <div className="page models">
      <section className="card">
        <h2>Registry <span className="muted small">change risk</span></h2>
        {changeRisk.length === 0 ? <p className="muted">No models yet. Train a baseline or add an ONNX model below.</p> : (
          <table className="table" data-testid="models-table">
            <thead><tr><th>Name</th><th>Version</th><th>Kind</th><th className="num">Features</th><th className="num">Threshold</th><th>Trained until</th><th>sha256</th><th>Role</th><th /></tr></thead>
            <tbody>
              {changeRisk.map((m) => (
                <tr key={m.id} className={m.status === 'retired' ? 'muted' : ''}>
                  <td className="wrap" title={m.description}><strong>{m.name}</strong><div className="muted small">{m.description}</div></td>
                  <td>v{m.version}</td>
                  <td>{m.kind}{m.builtin ? ` · ${m.builtin}` : ''}</td>
                  <td className="num" title={m.features.join(', ')}>{m.features.length}</td>
                  <td className="num">{m.threshold}</td>
                  <td>{m.trainedUntil ? fmtTime(m.trainedUntil) : '—'}</td>
                  <td><code>{m.sha256.slice(0, 10)}</code></td>
                  <td><span className={`badge role-${m.role}`} data-testid={`role-${m.name}-v${m.version}`}>{m.role}</span></td>
                  <td className="actions">
                    {m.status === 'active' && m.role !== 'champion' && <Promote key={m.id} modelId={m.id} label={`${m.name} v${m.version}`} verdict={undefined} testId={`promote-${m.name}-v${m.version}`} />}
                    {m.status === 'active' && (m.builtin === 'logistic' || m.builtin === 'single-feature') && (
                      <button className="link" disabled={retrainJob?.state === 'running'} onClick={() => void retrain(m.id, useFeedback)} data-testid={`retrain-${m.name}-v${m.version}`}>Retrain &amp; compare</button>
                    )}
                    {m.status === 'active' && <button className="link" onClick={() => void retireModel(m.id)}>Retire</button>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <div className="form-row">
          <label className="checkbox"><input type="checkbox" checked={useFeedback} onChange={(e) => setUseFeedback(e.target.checked)} /> Retraining uses human feedback as labels where given</label>
          <button onClick={() => void exportDataset()} data-testid="export-dataset">Export labelled dataset (CSV)</button>
          {models.some((m) => m.role === 'champion') || <span className="muted small">No champion.</span>}
        </div>
        {retrainJob && retrainJob.state === 'running' && <JobProgress job={retrainJob} />}
      </section>
      <Governance onRevert={() => void revertChampion()} />
      {detectors.length > 0 && (
        <section className="card">
          <h2>Detectors and rankers <span className="muted small">incident detection and attribution · see the Detection page</span></h2>
          <table className="table" data-testid="detectors-table">
            <thead><tr><th>Name</th><th>Task</th><th>Version</th><th>Signals</th><th className="num">Threshold</th><th>sha256</th><th>Status</th><th /></tr></thead>
            <tbody>
              {detectors.map((m) => (
                <tr key={m.id} className={m.status === 'retired' ? 'muted' : ''}>
                  <td className="wrap"><strong>{m.name}</strong><div className="muted small">{m.description}</div></td>
                  <td>{m.task} · {m.kind}</td>
                  <td>v{m.version}</td>
                  <td>{m.features.join(', ') || '—'}</td>
                  <td className="num">{m.threshold}</td>
                  <td><code>{m.sha256.slice(0, 10)}</code></td>
                  <td>{m.status}</td>
                  <td>{m.status === 'active' && <button className="link" onClick={() => void retireModel(m.id)}>Retire</button>}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      )}
      <TrainForm catalog={catalog} />
      <AddOnnxForm catalog={catalog} />
    </div>
  );
}
