import crypto from 'node:crypto';
import { nextRunId } from './run-ids.js';
import type { RunConfig, RunInfo } from '../../../shared/contract/models.js';
import type { Db } from '../db/workspace.js';
import { EngineFailure } from '../errors.js';
import { buildFeatureColumns, loadChanges, type ChangeRow } from '../features/catalog.js';
import { defaultRule, labelChanges, type AttributionRule } from '../features/outcomes.js';
import type { JobContext } from '../jobs/jobs.js';
import { getModel, loadScorer } from '../models/registry.js';
import type { Scorer } from '../models/scorer.js';
import type { ModelDrift } from '../../../shared/contract/drills.js';
import { faultPlan, perturbFeature } from '../../../shared/drills/perturb.js';
import { modelDrift } from './drift.js';
import { OWNER } from './recovery.js';
import { scoreGuarded } from './guard.js';
import { inlineSink, threadSink, type SuggestionSink } from './suggestion-sink.js';
import { runSubjects, type SuggestionBatch } from './suggestion-writer.js';

export const CODE_VERSION = '0.1.0';

/** Hash of the workspace's sources' hashes: what data a run saw, in one value. */
export function datasetFingerprint(db: Db): string {
  const hashes = db.prepare('SELECT sha256 FROM sources ORDER BY sha256').pluck().all() as string[];
  return crypto.createHash('sha256').update(hashes.join('\n')).digest('hex');
}

function subjects(db: Db, config: RunConfig, all: readonly ChangeRow[]): ChangeRow[] {
  const services = config.services && config.services.length > 0
    ? new Set((db.prepare(`SELECT id FROM services WHERE name IN (${config.services.map(() => '?').join(',')})`).pluck().all(...config.services) as number[]))
    : null;
  if (services && services.size !== config.services!.length) {
    const known = new Set(db.prepare('SELECT name FROM services').pluck().all() as string[]);
    throw new EngineFailure('input_error', `Unknown service${config.services!.filter((s) => !known.has(s)).length > 1 ? 's' : ''}: ${config.services!.filter((s) => !known.has(s)).join(', ')}`);
  }
  return all.filter((c) => (config.from === undefined || c.ts >= config.from) && (config.until === undefined || c.ts < config.until) && (!services || services.has(c.serviceId)));
}

/** Checks a run's models before its job starts, so a wrong model is an immediate, clear error. */
export function checkChangeRiskModels(db: Db, ids: readonly number[]): void {
  for (const id of ids) {
    const m = getModel(db, id);
    if (m.task !== 'change-risk') throw new EngineFailure('input_error', `Model ${m.name} v${m.version} is a ${m.task} model; a change-risk run needs change-risk models`);
  }
}

/** Below this many suggestions (models × changes) starting the writer thread costs more than it saves. */
const THREAD_MIN_SUGGESTIONS = 20_000;

export interface RunOptions {
  /** Store suggestions on a worker thread; by default big runs do. */
  writeOnThread?: boolean;
}

/** What a drill's perturbations need of each row (plain loops: TypedArray.from with a map is slow). */
function rowTimesAndServices(changes: readonly ChangeRow[]): { times: Float64Array; services: Int32Array } {
  const times = new Float64Array(changes.length);
  const services = new Int32Array(changes.length);
  for (let i = 0; i < changes.length; i++) {
    times[i] = changes[i]!.ts;
    services[i] = changes[i]!.serviceId;
  }
  return { times, services };
}

/**
 * One change's inputs as a drill run's model saw them: the run's feature columns, perturbed as the
 * drill perturbed them (a perturbation depends on the whole run: which rows, and the column's
 * spread). Null when the run's changes can no longer be rebuilt (changes were imported into its
 * range since), so that no explanation describes inputs the model did not see.
 */
export function drilledRow(db: Db, run: RunInfo, features: readonly string[], changeId: number): number[] | null {
  const drill = run.config.drill;
  if (!drill) throw new Error('drilledRow: not a drill run');
  const all = loadChanges(db);
  const changes = subjects(db, run.config, all);
  const at = changes.findIndex((c) => c.id === changeId);
  if (at < 0 || changes.length !== run.manifest?.subjects) return null;
  const built = buildFeatureColumns(db, changes, [...features], labelChanges(db, run.manifest.attribution, all), all);
  const rows = rowTimesAndServices(changes);
  return features.map((f, j) => perturbFeature(f, built[j]!, rows, drill.perturbations, drill.seed).values[at]!);
}

/** Columns to one row-major matrix (row i, feature j at i·width + j). */
function packRows(columns: readonly Float64Array[], rows: number): Float64Array {
  const width = columns.length;
  const out = new Float64Array(rows * width);
  columns.forEach((column, j) => {
    for (let i = 0; i < rows; i++) out[i * width + j] = column[i]!;
  });
  return out;
}

/**
 * A change-risk shadow run: every model scores every change in the range, in time order, in
 * batches, with features built as of each change's time. Nothing the models say is acted on;
 * each suggestion is stored with the outcome the change really had. A row a model cannot score
 * is recorded with its error, and answered by the fallback model if the run has one.
 */
