import crypto from 'node:crypto';
import fs from 'node:fs';
import zlib from 'node:zlib';
import type { Readable } from 'node:stream';
import type { ImportFormat, ImportReport, RecordKind, RejectedRow } from '../../../shared/contract/records.js';
import type { ImportOptions } from '../../../shared/contract/methods.js';
import { mapColumns, mappingRecord, normaliseHeader, type ColumnMapping } from '../../../shared/domain/fields.js';
import { isNoValue, isTextCell, normaliseRow, type NormalRow } from '../../../shared/domain/normalize.js';
import { BUILTIN_RULES, compileRule, makeScrubber, scrubRow, type PiiRule, type Scrubber } from '../../../shared/domain/pii.js';
import { repeatedWallTimes, skippedWallTimes } from '../../../shared/domain/time.js';
import { stripBom } from './bom.js';
import { csvReader, PlainLines, type CsvReader } from './csv.js';
import { lineLimit } from './line-limit.js';
import { ndjsonReader } from './ndjson.js';
import { argoHistoryReader, githubDeploymentsReader, otlpReader, prometheusReader, type CanonicalReader, type CanonicalRow } from './json-docs.js';
import { wideCsvReader } from './wide-csv.js';
import type { RawRow, RecordReader } from './reader.js';
import { PointsBuilder, type PointsBatch } from './points-batch.js';
import { labelKey, quickTelemetry, type QuickTelemetry } from './quick-telemetry.js';

/**
 * The reading half of an import: file → parsed, mapped, validated and scrubbed rows, handed to a
 * sink in batches. It touches no database: the sink writes (write-thread.ts), on this thread or
 * another, while this reads on.
 */

/** Everything the read needs. */

/** Shared by every canonical row without labels; never written to. */
const NO_EXTRA: Record<string, unknown> = Object.freeze({});
export interface ReadRequest {
  kind: RecordKind;
  format: ImportFormat;
  filePath: string;
  fileName: string;
  gzip: boolean;
  mapping: Record<string, string>;
  timeUnit: ImportOptions['timeUnit'];
  timeZone?: string | undefined;
  timeFormat?: string | undefined;
  decimalComma?: boolean | undefined;
  /** CSV: the delimiter guessed from the file's head (csv.ts guessDelimiter), if it could be. */
  delimiter?: string | undefined;
  /** CSV: the line break (csv.ts guessNewline). */
  newline?: '\n' | '\r' | undefined;
  defaultService?: string | undefined;
  serviceLabel?: string | undefined;
  metricName?: string | undefined;
  /** GitHub deployments: the one environment to keep */
  environment?: string | undefined;
  acceptValidRows: boolean;
  dryRun: boolean;
  previewRows: number;
  /** The workspace's PII rules and this import's, uncompiled; columns to drop; the workspace's key (hex). */
  pii: { rules: { name: string; pattern: string }[]; dropColumns: string[]; key: string };
  /** false: every row the general way (tests hold the quick way for long telemetry CSV to it). */
  quickRows?: boolean;
}

/** What the read reports: the import's report fields that come from reading the file. */
export type ReadReport = Pick<ImportReport, 'rowsRead' | 'rowsRejected' | 'rejected' | 'preview' | 'mapping' | 'alternatives' | 'columns' | 'droppedColumns' | 'textColumns' | 'samplesWithoutValue' | 'environments' | 'redactions' | 'sha256' | 'detectedBeforeStart' | 'repeatedHour' | 'skippedHour' | 'thousandsLike' | 'unreadFrom'>;

export interface ReadProgress { bytesRead: number; rowsRead: number }

export interface ReadSink {
  /** The file passed its header checks and rows will follow: open what they are written to. */
  start(): void | Promise<void>;
  /** A batch of rows to write (the sink may wait, which holds the reader back). */
  rows(batch: NormalRow[], progress: ReadProgress): void | Promise<void>;
  /** Telemetry comes as points instead, its series numbered once per import (points-batch.ts). */
  points(batch: PointsBatch, progress: ReadProgress): void | Promise<void>;
}

export type ReadOutcome = { refused: string; report: ReadReport } | { refused: null; report: ReadReport };

