import fs from 'node:fs';
import zlib from 'node:zlib';
import { FORMAT_KIND, type ImportFormat, type ImportReport } from '../../../shared/contract/records.js';
import type { ImportOptions } from '../../../shared/contract/methods.js';
import { zoneNameProblem, timeFormatProblem } from '../../../shared/domain/time.js';
import { guessDelimiter, guessNewline } from './csv.js';
import { binaryProblem, prometheusHeadProblem } from './sniff.js';
import { piiSettings, scrubForLog, workspaceKey } from '../pii/settings.js';
import { openWorkspace } from '../db/workspace.js';
import { EngineFailure } from '../errors.js';
import type { JobContext } from '../jobs/jobs.js';
import { readFile, type ReadProgress, type ReadRequest, type ReadSink } from './read-file.js';
import type { WriteInit } from './write-side.js';
import { inlineChannel, startWriterThread, type WriteChannel, type WriterThread } from './write-thread.js';

export interface ImportRequest extends Omit<ImportOptions, 'piiRules' | 'dropColumns' | 'dryRun' | 'previewRows' | 'updateExisting' | 'decimalComma'> {
  updateExisting?: boolean | undefined;
  decimalComma?: boolean | undefined;
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
  /** Write on a worker thread: by default when the file is big enough to pay for starting one. */
  writeOnThread?: boolean;
}

/**
 * The format, from the content first (an export's first bytes say what produced it), then the
 * file name. A CSV whose header is a time column and only metric names is a wide telemetry export.
 */
