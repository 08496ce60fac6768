import { useEffect, useMemo, useState } from 'react';
import { NoWorkspace } from '../components/Empty.js';
import type { PiiSettings } from '../../../shared/contract/methods.js';
import { BUILTIN_RULES, compileRule } from '../../../shared/domain/pii.js';
import { fmtInt, fmtTime } from '../format.js';
import { useStore } from '../store.js';

const SAMPLE = 'deploy by jane.doe@example.com from 10.20.30.40\nticket CUST-123456: Authorization: Bearer abcdef0123456789';

/** Why a draft rule cannot be added, or null: the same checks the engine makes when saving. */
function ruleProblem(name: string, pattern: string, taken: readonly string[]): string | null {
  if (!name || !pattern) return 'give a name and a pattern';
  if (taken.includes(name)) return `there is already a rule "${name}"`;
  try {
    compileRule({ name, pattern });
  } catch (err) {
    return (err as Error).message;
  }
  return null;
}

/**
 * Settings: the workspace's PII rules (on top of the built-ins) and columns always dropped, edited
 * as a draft with a live preview and saved in one audited step; what the workspace is; the theme.
 */
export function Settings() {
  const { client, workspace, fail, theme, setTheme } = useStore();
  const [saved, setSaved] = useState<PiiSettings | null>(null);
  const [draft, setDraft] = useState<PiiSettings>({ rules: [], dropColumns: [] });
  const [name, setName] = useState('');
  const [pattern, setPattern] = useState('');
  const [columns, setColumns] = useState('');
  const [sample, setSample] = useState(SAMPLE);
  const [preview, setPreview] = useState<{ text: string; redactions: Record<string, number> } | null>(null);
  const [status, setStatus] = useState<string | null>(null);

  // Loaded per workspace file, not per workspace object: that is replaced whenever a job refreshes
  // its counts, and reloading then would throw away the draft being edited.
  const path = workspace?.path;
  useEffect(() => {
    if (!client || !path) return;
    setSaved(null);
    void client.call('settings.get', {}).then(({ pii }) => {
      setSaved(pii);
      setDraft(pii);
      setColumns(pii.dropColumns.join(', '));
    }).catch(fail);
  }, [client, path, fail]);

  const dropColumns = useMemo(() => [...new Set(columns.split(',').map((c) => c.trim()).filter(Boolean))], [columns]);
  const current: PiiSettings = useMemo(() => ({ rules: draft.rules, dropColumns }), [draft.rules, dropColumns]);
  const dirty = saved !== null && JSON.stringify(current) !== JSON.stringify(saved);

  useEffect(() => {
    if (!client || !path) return;
    let stale = false;
    const timer = setTimeout(() => {
      void client.call('pii.preview', { text: sample, rules: draft.rules, withSaved: false })
        .then((p) => !stale && setPreview(p))
        .catch((err: unknown) => !stale && setPreview({ text: (err as Error).message, redactions: {} }));
    }, 150);
    return () => {
      stale = true;
      clearTimeout(timer);
    };
  }, [client, path, sample, draft.rules]);

  if (!workspace || !client) return <NoWorkspace />;
  const problem = name || pattern ? ruleProblem(name, pattern, [...BUILTIN_RULES.map((r) => r.name), ...draft.rules.map((r) => r.name)]) : null;
  const add = (): void => {
    if (ruleProblem(name, pattern, [...BUILTIN_RULES.map((r) => r.name), ...draft.rules.map((r) => r.name)])) return;
    setDraft({ ...draft, rules: [...draft.rules, { name, pattern }] });
    setName('');
    setPattern('');
    setStatus(null);
  };
  const save = async (): Promise<void> => {
    try {
      const { pii } = await client.call('settings.setPii', current);
      setSaved(pii);
      setDraft(pii);
      setColumns(pii.dropColumns.join(', '));
      setStatus('Saved. Imports from now on use these rules; data already in the workspace is not scrubbed again.');
    } catch (err) {
      fail(err);
    }
  };
  const counts = preview ? Object.entries(preview.redactions) : [];
  return (
    <div className="page settings">
      <section className="card">
        <h2>Privacy <span className="muted small">PII is scrubbed by every import before anything reaches disk</span></h2>
        <p className="small">
          Always on: {BUILTIN_RULES.map((r, i) => <span key={r.name}>{i > 0 && ', '}<code title={String(r.pattern)}>{r.name}</code></span>)}.
          Authors become stable pseudonyms keyed by this workspace's own key, which is never shown, exported or logged; it lives inside the workspace file, so whoever has the file (or a backup) and a list of names can re-identify authors: share reports, not workspaces.
        </p>
        <h3>This workspace's rules</h3>
        {/* Until the saved rules are read, nothing can be edited: an edit made before they arrive was overwritten by them. */}
        {saved === null ? <p className="muted small" data-testid="pii-rules-loading">Reading this workspace's rules…</p> : draft.rules.length === 0 ? <p className="muted small" data-testid="pii-rules-empty">None: only the built-in rules apply.</p> : (
          <table className="table" data-testid="pii-rules">
            <thead><tr><th>Name</th><th>Pattern (JavaScript regular expression)</th><th /></tr></thead>
            <tbody>
              {draft.rules.map((r) => (
                <tr key={r.name}>
                  <td><code>{r.name}</code></td><td><code>{r.pattern}</code></td>
                  <td><button className="link" onClick={() => { setDraft({ ...draft, rules: draft.rules.filter((x) => x.name !== r.name) }); setStatus(null); }} aria-label={`Remove rule ${r.name}`}>Remove</button></td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <form className="inline-form" onSubmit={(e) => { e.preventDefault(); add(); }}>
          <label>Name <input value={name} onChange={(e) => setName(e.target.value)} placeholder="customer-id" data-testid="pii-rule-name" /></label>
          <label className="grow">Pattern <input value={pattern} onChange={(e) => setPattern(e.target.value)} placeholder="CUST-\d{6}" className="mono" data-testid="pii-rule-pattern" /></label>
          <button type="submit" disabled={saved === null || !name || !pattern || problem !== null}>Add rule</button>
        </form>
        {problem && <p className="error-text small" data-testid="pii-rule-problem">{problem}</p>}
        <h3>Columns always dropped</h3>
        <label className="form-row">
          <input className="grow" value={columns} disabled={saved === null} onChange={(e) => { setColumns(e.target.value); setStatus(null); }} placeholder="customer_email, requester" data-testid="pii-drop-columns" />
          <span className="muted small">comma-separated source column names; never stored, whatever the import maps</span>
        </label>
        <h3>Try it</h3>
        <div className="pii-try">
          <textarea value={sample} onChange={(e) => setSample(e.target.value)} rows={4} aria-label="Sample text" data-testid="pii-sample" />
          <div className="pii-preview" data-testid="pii-settings-preview">
            <p className="small">{counts.length === 0 ? 'Nothing would be redacted.' : `Would redact: ${counts.map(([k, v]) => `${v} ${k}`).join(', ')}`}</p>
            <pre>{preview?.text ?? ''}</pre>
          </div>
        </div>
        <div className="row-between">
          <span className={status ? 'ok-text small' : 'muted small'} data-testid="pii-status">{status ?? (dirty ? 'Unsaved changes.' : 'Saved rules shown.')}</span>
          <span>
            <button onClick={() => { if (saved) { setDraft(saved); setColumns(saved.dropColumns.join(', ')); } }} disabled={!dirty}>Discard</button>{' '}
            <button className="primary" onClick={() => void save()} disabled={!dirty} data-testid="pii-save">Save</button>
          </span>
        </div>
      </section>

      <section className="card">
        <h2>Workspace</h2>
        <table className="table" data-testid="workspace-facts">
          <tbody>
            <tr><th>File</th><td><code>{workspace.path}</code></td></tr>
            <tr><th>Schema version</th><td>{workspace.schemaVersion}</td></tr>
            <tr><th>History</th><td>{workspace.range ? `${fmtTime(workspace.range.from)} – ${fmtTime(workspace.range.until)} (UTC)` : 'empty'}</td></tr>
            <tr><th>Holds</th><td>{fmtInt(workspace.counts.services)} services, {fmtInt(workspace.counts.series)} series, {fmtInt(workspace.counts.points)} points, {fmtInt(workspace.counts.changes)} changes, {fmtInt(workspace.counts.incidents)} incidents, {fmtInt(workspace.counts.alerts)} alerts from {fmtInt(workspace.counts.sources)} imports</td></tr>
          </tbody>
        </table>
      </section>

      <section className="card">
        <h2>Appearance</h2>
        <div className="form-row" role="radiogroup" aria-label="Theme">
          {(['light', 'dark'] as const).map((t) => (
            <label key={t} className="checkbox"><input type="radio" name="theme" checked={theme === t} onChange={() => setTheme(t)} /> {t}</label>
          ))}
        </div>
      </section>
    </div>
  );
}
