import type { ImportReport } from '../../../shared/contract/records.js';
import { fmtBytes, fmtInt } from '../format.js';

const STATUS_TEXT: Record<ImportReport['status'], string> = {
  imported: 'Imported', refused: 'Refused', 'duplicate-file': 'Already imported', cancelled: 'Cancelled', checked: 'Checked (nothing written)',
};

export function ImportReportView({ report }: { report: ImportReport }) {
  return (
    <div className={`report report-${report.status}`} data-testid="import-report">
      <div className="report-head">
        <span className={`badge badge-${report.status}`}>{STATUS_TEXT[report.status]}</span>
        <span className="report-message">{report.message}</span>
      </div>
      <dl className="report-stats">
        <div><dt>Kind</dt><dd>{report.kind} · {report.format}</dd></div>
        <div><dt>Rows read</dt><dd>{fmtInt(report.rowsRead)}</dd></div>
        <div><dt>Accepted</dt><dd>{fmtInt(report.rowsAccepted)}</dd></div>
        <div><dt>Rejected</dt><dd>{fmtInt(report.rowsRejected)}</dd></div>
        <div><dt>Already present</dt><dd>{fmtInt(report.duplicatesSkipped)}</dd></div>
        {report.samplesWithoutValue > 0 && <div title="NaN, ±Inf or no recorded value: left out, as gaps"><dt>No number (gaps)</dt><dd data-testid="import-gaps">{fmtInt(report.samplesWithoutValue)}</dd></div>}
        {report.rowsConflicting > 0 && <div title={report.conflictsUpdated ? 'Already imported with other values: updated to the file\'s' : 'Already imported with other values: kept as stored'}><dt>{report.conflictsUpdated ? 'Updated' : 'Stored differently'}</dt><dd data-testid="import-conflicting">{fmtInt(report.rowsConflicting)}</dd></div>}
        {report.detectedBeforeStart.count > 0 && <div title={`Detected before started (line${report.detectedBeforeStart.lines.length > 1 ? 's' : ''} ${report.detectedBeforeStart.lines.join(', ')}): kept as given — an alert can lead the impact, but check the columns' time zone`}><dt>Detected before start</dt><dd data-testid="import-early">{fmtInt(report.detectedBeforeStart.count)}</dd></div>}
        {Object.keys(report.environments).length > 0 && <div title="GitHub deployments in the file, by environment"><dt>Environments</dt><dd data-testid="import-environments">{Object.entries(report.environments).map(([name, n]) => `${name} ${fmtInt(n)}`).join(' · ')}</dd></div>}
        <div><dt>Size</dt><dd>{fmtBytes(report.bytes)}</dd></div>
        <div><dt>Took</dt><dd>{(report.durationMs / 1000).toFixed(1)} s</dd></div>
      </dl>
      {Object.keys(report.mapping).length > 0 && (
        <p className="muted small">Mapping: {Object.entries(report.mapping).map(([c, f]) => `${c} → ${f}`).join(', ')}</p>
      )}
      {(Object.keys(report.redactions).length > 0 || report.droppedColumns.length > 0) && (
        <p className="small" data-testid="import-redactions">PII: {Object.entries(report.redactions).map(([k, v]) => `${fmtInt(v)} ${k}`).join(', ') || 'nothing redacted'}{report.droppedColumns.length > 0 ? `; columns dropped: ${report.droppedColumns.join(', ')}` : ''}</p>
      )}
      {report.conflicts.length > 0 && (
        <table className="table compact" data-testid="import-conflicts">
          <thead><tr><th>{report.conflictsUpdated ? (report.status === 'checked' ? 'Already stored, would be updated' : 'Already stored, updated') : 'Already stored, kept as it was'}</th><th>The file differs in</th><th>Stored by</th></tr></thead>
          <tbody>{report.conflicts.map((c, i) => <tr key={i}><td>{c.kind === 'changes' ? 'change' : 'incident'} {c.id}</td><td>{c.fields.join(', ')}</td><td>source #{c.sourceId}</td></tr>)}</tbody>
        </table>
      )}
      {report.rejected.length > 0 && (
        <table className="table compact" data-testid="rejected-rows">
          <thead><tr><th>Line</th><th>Why it was rejected</th></tr></thead>
          <tbody>{report.rejected.map((r, i) => <tr key={i}><td className="num">{r.line}</td><td>{r.reason}</td></tr>)}</tbody>
        </table>
      )}
      {report.rowsRejected > report.rejected.length && <p className="muted small">Showing the first {report.rejected.length} of {fmtInt(report.rowsRejected)} rejected rows.</p>}
    </div>
  );
}