export async function runChangeRisk(db: Db, config: RunConfig, job: JobContext, options: RunOptions = {}): Promise<RunInfo> {
  checkChangeRiskModels(db, [...config.models, ...(config.fallbackModel !== undefined ? [config.fallbackModel] : [])]);
  const attribution = config.attribution ?? defaultRule(db);
  const timings = { loadMs: 0, featuresMs: 0, inferenceMs: 0, storeMs: 0, driftMs: 0 };
  const clock = (key: keyof typeof timings, since: number): void => {
    timings[key] += performance.now() - since;
  };
  const t = performance.now();
  // Started before the changes load, so that the thread is up when the first batch is scored.
  const threaded = options.writeOnThread ?? config.models.length * (db.prepare('SELECT count(*) FROM changes').pluck().get() as number) >= THREAD_MIN_SUGGESTIONS;
  const sink = threaded ? threadSink(db) : inlineSink(db);
  try {
    return await replay(db, config, job, { attribution, timings, clock, sink, started: t });
  } finally {
    await sink.close();
  }
}

interface ReplayState {
  attribution: AttributionRule;
  timings: { loadMs: number; featuresMs: number; inferenceMs: number; storeMs: number; driftMs: number };
  clock: (key: 'loadMs' | 'featuresMs' | 'inferenceMs' | 'storeMs' | 'driftMs', since: number) => void;
  sink: SuggestionSink;
  started: number;
}

