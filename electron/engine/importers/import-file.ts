import crypto from 'node:crypto';
import fs from 'node:fs';
import zlib from 'node:zlib';
import type { Readable } from 'node:stream';
import { FORMAT_KIND, type ImportFormat, type ImportReport, type RejectedRow } from '../../../shared/contract/records.js';
import type { ImportOptions } from '../../../shared/contract/methods.js';
import { mapColumns, type ColumnMapping } from '../../../shared/domain/fields.js';
import { normaliseRow, type NormalRow } from '../../../shared/domain/normalize.js';
import { isTimeZone } from '../../../shared/domain/time.js';
import { binaryProblem, prometheusHeadProblem } from './sniff.js';
import { BUILTIN_RULES, compileRule, makeScrubber, scrubRow, type PiiRule, type Scrubber } from '../../../shared/domain/pii.js';
import { keyedHash, piiSettings, workspaceKey } from '../pii/settings.js';
import { openWorkspace } from '../db/workspace.js';
import { EngineFailure } from '../errors.js';
import type { JobContext } from '../jobs/jobs.js';
import { csvReader } from './csv.js';
import { ndjsonReader } from './ndjson.js';
import { argoHistoryReader, githubDeploymentsReader, otlpReader, prometheusReader, type CanonicalReader, type CanonicalRow } from './json-docs.js';
import { wideCsvReader } from './wide-csv.js';
import type { RecordReader } from './reader.js';
import { createWriter } from './writer.js';

export interface ImportRequest extends Omit<ImportOptions, 'piiRules' | 'dropColumns' | 'dryRun' | 'previewRows'> {
  dryRun?: boolean | undefined;
  previewRows?: number | undefined;
  workspacePath: string;
  filePath: string;
  /** Name shown in reports; the upload's original name in serve mode. */
  fileName: string;
  defaultService?: string;
  /** extra PII rules and columns to drop for this import (the workspace's settings apply too) */
  piiRules?: readonly { name: string; pattern: string }[];
  dropColumns?: readonly string[];
}

const BATCH = 4096; // a multiple of the writer's rows per INSERT
const KEEP_REJECTED = 100;

/**
 * The format, from the content first (an export's first bytes say what produced it), then the
 * file name. A CSV whose header is a time column and only metric names is a wide telemetry export.
 */
