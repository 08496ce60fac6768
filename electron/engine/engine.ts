import './pii/linear-regex.js';
import fs from 'node:fs';
import { unfinishedReason } from '../../shared/domain/run-state.js';
import os from 'node:os';
import path from 'node:path';
import { fetchPrometheus } from './importers/prometheus-live.js';
import { checkDrill, getDrillResult, listDrillResults, listDrills, parseDrill, runDrill, saveDrill } from './drills/drill.js';
import type { DrillSpec } from '../../shared/contract/drills.js';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { isMethodName, MappingOptions, methods, type MethodName, type MethodOutput, type MethodParsedInput } from '../../shared/contract/methods.js';
import type { EngineEvent, Result } from '../../shared/contract/result.js';
import type { ImportReport, JobStatus, WorkspaceInfo } from '../../shared/contract/records.js';
import { openWorkspace, settle, type Db } from './db/workspace.js';
import { buildDemoWorkspace, isDemoOrAbsent } from './demo.js';
import writeFileAtomic from 'write-file-atomic';
import { EngineFailure, storageFailure } from './errors.js';
import { memo } from './memo.js';
import { reportOnThread } from './detection/report-thread.js';
import type { GateResult } from '../../shared/contract/gates.js';
import type { DetectionReport } from '../../shared/contract/detection.js';
import { importFile } from './importers/import-file.js';
import { warmImportWriter } from './importers/write-thread.js';
import { warmBootstrapThreads } from './metrics/parallel-bootstrap.js';
import { releaseKeptWriter, warmSuggestionWriter } from './runs/suggestion-sink.js';
import { releaseIdleOnnxThreads, warmOnnxThread } from './models/onnx-thread.js';
import { JobRunner, type JobContext } from './jobs/jobs.js';
import { listServices, listSeries, listSources, page, workspaceInfo } from './queries/records.js';
import { queryTimeline } from './queries/timeline.js';
import { featureCatalog, HISTORY_FEATURES, loadChanges } from './features/catalog.js';
import { defaultRule, labelChanges } from './features/outcomes.js';
import { ALREADY_REGISTERED, addDetector, addOnnxDetector, addOnnxModel, addOnnxRanker, trainingOf, exportOnnx, getModel, listModels, retireModel, trainBuiltin } from './models/registry.js';
import { checkChangeRiskModels, getRun, listRuns, runChangeRisk } from './runs/replay-changes.js';
import { recoverInterrupted } from './runs/recovery.js';
import { compactWorkspace, deleteDetectionRun, deleteRun } from './runs/delete-run.js';
import { scorecard, suggestionDetail, suggestionsPage } from './runs/scorecard.js';
import { evaluateAttribution } from './detection/attribution.js';
import { appendAudit, listAudit, verifyAudit } from './audit/audit.js';
import { piiSettings, previewPii, scrubForLog, setPiiSettings } from './pii/settings.js';
import { addFeedback, feedbackSummary, listFeedback } from './runs/feedback.js';
import { compareModels, getChampion, modelHistory, revertChampion, setChampion } from './gates/compare.js';
import { checkGate, latestGate, listGates, parseGate, saveGate } from './gates/gates.js';
import { checkDetectionGate, checkDetectionGateNames } from './gates/detection-gate.js';
import { renderReport } from './reports/report.js';
import { renderDetectionReport } from './reports/detection-report.js';
import { deleteSource } from './importers/delete-source.js';
import { scorePendingChange } from './runs/score-change.js';
import { exportDataset, retrain } from './runs/retrain.js';
import { PRESETS } from '../../shared/gates/gate.js';
import { compileRule, makeScrubber } from '../../shared/domain/pii.js';
import { checkDetectors, getDetectionRun, listDetectionRuns, runDetection } from './detection/replay-detection.js';
import { replayFrame } from './detection/replay-view.js';
import { detectionReport, incidentDetections } from './detection/scorecard.js';

export const VERSION = '0.1.0';

function safeUsername(): string {
  try {
    return os.userInfo().username;
  } catch {
    return 'unknown user';
  }
}

type Audit = { action: string; subject: string; payload?: unknown };
type ModelOut = { id: number; name: string; version: number; sha256: string; task: string; kind: string; notes?: string[] };
const modelAudit = (action: string) => (_: unknown, m: ModelOut): Audit | null => (m.notes?.[0]?.startsWith(ALREADY_REGISTERED) ? null : { action, subject: `model ${m.name} v${m.version}`, payload: { id: m.id, task: m.task, kind: m.kind, sha256: m.sha256 } });

type PiiRuleText = { name: string; pattern: string };
/** A file's name under an import's own PII rules (the log applies the workspace's rules after). */
const byImportRules = (text: string, rules: readonly PiiRuleText[] | undefined): string => {
  if (!rules?.length) return text;
  try {
    return makeScrubber(rules.map(compileRule), () => '').text(text);
  } catch {
    return text; // a bad rule refuses the import itself, with its name
  }
};

// An import that may overwrite stored changes and incidents says so where the log lists it.
const updating = (input: { updateExisting: boolean }): string => (input.updateExisting ? ', updating stored rows that differ' : '');

/**
 * What each state-changing method writes to the audit log (DESIGN.md §7). Reads write nothing;
 * methods that start jobs write one entry now and one when the job ends.
 */
/** Names for the log's subjects, looked up in the workspace the call was made in (ids alone mean nothing to an auditor). */
interface Names { model(id: number | null): string; change(id: number): string }
const namesIn = (db: Db | null): Names => ({
  model: (id) => {
    if (id === null) return 'none';
    const m = db?.prepare('SELECT name, version FROM models WHERE id = ?').get(id) as { name: string; version: number } | undefined;
    return m ? `${m.name} v${m.version} (id ${id})` : `model ${id}`;
  },
  change: (id) => {
    const ext = db?.prepare('SELECT external_id FROM changes WHERE id = ?').pluck().get(id) as string | undefined;
    return ext ?? `change ${id}`;
  },
});