/** Rows per batch handed to the sink: a multiple of the writer's rows per INSERT. */
export const BATCH = 4096;

/** Formats in which an export with nothing to read is not "nothing happened" but the wrong file. */
const EMPTY_MEANS_WRONG: Partial<Record<ImportFormat, string>> = {
  argocd: 'no Argo CD application history found (an Application, a list of them, or `kubectl get applications -o json`, each with status.history)',
  'github-deployments': 'no GitHub deployments found (the array `GET /repos/{owner}/{repo}/deployments` returns)',
};
/** The longest line a CSV row may take (fields are capped at 4096 characters, so 4 MiB is ~1000 full ones). */
export const CSV_MAX_LINE = 4 * 2 ** 20;
/** NDJSON records nest (an OTLP request per line can be large), so more room. */
export const NDJSON_MAX_LINE = 64 * 2 ** 20;
const KEEP_REJECTED = 100;
const KEEP_EARLY_LINES = 10;

/** Row fields as the file's columns call them, for messages. */
const FIELD_NAMES: Record<string, string> = {
  ts: 'timestamp', changeKind: 'kind', rolledBack: 'rolled_back', startedTs: 'started', detectedTs: 'detected',
  mitigatedTs: 'mitigated', resolvedTs: 'resolved', causeChangeId: 'cause_change_id',
};

