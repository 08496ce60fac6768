import { useEffect, useRef, useState, type DragEvent } from 'react';
import { NoWorkspace } from '../components/Empty.js';
import { FORMAT_KIND, IMPORT_FORMATS, RECORD_KINDS, type ImportFormat, type ImportReport, type RecordKind } from '../../../shared/contract/records.js';
import type { ImportOptionsInput } from '../../../shared/contract/methods.js';
import { FIELDS } from '../../../shared/domain/fields.js';
import { ImportReportView } from '../components/ImportReportView.js';
import { JobProgress, ProgressBar } from '../components/Progress.js';
import { fmtInt, fmtTime } from '../format.js';
import { importReportOf, useStore } from '../store.js';
import { messageOf } from '../client/client.js';
import type { Source } from '../../../shared/contract/records.js';

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
    // What was said of the previous file is not said of this one while its answer is on the way.
    setPreview(null);
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

const FORMAT_LABEL: Record<ImportFormat, string> = {
  csv: 'CSV (one row per record)', ndjson: 'NDJSON', 'wide-csv': 'wide CSV (one column per metric)', prometheus: 'Prometheus API JSON',
  otlp: 'OpenTelemetry OTLP/JSON', 'github-deployments': 'GitHub deployments JSON', argocd: 'Argo CD application history',
};
const STRUCTURED: readonly ImportFormat[] = ['prometheus', 'otlp', 'github-deployments', 'argocd', 'wide-csv'];