const AUDITED: Partial<Record<MethodName, (input: never, output: never, names: Names) => Audit | null>> = {
  'models.addOnnx': modelAudit('model.add'),
  'models.addOnnxPath': modelAudit('model.add'),
  'models.train': (input: { kind: string; cutoff?: number }, m: ModelOut) => ({ action: 'model.train', subject: `model ${m.name} v${m.version}`, payload: { id: m.id, sha256: m.sha256, kind: input.kind, cutoff: input.cutoff ?? null } }),
  // Retiring the champion also leaves the task without one: the entry says so.
  'models.retire': (_: unknown, m: ModelOut & { wasChampion?: boolean }) => ({ action: 'model.retire', subject: `model ${m.name} v${m.version}`, payload: { id: m.id, task: m.task, kind: m.kind, sha256: m.sha256, ...(m.wasChampion ? { champion: 'none: it was the champion' } : {}) } }),
  'models.exportPath': (input: { id: number; path: string }, _: unknown, names: Names) => ({ action: 'model.export', subject: `${names.model(input.id)} to ${path.basename(input.path)}`, payload: { id: input.id } }),
  'mappings.save': (_: unknown, m: { name: string; version: number; options: unknown }) => ({ action: 'mapping.save', subject: `mapping ${m.name} v${m.version}`, payload: m.options }),
  // What a CI job posts on a deploy ("would be HELD") is a decision like a gate verdict.
  'changes.score': (_: unknown, r: { change: string; model: { name: string; version: number }; score: number; threshold: number; gate: boolean }) => ({ action: 'change.score', subject: `${r.change} by ${r.model.name} v${r.model.version}`, payload: { score: r.score, threshold: r.threshold, held: r.gate } }),
  'detectors.add': modelAudit('model.add'),
  'detectors.addOnnx': modelAudit('model.add'),
  'detectors.addOnnxPath': modelAudit('model.add'),
  'rankers.addOnnx': modelAudit('model.add'),
  'rankers.addOnnxPath': modelAudit('model.add'),
  'models.retrain': (input: { modelId: number; cutoff?: number; useFeedback: boolean }, out: { jobId: string }) => ({ action: 'model.retrain', subject: `model ${input.modelId}`, payload: { job: out.jobId, cutoff: input.cutoff ?? null, useFeedback: input.useFeedback } }),
  'sources.delete': (_: unknown, out: { id: number; kind: string; fileName: string; rows: number }) => ({ action: 'import.delete', subject: `${out.kind} from ${out.fileName} (import ${out.id})`, payload: out }),
  'runs.delete': (_: unknown, out: { id: number; suggestions: number; drillResults: number }) => ({ action: 'run.delete', subject: `change-risk run ${out.id}`, payload: out }),
  'detection.delete': (_: unknown, out: { id: number; alerts: number; scoreChunks: number; drillResults: number }) => ({ action: 'run.delete', subject: `detection run ${out.id}`, payload: out }),
  'workspace.compact': (_: unknown, out: { bytesBefore: number; bytesAfter: number }) => ({ action: 'workspace.compact', subject: 'workspace file compacted', payload: out }),
  'workspace.backupPath': (_: unknown, out: { path: string; bytes: number; auditHead: string }) => ({ action: 'workspace.backup', subject: `backup to ${path.basename(out.path)}`, payload: { bytes: out.bytes, auditHead: out.auditHead } }),
  'datasets.export': (input: { features?: string[] }, out: { rows: number }) => ({ action: 'dataset.export', subject: 'labelled dataset', payload: { rows: out.rows, features: input.features ?? 'all' } }),
  'roles.revert': (_: unknown, out: { championId: number | null }) => ({ action: 'model.status', subject: `change-risk champion reverted to model ${out.championId}`, payload: { task: 'change-risk', champion: out.championId, revert: true } }),
  'roles.setChampion': (input: { modelId: number | null; reason?: string }, out: { changed?: boolean }, names: Names) => out.changed === false ? null : ({ action: 'model.status', subject: `change-risk champion: ${names.model(input.modelId)}`, payload: { task: 'change-risk', champion: input.modelId, reason: input.reason ?? null } }),
  'drills.save': (_: unknown, d: { name: string; version: number; spec: unknown }) => ({ action: 'drill.save', subject: `drill ${d.name} v${d.version}`, payload: d.spec }),
  'drills.start': (input: { name?: string; spec?: unknown }, out: { jobId: string }) => ({ action: 'drill.start', subject: `drill ${input.name ?? (input.spec as { name?: string } | undefined)?.name ?? '?'}`, payload: { job: out.jobId, name: input.name ?? null, spec: input.spec ?? null } }),
  'gates.save': (_: unknown, g: { name: string; version: number; spec: unknown }) => ({ action: 'gate.save', subject: `gate ${g.name} v${g.version}`, payload: g.spec }),
  // A verdict's entry says what was judged, not only the gate's name (an ad-hoc spec may borrow a
  // preset's name): every criterion as judged, and the champion it was judged against.
  'gates.check': (input: { preview: boolean }, r: GateResult) => input.preview ? null : ({
    action: 'gate.verdict', subject: `model ${r.model.name} v${r.model.version} in run ${r.runId}`, payload: verdictPayload(r),
  }),
  'gates.checkDetection': (input: { preview: boolean }, r: GateResult) => input.preview ? null : ({
    action: 'gate.verdict', subject: `detector ${r.model.name} v${r.model.version} in detection run ${r.runId}`, payload: { ...verdictPayload(r), task: 'detection' },
  }),
  'feedback.add': (_: unknown, f: { id: number; runId: number; modelId: number; changeId: number; verdict: string; decision: string | null; reason: string; author: string }, names: Names) => ({
    action: 'feedback.add', subject: `${names.change(f.changeId)} by ${names.model(f.modelId)} in run ${f.runId}`, payload: { id: f.id, verdict: f.verdict, decision: f.decision, reason: f.reason, author: f.author },
  }),
  'settings.setPii': (input: { rules: unknown[]; dropColumns: string[] }) => ({ action: 'pii.rules', subject: 'PII settings', payload: input }),
  'reports.start': (input: { runId: number; format: string }, out: { jobId: string }) => ({ action: 'report.export', subject: `run ${input.runId}`, payload: { job: out.jobId, format: input.format } }),
  'reports.startDetection': (input: { runId: number; format: string }, out: { jobId: string }) => ({ action: 'report.export', subject: `detection run ${input.runId}`, payload: { job: out.jobId, format: input.format } }),
  'runs.start': (input: { models: number[] }, out: { jobId: string }, names: Names) => ({ action: 'run.start', subject: `change-risk run of ${input.models.map((id) => names.model(id)).join(', ')}`, payload: { job: out.jobId, config: input } }),
  'detection.start': (input: { models: number[] }, out: { jobId: string }, names: Names) => ({ action: 'detection.start', subject: `detection run of ${input.models.map((id) => names.model(id)).join(', ')}`, payload: { job: out.jobId, config: input } }),
  'import.start': (input: { fileName: string; kind: string; dryRun: boolean; updateExisting: boolean; piiRules?: PiiRuleText[] }, out: { jobId: string }) => input.dryRun ? null : ({ action: 'import.start', subject: `${input.kind} from ${byImportRules(input.fileName, input.piiRules)}${updating(input)}`, payload: { job: out.jobId, kind: input.kind, updateExisting: input.updateExisting } }),
  'import.prometheus': (input: { url: string; query: string; from: number; until: number; stepSeconds: number }, out: { jobId: string }) => ({ action: 'import.start', subject: `telemetry from Prometheus at ${new URL(input.url).host}`, payload: { job: out.jobId, kind: 'telemetry', query: input.query, from: input.from, until: input.until, step: input.stepSeconds } }),
  'import.startPath': (input: { path: string; kind: string; dryRun: boolean; updateExisting: boolean; piiRules?: PiiRuleText[] }, out: { jobId: string }) => input.dryRun ? null : ({ action: 'import.start', subject: `${input.kind} from ${byImportRules(path.basename(input.path), input.piiRules)}${updating(input)}`, payload: { job: out.jobId, kind: input.kind, updateExisting: input.updateExisting } }),
};
export const WORKSPACE_EXT = '.sbw';