export function detectFormat(fileName: string, head: Buffer, kind?: string): ImportFormat {
  const text = head.toString('utf8').replace(/^\uFEFF/, '').trimStart();
  const compact = text.slice(0, 2000).replace(/\s+/g, '');
  if (/^\{"status":"(success|error)"/.test(compact) || /^\{"data":\{"resultType"/.test(compact)) return 'prometheus';
  if (/^\{"resourceMetrics"/.test(compact)) return 'otlp';
  if (/^\[\[?\{"url":"https:\/\/api\.github\.com\/repos\/[^"]+\/deployments\//.test(compact) || (/^\[\{/.test(compact) && /"sha":/.test(compact) && /"environment":/.test(compact))) return 'github-deployments';
  if (/"apiVersion":"argoproj\.io\//.test(compact) || /^\{"items":\[\{"metadata"/.test(compact) && /"history":/.test(compact)) return 'argocd';
  // `argocd app get -o json` (one Application) and `argocd app list -o json` (an array) carry no apiVersion.
  if (/^\[?\{"metadata":\{/.test(compact) && (/"history":/.test(compact) || /argoproj|"namespace":"argocd"/.test(compact))) return 'argocd';
  const name = fileName.toLowerCase().replace(/\.gz$/, '');
  if (/\.(ndjson|jsonl)$/.test(name) || text[0] === '{') return 'ndjson';
  // The header: the first line, or the second after an Excel `sep=,` hint.
  const lines = text.split(/\r?\n/);
  const header = /^sep=.?$/i.test(lines[0]?.trim() ?? '') ? lines[1] : lines[0];
  if (kind === 'telemetry' && isWideHeader(header ?? '')) return 'wide-csv';
  return 'csv';
}

/**
 * A JSON array that none of the known exports' shapes matched would be read as a CSV whose header is
 * "[": said for what it is instead (a Grafana data frame, an API's list of records).
 */
function jsonAsCsvProblem(head: Buffer): string | null {
  const text = head.toString('utf8').replace(/^\uFEFF/, '').trimStart();
  if (!/^\[\s*[[{]/.test(text)) return null;
  return 'this is a JSON document, but not one of the exports read here (Prometheus API JSON, OTLP JSON, GitHub deployments, Argo CD history); '
    + 'write its records one JSON object per line (NDJSON), e.g. jq -c \'.[]\' FILE > records.ndjson, or export it as CSV';
}

/** A header with a time column, no service/metric/value columns, and at least one other: one column per metric. */
function isWideHeader(line: string): boolean {
  // The separator the line uses most (comma, semicolon or tab), as the CSV reader will guess it.
  const separator = [',', ';', '\t'].reduce((best, d) => (line.split(d).length > line.split(best).length ? d : best), ',');
  const cells = line.split(separator).map((c) => c.trim().replace(/^"|"$/g, '').toLowerCase());
  const time = cells.filter((c) => ['time', 'timestamp', 'ts', 'date', 'datetime'].includes(c));
  return time.length === 1 && cells.length >= 2 && !cells.some((c) => ['service', 'metric', 'value', 'metric_name', 'service_name'].includes(c));
}

/** "1 row", "1,234 rows". */
const rowsText = (n: number): string => `${n.toLocaleString('en-US')} row${n === 1 ? '' : 's'}`;

/** The report's words for samples left as gaps, if there were any. */
function gapsNote(report: ImportReport): string {
  const n = report.samplesWithoutValue;
  return n > 0 ? `, ${n.toLocaleString('en-US')} sample${n === 1 ? '' : 's'} without a number (NaN, ±Inf, null, no recorded value, an empty cell) left as gaps` : '';
}

/** Values that may be thousands grouped with dots, read as decimals. */
function thousandsNote(report: ImportReport): string {
  const t = report.thousandsLike;
  if (!t) return '';
  return `; ${t.count.toLocaleString('en-US')} value${t.count === 1 ? '' : 's'} such as "${t.example}" (line ${t.line.toLocaleString('en-US')}) ${t.count === 1 ? 'was' : 'were'} read with a decimal point (${Number(t.example)}), `
    + `but in a file separated by semicolons ${t.count === 1 ? 'it' : 'they'} may be thousands (${Number(t.example.replace(/\./g, ''))}): if so, import with decimal comma (--decimal-comma)`;
}

/** A change file's text columns, left out of the numeric attributes. */
function textColumnsNote(report: ImportReport): string {
  const columns = report.textColumns;
  if (columns.length === 0) return '';
  const list = columns.slice(0, 8).map((c) => `"${c}"`).join(', ') + (columns.length > 8 ? `, and ${columns.length - 8} more` : '');
  return `; ${columns.length === 1 ? 'a column' : `${columns.length} columns`} of text left out (${list}): a change's other columns are numeric attributes for models; map ${columns.length === 1 ? 'it' : 'one'} to a field to keep it`;
}

/** Of the telemetry duplicates, those with another value than the one kept: not a harmless repeat. */
function differingNote(report: ImportReport): string {
  const n = report.pointsDiffering;
  return n > 0 ? `; ${n.toLocaleString('en-US')} of them with another value, which was dropped — a doubled or resampled export?` : '';
}

/** Local times in the hour that happens twice: how they were read, and how to be exact. */
function repeatedNote(report: ImportReport): string {
  const r = report.repeatedHour;
  if (!r) return '';
  return `; ${r.count.toLocaleString('en-US')} local time${r.count === 1 ? '' : 's'} fell in the hour that happens twice in ${r.zone} as daylight saving time ends (first: "${r.example}"): `
    + 'each was read as the one nearer the time before it in the file, else the later — give times with their offset to be exact';
}

/** Local times in the hour skipped as clocks go forward: how they were read, and what they may mean. */
function skippedNote(report: ImportReport): string {
  const r = report.skippedHour;
  if (!r) return '';
  return `; ${r.count.toLocaleString('en-US')} local time${r.count === 1 ? '' : 's'} fell in the hour skipped in ${r.zone} as daylight saving time begins (first: "${r.example}"), which never happens there: `
    + `read with the offset before the change (an hour later by the clock) — if the file keeps standard time all year, import it with a fixed offset (such as -05:00) instead`;
}

/** Incidents detected before they started: kept, but said, since a time-zone slip looks just like that. */
function earlyNote(report: ImportReport): string {
  const { count, lines } = report.detectedBeforeStart;
  if (count === 0) return '';
  const where = `line${lines.length > 1 ? 's' : ''} ${lines.join(', ')}${count > lines.length ? ', …' : ''}`;
  return `; ${count.toLocaleString('en-US')} incident${count === 1 ? ' was' : 's were'} detected before ${count === 1 ? 'it' : 'they'} started (${where}): kept as given, `
    + 'since an alert can lead the impact — if it should not, check the time zone of those columns';
}

/** Deployments per environment: which were left out, or that several went into one service's changes. */
function environmentsNote(report: ImportReport, keep: string | undefined): string {
  const all = Object.entries(report.environments).sort((a, b) => b[1] - a[1]);
  const list = (entries: [string, number][]): string => entries.map(([name, n]) => `${name} ${n.toLocaleString('en-US')}`).join(', ');
  if (keep !== undefined) {
    const others = all.filter(([name]) => name !== keep);
    const left = others.reduce((sum, [, n]) => sum + n, 0);
    return left > 0 ? `, ${left.toLocaleString('en-US')} deployment${left === 1 ? '' : 's'} to other environments left out (${list(others)})` : '';
  }
  return all.length > 1 ? `; deployments to ${all.length} environments (${list(all)}) are all changes of their service: import with --environment NAME to keep one` : '';
}

/** Rows already stored with other values: what differs, so an export that moved on is not silently kept stale. */
function conflictsNote(report: ImportReport, dryRun: boolean): string {
  const n = report.rowsConflicting;
  const first = report.conflicts[0];
  if (n === 0 || !first) return '';
  const fate = report.conflictsUpdated ? (dryRun ? 'would be updated to the file\'s' : 'updated to the file\'s') : 'kept as stored';
  return ` (${n.toLocaleString('en-US')} of them stored with other values, ${fate}; first: ${first.kind === 'changes' ? 'change' : 'incident'} ${first.id}, ${first.fields.join(', ')} differ${first.fields.length === 1 ? 's' : ''} from source #${first.sourceId})`;
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

/**
 * Files whose text is at least this big are written on a worker thread while this one reads.
 * Starting the thread costs ~0.1 s and ~20 MB (threads.ts bundles it; through tsx it was 0.3 s).
 * Measured here: a 24 MB long CSV (500k rows) imports 35 % faster with it, a 23 MB Prometheus
 * response (1M samples) 15 %. Since long CSV is read the quick way, the reading is cheap enough that
 * the thread pays sooner: 7.7 MB (160k rows) 0.26–0.40 s with it against 0.42–0.47 s without, 3.8 MB
 * the same either way, 1.9 MB slower with it; a 3.7 MB Prometheus response the same either way.
 * Gzip counts as 8× its size (telemetry CSV compresses 8–10×).
 */
const THREAD_MIN_BYTES = 4 * 1024 * 1024;
const GZIP_RATIO = 8;

export async function importFile(request: ImportRequest, job: JobContext): Promise<ImportReport> {
  const started = Date.now();
  const stat = statFile(request.filePath);
  const gzip = isGzip(readHead(request.filePath, false));
  const head = readHead(request.filePath, gzip);
  const format = request.format ?? detectFormat(request.fileName, head, request.kind);
  const report: ImportReport = {
    status: 'refused', sourceId: null, kind: request.kind, format, fileName: request.fileName, sha256: '', bytes: stat.size,
    rowsRead: 0, rowsAccepted: 0, rowsRejected: 0, duplicatesSkipped: 0, rowsConflicting: 0, conflicts: [], conflictsUpdated: request.updateExisting ?? false, samplesWithoutValue: 0, environments: {}, detectedBeforeStart: { count: 0, lines: [] }, repeatedHour: null, skippedHour: null, thousandsLike: null, unreadFrom: null, pointsDiffering: 0, notText: false, rejected: [], mapping: {}, alternatives: [], redactions: {}, droppedColumns: [], textColumns: [], message: '', durationMs: 0,
    columns: [], preview: [],
  };
  const previewing = request.dryRun === true && (request.previewRows ?? 0) > 0;
  const finish = (status: ImportReport['status'], message: string): ImportReport => {
    report.status = status;
    report.message = message;
    report.durationMs = Date.now() - started;
    return report;
  };

  const wants = FORMAT_KIND[format];
  if (wants && wants !== request.kind) {
    return finish('refused', `${request.fileName} is a ${format} export, which holds ${wants}; import it as --kind ${wants}, not ${request.kind}`);
  }
  const formatProblem = request.timeFormat !== undefined ? timeFormatProblem(request.timeFormat) : null;
  if (formatProblem !== null) return finish('refused', `${request.fileName}: time format "${request.timeFormat}" cannot be used: ${formatProblem}`);
  const zoneProblem = request.timeZone !== undefined ? zoneNameProblem(request.timeZone) : null;
  if (zoneProblem !== null) return finish('refused', `${request.fileName}: ${zoneProblem}`);
  if (request.environment !== undefined && format !== 'github-deployments') {
    return finish('refused', `${request.fileName}: --environment chooses among GitHub deployments; this file is ${format}`);
  }
  const notText = binaryProblem(head);
  report.notText = notText !== null;
  const problem = notText ?? (format === 'prometheus' ? prometheusHeadProblem(head) : format === 'csv' ? jsonAsCsvProblem(head) : null);
  if (problem) return finish('refused', `${request.fileName}: ${problem}`);

  // A big file's writer thread starts now, to have loaded by the time the first rows are read.
  const threaded = request.writeOnThread ?? (!previewing && stat.size * (gzip ? GZIP_RATIO : 1) >= THREAD_MIN_BYTES);
  const writerThread: WriterThread | null = threaded ? startWriterThread(() => job.cancelled) : null;
  try {
    return await importRead();
  } finally {
    await writerThread?.discard();
  }

  async function importRead(): Promise<ImportReport> {
    // PII settings and key come from the workspace; the read scrubs with them.
    let pii: ReadRequest['pii'];
    // The file's name, columns and mapping are kept with the source: text from the user's side like
    // any cell (an export named after its owner's address), scrubbed as the audit log is. Here, not
    // on the write side: that runs on a thread whose code should stay small.
    let scrub: <T>(value: T) => T;
    {
      const settingsDb = openWorkspace(request.workspacePath, { skipIntegrityCheck: true });
      try {
        // The import's own rules too: a file named after what they redact must not keep it in its name.
        scrub = scrubForLog(settingsDb, request.piiRules ?? []);
        const settings = piiSettings(settingsDb);
        pii = {
          rules: [...settings.rules, ...(request.piiRules ?? [])].map(({ name, pattern }) => ({ name, pattern })),
          dropColumns: [...new Set([...settings.dropColumns, ...(request.dropColumns ?? [])])],
          key: workspaceKey(settingsDb).toString('hex'),
        };
      } finally {
        settingsDb.close();
      }
    }
    const readRequest: ReadRequest = {
      kind: request.kind, format, filePath: request.filePath, fileName: request.fileName, gzip,
      mapping: request.mapping, timeUnit: request.timeUnit, timeZone: request.timeZone, timeFormat: request.timeFormat, decimalComma: request.decimalComma, defaultService: request.defaultService,
      ...(format === 'csv' || format === 'wide-csv' ? { delimiter: guessDelimiter(head), newline: guessNewline(head) } : {}),
      serviceLabel: request.serviceLabel, metricName: request.metricName, environment: request.environment, acceptValidRows: request.acceptValidRows,
      dryRun: request.dryRun === true, previewRows: request.previewRows ?? 0, pii,
    };

    // The write side: one transaction, opened once the file has passed its header checks.
    const writeInit: WriteInit = { workspacePath: request.workspacePath, kind: request.kind, format, fileName: scrub(request.fileName), fileSize: stat.size, pendingTag: `pending-${job.id}`, updateExisting: request.updateExisting ?? false };
    let channel: WriteChannel | null = null;
    const advanced = (progress: ReadProgress): void => {
      job.throwIfCancelled();
      job.progress({ fraction: stat.size > 0 ? Math.min(1, progress.bytesRead / stat.size) : null, message: `${progress.rowsRead.toLocaleString('en-US')} rows read`, rows: progress.rowsRead });
    };
    const sink: ReadSink = {
      start() {
        channel = writerThread ? writerThread.channel(writeInit) : inlineChannel(writeInit, () => job.throwIfCancelled());
      },
      async rows(rows, progress) {
        await channel!.rows(rows);
        advanced(progress);
      },
      async points(batch, progress) {
        await channel!.points(batch);
        advanced(progress);
      },
    };

    try {
      const outcome = await readFile(readRequest, sink);
      Object.assign(report, outcome.report);
      if (outcome.refused !== null) return finish('refused', outcome.refused);
      job.throwIfCancelled();
      if (request.environment !== undefined && !Object.hasOwn(report.environments, request.environment)) {
        const seen = Object.keys(report.environments);
        return finish('refused', `${request.fileName}: no deployment to environment "${request.environment}" in this file (${seen.length > 0 ? `environments: ${seen.join(', ')}` : 'no deployments'}); nothing was imported`);
      }
      const writes = channel as WriteChannel | null;
      if (!writes) throw new Error('the read ended without starting the write');
      const progress = (message: string): void => job.progress({ fraction: 1, message });
      // A file that could not be read to its end is refused whole even accepting valid rows: the
      // rows after the break are not bad rows, they were never seen.
      const strict = (report.rowsRejected > 0 && !request.acceptValidRows) || report.unreadFrom !== null;
      if (request.dryRun || strict) {
        // Nothing is kept: a dry run wrote only to count what is already there.
        await writes.finish({ mode: 'rollback' }, progress);
        if (!request.dryRun && report.unreadFrom !== null) {
          const cause = report.rejected.find((r) => r.line === report.unreadFrom)?.reason ?? 'the file cannot be read';
          return finish('refused', `${request.fileName}: refused, it cannot be read past line ${report.unreadFrom.toLocaleString('en-US')} (${cause}). Nothing was imported — not even with "accept valid rows", which skips bad rows, not the unread rest of a file`);
        }
        if (!request.dryRun) {
          return finish('refused', `${request.fileName}: refused, ${report.rowsRejected} bad row${report.rowsRejected > 1 ? 's' : ''} (first at line ${report.rejected[0]?.line}: ${report.rejected[0]?.reason}). Nothing was imported; fix the rows or import with "accept valid rows".`);
        }
        ({ added: report.rowsAccepted, duplicates: report.duplicatesSkipped, conflicting: report.rowsConflicting, conflicts: report.conflicts, differing: report.pointsDiffering } = writes.counts());
        return finish('checked', `${request.fileName} (${format}): ${previewing ? `first ${report.rowsRead} rows: ` : ''}${rowsText(report.rowsAccepted)} would be imported` +
          (report.duplicatesSkipped > 0 ? `, ${report.duplicatesSkipped.toLocaleString('en-US')} are already there${differingNote(report)}` : '') + conflictsNote(report, true) +
          gapsNote(report) + environmentsNote(report, request.environment) +
          (report.rowsRejected > 0 ? `, ${report.rowsRejected.toLocaleString('en-US')} rejected (first at line ${report.rejected[0]?.line}: ${report.rejected[0]?.reason})${report.unreadFrom !== null ? `; the file cannot be read past line ${report.unreadFrom.toLocaleString('en-US')}, so it would be refused whole, even accepting valid rows` : strict ? '; as it stands the file would be refused whole — fix those rows or accept valid rows' : ''}` : '') + repeatedNote(report) + skippedNote(report) + earlyNote(report) + textColumnsNote(report) + thousandsNote(report));
      }
      await writes.drain();
      ({ added: report.rowsAccepted, duplicates: report.duplicatesSkipped, conflicting: report.rowsConflicting, conflicts: report.conflicts, differing: report.pointsDiffering } = writes.counts());
      // The report is stored with the sources row, so it is composed before the commit; the write
      // side checks for a duplicate file first and stores nothing if it is one.
      finish('imported', `${request.fileName}: ${rowsText(report.rowsAccepted)} imported` +
        (report.duplicatesSkipped > 0 ? `, ${report.duplicatesSkipped.toLocaleString('en-US')} already present${request.kind === 'telemetry' ? ` (a point for the same series and time was stored or read first; the first value is kept, whatever this one says${differingNote(report)})` : ''}` : '') + conflictsNote(report, false) +
        gapsNote(report) + environmentsNote(report, request.environment) +
        (report.rowsRejected > 0 ? `, ${report.rowsRejected.toLocaleString('en-US')} bad row${report.rowsRejected === 1 ? '' : 's'} skipped` : '') + repeatedNote(report) + skippedNote(report) + earlyNote(report) + textColumnsNote(report) + thousandsNote(report));
      const result = await writes.finish({
        mode: 'commit', sha256: report.sha256, rowsAccepted: report.rowsAccepted, rowsRejected: report.rowsRejected, startedAt: started, report: scrub(report),
        options: JSON.stringify(scrub({ kind: request.kind, format, mapping: request.mapping, timeUnit: request.timeUnit, timeZone: request.timeZone ?? null, timeFormat: request.timeFormat ?? null, decimalComma: request.decimalComma ?? false, acceptValidRows: request.acceptValidRows })),
      }, progress);
      if (result.outcome === 'updated-from-duplicate') {
        report.sourceId = result.existing;
        return finish('imported', `${request.fileName} was already imported (source #${result.existing}); ${report.rowsConflicting.toLocaleString('en-US')} stored row${report.rowsConflicting === 1 ? '' : 's'} updated to its values` +
          (report.rowsAccepted > 0 ? `, ${report.rowsAccepted.toLocaleString('en-US')} added` : ''));
      }
      if (result.outcome === 'duplicate-file') {
        report.rowsAccepted = 0;
        report.sourceId = result.existing;
        // Telemetry and services imports cannot be undone (delete-source.ts says why); the others can.
        const undo = request.kind === 'telemetry' || request.kind === 'services' ? '' : `; to import it again (with another mapping or time zone), delete that import first: \`shadowbench sources delete --source ${result.existing}\`, or Delete on the Data page`;
        return finish('duplicate-file', `${request.fileName} was already imported (source #${result.existing}); nothing was added${undo}`);
      }
      if (result.outcome !== 'committed') throw new Error(`the write side answered "${result.outcome}" to a commit`);
      report.sourceId = result.sourceId;
      report.durationMs = result.durationMs;
      return report;
    } catch (err) {
      if (job.cancelled) {
        report.rowsAccepted = 0;
        finish('cancelled', `${request.fileName}: cancelled; nothing was imported`);
      }
      throw err;
    } finally {
      await (channel as WriteChannel | null)?.close();
    }
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
