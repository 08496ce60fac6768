import { useEffect, useState, type DragEvent } from 'react';
import { RECORD_KINDS, type RecordKind } from '../../../shared/contract/records.js';
import { ImportReportView } from '../components/ImportReportView.js';
import { JobProgress, ProgressBar } from '../components/Progress.js';
import { fmtInt, fmtTime } from '../format.js';
import { importReportOf, useStore } from '../store.js';

function guessKind(name: string): RecordKind {
  const n = name.toLowerCase();
  return RECORD_KINDS.find((k) => n.includes(k.replace(/s$/, ''))) ?? 'telemetry';
}

/** The first lines of the file as they will be stored: what PII scrubbing will redact, before any upload. */
function PiiPreview({ file }: { file: File }) {
  const client = useStore((s) => s.client);
  const [preview, setPreview] = useState<{ text: string; redactions: Record<string, number> } | null>(null);
  useEffect(() => {
    let stale = false;
    // Only plain text can be previewed here; a gzip file is scrubbed the same way at import.
    if (!client || file.name.endsWith('.gz')) return;
    void file.slice(0, 4096).text().then((head) => {
      const lines = head.split('\n').slice(0, 8).join('\n');
      return client.call('pii.preview', { text: lines });
    }).then((p) => !stale && setPreview(p)).catch(() => undefined);
    return () => {
      stale = true;
    };
  }, [client, file]);
  if (!preview) return null;
  const total = Object.values(preview.redactions).reduce((a, b) => a + b, 0);
  return (
    <div className="pii-preview" data-testid="pii-preview">
      <p className="small">{total === 0 ? 'No secrets or personal data found in the first lines.' : `Will be redacted in the first lines: ${Object.entries(preview.redactions).map(([k, v]) => `${v} ${k}`).join(', ')}. Author fields become stable pseudonyms.`}</p>
      <pre>{preview.text}</pre>
    </div>
  );
}

function ImportPanel() {
  const { importFile, importJobId, jobs, uploadProgress } = useStore();
  const [file, setFile] = useState<File | null>(null);
  const [kind, setKind] = useState<RecordKind>('telemetry');
  const [acceptValidRows, setAccept] = useState(false);
  const [dragging, setDragging] = useState(false);
  const job = importJobId ? jobs[importJobId] : undefined;
  const report = importReportOf(job);
  const choose = (f: File | undefined): void => {
    if (!f) return;
    setFile(f);
    setKind(guessKind(f.name));
  };
  const onDrop = (e: DragEvent): void => {
    e.preventDefault();
    setDragging(false);
    choose(e.dataTransfer.files[0]);
  };
  return (
    <section className="card">
      <h2>Import a file</h2>
      <label className={`dropzone${dragging ? ' dragging' : ''}`} onDragOver={(e) => { e.preventDefault(); setDragging(true); }} onDragLeave={() => setDragging(false)} onDrop={onDrop}>
        <input type="file" data-testid="import-file" accept=".csv,.ndjson,.jsonl,.gz,.txt" onChange={(e) => choose(e.target.files?.[0])} />
        <span>{file ? <><strong>{file.name}</strong> ({fmtInt(file.size)} bytes)</> : <>Drop a CSV or NDJSON file here (gzip is fine), or click to choose one</>}</span>
      </label>
      <div className="form-row">
        <label>Holds
          <select value={kind} onChange={(e) => setKind(e.target.value as RecordKind)} data-testid="import-kind">
            {RECORD_KINDS.map((k) => <option key={k} value={k}>{k}</option>)}
          </select>
        </label>
        <label className="checkbox"><input type="checkbox" checked={acceptValidRows} onChange={(e) => setAccept(e.target.checked)} /> Accept valid rows (skip bad ones)</label>
        <button className="primary" disabled={!file || uploadProgress !== null || job?.state === 'running'} data-testid="import-start"
          onClick={() => file && void importFile(file, { kind, acceptValidRows })}>Import</button>
      </div>
      {file && <PiiPreview file={file} />}
      <p className="muted small">By default a file with any bad row is refused whole, with the line numbers, so nothing half-imported lands. Importing the same file twice adds nothing.</p>
      {uploadProgress !== null && <ProgressBar fraction={uploadProgress} label="Uploading" />}
      {job && job.state !== 'done' && <JobProgress job={job} />}
      {job?.state === 'failed' && <p className="error-text">{job.error?.message}</p>}
      {report && <ImportReportView report={report} />}
    </section>
  );
}

export function Data() {
  const { sources, workspace } = useStore();
  const [open, setOpen] = useState<number | null>(null);
  if (!workspace) return <div className="page"><p className="muted">Open or create a workspace first.</p></div>;
  const selected = sources.find((s) => s.id === open);
  return (
    <div className="page data">
      <ImportPanel />
      <section className="card">
        <h2>Sources</h2>
        <p className="muted">Every import, with its report. Click one to read it.</p>
        <table className="table" data-testid="sources">
          <thead><tr><th>#</th><th>File</th><th>Kind</th><th className="num">Accepted</th><th className="num">Rejected</th><th>Imported (UTC)</th></tr></thead>
          <tbody>
            {sources.map((s) => (
              <tr key={s.id} className={`clickable${open === s.id ? ' selected' : ''}`} onClick={() => setOpen(open === s.id ? null : s.id)}>
                <td>{s.id}</td><td>{s.fileName}</td><td>{s.kind}</td><td className="num">{fmtInt(s.rowsAccepted)}</td><td className="num">{fmtInt(s.rowsRejected)}</td><td>{fmtTime(s.importedAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {selected && <ImportReportView report={selected.report} />}
      </section>
    </div>
  );
}