const here = path.dirname(fileURLToPath(import.meta.url));

const verdictPayload = (r: GateResult) => ({
  gate: r.gate, gateVersion: r.gateVersion, verdict: r.verdict,
  champion: r.champion ? `${r.champion.name} v${r.champion.version}` : null,
  criteria: r.criteria.map((c) => `${c.verdict}: ${c.criterion}`),
});

/** For waiting without a busy loop where nothing asynchronous can run (closing at a CLI's exit). */
const SLEEP = new Int32Array(new SharedArrayBuffer(4));

export interface EngineOptions {
  /** Who the audit log names for what this engine does; default: the OS user. */
  actor?: string;
  /** Where named workspaces live (the Home page lists them). */
  workspacesDir: string;
  /** Folder with the committed demo inputs. */
  sampleDataDir?: string;
  /**
   * Long-lived hosts (serve mode) ready their worker threads' code in the background when a
   * workspace opens, so the session's first import or run does not wait for it. Off for one-shot
   * CLI commands, where that work would only compete with the command itself.
   */
  warmThreads?: boolean;
}

export interface CallContext {
  /** CLI, tests and the Electron main process; never the HTTP host or the renderer. */
  privileged: boolean;
}

type Handlers = { [M in MethodName]: (input: MethodParsedInput<M>) => Promise<MethodOutput<M>> | MethodOutput<M> };

export interface Engine {
  dispatch(method: string, input: unknown, context?: CallContext): Promise<Result<unknown>>;
  /** Typed convenience for in-process callers; throws EngineFailure on error. */
  call<M extends MethodName>(method: M, input: z.input<(typeof methods)[M]['input']>, context?: CallContext): Promise<MethodOutput<M>>;
  onEvent(listener: (event: EngineEvent) => void): () => void;
  uploadsDir: string;
  jobs: JobRunner;
  /**
   * Closes the workspace. Audit entries still waiting for another program's write lock are retried for
   * up to `waitMs` (default: one last try); `unwritten` counts those that could not be written.
   */
  close(options?: { waitMs?: number; onWait?: (text: string) => void }): { unwritten: number };
}

/**
 * Uploads (serve mode) are kept for the import after a preview or a refusal, so one the user walked
 * away from would stay forever: files of any size in the workspaces folder. Upload ids live only in a
 * page's memory, so an upload this old has nobody left to use it; one that young may belong to
 * another app still open on the same folder.
 */
export const UPLOAD_TTL_MS = 6 * 3_600_000;

export function sweepUploads(dir: string, now = Date.now()): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const file = path.join(dir, name);
    try {
      const stat = fs.statSync(file);
      if (stat.isFile() && now - stat.mtimeMs > UPLOAD_TTL_MS) {
        fs.rmSync(file, { force: true });
        removed.push(name);
      }
    } catch {
      // Gone already, or not ours to remove: the next start tries again.
    }
  }
  return removed;
}

