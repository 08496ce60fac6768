import crypto from 'node:crypto';
import { nextRunId } from './run-ids.js';
import type { RunConfig, RunInfo } from '../../../shared/contract/models.js';
import type { Db } from '../db/workspace.js';
import { EngineFailure } from '../errors.js';
import { buildFeatureColumns, loadChanges, type ChangeRow } from '../features/catalog.js';
import { defaultRule, labelChanges, type AttributionRule } from '../features/outcomes.js';
import type { JobContext } from '../jobs/jobs.js';
import { getModel, loadScorer, type LoadedScorer } from '../models/registry.js';
import type { ModelDrift } from '../../../shared/contract/drills.js';
import { faultPlan, perturbFeature } from '../../../shared/drills/perturb.js';
import { modelDrift } from './drift.js';
import { OWNER } from './recovery.js';
import { scoreGuarded, startGuarded } from './guard.js';
import { inlineSink, threadSink, type SuggestionSink } from './suggestion-sink.js';
import { ReplaySource, subjectFilter } from './replay-source.js';
import { runSubjects, type SuggestionBatch } from './suggestion-writer.js';

export const CODE_VERSION = '0.1.0';

/** Hash of the workspace's sources' hashes: what data a run saw, in one value. */
export function datasetFingerprint(db: Db): string {
  const hashes = db.prepare('SELECT sha256 FROM sources ORDER BY sha256').pluck().all() as string[];
  return crypto.createHash('sha256').update(hashes.join('\n')).digest('hex');
}

/** Checks a run's models before its job starts, so a wrong model is an immediate, clear error. */
export function checkChangeRiskModels(db: Db, ids: readonly number[]): void {
  for (const id of ids) {
    const m = getModel(db, id);
    if (m.task !== 'change-risk') throw new EngineFailure('input_error', `Model ${m.name} v${m.version} is a ${m.task} model; a change-risk run needs change-risk models`);
  }
}

/** Batches a run may have handed to a model unanswered (32 × 1024 rows × 8 features is ~1 MB). */
const MAX_AHEAD = 32;
/** Fewer batches than this left for the model to score: time to read more changes. */
const LOW_WATER = 8;

/** Below this many suggestions (models × changes) starting a thread costs more than it saves. */
const THREAD_MIN_SUGGESTIONS = 20_000;

export interface RunOptions {
  /** Store suggestions on a worker thread; by default big runs do. */
  writeOnThread?: boolean;
  /** Give each ONNX model's session a worker thread; by default big runs do. */
  modelsOnThread?: boolean;
  /** Changes per read (tests make it small to cross many slice boundaries). */
  slice?: number;
  firstSlice?: number;
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
  const { keeps } = subjectFilter(db, run.config);
  const changes = all.filter(keeps);
  const at = changes.findIndex((c) => c.id === changeId);
  if (at < 0 || changes.length !== run.manifest?.subjects) return null;
  const built = buildFeatureColumns(db, changes, [...features], labelChanges(db, run.manifest.attribution, all), all);
  const rows = rowTimesAndServices(changes);
  return features.map((f, j) => perturbFeature(f, built[j]!, rows, drill.perturbations, drill.seed).values[at]!);
}

/** Rows [start, start + count) of `columns`, row-major (row i, feature j at i·width + j). */
function packRows(columns: readonly Float64Array[], start: number, count: number): Float64Array {
  const width = columns.length;
  const out = new Float64Array(count * width);
  for (let j = 0; j < width; j++) {
    const column = columns[j]!;
    for (let i = 0; i < count; i++) out[i * width + j] = column[start + i]!;
  }
  return out;
}

/**
 * A change-risk shadow run: every model scores every change in the range, in time order, in
 * batches, with features built as of each change's time. Nothing the models say is acted on;
 * each suggestion is stored with the outcome the change really had. A row a model cannot score
 * is recorded with its error, and answered by the fallback model if the run has one.
 *
 * Three threads share a big run: this one reads changes and builds their features (ReplaySource),
 * each ONNX model scores on its own (onnx-thread.ts), and the suggestions are stored on a third
 * (suggestion-sink.ts). Every batch whose changes are read is handed to the model before the first
 * answer is awaited, and the next changes are read while the model works through them.
 */