function cell(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** The reading settings a newly chosen file starts with if the last file had them set. */
type CarriedSetting = 'timeUnit' | 'timeFormat' | 'timeZone' | 'decimalComma' | 'service' | 'serviceLabel' | 'metricName' | 'environment';

/** Which of the settings on screen are set (not their defaults), so a new file would be read with them. */
function carriedSettings(settings: Record<CarriedSetting, string | boolean>): CarriedSetting[] {
  return (Object.keys(settings) as CarriedSetting[]).filter((k) => settings[k] !== '' && settings[k] !== false && settings[k] !== 'auto');
}

function Kept({ setting, carried }: { setting: CarriedSetting; carried: ReadonlySet<CarriedSetting> }) {
  return carried.has(setting) ? <span className="verdict-inconclusive small" data-testid={`import-carried-${setting}`} title="Set for the previous file and kept for this one: check it fits this file"> kept from the previous file</span> : null;
}

/**
 * The import wizard: pick or drop a file; it is uploaded once and read as it will be stored (format
 * detected from the content, columns mapped where the header is unambiguous, the first rows
 * normalised and PII-scrubbed); the mapping, time unit and zone, and service can be adjusted and
 * re-checked; a dry run over the whole file says what would be rejected; then import, and
 * optionally save the mapping for `import --mapping NAME`.
 */
function ImportPanel() {
  const { client, importUpload, importJobId, jobs, uploadProgress, fail } = useStore();
  const [file, setFile] = useState<File | null>(null);
  const [upload, setUpload] = useState<{ uploadId: string; fileName: string } | null>(null);
  const [sending, setSending] = useState<number | null>(null);
  const [kind, setKind] = useState<RecordKind>('telemetry');
  const [format, setFormat] = useState<ImportFormat | ''>('');
  const [mapping, setMapping] = useState<Record<string, string>>({});
  const [timeUnit, setTimeUnit] = useState<'auto' | 's' | 'ms' | 'us' | 'ns'>('auto');
  const [timeZone, setTimeZone] = useState('');
  // How a file is read (zone, unit, time format, decimal comma, service…) stays for the next file
  // (exports from one system share it), but each setting kept says so until it is edited: a Berlin
  // export read as Los Angeles would be wrong by hours, seconds read as milliseconds by decades.
  const [carried, setCarried] = useState<ReadonlySet<CarriedSetting>>(new Set());
  const edited = (setting: CarriedSetting): void => setCarried((c) => (c.has(setting) ? new Set([...c].filter((x) => x !== setting)) : c));
  const [timeFormat, setTimeFormat] = useState('');
  const [decimalComma, setDecimalComma] = useState(false);
  const [service, setService] = useState('');
  const [serviceLabel, setServiceLabel] = useState('');
  const [metricName, setMetricName] = useState('');
  const [environment, setEnvironment] = useState('');
  const [acceptValidRows, setAccept] = useState(false);
  const [updateExisting, setUpdateExisting] = useState(false);
  const [check, setCheck] = useState<ImportReport | null>(null);
  // Fields the header's mapping took by name while other columns could be them: from the look that
  // made that mapping, since later looks send the mapping as the user's own and have none.
  const [alternatives, setAlternatives] = useState<ImportReport['alternatives']>([]);
  const [dry, setDry] = useState<ImportReport | null>(null);
  const [checking, setChecking] = useState(false);
  const [mappingName, setMappingName] = useState('');
  const [note, setNote] = useState<string | null>(null);
  const [dragging, setDragging] = useState(false);
  // The last import's report belongs to the last file: a newly chosen one starts without it.
  const [reportHidden, setReportHidden] = useState(false);
  const job = importJobId ? jobs[importJobId] : undefined;
  const report = importReportOf(job);
  // An import that landed used up its upload; a refused one keeps it for another try. Only that
  // upload: a file chosen since (its import's report may arrive late) keeps its own.
  const importedFrom = useRef<string | null>(null);
  useEffect(() => {
    if (report && (report.status === 'imported' || report.status === 'duplicate-file') && upload && upload.uploadId === importedFrom.current) {
      importedFrom.current = null;
      setUpload(null);
    }
  }, [report, upload]);
  // An import started before the look at a newly chosen kind answered went with the header's
  // mapping (the look was dropped): the form shows what the import used, not empty fields.
  useEffect(() => {
    if (!report || reportHidden || Object.keys(mapping).length > 0 || STRUCTURED.includes(report.format)) return;
    const used = Object.fromEntries(Object.entries(report.mapping).filter(([, f]) => f !== 'ignore'));
    if (Object.keys(used).length === 0) return;
    setMapping(used);
    shown.current = settingsKey(format || report.format, used);
  }, [report]); // eslint-disable-line react-hooks/exhaustive-deps -- the report arriving is the trigger

  /** How the file's cells are read: what stays from one file to the next. */
  const reading = (): Omit<ImportOptionsInput, 'kind'> => ({
    timeUnit, ...(timeZone ? { timeZone } : {}), ...(timeFormat ? { timeFormat } : {}), ...(service ? { defaultService: service } : {}),
    ...(serviceLabel ? { serviceLabel } : {}), ...(metricName ? { metricName } : {}), ...(decimalComma ? { decimalComma } : {}),
  });
  const options = (): ImportOptionsInput => ({
    kind, mapping, acceptValidRows, updateExisting, ...(format ? { format } : {}), ...reading(),
    ...(environment && format === 'github-deployments' ? { environment } : {}),
  });
  const runCheck = async (target: { uploadId: string; fileName: string }, opts: ImportOptionsInput, previewRows: number): Promise<ImportReport | null> => {
    if (!client) return null;
    const { jobId } = await client.call('import.start', { ...opts, dryRun: true, previewRows, uploadId: target.uploadId, fileName: target.fileName });
    for (;;) {
      const status = await client.call('jobs.get', { jobId });
      if (status.finishedAt !== null) {
        if (status.state !== 'done') throw new Error(status.error?.message ?? `check ${status.state}`);
        return status.result as ImportReport;
      }
      await new Promise((resolve) => setTimeout(resolve, 150));
    }
  };
  // Only the newest look counts: an older one that answers late must not show stale rows.
  const latest = useRef(0);
  // `fresh`: the mapping was just reset (another kind), so take the header's again from the answer.
  const preview = async (target = upload, opts = options(), fresh = false): Promise<void> => {
    if (!target) return;
    const seq = ++latest.current;
    setChecking(true);
    setDry(null);
    try {
      const r = await runCheck(target, opts, 20);
      if (seq !== latest.current) return;
      setCheck(r);
      if (r && !format) setFormat(r.format);
      if (r && (fresh || Object.keys(mapping).length === 0) && !STRUCTURED.includes(r.format)) {
        const header = Object.fromEntries(Object.entries(r.mapping).filter(([, f]) => f !== 'ignore'));
        setMapping(header);
        setAlternatives(r.alternatives);
        // This look used the header's mapping already: it needs no second one.
        shown.current = settingsKey(format || r.format, header);
      }
    } catch (err) {
      if (seq === latest.current) setNote((err as Error).message);
    } finally {
      if (seq === latest.current) setChecking(false);
    }
  };
  // A changed setting shows its effect: the first rows are read again once typing pauses.
  const settingsKey = (f: string = format, m: Record<string, string> = mapping): string => JSON.stringify([f, m, timeUnit, timeZone, timeFormat, decimalComma, service, serviceLabel, metricName, environment]);
  const settings = settingsKey();
  const shown = useRef(settings);
  const pending = useRef<ReturnType<typeof setTimeout> | null>(null);
  useEffect(() => {
    if (settings === shown.current) return;
    shown.current = settings;
    setDry(null);
    if (!upload || !check || sending !== null) return;
    pending.current = setTimeout(() => void preview(), 400);
    return () => clearTimeout(pending.current!);
  }, [settings]); // eslint-disable-line react-hooks/exhaustive-deps -- the settings are the trigger; preview reads the rest when it runs
  /** An import is about to use the upload up: no look at it may start now, and none running is shown. */
  const stopPreviews = (): void => {
    if (pending.current) clearTimeout(pending.current);
    latest.current++;
    setChecking(false);
  };
  const choose = async (f: File | undefined): Promise<void> => {
    if (!f || !client?.transport.upload) return;
    setFile(f);
    setCheck(null);
    setDry(null);
    setNote(null);
    setReportHidden(true);
    // Choices that overwrite or skip stored data are made per file, never carried over to the next.
    setUpdateExisting(false);
    setAccept(false);
    setFormat('');
    setMapping({});
    setAlternatives([]);
    setCarried(new Set(carriedSettings({ timeUnit, timeFormat, timeZone, decimalComma, service, serviceLabel, metricName, environment })));
    const guessed = guessKind(f.name);
    setKind(guessed);
    try {
      setSending(0);
      const u = await client.transport.upload(f, (x) => setSending(x));
      setUpload(u);
      // First look: format from the content; structured formats fix the kind themselves. It reads
      // with the settings kept from the last file, as the import would: the rows shown under a
      // kept time format are the rows that would be stored, not what the file gives without it.
      const kept = reading();
      let r = await runCheck(u, { ...kept, kind: guessed }, 20);
      const wants = r ? FORMAT_KIND[r.format] : undefined;
      if (r && wants && wants !== guessed) {
        setKind(wants);
        r = await runCheck(u, { ...kept, kind: wants }, 20);
      }
      // A kept environment applies to GitHub deployments only, known once the content is.
      if (r && r.format === 'github-deployments' && environment) r = await runCheck(u, { ...kept, kind: FORMAT_KIND[r.format] ?? guessed, format: r.format, environment }, 20);
      setCheck(r);
      if (r) {
        const header = STRUCTURED.includes(r.format) ? {} : Object.fromEntries(Object.entries(r.mapping).filter(([, fld]) => fld !== 'ignore'));
        setFormat(r.format);
        setMapping(header);
        setAlternatives(r.alternatives);
        // What this first look used is on screen already: no second look for it.
        shown.current = settingsKey(r.format, header);
      }
    } catch (err) {
      fail(err);
    } finally {
      setSending(null);
    }
  };
  const onDrop = (e: DragEvent): void => {
    e.preventDefault();
    setDragging(false);
    void choose(e.dataTransfer.files[0]);
  };
  const fields = FIELDS[kind];
  const columns = check?.columns ?? [];
  // A column may feed several fields ("started+detected": a pager export's created_on).
  const fieldsOf = (target: string | undefined): string[] => (target && target !== 'ignore' ? target.split('+') : []);
  const fieldColumn = (field: string): string => Object.entries(mapping).find(([, f]) => fieldsOf(f).includes(field))?.[0] ?? '';
  const setField = (field: string, column: string): void => {
    const previous = fieldColumn(field);
    const next: Record<string, string> = {};
    for (const [c, f] of Object.entries(mapping)) {
      const rest = fieldsOf(f).filter((x) => x !== field);
      if (rest.length > 0) next[c] = rest.join('+');
      else if (f === 'ignore' && c !== column) next[c] = f;
    }
    if (column) next[column] = [...fieldsOf(next[column]), field].join('+');
    // "None" must stay none: a column merely left out would be matched to the field again by its
    // header on the way in, so the one that was mapped is set aside explicitly.
    else if (previous && !next[previous]) next[previous] = 'ignore';
    setMapping(next);
  };
  const structured = check ? STRUCTURED.includes(check.format) : false;
  // The stored row's fields, from the first row that parsed: error rows span all of them.
  const previewColumns = Object.keys(check?.preview.find((p) => p.row)?.row ?? {}).filter((k) => k !== 'kind');
  const labelKeys = check?.format === 'prometheus' ? [...new Set(check.preview.flatMap((p) => Object.keys((p.row?.labels as Record<string, string> | undefined) ?? {})))] : [];
  return (
    <section className="card" data-testid="import-wizard">
      <h2>Import a file</h2>
      <label className={`dropzone${dragging ? ' dragging' : ''}`} data-testid="dropzone" onDragOver={(e) => { e.preventDefault(); setDragging(true); }} onDragLeave={() => setDragging(false)} onDrop={onDrop}>
        <input type="file" data-testid="import-file" accept=".csv,.ndjson,.jsonl,.json,.gz,.txt" onChange={(e) => void choose(e.target.files?.[0])} />
        <span>{file ? <><strong>{file.name}</strong> ({fmtInt(file.size)} bytes)</> : <>Drop a file here — CSV, wide CSV, NDJSON, Prometheus or OTLP JSON, GitHub deployments, Argo CD history; gzip is fine — or click to choose one</>}</span>
      </label>
      {sending !== null && <ProgressBar fraction={sending} label="Uploading" />}
      {check?.notText && <p className="error-text" role="alert" data-testid="import-not-text">{check.message}</p>}
      {check && !check.notText && (
        <>
          <p data-testid="import-detected">Recognised as <strong>{FORMAT_LABEL[check.format]}</strong> holding <strong>{kind}</strong>{structured ? ' — the format names its fields' : ''}.</p>
          <div className="form-row">
            <label>Holds
              <select value={kind} onChange={(e) => {
                const next = e.target.value as RecordKind;
                setKind(next);
                setMapping({});
                shown.current = settingsKey(format, {});
                // Another kind has other fields: read the first rows again as that kind, mapping from the header.
                void preview(upload, { ...options(), kind: next, mapping: {} }, true);
              }} data-testid="import-kind">
                {RECORD_KINDS.map((k) => <option key={k} value={k}>{k}</option>)}
              </select>
            </label>
            <label>Format
              <select value={format} onChange={(e) => setFormat(e.target.value as ImportFormat)} data-testid="import-format">
                {IMPORT_FORMATS.map((f) => <option key={f} value={f}>{FORMAT_LABEL[f]}</option>)}
              </select>
            </label>
            <label>Time unit
              <select value={timeUnit} onChange={(e) => { setTimeUnit(e.target.value as typeof timeUnit); edited('timeUnit'); }} data-testid="import-time-unit">
                {['auto', 's', 'ms', 'us', 'ns'].map((u) => <option key={u} value={u}>{u === 'auto' ? 'auto (numbers by magnitude)' : u}</option>)}
              </select>
              <Kept setting="timeUnit" carried={carried} />
            </label>
            <label title="For dates that are not ISO 8601: date-fns tokens, e.g. MM/dd/yyyy h:mm a or dd.MM.yyyy HH:mm">Time format <input value={timeFormat} onChange={(e) => { setTimeFormat(e.target.value); edited('timeFormat'); }} placeholder="ISO or epoch (auto)" style={{ width: 170 }} data-testid="import-time-format" />
              <Kept setting="timeFormat" carried={carried} /></label>
            {/* Text formats only: the JSON exports carry numbers as numbers. */}
            {['csv', 'wide-csv', 'ndjson'].includes(format || check?.format || 'csv') && (
              <label className="checkbox" title="Numbers written the European way: 1.234,5 is 1234.5"><input type="checkbox" checked={decimalComma} onChange={(e) => { setDecimalComma(e.target.checked); edited('decimalComma'); }} data-testid="import-decimal-comma" /> Decimal comma (1.234,5)<Kept setting="decimalComma" carried={carried} /></label>
            )}
            <label>Time zone <input value={timeZone} onChange={(e) => { setTimeZone(e.target.value); edited('timeZone'); }} placeholder="UTC, +02:00, Europe/Berlin" style={{ width: 170 }} data-testid="import-tz" />
              <Kept setting="timeZone" carried={carried} /></label>
            <label>Service <input value={service} onChange={(e) => { setService(e.target.value); edited('service'); }} placeholder="if the file has none" style={{ width: 130 }} data-testid="import-service" />
              <Kept setting="service" carried={carried} /></label>
            {(format || check.format) === 'wide-csv' && (
              <label title="The column that holds the times; every other column is one metric">Time column
                <select value={fieldColumn('timestamp')} onChange={(e) => setMapping(e.target.value ? { [e.target.value]: 'timestamp' } : {})} data-testid="import-time-column">
                  <option value="">auto (time, timestamp, date…)</option>
                  {columns.map((c) => <option key={c} value={c}>{c}</option>)}
                </select>
              </label>
            )}
            {check.format === 'github-deployments' && (
              <label title="Deploys to staging and production are different events: keep one environment's">Environment
                <input value={environment} onChange={(e) => { setEnvironment(e.target.value); edited('environment'); }} list="import-environments" placeholder="all (e.g. production)" style={{ width: 150 }} data-testid="import-environment" />
                <Kept setting="environment" carried={carried} />
                <datalist id="import-environments">{Object.keys(check.environments).map((name) => <option key={name} value={name} />)}</datalist>
              </label>
            )}
            {check.format === 'prometheus' && (
              <>
                <label>Service label
                  <select value={serviceLabel} onChange={(e) => { setServiceLabel(e.target.value); edited('serviceLabel'); }} data-testid="import-service-label">
                    <option value="">auto (service, job, app, instance)</option>
                    {[...new Set([...labelKeys, 'job', 'instance'])].map((k) => <option key={k} value={k}>{k}</option>)}
                  </select>
                  <Kept setting="serviceLabel" carried={carried} />
                </label>
                <label>Metric name <input value={metricName} onChange={(e) => { setMetricName(e.target.value); edited('metricName'); }} placeholder="for series without __name__" style={{ width: 150 }} data-testid="import-metric-name" />
                  <Kept setting="metricName" carried={carried} /></label>
              </>
            )}
          </div>
          {!structured && (
            <table className="table mapping" data-testid="import-mapping">
              <thead><tr><th>Field</th><th>Column</th><th /></tr></thead>
              <tbody>
                {fields.map((f) => (
                  <tr key={f.name}>
                    <td>{f.name}{f.required ? ' *' : ''}</td>
                    <td>
                      <select value={fieldColumn(f.name)} onChange={(e) => setField(f.name, e.target.value)} data-testid={`map-${f.name}`} aria-label={`Column for ${f.name}`}>
                        <option value="">{f.required ? '— choose —' : '— none —'}</option>
                        {columns.map((c) => <option key={c} value={c}>{c}</option>)}
                      </select>
                    </td>
                    <td className="muted small">
                      {f.description}
                      {(() => {
                        // Picked by its name while other columns could also be this field (ServiceNow's priority and severity).
                        const alt = alternatives.find((a) => a.field === f.name && a.column === fieldColumn(f.name));
                        return alt ? <div className="map-alternative" data-testid={`map-alternative-${f.name}`}>Chosen by its name; {alt.others.map((c) => `“${c}”`).join(', ')} could also be it.</div> : null;
                      })()}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <div className="form-row">
            <button disabled={checking} onClick={() => void preview()} data-testid="import-recheck">{checking ? 'Reading…' : 'Apply and preview'}</button>
            <button disabled={checking || !upload} data-testid="import-dry-run" onClick={() => {
              if (!upload) return;
              setChecking(true);
              void runCheck(upload, options(), 0).then(setDry).catch((err: Error) => setNote(err.message)).finally(() => setChecking(false));
            }}>Dry run (whole file)</button>
            <label className="checkbox"><input type="checkbox" checked={acceptValidRows} onChange={(e) => { setAccept(e.target.checked); setDry(null); }} /> Accept valid rows (skip bad ones)</label>
            {(kind === 'changes' || kind === 'incidents') && (
              <label className="checkbox" title="An incident resolved or a change rolled back since the last export: take the file's values. Off: the stored rows are kept and listed.">
                <input type="checkbox" checked={updateExisting} onChange={(e) => setUpdateExisting(e.target.checked)} data-testid="import-update-existing" /> Update rows stored with other values
              </label>
            )}
            <button className="primary" disabled={!upload || job?.state === 'running'} data-testid="import-start" onClick={() => {
              if (!upload) return;
              stopPreviews();
              // The dry run's verdict was for the options then; the import's own report replaces it.
              setDry(null);
              setReportHidden(false);
              importedFrom.current = upload.uploadId;
              void importUpload(upload, options());
            }}>Import</button>
            <input value={mappingName} onChange={(e) => setMappingName(e.target.value)} placeholder="mapping name" aria-label="Mapping name" style={{ width: 130 }} data-testid="mapping-name" />
            <button disabled={!mappingName || !client} data-testid="mapping-save" onClick={() => {
              const { acceptValidRows: _a, updateExisting: _u, ...rest } = options();
              void client!.call('mappings.save', { name: mappingName, options: rest }).then((m) => setNote(`Saved mapping ${m.name} v${m.version}: use it with import --mapping ${m.name}`)).catch((err: Error) => setNote(err.message));
            }}>Save mapping</button>
          </div>
          {check.status === 'refused' && <p className="error-text" data-testid="import-check-error">{check.message}</p>}
          {note && <p className="muted" data-testid="import-note">{note}</p>}
          {dry && <p className={dry.rowsRejected > 0 ? 'error-text' : 'muted'} data-testid="import-dry-result">{dry.message}</p>}
          {dry && dry.rejected.length > 0 && <ul className="plain small">{dry.rejected.slice(0, 10).map((r, i) => <li key={i}>line {r.line}: {r.reason}</li>)}</ul>}
          <h3>First rows as they will be stored</h3>
          <div className="table-scroll">
            <table className="table" data-testid="import-preview">
              <thead><tr><th>Line</th>{previewColumns.map((k) => <th key={k}>{k}</th>)}</tr></thead>
              <tbody>
                {check.preview.map((p, i) => (
                  <tr key={i} className={p.error ? 'error-row' : ''}>
                    <td>{p.line}</td>
                    {p.row ? Object.entries(p.row).filter(([k]) => k !== 'kind').map(([k, v]) => <td key={k}>{(k === 'ts' || k.endsWith('Ts')) && typeof v === 'number' ? new Date(v).toISOString() : cell(v)}</td>) : <td colSpan={Math.max(1, previewColumns.length)} className="error-text">{p.error}</td>}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
      {file && !file.name.endsWith('.json') && !check?.notText && <PiiPreview file={file} />}
      <p className="muted small">By default a file with any bad row is refused whole, with the line numbers, so nothing half-imported lands. Importing the same file twice adds nothing. Live Prometheus imports: <code>shadowbench import --prometheus URL --query PROMQL</code>.</p>
      {uploadProgress !== null && <ProgressBar fraction={uploadProgress} label="Uploading" />}
      {job && job.state !== 'done' && <JobProgress job={job} />}
      {job?.state === 'failed' && <p className="error-text">{job.error?.message}</p>}
      {report && !reportHidden && <ImportReportView report={report} />}
    </section>
  );
}

/**
 * Undoing an import (a wrong time zone, the wrong file): asked twice, refused by the engine with
 * its reason where it cannot be undone exactly. Telemetry and services say so before anyone clicks.
 */
function SourceActions({ source, onDeleted }: { source: Source; onDeleted: (text: string) => void }) {
  const deleteSource = useStore((s) => s.deleteSource);
  const [asking, setAsking] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  if (source.kind === 'telemetry' || source.kind === 'services') {
    return <p className="muted small" data-testid="source-undo">{source.kind === 'telemetry'
      ? 'A telemetry import cannot be undone here: points are stored once per series and time, whichever import brought them, so which came from this file is not recorded. Restore a backup taken before it.'
      : 'A services import cannot be undone: the catalogue is merged from every services file. Import a corrected file instead.'}</p>;
  }
  const confirm = async (): Promise<void> => {
    setBusy(true);
    try {
      onDeleted(await deleteSource(source.id));
    } catch (err) {
      setError(messageOf(err));
      setAsking(false);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="form-row" data-testid="source-undo">
      {!asking && <button type="button" onClick={() => { setAsking(true); setError(null); }} data-testid="source-delete">Delete this import…</button>}
      {asking && (
        <>
          <span>Remove what {source.fileName} brought in ({fmtInt(source.rowsAccepted)} {source.rowsAccepted === 1 ? 'row' : 'rows'} of {source.kind}; rows a later import replaced stay)?</span>
          <button type="button" className="danger" disabled={busy} onClick={() => void confirm()} data-testid="source-delete-confirm">Delete</button>
          <button type="button" disabled={busy} onClick={() => setAsking(false)}>Keep</button>
        </>
      )}
      {error && <p className="error-text" role="alert" data-testid="source-delete-error">{error}</p>}
    </div>
  );
}

export function Data() {
  const { sources, workspace } = useStore();
  const [open, setOpen] = useState<number | null>(null);
  const [done, setDone] = useState<string | null>(null);
  if (!workspace) return <NoWorkspace />;
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
              <tr key={s.id} className={`clickable${open === s.id ? ' selected' : ''}`} onClick={() => setOpen(open === s.id ? null : s.id)}
                tabIndex={0} aria-expanded={open === s.id} onKeyDown={(e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); setOpen(open === s.id ? null : s.id); } }}>
                <td>{s.id}</td><td>{s.fileName}</td><td>{s.kind}</td><td className="num">{fmtInt(s.rowsAccepted)}</td><td className="num">{fmtInt(s.rowsRejected)}</td><td>{fmtTime(s.importedAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {done && <p className="muted" role="status" data-testid="source-deleted">{done}</p>}
        {selected && <SourceActions key={selected.id} source={selected} onDeleted={(text) => { setDone(text); setOpen(null); }} />}
        {selected && <ImportReportView report={selected.report} />}
      </section>
    </div>
  );
}