async function replay(db: Db, config: RunConfig, job: JobContext, { attribution, timings, clock, sink, started }: ReplayState): Promise<RunInfo> {
  let t = started;
  const all = loadChanges(db);
  const changes = subjects(db, config, all);
  if (changes.length === 0) throw new EngineFailure('input_error', 'No changes in the chosen range and services');
  const runId = db.transaction(() => Number(db.prepare("INSERT INTO runs (id, task, state, config, started_at, owner) VALUES (?, 'change-risk', 'running', ?, ?, ?)").run(nextRunId(db, 'runs'), JSON.stringify(config), Date.now(), OWNER).lastInsertRowid))();
  const loaded: Array<Awaited<ReturnType<typeof loadScorer>>> = [];
  const drill = config.drill;
  const n = changes.length;
  // A drill's model-side faults are planned per row of the run, the same rows for every model.
  const plan = drill ? faultPlan(n, drill.perturbations, drill.seed) : null;
  const rowsInfo = drill ? rowTimesAndServices(changes) : null;
  const drifts: ModelDrift[] = [];
  try {
    const outcomes = labelChanges(db, attribution, all);
    const outcomeOf = changes.map((c) => outcomes.get(c.id)!);
    sink.open(runId, runSubjects(changes, outcomeOf));
    clock('loadMs', t);
    for (const id of config.models) loaded.push(await loadScorer(db, id));
    const fallback = config.fallbackModel !== undefined ? await loadScorer(db, config.fallbackModel) : null;
    if (fallback) loaded.push(fallback);
    const featureCache = new Map<string, Float64Array>();
    const columns = (scorer: Scorer): Float64Array[] => {
      // Features are shared between models that ask for the same ones; each is built (and, in a
      // drill, perturbed) once, so every model sees the same perturbed world.
      const since = performance.now();
      const missing = scorer.features.filter((f) => !featureCache.has(f));
      if (missing.length > 0) {
        const built = buildFeatureColumns(db, changes, missing, outcomes, all);
        missing.forEach((f, j) => featureCache.set(f, drill ? perturbFeature(f, built[j]!, rowsInfo!, drill.perturbations, drill.seed).values : built[j]!));
      }
      const cols = scorer.features.map((f) => featureCache.get(f)!);
      clock('featuresMs', since);
      return cols;
    };
    const total = config.models.length * n;
    let done = 0;
    const fallbackWidth = fallback ? fallback.scorer.features.length : 0;
    const fallbackRows = fallback ? packRows(columns(fallback.scorer), n) : null;
    const rowTimes = (rowsInfo ?? rowTimesAndServices(changes)).times;
    for (const { scorer, reference } of loaded.slice(0, config.models.length)) {
      const cols = columns(scorer);
      const width = cols.length;
      const matrix = packRows(cols, n);
      const threshold = config.thresholds?.[String(scorer.modelId)] ?? scorer.threshold;
      const tDrift = performance.now();
      const drift = modelDrift(db, { modelId: scorer.modelId, features: scorer.features, replayed: cols, replayedTimes: rowTimes, all, outcomes, firstSubjectTs: changes[0]!.ts, trainedUntil: getModel(db, scorer.modelId).trainedUntil });
      if (drift) drifts.push(drift);
      timings.driftMs += performance.now() - tDrift;
      for (let start = 0; start < n; start += config.batchSize) {
        const count = Math.min(config.batchSize, n - start);
        const subjectsOf = changes.slice(start, start + count);
        const t0 = performance.now();
        const batch = { rows: count, width, values: matrix.subarray(start * width, (start + count) * width) };
        const result = await scoreGuarded(scorer, batch, subjectsOf, { guard: config.guard, reference, threshold, plan, offset: start });
        clock('inferenceMs', t0);
        const failed = result.errors.map((e, i) => (e !== null ? i : -1)).filter((i) => i >= 0);
        let rescue: Awaited<ReturnType<typeof scoreGuarded>> | null = null;
        if (fallback && fallbackRows && failed.length > 0) {
          const values = new Float64Array(failed.length * fallbackWidth);
          failed.forEach((i, k) => values.set(fallbackRows.subarray((start + i) * fallbackWidth, (start + i + 1) * fallbackWidth), k * fallbackWidth));
          // The fallback is the last line: its missing inputs are always imputed, its output always checked.
          rescue = await scoreGuarded(fallback.scorer, { rows: failed.length, width: fallbackWidth, values }, failed.map((i) => subjectsOf[i]!), {
            guard: { nanPolicy: 'impute', outputRange: config.guard?.outputRange ?? [0, 1] }, reference: fallback.reference, threshold: fallback.scorer.threshold, plan: null, offset: 0,
          });
        }
        t = performance.now();
        const out: SuggestionBatch = {
          modelId: scorer.modelId, start, scores: new Float64Array(count), decisions: new Int8Array(count), latencies: result.latencies,
          errors: result.errors, fallbackIds: new Int32Array(count), faults: new Array<string | null>(count),
        };
        // `failed` is in row order: the k-th failed row is the fallback's k-th row.
        let k = 0;
        for (let i = 0; i < count; i++) {
          let score = result.errors[i] === null ? result.scores[i]! : Number.NaN;
          let rowThreshold = threshold;
          const fault = result.faults[i]!;
          if (result.errors[i] !== null && rescue) {
            const r = k++;
            if (rescue.errors[r] === null) {
              score = rescue.scores[r]!;
              out.fallbackIds[i] = fallback!.scorer.modelId;
              rowThreshold = fallback!.scorer.threshold;
            } else fault.push('fallback-failed');
          }
          out.scores[i] = score;
          out.decisions[i] = Number.isNaN(score) ? -1 : score >= rowThreshold ? 1 : 0;
          out.faults[i] = fault.length > 0 ? fault.join(',') : null;
        }
        // On the writer thread this returns at once (unless the writer is far behind).
        await sink.write(out);
        clock('storeMs', t);
        done += count;
        job.throwIfCancelled();
        job.progress({ fraction: done / total, message: `${scorer.name}: ${(start + count).toLocaleString('en-US')} of ${n.toLocaleString('en-US')} changes`, rows: done });
      }
    }
    t = performance.now();
    await sink.drain();
    clock('storeMs', t);
    const manifest = {
      models: config.models.map((id) => {
        const m = getModel(db, id);
        return { id, name: m.name, version: m.version, sha256: m.sha256 };
      }),
      datasetFingerprint: datasetFingerprint(db), attribution, subjects: n,
      timings: Object.fromEntries(Object.entries(timings).map(([key, v]) => [key, Math.round(v)])) as typeof timings,
      outcomeSources: outcomeOf.reduce<Record<string, number>>((acc, o) => {
        acc[o.source] = (acc[o.source] ?? 0) + 1;
        return acc;
      }, {}), seed: config.seed, codeVersion: CODE_VERSION, drift: drifts,
    };
    db.prepare("UPDATE runs SET state = 'done', manifest = ?, finished_at = ?, error = NULL WHERE id = ?").run(JSON.stringify(manifest), Date.now(), runId);
  } catch (err) {
    // A cancelled or failed run keeps no half set of suggestions: the writer stops first. The state
    // goes first, on its own: on a full disk the delete can fail too, and the run must still say why
    // it stopped (what is left is removed by the next open's recovery).
    await sink.close().catch(() => undefined);
    db.prepare('UPDATE runs SET state = ?, finished_at = ?, error = ? WHERE id = ?').run(job.cancelled ? 'cancelled' : 'failed', Date.now(), (err as Error).message, runId);
    try {
      db.prepare('DELETE FROM suggestions WHERE run_id = ?').run(runId);
    } catch {
      // Left for recoverInterrupted.
    }
    throw err;
  } finally {
    for (const l of loaded) await l.release();
  }
  return getRun(db, runId);
}

export function getRun(db: Db, id: number): RunInfo {
  const r = db.prepare('SELECT * FROM runs WHERE id = ?').get(id) as { id: number; task: string; state: RunInfo['state']; config: string; manifest: string | null; started_at: number; finished_at: number | null; error: string | null } | undefined;
  if (!r) throw new EngineFailure('not_found', `No run ${id}`);
  return { id: r.id, task: 'change-risk', state: r.state, config: JSON.parse(r.config), manifest: r.manifest ? JSON.parse(r.manifest) : null, startedAt: r.started_at, finishedAt: r.finished_at, error: r.error };
}

export function listRuns(db: Db): RunInfo[] {
  return (db.prepare('SELECT id FROM runs ORDER BY id DESC').pluck().all() as number[]).map((id) => getRun(db, id));
}