export function createEngine(options: EngineOptions): Engine {
  const workspacesDir = path.resolve(options.workspacesDir);
  const sampleDataDir = options.sampleDataDir ?? path.resolve(here, '../../sample-data/demo');
  const uploadsDir = path.join(workspacesDir, '.uploads');
  sweepUploads(uploadsDir);
  const jobs = new JobRunner();
  const actor = options.actor ?? safeUsername();
  type Workspace = { db: Db; path: string; name: string };
  let current: Workspace | null = null;

  // Set while the demo job swaps the open workspace: a call made meanwhile would act on (or
  // queue a job against) the workspace that is about to close.
  let switching = false;
  let switchJob: string | null = null;
  const requireDb = (): { db: Db; path: string; name: string } => {
    if (switching) throw new EngineFailure('conflict', 'The demo workspace is being opened; wait for it to finish');
    if (!current) throw new EngineFailure('no_workspace', 'No workspace is open. Create or open one first.');
    return current;
  };
  /** A detection run's report: kept once its run is finished, computed on its own thread (a year of telemetry takes tens of seconds, and the app must keep answering). */
  const detectionReportOf = (runId: number, resamples?: number): Promise<DetectionReport> => {
    const { db, path: file } = requireDb();
    // Only a finished run's report is kept (a running one's is refused or still changing).
    const done = (db.prepare('SELECT state FROM detection_runs WHERE id = ?').pluck().get(runId) as string | undefined) === 'done';
    const compute = (): Promise<DetectionReport> => reportOnThread(file, runId, resamples) ?? Promise.resolve(detectionReport(db, runId, { resamples }));
    return done ? memo(db, `detection:${runId}:${resamples ?? ''}`, compute) : compute();
  };
  const info = (): WorkspaceInfo => {
    const ws = requireDb();
    return workspaceInfo(ws.db, ws.path, ws.name);
  };
  // What a killed process left behind is cleaned up by the next one to open the workspace, and said in its log.
  const recover = (ws: Workspace): void => {
    const r = recoverInterrupted(ws.db);
    for (const id of r.runs) audit({ action: 'run.interrupted', subject: `change-risk run ${id}`, payload: { run: id, removed: 'partial suggestions' } }, ws);
    for (const id of r.detectionRuns) audit({ action: 'detection.interrupted', subject: `detection run ${id}`, payload: { run: id, removed: 'partial scores and alerts' } }, ws);
    if (r.retrain) audit({ action: 'model.retrain.interrupted', subject: `model ${r.retrain.name}`, payload: { id: r.retrain.modelId, removed: 'the unfinished version and its comparison run' } }, ws);
  };
  const openAt = (file: string, create: boolean): WorkspaceInfo => {
    if (jobs.busy) throw new EngineFailure('conflict', 'A job is still running; wait for it or cancel it before switching workspaces');
    const db = openWorkspace(file, { create });
    current?.db.close();
    current = { db, path: file, name: path.basename(file, WORKSPACE_EXT) };
    recover(current);
    if (options.warmThreads) {
      // With a workspace open, imports, runs and scorecards are a click away: ready their threads' code.
      void warmImportWriter();
      void warmSuggestionWriter();
      void warmBootstrapThreads();
      void warmOnnxThread();
    }
    return info();
  };
  // A model file uploaded through the host (serve mode): read once, then removed whatever happens.
  const fromUpload = async <T>(uploadId: string, use: (bytes: Buffer) => Promise<T>): Promise<T> => {
    const file = path.join(uploadsDir, uploadId);
    if (!fs.existsSync(file)) throw new EngineFailure('not_found', `No upload ${uploadId}; upload the model file first`);
    try {
      return await use(fs.readFileSync(file));
    } finally {
      fs.rmSync(file, { force: true });
    }
  };
  const modelFile = (file: string): Buffer => {
    if (!fs.existsSync(file)) throw new EngineFailure('input_error', `No model file at ${file}`);
    return fs.readFileSync(file);
  };
  const namedPath = (name: string): string => path.join(workspacesDir, `${name}${WORKSPACE_EXT}`);
  const ensureDir = (dir: string): void => {
    fs.mkdirSync(dir, { recursive: true });
  };

  const handlers: Handlers = {
    'app.info': () => ({ version: VERSION, workspacesDir, workspace: current ? info() : null }),
    'workspace.list': () => {
      if (!fs.existsSync(workspacesDir)) return [];
      return fs.readdirSync(workspacesDir)
        .filter((f) => f.endsWith(WORKSPACE_EXT))
        .map((f) => {
          const stat = fs.statSync(path.join(workspacesDir, f));
          return { name: path.basename(f, WORKSPACE_EXT), bytes: stat.size, modifiedAt: Math.round(stat.mtimeMs) };
        })
        .sort((a, b) => b.modifiedAt - a.modifiedAt);
    },
    'workspace.create': ({ name }) => {
      ensureDir(workspacesDir);
      if (fs.existsSync(namedPath(name))) throw new EngineFailure('conflict', `A workspace named "${name}" already exists`);
      if (name.toLowerCase() === 'demo') throw new EngineFailure('bad_request', '"demo" is the demo workspace\'s name (Open demo builds it); choose another');
      return openAt(namedPath(name), true);
    },
    'workspace.open': ({ name }) => openAt(namedPath(name), false),
    'workspace.openPath': ({ path: file, create }) => openAt(path.resolve(file), create),
    'workspace.info': () => info(),
    'workspace.close': () => {
      if (jobs.busy) throw new EngineFailure('conflict', 'A job is still running; cancel it before closing the workspace');
      const was = current !== null;
      current?.db.close();
      current = null;
      return { closed: was };
    },
    'detection.delete': ({ id }) => {
      if (jobs.busy) throw new EngineFailure('conflict', 'A job is still running; wait for it before deleting a run');
      return deleteDetectionRun(requireDb().db, id);
    },
    'runs.delete': ({ id }) => {
      if (jobs.busy) throw new EngineFailure('conflict', 'A job is still running; wait for it before deleting a run');
      return deleteRun(requireDb().db, id);
    },
    'workspace.compact': () => {
      if (jobs.busy) throw new EngineFailure('conflict', 'A job is still running; compact the workspace when it has finished');
      const ws = requireDb();
      return compactWorkspace(ws.db, ws.path, (f) => fs.statSync(f).size);
    },
    'workspace.backupPath': async ({ path: target }) => {
      const ws = requireDb();
      const out = path.resolve(target);
      if (out === path.resolve(ws.path)) throw new EngineFailure('bad_request', 'A backup must go to another file than the workspace itself');
      if (fs.existsSync(out)) throw new EngineFailure('conflict', `${out} already exists; a backup never overwrites a file`);
      // SQLite's online backup copies the database as one reader sees it (log included), page by page,
      // into a file of its own: a plain copy of the .sbw while it is open misses what is still in its -wal.
      const partial = `${out}.partial-${process.pid}`;
      try {
        await ws.db.backup(partial);
        fs.renameSync(partial, out);
      } catch (err) {
        fs.rmSync(partial, { force: true });
        const storage = storageFailure(err, out);
        throw storage ?? new EngineFailure('input_error', `Could not write the backup to ${out}: ${(err as Error).message}`);
      }
      const head = verifyAudit(ws.db);
      return { path: out, bytes: fs.statSync(out).size, auditHead: head.ok ? head.head : `log broken${head.firstBad !== null ? ` at #${head.firstBad}` : ''}: ${head.reason}` };
    },
    'demo.open': ({ rebuild }) => {
      // It switches the open workspace, as workspace.open does: not under a running job.
      if (jobs.busy) throw new EngineFailure('conflict', 'A job is still running; wait for it or cancel it before switching workspaces');
      const file = namedPath('demo');
      switching = true;
      const started = jobs.start('demo', 'Open the demo workspace', async (job) => {
        try {
          if (rebuild || !fs.existsSync(file)) {
            ensureDir(workspacesDir);
            if (current?.path === file) {
              current.db.close();
              current = null;
            }
            // A workspace named "demo" that the demo builder did not make (an older version's
            // demo, or someone's own) is moved aside, never deleted: its data and audit log stay.
            if (!isDemoOrAbsent(file)) {
              const aside = namedPath(`demo-replaced-${new Date().toISOString().slice(0, 19).replace(/[-:]/g, '').replace('T', '-')}`);
              for (const suffix of ['', '-wal', '-shm']) if (fs.existsSync(`${file}${suffix}`)) fs.renameSync(`${file}${suffix}`, `${aside}${suffix}`);
              job.progress({ fraction: null, message: `the workspace that was named demo is kept as ${path.basename(aside)}` });
            }
            await buildDemoWorkspace(file, sampleDataDir, job, { actor });
          }
          const db = openWorkspace(file);
          current?.db.close();
          current = { db, path: file, name: 'demo' };
          recover(current);
        } finally {
          switching = false;
        }
        return info();
      });
      switchJob = started.id;
      return { jobId: started.id };
    },
    'demo.build': ({ path: file }) => ({
      jobId: jobs.start('demo', 'Build the demo workspace', async (job) => {
        await buildDemoWorkspace(path.resolve(file), sampleDataDir, job, { actor });
        return { path: path.resolve(file) };
      }).id,
    }),
    'sources.list': () => listSources(requireDb().db),
    'metrics.list': () => requireDb().db.prepare('SELECT DISTINCT metric FROM series ORDER BY metric').pluck().all() as string[],
    'sources.delete': ({ id }) => {
      if (jobs.busy) throw new EngineFailure('conflict', 'A job is still running; wait for it before deleting an import');
      return deleteSource(requireDb().db, id);
    },
    'import.start': (input) => {
      const file = path.join(uploadsDir, input.uploadId);
      if (!fs.existsSync(file)) throw new EngineFailure('not_found', `No upload ${input.uploadId}; upload the file first`);
      // The upload stays for the next attempt after a dry run (the wizard's preview and check), a
      // refusal (to retry with "accept valid rows"), a cancel or a failure (status null: to try again);
      // an import that landed, or found the file already imported, consumes it. Old uploads are swept at start.
      return startImport(input, file, input.fileName, (status) => (input.dryRun || status === 'refused' || status === null ? undefined : fs.rmSync(file, { force: true })));
    },
    'mappings.list': () => (requireDb().db.prepare('SELECT name, version, options, saved_at FROM mappings ORDER BY name, version').all() as { name: string; version: number; options: string; saved_at: number }[])
      .map((r) => ({ name: r.name, version: r.version, options: MappingOptions.parse(JSON.parse(r.options)), savedAt: r.saved_at })),
    'mappings.save': ({ name, options }) => {
      const { db } = requireDb();
      const version = ((db.prepare('SELECT max(version) FROM mappings WHERE name = ?').pluck().get(name) as number | null) ?? 0) + 1;
      const savedAt = Date.now();
      db.prepare('INSERT INTO mappings (name, version, options, saved_at) VALUES (?, ?, ?, ?)').run(name, version, JSON.stringify(options), savedAt);
      return { name, version, options, savedAt };
    },
    'import.startPath': (input) => startImport(input, path.resolve(input.path), path.basename(input.path), () => undefined),
    'import.prometheus': (input) => {
      const { url, query, from, until, stepSeconds, user, password, bearer, ...options } = input;
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-prometheus-'));
      const file = path.join(dir, 'query_range.ndjson');
      const auth = bearer ? { bearer } : user !== undefined ? { user, password: password ?? '' } : undefined;
      // The file name records what was asked, never the credentials.
      const name = `prometheus ${new URL(url).host} ${query} ${new Date(from).toISOString()}..${new Date(until).toISOString()} step ${stepSeconds}s`;
      return startImport({ ...options, kind: 'telemetry', format: 'prometheus' }, file, name, () => fs.rmSync(dir, { recursive: true, force: true }),
        (ctx) => fetchPrometheus({ url, query, from, until, stepSeconds, auth }, file, ctx));
    },
    'jobs.list': () => jobs.list(),
    'jobs.get': ({ jobId }) => jobs.get(jobId),
    'jobs.cancel': ({ jobId }) => jobs.cancel(jobId),
    'services.list': () => listServices(requireDb().db),
    'series.list': ({ service }) => listSeries(requireDb().db, service),
    'timeline.query': (input) => queryTimeline(requireDb().db, input),
    'changes.page': (input) => page(requireDb().db, 'changes', input),
    'changes.outcomes': ({ attribution }) => {
      const { db } = requireDb();
      const rule = attribution ?? defaultRule(db);
      const changes = loadChanges(db);
      const outcomes = labelChanges(db, rule, changes);
      return { attribution: rule, outcomes: changes.map((c) => ({ change: c.externalId, label: outcomes.get(c.id)!.label, source: outcomes.get(c.id)!.source })) };
    },
    'incidents.page': (input) => page(requireDb().db, 'incidents', input),
    'alerts.page': (input) => page(requireDb().db, 'alerts', input),
    'features.catalog': () => {
      const catalog = featureCatalog(requireDb().db);
      return { history: catalog.history.map((name) => ({ name, description: HISTORY_FEATURES[name] })), attributes: catalog.attributes, telemetry: catalog.telemetry };
    },
    'models.list': () => listModels(requireDb().db),
    'models.get': ({ id }) => getModel(requireDb().db, id),
    'models.addOnnx': ({ uploadId, manifest }) => fromUpload(uploadId, (bytes) => addOnnxModel(requireDb().db, bytes, manifest)),
    'models.addOnnxPath': ({ path: file, manifest, reuse }) => addOnnxModel(requireDb().db, modelFile(file), manifest, { reuse }),
    'models.train': (input) => trainBuiltin(requireDb().db, input),
    'models.retire': ({ id }) => retireModel(requireDb().db, id, actor),
    'models.exportPath': ({ id, path: file }) => {
      const { bytes, manifest } = exportOnnx(requireDb().db, id);
      const onnxPath = path.resolve(file);
      const manifestPath = onnxPath.replace(/\.onnx$/i, '') + '.manifest.json';
      // Whole files or none: a cut-off model file would fail only when someone loads it elsewhere.
      try {
        writeFileAtomic.sync(onnxPath, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
        writeFileAtomic.sync(manifestPath, JSON.stringify(manifest, null, 2) + '\n');
      } catch (err) {
        throw storageFailure(err, onnxPath) ?? new EngineFailure('input_error', `Could not write ${onnxPath}: ${(err as Error).message}`);
      }
      return { onnx: onnxPath, manifest: manifestPath };
    },
    'runs.start': (config) => {
      const ws = requireDb();
      checkChangeRiskModels(ws.db, [...config.models, ...(config.fallbackModel !== undefined ? [config.fallbackModel] : [])]);
      return { jobId: jobs.start('run', `Shadow run over ${config.models.length} model${config.models.length > 1 ? 's' : ''}`, (ctx) => runChangeRisk(ws.db, config, ctx)).id };
    },
    'feedback.add': (input) => addFeedback(requireDb().db, input as never, actor),
    'feedback.list': (q) => listFeedback(requireDb().db, q),
    'feedback.summary': ({ runId, modelId }) => feedbackSummary(requireDb().db, runId, modelId),
    'settings.get': () => ({ pii: piiSettings(requireDb().db) }),
    'settings.setPii': (input) => ({ pii: setPiiSettings(requireDb().db, input) }),
    'pii.preview': ({ text, rules, withSaved }) => previewPii(requireDb().db, text, rules, withSaved),
    'audit.list': (q) => listAudit(requireDb().db, q),
    'audit.verify': ({ expectHead }) => verifyAudit(requireDb().db, expectHead),
    'roles.get': () => ({ changeRisk: getChampion(requireDb().db) }),
    'roles.setChampion': ({ modelId, reason }) => setChampion(requireDb().db, modelId, actor, reason),
    'models.retrain': ({ modelId, cutoff, useFeedback }) => {
      const ws = requireDb();
      trainingOf(ws.db, modelId); // refuse a model that cannot retrain before starting a job
      return { jobId: jobs.start('retrain', `Retrain model ${modelId} and compare the versions`, (ctx) => retrain(ws.db, { modelId, cutoff, useFeedback }, ctx)).id };
    },
    'datasets.export': ({ features }) => exportDataset(requireDb().db, { features }),
    'roles.revert': () => revertChampion(requireDb().db, actor),
    'models.history': ({ modelId }) => modelHistory(requireDb().db, modelId),
    'compare.run': (input) => compareModels(requireDb().db, input),
    'gates.presets': () => [parseGate(PRESETS.advisory), parseGate(PRESETS.gating)],
    'drills.list': () => listDrills(requireDb().db),
    'drills.save': ({ spec }) => saveDrill(requireDb().db, spec, actor),
    'drills.start': ({ spec, name }) => {
      const ws = requireDb();
      if ((spec === undefined) === (name === undefined)) throw new EngineFailure('bad_request', 'Give a drill spec or the name of a saved drill (one of them)');
      let parsed: DrillSpec;
      let version: number | null = null;
      if (name !== undefined) {
        const saved = listDrills(ws.db).filter((d) => d.name === name);
        if (saved.length === 0) throw new EngineFailure('not_found', `No saved drill named "${name}"`);
        parsed = saved[saved.length - 1]!.spec;
        version = saved[saved.length - 1]!.version;
      } else parsed = parseDrill(spec);
      checkDrill(ws.db, parsed);
      return { jobId: jobs.start('drill', `Drill "${parsed.name}" on ${parsed.task === 'detection' ? 'detection ' : ''}run ${parsed.baseRun}`, (ctx) => runDrill(ws.db, parsed, ctx, { version })).id };
    },
    'drills.results': ({ runId, task }) => listDrillResults(requireDb().db, runId, task),
    'drills.result': ({ id }) => getDrillResult(requireDb().db, id),
    'gates.list': () => listGates(requireDb().db),
    'gates.save': ({ spec }) => saveGate(requireDb().db, spec),
    'gates.check': async ({ runId, modelId, spec, gate, championId, resamples }) => {
      const db = requireDb().db;
      if (spec === undefined && !gate) throw new EngineFailure('bad_request', 'Give a gate spec or the name of a saved gate');
      const saved = spec !== undefined ? null : latestGate(db, gate!);
      return checkGate(db, { runId, modelId, spec: spec !== undefined ? parseGate(spec) : saved!.spec, gateVersion: saved?.version ?? null, championId, resamples });
    },
    'gates.checkDetection': ({ runId, modelId, spec, gate, resamples }) => {
      const db = requireDb().db;
      if (spec === undefined && !gate) throw new EngineFailure('bad_request', 'Give a gate spec or the name of a saved gate');
      const saved = spec !== undefined ? null : latestGate(db, gate!);
      return checkDetectionGate(db, { runId, modelId, spec: spec !== undefined ? parseGate(spec) : saved!.spec, gateVersion: saved?.version ?? null, resamples });
    },
    'changes.score': ({ modelId, change }) => scorePendingChange(requireDb().db, modelId, change),
    'reports.start': ({ runId, format, gate, championId }) => {
      const { db } = requireDb();
      // Checked before the job starts, so a bad gate or an unfinished run is refused at once.
      const spec = gate === undefined ? undefined : parseGate(gate);
      const run = getRun(db, runId);
      const why = unfinishedReason(run, 'a report needs a finished run');
      if (why) throw new EngineFailure('conflict', why);
      return { jobId: jobs.start('report', `${format === 'html' ? 'HTML' : 'Markdown'} report of run ${runId}`, (ctx) => renderReport(db, { runId, format, gate: spec, championId }, ctx)).id };
    },
    'detectors.add': (input) => addDetector(requireDb().db, input),
    'detectors.addOnnx': ({ uploadId, manifest }) => fromUpload(uploadId, (bytes) => addOnnxDetector(requireDb().db, bytes, manifest)),
    'detectors.addOnnxPath': ({ path: file, manifest }) => addOnnxDetector(requireDb().db, modelFile(file), manifest),
    'rankers.addOnnx': ({ uploadId, manifest }) => fromUpload(uploadId, (bytes) => addOnnxRanker(requireDb().db, bytes, manifest)),
    'rankers.addOnnxPath': ({ path: file, manifest }) => addOnnxRanker(requireDb().db, modelFile(file), manifest),
    'detection.start': (config) => {
      const ws = requireDb();
      checkDetectors(ws.db, config.models);
      return { jobId: jobs.start('detection', `Detection run over ${config.models.length} detector${config.models.length > 1 ? 's' : ''}`, (ctx) => runDetection(ws.db, config, ctx)).id };
    },
    'detection.runs': () => listDetectionRuns(requireDb().db),
    'detection.report': ({ runId, resamples }) => detectionReportOf(runId, resamples),
    'reports.startDetection': ({ runId, format, gate }) => {
      const { db } = requireDb();
      // Checked before the job starts, so a bad gate or an unfinished run is refused at once.
      const spec = gate === undefined ? undefined : parseGate(gate);
      const run = getDetectionRun(db, runId);
      const why = unfinishedReason(run, 'a report needs a finished run', 'detection');
      if (why) throw new EngineFailure('conflict', why);
      if (spec) checkDetectionGateNames(spec);
      return { jobId: jobs.start('report', `${format === 'html' ? 'HTML' : 'Markdown'} report of detection run ${runId}`, (ctx) => renderDetectionReport(db, { runId, format, gate: spec }, () => detectionReportOf(runId), ctx)).id };
    },
    'detection.incidents': ({ runId }) => incidentDetections(requireDb().db, runId),
    'detection.replay': (input) => replayFrame(requireDb().db, input),
    'attribution.evaluate': (input) => evaluateAttribution(requireDb().db, input),
    'runs.list': () => listRuns(requireDb().db),
    'runs.get': ({ id }) => getRun(requireDb().db, id),
    'runs.scorecard': ({ runId, modelId, threshold, resamples }) => scorecard(requireDb().db, runId, modelId, { threshold, resamples }),
    'runs.suggestions': (input) => suggestionsPage(requireDb().db, input),
    'suggestions.get': ({ runId, modelId, changeId }) => suggestionDetail(requireDb().db, runId, modelId, changeId),
  };

  function startImport(options: Omit<MethodParsedInput<'import.startPath'>, 'path'>, file: string, fileName: string, cleanup: (status: ImportReport['status'] | null) => void, fetchFirst?: (ctx: JobContext) => Promise<unknown>): { jobId: string } {
    const ws = requireDb();
    const { kind, format, mapping, timeUnit, timeZone, timeFormat, decimalComma, acceptValidRows, updateExisting, defaultService, piiRules, dropColumns, serviceLabel, metricName, environment, dryRun, previewRows } = options;
    // The label names the job in the tray and in its audit entry: under the import's own rules too.
    const job = jobs.start('import', `${dryRun ? 'Check' : 'Import'} ${byImportRules(fileName, piiRules)} as ${kind}`, async (ctx) => {
      let status: ImportReport['status'] | null = null;
      try {
        if (fetchFirst) await fetchFirst(ctx);
        const report = await importFile({
          workspacePath: ws.path, filePath: file, fileName, kind, mapping, timeUnit, acceptValidRows, updateExisting, piiRules, dropColumns,
          ...(format ? { format } : {}), ...(timeZone ? { timeZone } : {}), ...(timeFormat ? { timeFormat } : {}), ...(decimalComma ? { decimalComma } : {}), ...(defaultService ? { defaultService } : {}),
          ...(serviceLabel ? { serviceLabel } : {}), ...(metricName ? { metricName } : {}), ...(environment ? { environment } : {}), dryRun, previewRows,
        }, ctx);
        status = report.status;
        return report;
      } finally {
        cleanup(status);
      }
    });
    return { jobId: job.id };
  }

  async function dispatch(method: string, rawInput: unknown, context: CallContext = { privileged: false }): Promise<Result<unknown>> {
    if (!isMethodName(method)) return { ok: false, error: { code: 'unknown_method', message: `Unknown method "${String(method).slice(0, 100)}"` } };
    const spec = methods[method];
    if (spec.privileged && !context.privileged) {
      return { ok: false, error: { code: 'forbidden', message: `${method} takes a file-system path and is only available to the command line and the desktop app's dialogs` } };
    }
    const parsed = spec.input.safeParse(rawInput ?? {});
    if (!parsed.success) {
      return { ok: false, error: { code: 'bad_request', message: `Invalid input for ${method}: ${z.prettifyError(parsed.error)}`, details: parsed.error.issues } };
    }
    let value: unknown;
    try {
      value = await (handlers[method] as (input: unknown) => unknown)(parsed.data);
    } catch (err) {
      if (err instanceof EngineFailure) return { ok: false, error: { code: err.code, message: err.message, ...(err.details !== undefined ? { details: err.details } : {}) } };
      const storage = storageFailure(err, current?.path ?? null);
      if (storage) return { ok: false, error: { code: storage.code, message: `${method}: ${storage.message}` } };
      return { ok: false, error: { code: 'internal', message: `${method} failed unexpectedly: ${(err as Error).message}` } };
    }
    const checked = spec.output.safeParse(value);
    if (!checked.success) {
      return { ok: false, error: { code: 'internal', message: `${method} produced output that breaks the contract: ${z.prettifyError(checked.error)}` } };
    }
    // The log may say what the output does not show (a retired model was the champion): the handler's
    // own fields, under what the contract gives.
    const told = value && typeof value === 'object' && !Array.isArray(value) && checked.data && typeof checked.data === 'object' ? { ...value, ...checked.data } : checked.data;
    const audited = AUDITED[method]?.(parsed.data as never, told as never, namesIn(current?.db.open ? current.db : null));
    if (audited && current) {
      const jobId = (checked.data as { jobId?: string }).jobId;
      const where = current;
      // An import writes through its own connection and holds the write lock until it commits:
      // its start entry waits and is written, with its time, just before its end entry.
      if (jobId && method.startsWith('import.')) deferredStarts.set(jobId, { ...audited, payload: { ...(audited.payload as object), startedAt: Date.now() } });
      else audit(audited, where);
      if (jobId) {
        auditJobs.set(jobId, where);
        // A job can end before this line (one that fails at once): write its end entry now.
        const status = jobs.get(jobId);
        if (status.finishedAt !== null) auditJobEnd(status);
      }
    }
    return { ok: true, value: checked.data };
  }

  // Audit entries that could not be written yet (another connection held the write lock) wait,
  // in order, and go with the next entry; none is dropped and none is written out of order.
  // Each entry goes to the workspace the call was made in, even if another one is open by the
  // time it is written (a job's end entry): the log must describe its own file.
  const pendingAudit: Array<Audit & { at: number; where: Workspace }> = [];
  const drainAudit = (): void => {
    try {
      while (pendingAudit.length > 0) {
        const next = pendingAudit[0]!;
        const late = Date.now() - next.at > 1000;
        let db: Db;
        try {
          db = next.where.db.open ? next.where.db : openWorkspace(next.where.path);
        } catch (err) {
          // Its workspace is gone (moved, deleted): the entry has nowhere true to go, and held at
          // the head of the queue it would stop every later entry, in any workspace.
          console.error(`audit: dropped "${next.action}" for ${next.where.path}: ${(err as Error).message}`);
          pendingAudit.shift();
          continue;
        }
        try {
          const scrub = scrubForLog(db);
          appendAudit(db, { actor, action: next.action, subject: scrub(next.subject), payload: scrub(late ? { ...(next.payload as object), happenedAt: next.at } : next.payload) });
        } finally {
          if (db !== next.where.db) db.close();
        }
        pendingAudit.shift();
      }
    } catch (err) {
      if (!/locked|busy/i.test((err as Error).message)) throw err;
    }
  };
  const audit = (entry: Audit, where: Workspace): void => {
    pendingAudit.push({ ...entry, at: Date.now(), where });
    drainAudit();
  };
  // Jobs started by an audited call write a second entry when they end: finished, cancelled or failed.
  const auditJobs = new Map<string, Workspace>();
  const deferredStarts = new Map<string, Audit>();
  const auditJobEnd = (job: JobStatus): void => {
    const where = auditJobs.get(job.id);
    if (job.finishedAt === null || !where) return;
    auditJobs.delete(job.id);
    const start = deferredStarts.get(job.id);
    if (start) {
      deferredStarts.delete(job.id);
      audit(start, where);
    }
    const result = job.result as { id?: number; sourceId?: number | null; sha256?: string; bytes?: number; rowsAccepted?: number; rowsRejected?: number; status?: string; model?: { id: number; name: string; version: number; sha256: string }; run?: { id: number }; conflictsUpdated?: boolean; conflicts?: unknown[] } | null;
    audit({
      action: `${job.kind}.${job.state === 'done' ? 'finish' : job.state}`, subject: job.label,
      payload: { job: job.id, state: job.state, error: job.error?.message ?? null, ...(result && typeof result === 'object' ? { result: {
        id: result.id ?? result.sourceId ?? result.run?.id ?? null, status: result.status ?? null, rowsAccepted: result.rowsAccepted ?? null, rowsRejected: result.rowsRejected ?? null,
        // An import names its file by content, so the log can be checked against the sources table and the file kept elsewhere.
        ...(result.sha256 ? { sha256: result.sha256, bytes: result.bytes ?? null } : {}),
        // A retraining made a model: name it, so the log says what was trained, by whom.
        ...(result.model ? { model: { id: result.model.id, name: result.model.name, version: result.model.version, sha256: result.model.sha256 } } : {}),
        // An import that overwrote stored changes or incidents: which (the first 20), with what differed.
        ...(result.conflictsUpdated && result.status === 'imported' ? { updated: result.conflicts } : {}),
      } } : {}) },
    }, where);
  };
  jobs.onUpdate(auditJobEnd);
  // After the last job, the log is folded into the file (the job is still "running" while its end is told).
  jobs.onUpdate((job) => {
    if (job.finishedAt !== null) setImmediate(() => { if (!jobs.busy && current) settle(current.db); });
  });
  // However the demo job ends (even cancelled before it ran), the switch is over.
  jobs.onUpdate((job) => {
    if (job.id === switchJob && job.finishedAt !== null) {
      switching = false;
      switchJob = null;
    }
  });

  return {
    dispatch,
    async call(method, input, context = { privileged: true }) {
      const result = await dispatch(method, input, context);
      if (!result.ok) throw new EngineFailure(result.error.code, result.error.message, result.error.details);
      return result.value as never;
    },
    onEvent(listener) {
      return jobs.onUpdate((job) => listener({ type: 'job', job }));
    },
    uploadsDir,
    jobs,
    close(options = {}) {
      // Entries still waiting for a lock are retried for up to `waitMs` (another program's import can
      // hold the write lock for its whole length): a verdict or an export that happened must be in the
      // log. What still cannot be written is said, and counted for the caller to fail on.
      drainAudit();
      const deadline = Date.now() + (options.waitMs ?? 0);
      let told = false;
      while (pendingAudit.length > 0 && Date.now() < deadline) {
        if (!told) options.onWait?.(`waiting for ${pendingAudit[0]!.where.path} to be unlocked by another program, to write ${pendingAudit.length} audit ${pendingAudit.length === 1 ? 'entry' : 'entries'}…\n`);
        told = true;
        Atomics.wait(SLEEP, 0, 0, 250);
        drainAudit();
      }
      const unwritten = pendingAudit.splice(0);
      for (const e of unwritten) console.error(`audit: could not write "${e.action}" (${e.subject}) to ${e.where.path}: the workspace stayed locked by another program`);
      current?.db.close();
      current = null;
      // Kept model and writer threads hold nothing open in the workspace; they go with the engine.
      void releaseIdleOnnxThreads();
      void releaseKeptWriter();
      return { unwritten: unwritten.length };
    },
  };
}