export async function runChangeRisk(db: Db, config: RunConfig, job: JobContext, options: RunOptions = {}): Promise<RunInfo> {
  checkChangeRiskModels(db, [...config.models, ...(config.fallbackModel !== undefined ? [config.fallbackModel] : [])]);
  const attribution = config.attribution ?? defaultRule(db);
  const timings = { loadMs: 0, featuresMs: 0, inferenceMs: 0, storeMs: 0, driftMs: 0, modelMs: 0 };
  const clock = (key: keyof typeof timings, since: number): void => {
    timings[key] += performance.now() - since;
  };
  const t = performance.now();
  const big = config.models.length * (db.prepare('SELECT count(*) FROM changes').pluck().get() as number) >= THREAD_MIN_SUGGESTIONS;
  // Threads started before the changes load, so that they are up when the first batch is scored.
  const sink = options.writeOnThread ?? big ? threadSink(db) : inlineSink(db);
  const loaded: LoadedScorer[] = [];
  try {
    // A run with a time budget per row scores here, one batch at a time: on a thread a batch given
    // up for taking too long goes on running there, and the next would wait behind it on its own clock.
    const onThread = (options.modelsOnThread ?? big) && config.guard?.timeoutMs === undefined;
    for (const id of [...config.models, ...(config.fallbackModel !== undefined ? [config.fallbackModel] : [])]) loaded.push(await loadScorer(db, id, { onThread, deferReady: true }));
    clock('loadMs', t);
    return await replay(db, config, job, options, { attribution, timings, clock, sink, loaded });
  } finally {
    await sink.close();
    for (const l of loaded) await l.release();
  }
}

interface ReplayState {
  attribution: AttributionRule;
  timings: { loadMs: number; featuresMs: number; inferenceMs: number; storeMs: number; driftMs: number; modelMs: number };
  clock: (key: 'loadMs' | 'featuresMs' | 'inferenceMs' | 'storeMs' | 'driftMs' | 'modelMs', since: number) => void;
  sink: SuggestionSink;
  /** the run's models, then its fallback model if it has one */
  loaded: LoadedScorer[];
}

