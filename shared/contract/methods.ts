import { z } from 'zod';
import {
  Alert, Change, ImportFormat, ImportReport, Incident, JobStatus, Page, RecordKind, SeriesInfo, Service, Source,
  Timeline, TimeUnitSchema, WorkspaceInfo,
} from './records.js';
import { AttributionRuleSchema, Feedback, FeedbackSummary, ModelEvent, ModelInfo, ModelManifest, RunConfig, RunInfo, Scorecard, Suggestion, SuggestionDetail, TrainOptions } from './models.js';
import { Comparison, GateResult, GateSpec, SavedGate } from './gates.js';
import { AuditEntry, AuditVerification } from './audit.js';
import { DrillReport, SavedDrill } from './drills.js';
import { AddDetector, WindowManifest, RankerManifest, AttributionConfig, AttributionResult, DetectionReport, DetectionRunConfig, DetectionRunInfo, IncidentDetection, ReplayFrame } from './detection.js';

/**
 * The engine API: one table of methods. Hosts (HTTP, Electron IPC, CLI, tests) all call the same
 * `dispatch`, which validates input and output against these schemas.
 *
 * `privileged` methods take file-system paths. Only the CLI and the Electron main process (with a
 * path the user picked in a dialog) may call them; the HTTP host and the preload refuse them.
 */

/** Workspace names are file names inside the workspaces folder: no separators, no dot-files. */
export const WorkspaceName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'a workspace name is 1-64 letters, digits, dots, dashes or underscores, starting with a letter or digit');

const JobStarted = z.object({ jobId: z.string() });

export const PiiRuleInput = z.object({ name: z.string().regex(/^[a-z0-9-]{1,40}$/, 'a rule name is 1-40 lowercase letters, digits or dashes'), pattern: z.string().min(1).max(500) });
export const PiiSettings = z.object({ rules: z.array(PiiRuleInput).max(50).default([]), dropColumns: z.array(z.string().min(1).max(200)).max(200).default([]) });
export type PiiSettings = z.infer<typeof PiiSettings>;

export const ImportOptions = z.object({
  kind: RecordKind,
  format: ImportFormat.optional(),
  /** source column -> field, e.g. {"ts": "timestamp"} */
  mapping: z.record(z.string().max(200), z.string().max(200)).default({}),
  timeUnit: TimeUnitSchema.default('auto'),
  timeZone: z.string().max(64).optional(),
  /** Timestamps that are neither ISO 8601 nor epoch numbers: their date-fns format, e.g. "MM/dd/yyyy h:mm a". */
  timeFormat: z.string().min(1).max(64).optional(),
  /** Numbers written the European way, "1.234,5": the comma is the decimal point, dots group thousands. */
  decimalComma: z.boolean().default(false),
  acceptValidRows: z.boolean().default(false),
  /**
   * Changes and incidents already stored with other values (an incident resolved since the last
   * export, a change rolled back since) take the file's values. Off: they are kept and reported.
   */
  updateExisting: z.boolean().default(false),
  /** Service for files without a service column (a single-service export). */
  defaultService: z.string().min(1).max(200).optional(),
  /** Prometheus: the label that names the service (default: service, job, app or instance), and a metric name for series without __name__. */
  serviceLabel: z.string().min(1).max(200).optional(),
  metricName: z.string().min(1).max(200).optional(),
  /** GitHub deployments: keep only the deployments to this environment (e.g. production); the others are counted and left out. */
  environment: z.string().min(1).max(200).optional(),
  /** PII: extra regex rules and columns to drop, on top of the workspace's settings. */
  piiRules: z.array(PiiRuleInput).max(20).default([]),
  dropColumns: z.array(z.string().min(1).max(200)).max(200).default([]),
  /** Read and check everything, write nothing: the report says what would be imported and rejected. */
  dryRun: z.boolean().default(false),
  /** With dryRun: stop after this many rows and return them as they would be stored (the wizard's preview). */
  previewRows: z.number().int().min(0).max(200).default(0),
});
export type ImportOptions = z.infer<typeof ImportOptions>;
export type ImportOptionsInput = z.input<typeof ImportOptions>;