export function detectFormat(fileName: string, head: Buffer, kind?: string): ImportFormat {
  const text = head.toString('utf8').replace(/^\uFEFF/, '').trimStart();
  const compact = text.slice(0, 2000).replace(/\s+/g, '');
  if (/^\{"status":"(success|error)"/.test(compact) || /^\{"data":\{"resultType"/.test(compact)) return 'prometheus';
  if (/^\{"resourceMetrics"/.test(compact)) return 'otlp';
  if (/^\[\{"url":"https:\/\/api\.github\.com\/repos\/[^"]+\/deployments\//.test(compact) || (/^\[\{/.test(compact) && /"sha":/.test(compact) && /"environment":/.test(compact))) return 'github-deployments';
  if (/"apiVersion":"argoproj\.io\//.test(compact) || /^\{"items":\[\{"metadata"/.test(compact) && /"history":/.test(compact)) return 'argocd';
  const name = fileName.toLowerCase().replace(/\.gz$/, '');
  if (/\.(ndjson|jsonl)$/.test(name) || text[0] === '{') return 'ndjson';
  if (kind === 'telemetry' && isWideHeader(text.split(/\r?\n/)[0] ?? '')) return 'wide-csv';
  return 'csv';
}

/** A header with a time column, no service/metric/value columns, and at least one other: one column per metric. */
function isWideHeader(line: string): boolean {
  // The separator the line uses most (comma, semicolon or tab), as the CSV reader will guess it.
  const separator = [',', ';', '\t'].reduce((best, d) => (line.split(d).length > line.split(best).length ? d : best), ',');
  const cells = line.split(separator).map((c) => c.trim().replace(/^"|"$/g, '').toLowerCase());
  const time = cells.filter((c) => ['time', 'timestamp', 'ts', 'date', 'datetime'].includes(c));
  return time.length === 1 && cells.length >= 2 && !cells.some((c) => ['service', 'metric', 'value', 'metric_name', 'service_name'].includes(c));
}

/** Row fields as the file's columns call them, for messages. */
const FIELD_NAMES: Record<string, string> = {
  ts: 'timestamp', changeKind: 'kind', rolledBack: 'rolled_back', startedTs: 'started', detectedTs: 'detected',
  mitigatedTs: 'mitigated', resolvedTs: 'resolved', causeChangeId: 'cause_change_id',
};

/** The report's words for samples left as gaps, if there were any. */
function gapsNote(report: ImportReport): string {
  const n = report.samplesWithoutValue;
  return n > 0 ? `, ${n.toLocaleString('en-US')} sample${n === 1 ? '' : 's'} without a number (NaN, ±Inf, no recorded value) left as gaps` : '';
}

function isGzip(head: Buffer): boolean {
  return head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
}

function readHead(filePath: string, gunzip: boolean): Buffer {
  const fd = fs.openSync(filePath, 'r');
  try {
    const buf = Buffer.alloc(4096);
    const head = buf.subarray(0, fs.readSync(fd, buf, 0, buf.length, 0));
    if (!gunzip) return head;
    try {
      // Only enough of the stream to sniff the format: Z_SYNC_FLUSH returns what the first bytes
      // decode to instead of insisting on a complete stream.
      return zlib.gunzipSync(head, { finishFlush: zlib.constants.Z_SYNC_FLUSH });
    } catch {
      return Buffer.alloc(0);
    }
  } finally {
    fs.closeSync(fd);
  }
}

export async function importFile(request: ImportRequest, job: JobContext): Promise<ImportReport> {
  const started = Date.now();
  const stat = statFile(request.filePath);
  const gzip = isGzip(readHead(request.filePath, false));
  const head = readHead(request.filePath, gzip);
  const format = request.format ?? detectFormat(request.fileName, head, request.kind);
  const report: ImportReport = {
    status: 'refused', sourceId: null, kind: request.kind, format, fileName: request.fileName, sha256: '', bytes: stat.size,
    rowsRead: 0, rowsAccepted: 0, rowsRejected: 0, duplicatesSkipped: 0, samplesWithoutValue: 0, notText: false, rejected: [], mapping: {}, redactions: {}, droppedColumns: [], message: '', durationMs: 0,
    columns: [], preview: [],
  };
  const previewing = request.dryRun === true && (request.previewRows ?? 0) > 0;
  const seenColumns = new Set<string>();
  const previewRow = (line: number, result: { ok: true; row: NormalRow } | { ok: false; reason: string }): void => {
    if (!previewing || report.preview.length >= request.previewRows!) return;
    report.preview.push(result.ok ? { line, row: result.row as unknown as Record<string, unknown> } : { line, error: result.reason });
  };
  const finish = (status: ImportReport['status'], message: string): ImportReport => {
    report.status = status;
    report.message = message;
    report.durationMs = Date.now() - started;
    return report;
  };

  const hash = crypto.createHash('sha256');
  let bytesRead = 0;
  const raw = fs.createReadStream(request.filePath, { highWaterMark: 256 * 1024 });
  raw.on('data', (chunk) => {
    hash.update(chunk as Buffer);
    bytesRead += (chunk as Buffer).length;
  });
  let input: Readable = raw;
  if (gzip) {
    const gunzip = zlib.createGunzip();
    raw.on('error', (err) => gunzip.destroy(err));
    input = raw.pipe(gunzip);
  }
  const wants = FORMAT_KIND[format];
  if (wants && wants !== request.kind) {
    raw.destroy();
    return finish('refused', `${request.fileName} is a ${format} export, which holds ${wants}; import it as --kind ${wants}, not ${request.kind}`);
  }
  if (request.timeZone !== undefined && !isTimeZone(request.timeZone)) {
    raw.destroy();
    return finish('refused', `${request.fileName}: unknown time zone "${request.timeZone}": use UTC, an offset like +02:00, or a name like Europe/Berlin`);
  }
  const notText = binaryProblem(head);
  report.notText = notText !== null;
  const problem = notText ?? (format === 'prometheus' ? prometheusHeadProblem(head) : null);
  if (problem) {
    raw.destroy();
    return finish('refused', `${request.fileName}: ${problem}`);
  }
  const readerOptions = { serviceLabel: request.serviceLabel, metricName: request.metricName, defaultService: request.defaultService };
  const reader: RecordReader | CanonicalReader = format === 'csv' ? csvReader(input)
    : format === 'wide-csv' ? wideCsvReader(input, readerOptions)
    : format === 'prometheus' ? prometheusReader(input, readerOptions)
    : format === 'otlp' ? otlpReader(input, readerOptions)
    : format === 'github-deployments' ? githubDeploymentsReader(input, readerOptions)
    : format === 'argocd' ? argoHistoryReader(input, readerOptions)
    : ndjsonReader(input);
  const canonical = 'canonical' in reader;
  // PII scrubbing: settings and key come from the workspace; nothing unscrubbed reaches a table,
  // the report's quoted values included.
  let scrubber: Scrubber;
  let drop: Set<string>;
  {
    const settingsDb = openWorkspace(request.workspacePath, { skipIntegrityCheck: true });
    try {
      const settings = piiSettings(settingsDb);
      drop = new Set([...settings.dropColumns, ...(request.dropColumns ?? [])]);
      let rules: PiiRule[];
      try {
        rules = [...BUILTIN_RULES, ...[...settings.rules, ...(request.piiRules ?? [])].map(compileRule)];
      } catch (err) {
        raw.destroy();
        return finish('refused', `${request.fileName}: PII rule ${(err as Error).message}`);
      }
      scrubber = makeScrubber(rules, keyedHash(workspaceKey(settingsDb)));
    } finally {
      settingsDb.close();
    }
  }
  const reject = (row: RejectedRow): void => {
    if (previewing && report.preview.length < request.previewRows!) report.preview.push({ line: row.line, error: scrubber.text(row.reason) });
    report.rowsRejected++;
    if (report.rejected.length < KEEP_REJECTED) report.rejected.push({ ...row, reason: scrubber.text(row.reason) });
  };

  let columns: string[] | null;
  try {
    columns = await reader.columns();
  } catch (err) {
    raw.destroy();
    return finish('refused', `${request.fileName}: ${readError(err)}`);
  }
  // Two columns with one name (CSV and wide CSV): every row would have to pick one of them, silently.
  const twice = columns ? columns.findIndex((c, i) => c !== '' && columns!.indexOf(c) !== i) : -1;
  if (columns && twice >= 0) {
    raw.destroy();
    return finish('refused', `${request.fileName}: the header names column "${columns[twice]}" twice (columns ${columns.indexOf(columns[twice]!) + 1} and ${twice + 1}); rename one so each column means one thing`);
  }
  let fixedMapping: ColumnMapping | null = null;
  let fixedCells: { fields: [number, string][]; extra: [number, string][] } | null = null;
  if (format === 'csv' && !canonical) {
    if (!columns) {
      raw.destroy();
      return finish('refused', `${request.fileName} is empty: no header row`);
    }
    report.columns = [...columns];
    report.droppedColumns = columns.filter((c) => drop.has(c));
    columns = columns.filter((c) => !drop.has(c));
    const mapped = mapColumns(request.kind, columns, request.mapping);
    if ('error' in mapped) {
      raw.destroy();
      return finish('refused', `${request.fileName}: ${mapped.error}`);
    }
    const missing = mapped.missing.filter((f) => !(f === 'service' && request.defaultService));
    if (missing.length > 0) {
      raw.destroy();
      return finish('refused', `${request.fileName}: no column for required field${missing.length > 1 ? 's' : ''} ${missing.join(', ')} (columns: ${columns.join(', ')}). Map one with --map COLUMN=FIELD.`);
    }
    fixedMapping = mapped;
    report.mapping = Object.fromEntries(mapped.toField);
    // Cells by index, as the CSV reader hands them over (a repeated header name: its last column, as in `values`).
    fixedCells = { fields: [...mapped.toField].map(([column, field]) => [report.columns.lastIndexOf(column), field]), extra: mapped.extra.map((column) => [report.columns.lastIndexOf(column), column]) };
  }
  const keyMappings = new Map<string, ColumnMapping | { error: string }>();
  const fixedFields: Record<string, unknown> = {};
  const fixedExtra: Record<string, unknown> = {};

  const db = openWorkspace(request.workspacePath);
  let open = false;
  try {
    // The writer creates every service and series before the rows that point at them, inside this
    // transaction; checking each point's foreign key again costs a third of the insert time.
    db.pragma('foreign_keys = OFF');
    db.exec('BEGIN IMMEDIATE');
    open = true;
    const sourceId = Number(db.prepare(`INSERT INTO sources (kind, format, file_name, sha256, byte_size, rows_accepted, rows_rejected, options, report, imported_at)
      VALUES (?, ?, ?, ?, ?, 0, 0, '{}', '{}', ?)`).run(request.kind, format, request.fileName, `pending-${job.id}`, stat.size, Date.now()).lastInsertRowid);
    const writer = createWriter(db, sourceId);
    let batch: NormalRow[] = [];
    let lastLine = 0;
    const flush = (): void => {
      for (const row of batch) writer.write(row);
      const { added, duplicates } = writer.flush();
      report.rowsAccepted += added;
      report.duplicatesSkipped += duplicates;
      batch = [];
    };
    const normaliseOptions = { time: { unit: request.timeUnit, ...(request.timeZone ? { timeZone: request.timeZone } : {}) }, ...(request.defaultService ? { defaultService: request.defaultService } : {}) };
    // Prometheus and OTLP times arrive as epoch ms; GitHub and Argo CD give ISO 8601 with an offset.
    const canonicalOptions = format === 'prometheus' || format === 'otlp' ? { ...normaliseOptions, time: { unit: 'ms' as const } } : normaliseOptions;
    if (canonical) report.mapping = { [format]: 'fields named by the format' };
    // Changes and incidents are keyed by their id: the same id twice in one file with different
    // values is a conflict (a commit SHA used as the id of two deploys, say), not a duplicate, and
    // the second would otherwise vanish as "already present". Identical repeats stay duplicates.
    // Each id keeps its first row as JSON text (a few hundred bytes; objects would cost several times that).
    const seenIds = new Map<string, { line: number; json: string }>();
    const conflict = (line: number, row: NormalRow): string | null => {
      if (row.kind !== 'changes' && row.kind !== 'incidents') return null;
      const json = JSON.stringify(row);
      const first = seenIds.get(row.externalId);
      if (!first) {
        seenIds.set(row.externalId, { line, json });
        return null;
      }
      if (json === first.json) return null;
      const fields = row as unknown as Record<string, unknown>;
      const before = JSON.parse(first.json) as Record<string, unknown>;
      const differ = Object.keys(fields).filter((k) => JSON.stringify(fields[k]) !== JSON.stringify(before[k])).map((k) => FIELD_NAMES[k] ?? k);
      return `${row.kind === 'changes' ? 'change' : 'incident'} ${row.externalId} is already at line ${first.line} of this file with a different ${differ.join(', ')}; ids must be unique${row.kind === 'changes' ? ' (a redeploy of one commit needs its own id)' : ''}`;
    };
    /** A row that normalised (or not): scrubbed, previewed, and written in batches. */
    const accept = (line: number, result: ReturnType<typeof normaliseRow>): void => {
      if (!result.ok) return reject({ line, reason: result.reason });
      const clash = conflict(line, result.row);
      if (clash) return reject({ line, reason: clash });
      const scrubbed = scrubRow(result.row, scrubber);
      previewRow(line, { ok: true, row: scrubbed });
      // Once a strict import has a bad row it will be refused: keep reading to report every bad
      // line, but stop writing. A dry run writes (and rolls back) to count duplicates too.
      if (report.rowsRejected > 0 && !request.acceptValidRows && !request.dryRun) return;
      batch.push(scrubbed);
      if (batch.length >= BATCH) {
        flush();
        job.throwIfCancelled();
        job.progress({ fraction: stat.size > 0 ? Math.min(1, bytesRead / stat.size) : null, message: `${report.rowsRead.toLocaleString('en-US')} rows read`, rows: report.rowsRead });
      }
    };
    let streamError: string | null = null;
    try {
      reading: for await (const rows of reader.batches()) {
        for (const rawRow of rows) {
          if (previewing && report.rowsRead >= request.previewRows!) break reading;
          report.rowsRead++;
          lastLine = rawRow.line;
          if (rawRow.error !== undefined) {
            reject({ line: rawRow.line, reason: rawRow.error });
            continue;
          }
          let mapping = fixedMapping;
          if (canonical) {
            if ((rawRow as CanonicalRow).gap !== undefined) {
              // A sample the source itself says has no number: a gap in the series, not a bad row.
              report.samplesWithoutValue++;
              continue;
            }
            // The format named its fields; its labels (or attributes) ride apart and are never mapped.
            const extra = { ...((rawRow as CanonicalRow).extra ?? {}) };
            for (const d of drop) delete extra[d];
            for (const k of [...Object.keys(rawRow.values), ...Object.keys(extra)]) if (seenColumns.size < 200) seenColumns.add(k);
            accept(rawRow.line, normaliseRow(request.kind, rawRow.values, extra, canonicalOptions));
            continue;
          }
          if (!mapping) {
            for (const d of drop) {
              if (d in rawRow.values) {
                delete rawRow.values[d];
                if (!report.droppedColumns.includes(d)) report.droppedColumns.push(d);
              }
            }
            const keys = Object.keys(rawRow.values);
            const signature = keys.join('\u0000');
            let found = keyMappings.get(signature);
            if (!found) {
              found = mapColumns(request.kind, keys, Object.fromEntries(Object.entries(request.mapping).filter(([k]) => keys.includes(k))));
              keyMappings.set(signature, found);
            }
            if ('error' in found) {
              reject({ line: rawRow.line, reason: found.error });
              continue;
            }
            mapping = found;
            for (const [k, v] of mapping.toField) report.mapping[k] = v;
          }
          // With one mapping for the whole file, two objects serve every row (normaliseRow keeps
          // nothing of them): millions of rows, no garbage from here.
          let fields: Record<string, unknown>;
          let extra: Record<string, unknown>;
          if (mapping === fixedMapping && fixedCells && rawRow.cells) {
            fields = fixedFields;
            extra = fixedExtra;
            const cells = rawRow.cells;
            for (const [i, field] of fixedCells.fields) fields[field] = cells[i];
            for (const [i, column] of fixedCells.extra) extra[column] = cells[i];
          } else {
            fields = {};
            extra = {};
            for (const [column, field] of mapping.toField) fields[field] = rawRow.values[column];
            for (const column of mapping.extra) extra[column] = rawRow.values[column];
          }
          if (!fixedMapping) for (const k of Object.keys(rawRow.values)) if (seenColumns.size < 200) seenColumns.add(k);
          accept(rawRow.line, normaliseRow(request.kind, fields, extra, normaliseOptions));
        }
      }
    } catch (err) {
      if (job.cancelled) throw err;
      streamError = readError(err);
    }
    job.throwIfCancelled();
    if (streamError !== null) {
      reject({ line: lastLine + 1, reason: `the file ends early or cannot be read: ${streamError}` });
    }
    if (report.columns.length === 0) report.columns = [...seenColumns];
    if (request.dryRun) {
      flush();
      db.exec('ROLLBACK');
      open = false;
      report.redactions = { ...scrubber.counts };
      const strict = report.rowsRejected > 0 && !request.acceptValidRows;
      return finish('checked', `${request.fileName} (${format}): ${previewing ? `first ${report.rowsRead} rows: ` : ''}${report.rowsAccepted.toLocaleString('en-US')} rows would be imported` +
        (report.duplicatesSkipped > 0 ? `, ${report.duplicatesSkipped.toLocaleString('en-US')} are already there` : '') +
        gapsNote(report) +
        (report.rowsRejected > 0 ? `, ${report.rowsRejected.toLocaleString('en-US')} rejected (first at line ${report.rejected[0]?.line}: ${report.rejected[0]?.reason})${strict ? '; as it stands the file would be refused whole — fix those rows or accept valid rows' : ''}` : ''));
    }
    if (report.rowsRejected > 0 && !request.acceptValidRows) {
      db.exec('ROLLBACK');
      open = false;
      return finish('refused', `${request.fileName}: refused, ${report.rowsRejected} bad row${report.rowsRejected > 1 ? 's' : ''} (first at line ${report.rejected[0]?.line}: ${report.rejected[0]?.reason}). Nothing was imported; fix the rows or import with "accept valid rows".`);
    }
    flush();
    report.sha256 = hash.digest('hex');
    report.redactions = { ...scrubber.counts };
    const existing = db.prepare('SELECT id FROM sources WHERE kind = ? AND sha256 = ?').pluck().get(request.kind, report.sha256) as number | undefined;
    if (existing !== undefined) {
      db.exec('ROLLBACK');
      open = false;
      report.rowsAccepted = 0;
      report.sourceId = existing;
      return finish('duplicate-file', `${request.fileName} was already imported (source #${existing}); nothing was added`);
    }
    const touched = writer.touchedSeries();
    let refreshed = 0;
    for (const seriesId of touched.keys()) {
      writer.writeRollups(seriesId);
      job.throwIfCancelled();
      job.progress({ fraction: 1, message: `summarising series ${++refreshed} of ${touched.size} for the timeline` });
    }
    report.sourceId = sourceId;
    finish('imported', `${request.fileName}: ${report.rowsAccepted.toLocaleString('en-US')} rows imported` +
      (report.duplicatesSkipped > 0 ? `, ${report.duplicatesSkipped.toLocaleString('en-US')} already present` : '') +
      gapsNote(report) +
      (report.rowsRejected > 0 ? `, ${report.rowsRejected.toLocaleString('en-US')} bad rows skipped` : ''));
    db.prepare('UPDATE sources SET sha256 = ?, rows_accepted = ?, rows_rejected = ?, options = ?, report = ? WHERE id = ?').run(
      report.sha256, report.rowsAccepted, report.rowsRejected,
      JSON.stringify({ kind: request.kind, format, mapping: request.mapping, timeUnit: request.timeUnit, timeZone: request.timeZone ?? null, acceptValidRows: request.acceptValidRows }),
      JSON.stringify(report), sourceId);
    db.exec('COMMIT');
    open = false;
    return report;
  } catch (err) {
    if (job.cancelled) {
      report.rowsAccepted = 0;
      finish('cancelled', `${request.fileName}: cancelled; nothing was imported`);
    }
    throw err;
  } finally {
    if (open) db.exec('ROLLBACK');
    db.close();
    raw.destroy();
  }
}

function statFile(filePath: string): fs.Stats {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(filePath);
  } catch {
    throw new EngineFailure('input_error', `Cannot read ${filePath}: no such file`);
  }
  if (!stat.isFile()) throw new EngineFailure('input_error', `${filePath} is not a regular file`);
  return stat;
}

function readError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e?.code === 'Z_BUF_ERROR' || /unexpected end of file/i.test(e?.message ?? '')) return 'truncated gzip stream (unexpected end of file)';
  if (e?.code?.startsWith('Z_')) return `corrupt gzip stream (${e.message})`;
  return e?.message ?? String(err);
}