async function replay(db: Db, config: RunConfig, job: JobContext, options: RunOptions, { attribution, timings, clock, sink, loaded }: ReplayState): Promise<RunInfo> {
  const models = loaded.slice(0, config.models.length);
  const fallback = config.fallbackModel !== undefined ? loaded[loaded.length - 1]! : null;
  // Features are shared between models that ask for the same ones; each is built (and, in a
  // drill, perturbed) once, so every model sees the same perturbed world.
  const features = [...new Set(loaded.flatMap((l) => l.scorer.features))];
  const source = new ReplaySource(db, config, attribution, features, (part) => sink.more(part), { slice: options.slice, firstSlice: options.firstSlice, clock });
  const n = source.expected;
  if (n === 0) throw new EngineFailure('input_error', 'No changes in the chosen range and services');
  const runId = db.transaction(() => Number(db.prepare("INSERT INTO runs (id, task, state, config, started_at, owner) VALUES (?, 'change-risk', 'running', ?, ?, ?)").run(nextRunId(db, 'runs'), JSON.stringify(config), Date.now(), OWNER).lastInsertRowid))();
  sink.open(runId, runSubjects([], []));
  const drill = config.drill;
  // A drill's model-side faults are planned per row of the run, the same rows for every model.
  const plan = drill ? faultPlan(n, drill.perturbations, drill.seed) : null;
  const drifts: ModelDrift[] = [];
  try {
    let perturbed: Map<string, Float64Array> | null = null;
    if (drill) {
      // A perturbation depends on the whole column (which rows, its spread): all of it first.
      source.finishReading();
      const rowsInfo = source.subjectRows();
      perturbed = new Map(features.map((f) => [f, perturbFeature(f, source.column(f), rowsInfo, drill.perturbations, drill.seed).values]));
    } else source.until(Math.min(n, config.batchSize));
    const column = (name: string): Float64Array => perturbed?.get(name) ?? source.column(name);
    // Settles once each model's session exists (created while the first changes were read); a
    // model that cannot load fails the run here, not as an error on every row.
    await Promise.all(loaded.map((l) => l.ready));
    const total = config.models.length * n;
    let done = 0;
    // The columns are the run's own (filled as changes are read): a failed row's are there by the time it failed.
    const fallbackColumns = fallback ? fallback.scorer.features.map(column) : null;
    for (const model of models) {
      const { scorer, reference } = model;
      // Handing batches over ahead pays only where a model scores on a thread of its own.
      const maxAhead = model.threaded ? MAX_AHEAD : 1;
      const width = scorer.features.length;
      const threshold = config.thresholds?.[String(scorer.modelId)] ?? scorer.threshold;
      const issue = (start: number, count: number) => {
        const subjectsOf = source.names(start, count);
        const tFeatures = performance.now();
        const batch = { rows: count, width, values: packRows(scorer.features.map(column), start, count) };
        clock('featuresMs', tFeatures);
        // Handed to the model now, settled in run order below (a batch the model threw on is split then).
        const started = startGuarded(scorer, batch, subjectsOf, { guard: config.guard, reference, threshold, plan, offset: start });
        return { start, count, subjectsOf, started };
      };
      // Batches handed to the model and not yet answered, oldest first. Every batch whose changes
      // are read goes at once (up to a cap that keeps memory flat); the next changes are read while
      // the model works through them.
      const inflight: Array<ReturnType<typeof issue>> = [];
      let nextStart = 0;
      const fill = (): void => {
        while (nextStart < n && inflight.length < maxAhead) {
          const count = Math.min(config.batchSize, n - nextStart);
          if (source.count < nextStart + count) return;
          inflight.push(issue(nextStart, count));
          nextStart += count;
        }
      };
      while (inflight.length > 0 || nextStart < n) {
        fill();
        while (nextStart < n && !source.complete && (inflight.length === 0 || (maxAhead > 1 && inflight.length < LOW_WATER))) {
          source.readNext();
          fill();
        }
        const { start, count, subjectsOf, started } = inflight.shift()!;
        const t0 = performance.now();
        const result = await started.settle();
        clock('inferenceMs', t0);
        timings.modelMs += result.elapsedMs;
        const failed = result.errors.map((e, i) => (e !== null ? i : -1)).filter((i) => i >= 0);
        let rescue: Awaited<ReturnType<typeof scoreGuarded>> | null = null;
        if (fallback && fallbackColumns && failed.length > 0) {
          const fcols = fallbackColumns;
          const fallbackWidth = fcols.length;
          const values = new Float64Array(failed.length * fallbackWidth);
          failed.forEach((i, k) => {
            for (let j = 0; j < fallbackWidth; j++) values[k * fallbackWidth + j] = fcols[j]![start + i]!;
          });
          // The fallback is the last line: its missing inputs are always imputed, its output always checked.
          rescue = await scoreGuarded(fallback.scorer, { rows: failed.length, width: fallbackWidth, values }, { length: failed.length, nameOf: (k) => subjectsOf.nameOf(failed[k]!) }, {
            guard: { nanPolicy: 'impute', outputRange: config.guard?.outputRange ?? [0, 1] }, reference: fallback.reference, threshold: fallback.scorer.threshold, plan: null, offset: 0,
          });
        }
        const t = performance.now();
        const out: SuggestionBatch = {
          modelId: scorer.modelId, start, scores: new Float64Array(count), decisions: new Int8Array(count), latencies: result.latencies,
          errors: result.errors, fallbackIds: new Int32Array(count), faults: new Array<string | null>(count),
        };
        // `failed` is in row order: the k-th failed row is the fallback's k-th row.
        let k = 0;
        for (let i = 0; i < count; i++) {
          let score = result.errors[i] === null ? result.scores[i]! : Number.NaN;
          let rowThreshold = threshold;
          if (result.errors[i] !== null && rescue) {
            const r = k++;
            if (rescue.errors[r] === null) {
              score = rescue.scores[r]!;
              out.fallbackIds[i] = fallback!.scorer.modelId;
              rowThreshold = fallback!.scorer.threshold;
            } else (result.faults[i] ??= []).push('fallback-failed');
          }
          out.scores[i] = score;
          out.decisions[i] = Number.isNaN(score) ? -1 : score >= rowThreshold ? 1 : 0;
          const faults = result.faults[i];
          out.faults[i] = faults && faults.length > 0 ? faults.join(',') : null;
        }
        // On the writer thread this returns at once (unless the writer is far behind).
        await sink.write(out);
        clock('storeMs', t);
        done += count;
        job.throwIfCancelled();
        job.progress({ fraction: done / total, message: `${scorer.name}: ${(start + count).toLocaleString('en-US')} of ${n.toLocaleString('en-US')} changes`, rows: done });
      }
      source.finishReading();
      const tDrift = performance.now();
      const drift = modelDrift(db, {
        modelId: scorer.modelId, features: scorer.features, replayed: scorer.features.map(column), replayedTimes: source.subjectRows().times,
        history: source.before, outcomes: source.beforeOutcomes, firstSubjectTs: source.firstTs!, trainedUntil: getModel(db, scorer.modelId).trainedUntil,
      });
      if (drift) drifts.push(drift);
      timings.driftMs += performance.now() - tDrift;
    }
    const t = performance.now();
    await sink.drain();
    clock('storeMs', t);
    const manifest = {
      models: config.models.map((id) => {
        const m = getModel(db, id);
        return { id, name: m.name, version: m.version, sha256: m.sha256 };
      }),
      datasetFingerprint: datasetFingerprint(db), attribution, subjects: n,
      timings: Object.fromEntries(Object.entries(timings).map(([key, v]) => [key, Math.round(v)])) as typeof timings,
      // Counted as the subjects were read: at this point the run is waiting on nothing else.
      outcomeSources: source.outcomeSources, seed: config.seed, codeVersion: CODE_VERSION, drift: drifts,
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
