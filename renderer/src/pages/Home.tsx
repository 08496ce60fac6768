import { useState } from 'react';
import { fmtBytes, fmtInt, fmtTime } from '../format.js';
import { useStore } from '../store.js';
import { JobProgress } from '../components/Progress.js';

export function Home() {
  const { workspaces, workspace, app, openDemo, openWorkspace, createWorkspace, demoJobId, jobs } = useStore();
  const [name, setName] = useState('');
  const demoJob = demoJobId ? jobs[demoJobId] : undefined;
  return (
    <div className="page home">
      <section className="hero">
        <h1>Would this model have helped — or hurt?</h1>
        <p>
          Shadowbench replays candidate AI models over your own telemetry, changes and incidents, without letting them act,
          and compares every suggestion with what actually happened.
        </p>
        <div className="hero-actions">
          <button className="primary large" onClick={() => void openDemo()} disabled={demoJobId !== null} data-testid="open-demo">
            {demoJobId ? 'Opening the demo…' : 'Open demo workspace'}
          </button>
          <span className="hint">12 services, 90 days of metrics, ~1,700 changes, ~220 incidents, a trained ONNX model. Built on first open.</span>
        </div>
        {demoJob && <JobProgress job={demoJob} />}
      </section>

      {workspace && (
        <section className="card">
          <h2>Open now</h2>
          <p>
            <strong>{workspace.name}</strong> — {fmtInt(workspace.counts.points)} points, {fmtInt(workspace.counts.changes)} changes, {fmtInt(workspace.counts.incidents)} incidents
          </p>
        </section>
      )}

      <section className="card">
        <h2>Workspaces</h2>
        <p className="muted">Each workspace is one SQLite file in <code>{app?.workspacesDir}</code>.</p>
        {workspaces.length === 0 ? <p className="muted">None yet.</p> : (
          <table className="table">
            <thead><tr><th>Name</th><th>Size</th><th>Modified (UTC)</th><th /></tr></thead>
            <tbody>
              {workspaces.map((w) => (
                <tr key={w.name}>
                  <td>{w.name}</td><td>{fmtBytes(w.bytes)}</td><td>{fmtTime(w.modifiedAt)}</td>
                  <td><button onClick={() => void openWorkspace(w.name)} disabled={workspace?.name === w.name}>{workspace?.name === w.name ? 'Open now' : 'Open'}</button></td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <form className="inline-form" onSubmit={(e) => { e.preventDefault(); if (name.trim()) void createWorkspace(name.trim()); }}>
          <label>New workspace <input value={name} onChange={(e) => setName(e.target.value)} placeholder="payments-trial" pattern="[A-Za-z0-9][A-Za-z0-9._\-]{0,63}" title="letters, digits, dots, dashes, underscores" /></label>
          <button type="submit" disabled={!name.trim()}>Create</button>
        </form>
      </section>
    </div>
  );
}
