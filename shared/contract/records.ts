import { z } from 'zod';

/** Records as the engine returns them. Times are UTC epoch milliseconds. */

export const RECORD_KINDS = ['telemetry', 'changes', 'incidents', 'alerts', 'services', 'predictions', 'detector-scores'] as const;
export const RecordKind = z.enum(RECORD_KINDS);
export type RecordKind = z.infer<typeof RecordKind>;

export const IMPORT_FORMATS = ['csv', 'ndjson', 'wide-csv', 'prometheus', 'otlp', 'github-deployments', 'argocd'] as const;
/** The record kind each structured format holds: the format names its fields, so the kind follows. */
export const FORMAT_KIND: Partial<Record<(typeof IMPORT_FORMATS)[number], 'telemetry' | 'changes'>> = {
  'wide-csv': 'telemetry', prometheus: 'telemetry', otlp: 'telemetry', 'github-deployments': 'changes', argocd: 'changes',
};
export const ImportFormat = z.enum(IMPORT_FORMATS);
export type ImportFormat = z.infer<typeof ImportFormat>;

export const TimeUnitSchema = z.enum(['auto', 's', 'ms', 'us', 'ns']);

const Ms = z.number().int();

export const WorkspaceInfo = z.object({
  path: z.string(),
  name: z.string(),
  schemaVersion: z.number().int(),
  counts: z.object({
    sources: z.number().int(),
    services: z.number().int(),
    series: z.number().int(),
    points: z.number().int(),
    changes: z.number().int(),
    incidents: z.number().int(),
    alerts: z.number().int(),
  }),
  range: z.object({ from: Ms, until: Ms }).nullable(),
});
export type WorkspaceInfo = z.infer<typeof WorkspaceInfo>;

export const RejectedRow = z.object({ line: z.number().int(), reason: z.string() });
export type RejectedRow = z.infer<typeof RejectedRow>;

/** A change or incident already in the workspace (from `sourceId`) that the file gives with other values: kept as stored. */
export const ImportConflict = z.object({ kind: z.enum(['changes', 'incidents']), id: z.string(), fields: z.array(z.string()), sourceId: z.number().int() });
export type ImportConflict = z.infer<typeof ImportConflict>;

export const ImportReport = z.object({
  /** checked: a dry run, nothing written */
  status: z.enum(['imported', 'refused', 'duplicate-file', 'cancelled', 'checked']),
  sourceId: z.number().int().nullable(),
  kind: RecordKind,
  format: ImportFormat,
  fileName: z.string(),
  sha256: z.string(),
  bytes: z.number().int(),
  rowsRead: z.number().int(),
  rowsAccepted: z.number().int(),
  rowsRejected: z.number().int(),
  duplicatesSkipped: z.number().int(),
  /**
   * Of the rows already present, those stored with other values by an earlier import (an incident
   * resolved since, a change rolled back since): kept as stored, counted here, the first 20 in `conflicts`.
   */
  rowsConflicting: z.number().int().default(0),
  conflicts: z.array(ImportConflict).default([]),
  /** The import was asked to update those rows to the file's values (and did, unless it was a dry run). */
  conflictsUpdated: z.boolean().default(false),
  /** Telemetry points skipped as already present whose value was another number than the one kept. */
  pointsDiffering: z.number().int().default(0),
  /**
   * Samples the source marks as having no number — Prometheus' "NaN", "+Inf" and "-Inf", OTLP's
   * NaN/Infinity and points flagged "no recorded value" — left out as gaps, as Prometheus draws them.
   */
  samplesWithoutValue: z.number().int().default(0),
  /**
   * GitHub deployments in the file per environment (production, staging, …). Deploys to several
   * environments are all changes of one service unless the import keeps one (`environment`).
   */
  environments: z.record(z.string(), z.number().int()).default({}),
  /**
   * Incidents whose detection is earlier than their start: kept as given (an alert can notice a
   * problem before its impact begins), but more often a time-zone slip, so they are counted and the
   * first lines named.
   */
  detectedBeforeStart: z.object({ count: z.number().int(), lines: z.array(z.number().int()) }).default({ count: 0, lines: [] }),
  /**
   * Local times that fell in the hour that happens twice as daylight saving time ends: each was read
   * as the instant nearer the time read before it (a time-ordered export keeps both passes apart),
   * else the later one. Counted, with the first, since the file alone cannot say which was meant.
   */
  repeatedHour: z.object({ count: z.number().int(), example: z.string(), zone: z.string() }).nullable().default(null),
  /**
   * A file separated by semicolons (a European spreadsheet's) whose values look like thousands
   * grouped with dots, 1.250, read without --decimal-comma as 1.25: a thousandfold error if they
   * are thousands. Counted, with the first, since the file alone cannot say.
   */
  /**
   * Local times in the hour skipped as daylight saving time begins (02:30 on a spring morning in New
   * York): read with the offset before the change (03:30 summer time), counted with the first, since
   * a file with such times is often on standard time all year.
   */
  skippedHour: z.object({ count: z.number().int(), example: z.string(), zone: z.string() }).nullable().default(null),
  thousandsLike: z.object({ count: z.number().int(), example: z.string(), line: z.number().int() }).nullable().default(null),
  /**
   * The line from which the file could not be read (cut off, corrupt, a line too long to be a row):
   * the import is refused whole then, even accepting valid rows, since the rest was never seen.
   */
  unreadFrom: z.number().int().nullable().default(null),
  /** The file is not a text export at all (a workbook, a database, an image…): `message` says what it is. */
  notText: z.boolean().default(false),
  /** The first 100 rejected rows; `rowsRejected` counts all of them. */
  rejected: z.array(RejectedRow),
  mapping: z.record(z.string(), z.string()),
  /** Fields taken from a column by its name when other columns could also have been it: the report names them. */
  alternatives: z.array(z.object({ field: z.string(), column: z.string(), others: z.array(z.string()) })).default([]),
  /** What PII scrubbing replaced, by rule (and `pseudonym` for people), and the columns dropped. */
  redactions: z.record(z.string(), z.number().int()).default({}),
  droppedColumns: z.array(z.string()).default([]),
  /**
   * Changes: columns no field took whose values are text (an environment, a status, a workflow
   * name), so not numeric attributes: left out, named here. Told by each column's first value.
   */
  textColumns: z.array(z.string()).default([]),
  message: z.string(),
  durationMs: z.number(),
  /** The file's columns (CSV header, or the keys seen), for mapping them. */
  columns: z.array(z.string()).default([]),
  /** A preview's first rows as they would be stored (after mapping and PII scrubbing), or why not. */
  preview: z.array(z.object({ line: z.number().int(), row: z.record(z.string(), z.unknown()).optional(), error: z.string().optional() })).default([]),
});
export type ImportReport = z.infer<typeof ImportReport>;