export async function readFile(request: ReadRequest, sink: ReadSink): Promise<ReadOutcome> {
  const { format } = request;
  const report: ReadReport = {
    rowsRead: 0, rowsRejected: 0, rejected: [], preview: [], mapping: {}, alternatives: [], columns: [], droppedColumns: [], textColumns: [], samplesWithoutValue: 0, environments: {}, redactions: {}, sha256: '', detectedBeforeStart: { count: 0, lines: [] }, repeatedHour: null, skippedHour: null, thousandsLike: null, unreadFrom: null,
  };
  const refuse = (message: string): ReadOutcome => ({ refused: message, report });
  const previewing = request.dryRun && request.previewRows > 0;
  const seenColumns = new Set<string>();
  const previewRow = (line: number, row: NormalRow): void => {
    if (!previewing || report.preview.length >= request.previewRows) return;
    report.preview.push({ line, row: row as unknown as Record<string, unknown> });
  };

  const hash = crypto.createHash('sha256');
  let bytesRead = 0;
  const raw = fs.createReadStream(request.filePath, { highWaterMark: 256 * 1024 });
  raw.on('data', (chunk) => {
    hash.update(chunk as Buffer);
    bytesRead += (chunk as Buffer).length;
  });
  let input: Readable = raw;
  if (request.gzip) {
    const gunzip = zlib.createGunzip();
    raw.on('error', (err) => gunzip.destroy(err));
    input = raw.pipe(gunzip);
  }
  {
    const unmarked = stripBom();
    const from = input;
    from.on('error', (err) => unmarked.destroy(err));
    input = from.pipe(unmarked);
  }
  // Line-based formats: a line is a row, and none is megabytes long.
  if (format === 'csv' || format === 'wide-csv' || format === 'ndjson') {
    const limited = lineLimit(format === 'ndjson' ? NDJSON_MAX_LINE : CSV_MAX_LINE);
    const from = input;
    from.on('error', (err) => limited.destroy(err));
    input = from.pipe(limited);
  }
  try {
    const readerOptions = { serviceLabel: request.serviceLabel, metricName: request.metricName, defaultService: request.defaultService, environment: request.environment };
    const wide = format === 'wide-csv' ? wideCsvReader(input, { ...readerOptions, delimiter: request.delimiter, newline: request.newline, timeColumn: Object.keys(request.mapping).find((c) => request.mapping[c] === 'timestamp') }) : null;
    const csv: CsvReader | null = format === 'csv' ? csvReader(input, request.delimiter, request.newline) : null;
    const reader: RecordReader | CanonicalReader = csv ? csv
      : wide ? wide
      : format === 'prometheus' ? prometheusReader(input, readerOptions)
      : format === 'otlp' ? otlpReader(input, readerOptions)
      : format === 'github-deployments' ? githubDeploymentsReader(input, readerOptions)
      : format === 'argocd' ? argoHistoryReader(input, readerOptions)
      : ndjsonReader(input);
    const canonical = 'canonical' in reader;
    // PII scrubbing: nothing unscrubbed reaches a table, the report's quoted values included.
    const drop = new Set(request.pii.dropColumns);
    let rules: PiiRule[];
    try {
      rules = [...BUILTIN_RULES, ...request.pii.rules.map(compileRule)];
    } catch (err) {
      return refuse(`${request.fileName}: PII rule ${(err as Error).message}`);
    }
    const key = Buffer.from(request.pii.key, 'hex');
    const scrubber: Scrubber = makeScrubber(rules, (value) => crypto.createHmac('sha256', key).update(value).digest('hex'));
    const reject = (row: RejectedRow): void => {
      if (previewing && report.preview.length < request.previewRows) report.preview.push({ line: row.line, error: scrubber.text(row.reason) });
      report.rowsRejected++;
      if (report.rejected.length < KEEP_REJECTED) report.rejected.push({ ...row, reason: scrubber.text(row.reason) });
    };

    let columns: string[] | null;
    try {
      if (wide) report.columns = (await wide.header()) ?? [];
      columns = await reader.columns();
    } catch (err) {
      return refuse(`${request.fileName}: ${readError(err)}`);
    }
    // Two columns with one name (CSV and wide CSV): every row would have to pick one of them, silently.
    const twice = columns ? columns.findIndex((c, i) => c !== '' && columns!.indexOf(c) !== i) : -1;
    if (columns && twice >= 0) {
      return refuse(`${request.fileName}: the header names column "${columns[twice]}" twice (columns ${columns.indexOf(columns[twice]!) + 1} and ${twice + 1}); rename one so each column means one thing`);
    }
    let fixedMapping: ColumnMapping | null = null;
    let fixedCells: { fields: [number, string][]; extra: [number, string][] } | null = null;
    if (format === 'csv' && !canonical) {
      if (!columns) return refuse(`${request.fileName} is empty: no header row`);
      report.columns = [...columns];
      report.droppedColumns = columns.filter((c) => drop.has(c));
      columns = columns.filter((c) => !drop.has(c));
      const mapped = mapColumns(request.kind, columns, request.mapping);
      if ('error' in mapped) return refuse(`${request.fileName}: ${mapped.error}`);
      // Known before any refusal: the wizard shows the columns it would map on its own, so what
      // it shows is what an import with the user's few changes would use.
      report.mapping = mappingRecord(mapped);
      report.alternatives = mapped.alternatives;
      const missing = mapped.missing.filter((f) => !(f === 'service' && request.defaultService));
      if (missing.length > 0) {
        // A time column and metric columns (Grafana's single-series "Time,Value") is a wide CSV the header did not give away.
        const wideHint = request.kind === 'telemetry' && [...mapped.toField.values()].includes('timestamp') && columns.length >= 2
          ? ' Or, if each column after the time is one metric, read the file as a wide CSV (the format "wide CSV" in the import form, --format wide-csv, with the service given).' : '';
        return refuse(`${request.fileName}: no column for required field${missing.length > 1 ? 's' : ''} ${missing.join(', ')} (columns: ${columns.join(', ')}). Map a column to it (in the import form, or --map COLUMN=FIELD).${wideHint}`);
      }
      fixedMapping = mapped;
      // Cells by index, as the CSV reader hands them over (a repeated header name: its last column, as in `values`).
      fixedCells = { fields: [...mapped.toField, ...mapped.copies].map(([column, field]) => [report.columns.lastIndexOf(column), field]), extra: mapped.extra.map((column) => [report.columns.lastIndexOf(column), column]) };
    }
    const keyMappings = new Map<string, ColumnMapping | { error: string }>();
    const fixedFields: Record<string, unknown> = {};
    // No prototype: a column named `__proto__` is a label like any other, not the object's prototype.
    const fixedExtra = Object.create(null) as Record<string, unknown>;

    await sink.start();
    let batch: NormalRow[] = [];
    const points = request.kind === 'telemetry' ? new PointsBuilder(BATCH) : null;
    const waiting = (): number => (points ? points.length : batch.length);
    let lastLine = 0;
    // Errors from the sink (a cancelled job, a failed write) end the read; errors from the stream are the file's.
    let sinkError: unknown = null;
    const push = async (): Promise<void> => {
      try {
        if (points) await sink.points(points.take(), { bytesRead, rowsRead: report.rowsRead });
        else {
          const full = batch;
          batch = [];
          await sink.rows(full, { bytesRead, rowsRead: report.rowsRead });
        }
      } catch (err) {
        sinkError = err;
        throw err;
      }
    };
    const normaliseOptions = { time: { unit: request.timeUnit, ...(request.timeZone ? { timeZone: request.timeZone } : {}), ...(request.timeFormat ? { format: request.timeFormat } : {}) }, ...(request.defaultService ? { defaultService: request.defaultService } : {}), ...(request.decimalComma ? { decimalComma: true } : {}) };
    // Prometheus and OTLP times arrive as epoch ms; GitHub and Argo CD give ISO 8601 with an offset.
    // Canonical rows never have their `extra` changed after it is made, so labels built from one
    // are reused for the next row that has the same object (every sample of a Prometheus series).
    const canonicalOptions = { ...normaliseOptions, ...(format === 'prometheus' || format === 'otlp' ? { time: { unit: 'ms' as const } } : {}), lastLabels: { extra: null, labels: {} } };
    let lastExtra: { given: object | null; kept: Record<string, unknown> } = { given: null, kept: {} };
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
    /** A row that normalised (or not): scrubbed, previewed, and queued for the sink. */
    const accept = (line: number, result: ReturnType<typeof normaliseRow>, mapping?: ColumnMapping): void => {
      if (!result.ok) return reject({ line, reason: mapping ? emptyColumn(result.reason, mapping) : result.reason });
      const clash = conflict(line, result.row);
      if (clash) return reject({ line, reason: clash });
      // What PII rules this row's scrubbing counts, for the quick way to count again for rows like it.
      const before = quick && learnKey !== null ? { ...scrubber.counts } : null;
      const scrubbed = scrubRow(result.row, scrubber);
      if (scrubbed.kind === 'incidents' && scrubbed.detectedTs !== null && scrubbed.detectedTs < scrubbed.startedTs) {
        const early = report.detectedBeforeStart;
        if (early.count++ < KEEP_EARLY_LINES) early.lines.push(line);
      }
      previewRow(line, scrubbed);
      // Once a strict import has a bad row it will be refused: keep reading to report every bad
      // line, but stop writing. A dry run writes (and rolls back) to count duplicates too.
      if (report.rowsRejected > 0 && !request.acceptValidRows && !request.dryRun) return;
      if (!points) return void batch.push(scrubbed);
      const series = points.row(scrubbed);
      // Its series and redactions: the quick way may take the next rows with these names and labels.
      // (Learned under the names as the file gives them, which is how the quick way looks them up.)
      if (quick && before && result.row.kind === 'telemetry') quick.learn(result.row, series, learnKey!, redactionsSince(before, scrubber.counts));
    };
    // Changes: the columns no field took are numeric attributes (what models read). One whose first
    // value is text (a GitHub Actions log's environment, status, conclusion) once failed every row,
    // one column per try; it is left out and named in the report. Later text in a column that began
    // with numbers is still a bad row, since that column is an attribute.
    const columnIsText = new Map<string, boolean>();
    const leaveOutText = (extra: Record<string, unknown>): void => {
      for (const column in extra) {
        let text = columnIsText.get(column);
        if (text === undefined) {
          const value = extra[column];
          if (value === undefined || value === null || (typeof value === 'string' && value.trim() === '')) continue;
          text = isTextCell(value, request.decimalComma);
          columnIsText.set(column, text);
          if (text) report.textColumns.push(column);
        }
        if (text) delete extra[column];
      }
    };
    // A semicolon-separated file (a European spreadsheet's) read with decimal points: "1.250" may be
    // one and a quarter or twelve hundred and fifty. Only values grouped in threes are suspects.
    const watchThousands = request.kind === 'telemetry' && request.delimiter === ';' && !request.decimalComma;
    const noteThousands = (line: number, value: unknown): void => {
      if (typeof value !== 'string' || !THOUSANDS_LIKE.test(value)) return;
      if (report.thousandsLike) report.thousandsLike.count++;
      else report.thousandsLike = { count: 1, example: value.trim(), line };
    };
    // The label cells of the row under way, for the quick way to learn its series (null: not a row it could take).
    let learnKey: string | null = null;
    const quickLabels = fixedCells ? fixedCells.extra.map(([i]) => i) : [];
    /** One row the general way: mapped, checked, normalised, scrubbed and queued (or refused). */
    const one = (rawRow: RawRow): void => {
      report.rowsRead++;
      lastLine = rawRow.line;
      learnKey = null;
      if (rawRow.error !== undefined) {
        reject({ line: rawRow.line, reason: rawRow.error });
        return;
      }
      let mapping = fixedMapping;
      if (canonical) {
        if ((rawRow as CanonicalRow).gap !== undefined) {
          // A sample the source itself says has no number: a gap in the series, not a bad row.
          report.samplesWithoutValue++;
          return;
        }
        const { environment, elsewhere } = rawRow as CanonicalRow;
        // (An environment named `constructor` is a key {} already has: counted from its own key only.)
        if (environment !== undefined) report.environments[environment] = (Object.hasOwn(report.environments, environment) ? report.environments[environment]! : 0) + 1;
        if (elsewhere) return;
        // The format named its fields; its labels (or attributes) ride apart and are never mapped.
        const given = (rawRow as CanonicalRow).extra ?? NO_EXTRA;
        if (lastExtra.given !== given) {
          let kept: Record<string, unknown> = given;
          for (const d of drop) {
            if (!(d in given)) continue;
            if (kept === given) kept = { ...given };
            delete kept[d];
          }
          lastExtra = { given, kept };
        }
        const extra = lastExtra.kept;
        if (seenColumns.size < 200) {
          for (const k in rawRow.values) seenColumns.add(k);
          for (const k in extra) seenColumns.add(k);
        }
        if (watchThousands) noteThousands(rawRow.line, rawRow.values.value);
        accept(rawRow.line, normaliseRow(request.kind, rawRow.values, extra, canonicalOptions));
        return;
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
          // Reported once per set of keys, not per row.
          if (!('error' in found)) {
            Object.assign(report.mapping, mappingRecord(found));
            for (const a of found.alternatives) if (!report.alternatives.some((b) => b.field === a.field && b.column === a.column)) report.alternatives.push(a);
          }
        }
        if ('error' in found) {
          reject({ line: rawRow.line, reason: found.error });
          return;
        }
        mapping = found;
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
        if (quick) learnKey = labelKey(cells, quickLabels, request.delimiter!);
      } else {
        fields = {};
        extra = Object.create(null) as Record<string, unknown>;
        for (const [column, field] of mapping.toField) fields[field] = rawRow.values[column];
        for (const [column, field] of mapping.copies) fields[field] = rawRow.values[column];
        for (const column of mapping.extra) extra[column] = rawRow.values[column];
      }
      if (request.kind === 'changes') leaveOutText(extra);
      if (watchThousands) noteThousands(rawRow.line, fields.value);
      // A long telemetry row whose value is empty, null, NaN or "-": a gap, counted, as in the other formats.
      if (request.kind === 'telemetry' && isNoValue(fields.value)) {
        report.samplesWithoutValue++;
        return;
      }
      if (!fixedMapping) for (const k of Object.keys(rawRow.values)) if (seenColumns.size < 200) seenColumns.add(k);
      accept(rawRow.line, normaliseRow(request.kind, fields, extra, normaliseOptions), mapping);
    };
    // Long telemetry CSV in its usual shape: most rows the quick way (quick-telemetry.ts).
    const quick = ((): QuickTelemetry | null => {
      if (!csv || !fixedCells || !points || request.quickRows === false || previewing || watchThousands || request.decimalComma) return null;
      if (request.delimiter === undefined || (request.newline ?? '\n') !== '\n') return null;
      const at: Record<string, number> = {};
      for (const [i, field] of fixedCells.fields) {
        if (field in at || !['timestamp', 'service', 'metric', 'value'].includes(field)) return null;
        at[field] = i;
      }
      if (at.timestamp === undefined || at.metric === undefined || at.value === undefined || (at.service === undefined && !request.defaultService)) return null;
      return quickTelemetry({
        width: report.columns.length, columns: { ts: at.timestamp, service: at.service ?? null, metric: at.metric, value: at.value, labels: quickLabels },
        defaultService: request.defaultService ?? null, time: normaliseOptions.time, points, capacity: BATCH, push,
        read(line) {
          report.rowsRead++;
          lastLine = line;
          return report.rowsRejected === 0 || request.acceptValidRows || request.dryRun;
        },
        general: one,
        redacted(rules) {
          for (const rule of rules) scrubber.counts[rule] = (scrubber.counts[rule] ?? 0) + 1;
        },
      });
    })();
    let streamError: string | null = null;
    try {
      const quickLines = quick && csv ? csv.plainBatches() : null;
      reading: for await (const rows of quickLines ?? reader.batches()) {
        for (const item of rows) {
          if (item instanceof PlainLines) {
            await quick!.lines(item);
            continue;
          }
          if (previewing && report.rowsRead >= request.previewRows) break reading;
          if (waiting() >= BATCH) await push();
          one(item);
        }
      }
    } catch (err) {
      if (sinkError !== null && err === sinkError) throw err;
      streamError = readError(err);
    }
    if (streamError !== null) {
      reject({ line: lastLine + 1, reason: `the file ends early or cannot be read: ${streamError}` });
      report.unreadFrom = lastLine + 1;
    }
    const repeated = repeatedWallTimes(normaliseOptions.time);
    if (repeated && request.timeZone) report.repeatedHour = { ...repeated, example: scrubber.text(repeated.example), zone: request.timeZone };
    const skipped = skippedWallTimes(normaliseOptions.time);
    if (skipped && request.timeZone) report.skippedHour = { ...skipped, example: scrubber.text(skipped.example), zone: request.timeZone };
    // A deploy export in which nothing had the expected shape is the wrong file or another shape of
    // it (an `argocd app list` once imported as 0 rows, "done"): said, not reported as success.
    if (report.rowsRead === 0 && report.rowsRejected === 0 && EMPTY_MEANS_WRONG[format]) return refuse(`${request.fileName}: ${EMPTY_MEANS_WRONG[format]}`);
    if (waiting() > 0) await push();
    if (report.columns.length === 0) report.columns = [...seenColumns];
    report.redactions = { ...scrubber.counts };
    // Only a read to the end hashes the whole file (a preview stops early; its hash is not used).
    report.sha256 = hash.digest('hex');
    return { refused: null, report };
  } finally {
    raw.destroy();
  }
}

/** The redactions counted since `before`, one entry per redaction. */
function redactionsSince(before: Record<string, number>, now: Record<string, number>): string[] {
  const out: string[] = [];
  for (const rule in now) for (let n = now[rule]! - (Object.hasOwn(before, rule) ? before[rule]! : 0); n > 0; n--) out.push(rule);
  return out;
}

const THOUSANDS_LIKE = /^\s*[+-]?\d{1,3}(?:\.\d{3})+\s*$/;

/** "service is missing" says which column was empty, when a column was mapped to the field. */
function emptyColumn(reason: string, mapping: ColumnMapping): string {
  const m = /^([a-z_]+) is missing$/.exec(reason);
  if (!m) return reason;
  // (A column named as the field needs no naming: "score is missing" says it.)
  for (const [column, field] of mapping.toField) if (field === m[1] && normaliseHeader(column) !== field) return `${reason} (its column, "${column}", is empty here)`;
  return reason;
}

export function readError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e?.code === 'Z_BUF_ERROR' || /unexpected end of file/i.test(e?.message ?? '')) return 'truncated gzip stream (unexpected end of file)';
  if (e?.code?.startsWith('Z_')) return `corrupt gzip stream (${e.message})`;
  return e?.message ?? String(err);
}