/** What a saved mapping keeps: everything about reading a file except the file. */
export const MappingOptions = ImportOptions.omit({ dryRun: true, previewRows: true, acceptValidRows: true, updateExisting: true });
export const MAPPING_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
export const SavedMapping = z.object({ name: z.string(), version: z.number().int(), options: MappingOptions, savedAt: z.number().int() });
export type SavedMapping = z.infer<typeof SavedMapping>;

const PageQuery = z.object({
  offset: z.number().int().min(0).default(0),
  limit: z.number().int().min(1).max(1000).default(200),
  service: z.string().max(200).optional(),
  order: z.enum(['asc', 'desc']).default('desc'),
});

const method = <I extends z.ZodType, O extends z.ZodType>(
  input: I, output: O, flags: { job?: boolean; privileged?: boolean } = {},
) => ({ input, output, job: flags.job ?? false, privileged: flags.privileged ?? false });

export const methods = {
  'app.info': method(z.object({}), z.object({
    version: z.string(),
    workspacesDir: z.string(),
    workspace: WorkspaceInfo.nullable(),
  })),
  'workspace.list': method(z.object({}), z.array(z.object({ name: z.string(), bytes: z.number().int(), modifiedAt: z.number().int() }))),
  'workspace.create': method(z.object({ name: WorkspaceName }), WorkspaceInfo),
  'workspace.open': method(z.object({ name: WorkspaceName }), WorkspaceInfo),
  'workspace.openPath': method(z.object({ path: z.string().min(1), create: z.boolean().default(false) }), WorkspaceInfo, { privileged: true }),
  'workspace.info': method(z.object({}), WorkspaceInfo),
  'workspace.close': method(z.object({}), z.object({ closed: z.boolean() })),
  /** One consistent copy of the open workspace in a single file (what it holds in its -wal included), even while it is in use. */
  'workspace.backupPath': method(z.object({ path: z.string().min(1) }), z.object({ path: z.string(), bytes: z.number().int(), auditHead: z.string() }), { privileged: true }),
  /** Builds the demo workspace from sample-data (if it is not there yet) and opens it. */
  'demo.open': method(z.object({ rebuild: z.boolean().default(false) }), JobStarted, { job: true }),
  'demo.build': method(z.object({ path: z.string().min(1) }), JobStarted, { job: true, privileged: true }),
  'sources.list': method(z.object({}), z.array(Source)),
  /** The telemetry metric names in the workspace (what a detector watches), sorted. */
  'metrics.list': method(z.object({}), z.array(z.string())),
  /** Undoes an import of changes, incidents, alerts or logged scores (refused for telemetry and services, and for changes a run scored, with the reason). */
  'sources.delete': method(z.object({ id: z.number().int() }), z.object({ id: z.number().int(), kind: z.string(), fileName: z.string(), rows: z.number().int(), what: z.string() })),
  /** Import a file uploaded through the host (serve mode) by its upload id. */
  'import.start': method(ImportOptions.extend({ uploadId: z.string().regex(/^[a-f0-9]{32}$/), fileName: z.string().min(1).max(255) }), JobStarted, { job: true }),
  'import.startPath': method(ImportOptions.extend({ path: z.string().min(1) }), JobStarted, { job: true, privileged: true }),
  /** Live import from a Prometheus server's query_range API, chunked by time; the CLI's --prometheus. Privileged: the page must not make the engine fetch arbitrary URLs. */
  'import.prometheus': method(ImportOptions.omit({ kind: true, format: true }).extend({
    url: z.string().url().max(2000), query: z.string().min(1).max(10_000), from: z.number().int(), until: z.number().int(), stepSeconds: z.number().positive().max(86_400),
    user: z.string().max(200).optional(), password: z.string().max(2000).optional(), bearer: z.string().max(10_000).optional(),
  }), JobStarted, { job: true, privileged: true }),
  /** Saved import mappings (the wizard's choices), reusable by name: `import --mapping NAME`. */
  'mappings.list': method(z.object({}), z.array(SavedMapping)),
  'mappings.save': method(z.object({ name: z.string().regex(MAPPING_NAME, 'a mapping name is 1-64 letters, digits, dots, dashes or underscores'), options: MappingOptions }), SavedMapping),
  'jobs.list': method(z.object({}), z.array(JobStatus)),
  'jobs.get': method(z.object({ jobId: z.string().max(64) }), JobStatus),
  'jobs.cancel': method(z.object({ jobId: z.string().max(64) }), JobStatus),
  'services.list': method(z.object({}), z.array(Service)),
  'series.list': method(z.object({ service: z.string().max(200) }), z.array(SeriesInfo)),
  'timeline.query': method(z.object({
    service: z.string().max(200),
    from: z.number().int().optional(),
    until: z.number().int().optional(),
    maxBuckets: z.number().int().min(10).max(5000).default(800),
    /** Colour the change markers by the risk this model gave them in this run. */
    risk: z.object({ runId: z.number().int(), modelId: z.number().int() }).optional(),
    /** Show the alerts this detection run's detectors raised. */
    detectionRunId: z.number().int().optional(),
  }), Timeline),
  'changes.page': method(PageQuery, Page(Change)),
  /**
   * Every change's outcome as a run would label it (DESIGN.md §3: the change's own label, a postmortem
   * link, else the attribution rule — the workspace's default unless given), and the rule used.
   */
  'changes.outcomes': method(z.object({ attribution: AttributionRuleSchema.optional() }), z.object({
    attribution: AttributionRuleSchema, outcomes: z.array(z.object({ change: z.string(), label: z.union([z.literal(0), z.literal(1)]), source: z.string() })),
  })),
  'incidents.page': method(PageQuery, Page(Incident)),
  'alerts.page': method(PageQuery, Page(Alert)),
  'features.catalog': method(z.object({}), z.object({ history: z.array(z.object({ name: z.string(), description: z.string() })), attributes: z.array(z.string()), telemetry: z.array(z.string()) })),
  'models.list': method(z.object({}), z.array(ModelInfo)),
  'models.get': method(z.object({ id: z.number().int() }), ModelInfo),
  /** Registers an uploaded ONNX file with its manifest, after validating both against the workspace. */
  'models.addOnnx': method(z.object({ uploadId: z.string().regex(/^[a-f0-9]{32}$/), manifest: ModelManifest }), ModelInfo),
  /** `reuse`: the same file with the same manifest as a live version gives that version back (a CI job run twice), instead of a conflict. */
  'models.addOnnxPath': method(z.object({ path: z.string().min(1), manifest: ModelManifest, reuse: z.boolean().default(false) }), ModelInfo, { privileged: true }),
  'models.train': method(TrainOptions, ModelInfo),
  'models.retire': method(z.object({ id: z.number().int() }), ModelInfo),
  'models.exportPath': method(z.object({ id: z.number().int(), path: z.string().min(1) }), z.object({ onnx: z.string(), manifest: z.string() }), { privileged: true }),
  'runs.start': method(RunConfig, JobStarted, { job: true }),
  // The engine parses feedback itself (it needs the cross-field rule for overrides).
  'feedback.add': method(z.object({}).passthrough(), Feedback),
  'feedback.list': method(z.object({ runId: z.number().int().optional(), modelId: z.number().int().optional(), changeId: z.number().int().optional() }), z.array(Feedback)),
  'feedback.summary': method(z.object({ runId: z.number().int(), modelId: z.number().int() }), FeedbackSummary),
  'settings.get': method(z.object({}), z.object({ pii: PiiSettings })),
  'settings.setPii': method(PiiSettings, z.object({ pii: PiiSettings })),
  /** What scrubbing would do to some text (the import wizard's preview of a file's first lines). */
  /** `withSaved: false` previews a draft of the workspace's rules (Settings) instead of adding to them. */
  'pii.preview': method(z.object({ text: z.string().max(65_536), rules: z.array(PiiRuleInput).max(50).default([]), withSaved: z.boolean().default(true) }), z.object({ text: z.string(), redactions: z.record(z.string(), z.number().int()) })),
  'audit.list': method(z.object({
    offset: z.number().int().min(0).default(0), limit: z.number().int().min(1).max(1000).default(200),
    action: z.string().max(100).optional(), actor: z.string().max(200).optional(), text: z.string().max(200).optional(),
  }), Page(AuditEntry)),
  /** expectHead: a head recorded outside the workspace ("#N <sha256>", as verify prints it): the chain must still hold it */
  'audit.verify': method(z.object({ expectHead: z.string().regex(/^#[1-9]\d* [0-9a-f]{64}$/, 'a head as verify prints it: #N (from 1) and 64 hex digits').optional() }), AuditVerification),
  'roles.get': method(z.object({}), z.object({ changeRisk: z.number().int().nullable() })),
  'models.retrain': method(z.object({ modelId: z.number().int(), cutoff: z.number().int().optional(), useFeedback: z.boolean().default(true) }), JobStarted, { job: true }),
  'datasets.export': method(z.object({ features: z.array(z.string().max(100)).max(500).optional() }), z.object({ rows: z.number().int(), csv: z.string() })),
  'roles.revert': method(z.object({}), z.object({ championId: z.number().int().nullable() })),
  'models.history': method(z.object({ modelId: z.number().int().optional() }), z.array(ModelEvent)),
  /** `reason`: why (a gate verdict, a review), kept with the model's history and in the audit log. */
  'roles.setChampion': method(z.object({ modelId: z.number().int().nullable(), reason: z.string().trim().max(500).optional() }), z.object({ championId: z.number().int().nullable(), changed: z.boolean().optional() })),
  'compare.run': method(z.object({ runId: z.number().int(), championId: z.number().int(), challengerId: z.number().int(), resamples: z.number().int().min(0).max(10000).optional() }), Comparison),
  'gates.presets': method(z.object({}), z.array(GateSpec)),
  'gates.list': method(z.object({}), z.array(SavedGate)),
  // Gate specs are parsed by the engine (parseGate), which names the criterion and the shape it needs.
  'gates.save': method(z.object({ spec: z.unknown() }), SavedGate),
  'gates.check': method(z.object({
    runId: z.number().int(), modelId: z.number().int(),
    /** an unsaved spec (the editor's live verdict), or the latest version of a saved gate by name */
    spec: z.unknown().optional(), gate: z.string().min(1).max(100).optional(),
    /** null: judge without a champion; absent: the workspace's champion */
    championId: z.number().int().nullable().optional(),
    resamples: z.number().int().min(0).max(10000).optional(),
    /** the editor's live preview: a verdict on each pause in typing is not a decision, so it is not audited */
    preview: z.boolean().default(false),
  }), GateResult),
  /** A gate for one detector of a detection run: absolute criteria, and relative ones against the imported alerts. */
  'gates.checkDetection': method(z.object({
    runId: z.number().int(), modelId: z.number().int(),
    spec: z.unknown().optional(), gate: z.string().min(1).max(100).optional(),
    resamples: z.number().int().min(0).max(10000).optional(),
    preview: z.boolean().default(false),
  }), GateResult),
  'changes.score': method(z.object({
    modelId: z.number().int(),
    change: z.object({ id: z.string().min(1).max(200).optional(), service: z.string().min(1).max(200), timestamp: z.number().int().optional(), author: z.string().max(200).nullable().optional(), attributes: z.record(z.string(), z.number()).optional() }),
  }), z.object({
    change: z.string(), model: z.object({ id: z.number().int(), name: z.string(), version: z.number().int() }), score: z.number(), threshold: z.number(), gate: z.boolean(),
    contributions: z.array(z.object({ feature: z.string(), value: z.number(), contribution: z.number() })), mitigations: z.array(z.object({ feature: z.string(), text: z.string() })),
    /** attributes given that the model does not read and no imported change has: most likely misspelt */
    unknownAttributes: z.array(z.string()).default([]),
  })),
  /** A report is a job (seconds to a minute on a year of changes); its result is a ReportFile. */
  'reports.start': method(z.object({
    runId: z.number().int(), format: z.enum(['html', 'md']),
    gate: z.unknown().optional(), championId: z.number().int().nullable().optional(),
  }), JobStarted, { job: true }),
  /** A detection run's report as a job; `gate` (a detection gate) judges each detector. */
  'reports.startDetection': method(z.object({
    runId: z.number().int(), format: z.enum(['html', 'md']), gate: z.unknown().optional(),
  }), JobStarted, { job: true }),
  'drills.list': method(z.object({}), z.array(SavedDrill)),
  // Drill specs are parsed by the engine (parseDrill), which names the perturbation and field at fault.
  'drills.save': method(z.object({ spec: z.unknown() }), SavedDrill),
  /** Runs an unsaved spec, or the latest version of a saved drill by name; the job's result is a DrillReport. */
  'drills.start': method(z.object({ spec: z.unknown().optional(), name: z.string().min(1).max(64).optional() }), JobStarted, { job: true }),
  'drills.results': method(z.object({ runId: z.number().int().optional(), task: z.enum(['change-risk', 'detection']).optional() }), z.array(DrillReport)),
  'drills.result': method(z.object({ id: z.number().int() }), DrillReport),
  'detectors.add': method(AddDetector, ModelInfo),
  'detectors.addOnnx': method(z.object({ uploadId: z.string().regex(/^[a-f0-9]{32}$/), manifest: WindowManifest }), ModelInfo),
  'detectors.addOnnxPath': method(z.object({ path: z.string().min(1), manifest: WindowManifest }), ModelInfo, { privileged: true }),
  'rankers.addOnnx': method(z.object({ uploadId: z.string().regex(/^[a-f0-9]{32}$/), manifest: RankerManifest }), ModelInfo),
  'rankers.addOnnxPath': method(z.object({ path: z.string().min(1), manifest: RankerManifest }), ModelInfo, { privileged: true }),
  'detection.start': method(DetectionRunConfig, JobStarted, { job: true }),
  'detection.runs': method(z.object({}), z.array(DetectionRunInfo)),
  'detection.report': method(z.object({ runId: z.number().int(), resamples: z.number().int().min(0).max(10000).optional() }), DetectionReport),
  'detection.incidents': method(z.object({ runId: z.number().int() }), z.array(IncidentDetection)),
  'detection.replay': method(z.object({
    runId: z.number().int(), incident: z.string().min(1).max(200), cursor: z.number().int().optional(),
    riskRun: z.object({ runId: z.number().int(), modelIds: z.array(z.number().int()).max(10) }).optional(),
    lookbackHours: z.number().positive().max(24 * 30).optional(),
  }), ReplayFrame),
  'attribution.evaluate': method(AttributionConfig, AttributionResult),
  'runs.list': method(z.object({}), z.array(RunInfo)),
  'runs.get': method(z.object({ id: z.number().int() }), RunInfo),
  /** Removes a finished, failed or interrupted change-risk run and its suggestions (refused while it runs, or while humans' feedback on it exists). */
  'runs.delete': method(z.object({ id: z.number().int() }), z.object({ id: z.number().int(), suggestions: z.number().int(), drillResults: z.number().int() })),
  'detection.delete': method(z.object({ id: z.number().int() }), z.object({ id: z.number().int(), alerts: z.number().int(), scoreChunks: z.number().int(), drillResults: z.number().int() })),
  /** Gives the space of deleted runs back to the disk (SQLite VACUUM). */
  'workspace.compact': method(z.object({}), z.object({ bytesBefore: z.number().int(), bytesAfter: z.number().int() })),
  'runs.scorecard': method(z.object({ runId: z.number().int(), modelId: z.number().int(), threshold: z.number().min(0).max(1).optional(), resamples: z.number().int().min(0).max(10000).optional() }), Scorecard),
  'runs.suggestions': method(z.object({ runId: z.number().int(), modelId: z.number().int(), offset: z.number().int().min(0).default(0), limit: z.number().int().min(1).max(1000).default(200), gated: z.boolean().optional(), minScore: z.number().min(0).max(1).optional(), belowScore: z.number().min(0).max(1).optional(), label: z.union([z.literal(0), z.literal(1)]).optional() }), Page(Suggestion)),
  'suggestions.get': method(z.object({ runId: z.number().int(), modelId: z.number().int(), changeId: z.number().int() }), SuggestionDetail),
} as const;

export type Methods = typeof methods;
export type MethodName = keyof Methods;
export type MethodInput<M extends MethodName> = z.input<Methods[M]['input']>;
export type MethodParsedInput<M extends MethodName> = z.output<Methods[M]['input']>;
export type MethodOutput<M extends MethodName> = z.output<Methods[M]['output']>;

export const METHOD_NAMES = Object.keys(methods) as MethodName[];
export const PUBLIC_METHOD_NAMES = METHOD_NAMES.filter((name) => !methods[name].privileged);

export function isMethodName(name: unknown): name is MethodName {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(methods, name);
}

export { ImportReport };