export const Source = z.object({
  id: z.number().int(),
  kind: RecordKind,
  format: ImportFormat,
  fileName: z.string(),
  sha256: z.string(),
  bytes: z.number().int(),
  rowsAccepted: z.number().int(),
  rowsRejected: z.number().int(),
  importedAt: Ms,
  report: ImportReport,
});
export type Source = z.infer<typeof Source>;

export const Service = z.object({
  id: z.number().int(),
  name: z.string(),
  tier: z.number().int().nullable(),
  team: z.string().nullable(),
  dependsOn: z.array(z.string()),
  series: z.number().int(),
  changes: z.number().int(),
  incidents: z.number().int(),
});
export type Service = z.infer<typeof Service>;

export const Change = z.object({
  id: z.number().int(),
  externalId: z.string(),
  service: z.string(),
  ts: Ms,
  kind: z.string(),
  author: z.string().nullable(),
  version: z.string().nullable(),
  description: z.string().nullable(),
  attributes: z.record(z.string(), z.number()),
  rolledBack: z.boolean().nullable(),
  outcome: z.number().int().nullable(),
});
export type Change = z.infer<typeof Change>;

export const Incident = z.object({
  id: z.number().int(),
  externalId: z.string(),
  service: z.string(),
  severity: z.number().int(),
  startedTs: Ms,
  detectedTs: Ms.nullable(),
  mitigatedTs: Ms.nullable(),
  resolvedTs: Ms.nullable(),
  causeChangeId: z.string().nullable(),
  title: z.string().nullable(),
});
export type Incident = z.infer<typeof Incident>;

export const Alert = z.object({
  id: z.number().int(),
  externalId: z.string(),
  service: z.string(),
  ts: Ms,
  resolvedTs: Ms.nullable(),
  name: z.string().nullable(),
  metric: z.string().nullable(),
  severity: z.number().int().nullable(),
});
export type Alert = z.infer<typeof Alert>;

export const SeriesInfo = z.object({
  id: z.number().int(),
  service: z.string(),
  metric: z.string(),
  labels: z.record(z.string(), z.string()),
  points: z.number().int(),
  from: Ms.nullable(),
  until: Ms.nullable(),
});
export type SeriesInfo = z.infer<typeof SeriesInfo>;

/** One downsampled bucket: [bucket start, min, max, mean]. */
export const Bucket = z.tuple([Ms, z.number(), z.number(), z.number()]);
export type Bucket = z.infer<typeof Bucket>;

export const TimelineSeries = z.object({
  seriesId: z.number().int(),
  metric: z.string(),
  labels: z.record(z.string(), z.string()),
  bucketMs: z.number().int(),
  buckets: z.array(Bucket),
});
export type TimelineSeries = z.infer<typeof TimelineSeries>;

export const Timeline = z.object({
  service: z.string(),
  from: Ms,
  until: Ms,
  extent: z.object({ from: Ms, until: Ms }).nullable(),
  series: z.array(TimelineSeries),
  changes: z.array(Change),
  incidents: z.array(Incident),
  alerts: z.array(Alert),
  /** Risk each change got from the chosen model in the chosen run, by change id. */
  risk: z.record(z.string(), z.number()).optional(),
  riskThreshold: z.number().optional(),
  /** Alerts a detection run's detectors raised in range, when one was asked for. */
  modelAlerts: z.array(z.object({ model: z.string(), start: Ms, end: Ms, explanation: z.string() })).optional(),
  /** How many changes the range holds, when there are more than the markers drawn (the first ones by time). */
  changesInRange: z.number().int().optional(),
});
export type Timeline = z.infer<typeof Timeline>;

export const JobStatus = z.object({
  id: z.string(),
  kind: z.string(),
  label: z.string(),
  state: z.enum(['queued', 'running', 'done', 'failed', 'cancelled']),
  progress: z.object({
    fraction: z.number().min(0).max(1).nullable(),
    message: z.string(),
    rowsPerSecond: z.number().nullable(),
    etaSeconds: z.number().nullable(),
  }),
  startedAt: Ms,
  finishedAt: Ms.nullable(),
  result: z.unknown().optional(),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
});
export type JobStatus = z.infer<typeof JobStatus>;

export const Page = <T extends z.ZodType>(row: T) => z.object({ total: z.number().int(), offset: z.number().int(), rows: z.array(row) });
