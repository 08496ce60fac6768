import crypto from 'node:crypto';
import type { RunConfig, RunInfo } from '../../../shared/contract/models.js';
import type { Db } from '../db/workspace.js';
import { EngineFailure } from '../errors.js';
import { buildFeatures, loadChanges, type ChangeRow } from '../features/catalog.js';
import { defaultRule, labelChanges } from '../features/outcomes.js';
import type { JobContext } from '../jobs/jobs.js';
import { getModel, loadScorer } from '../models/registry.js';
import type { Scorer } from '../models/scorer.js';
import type { ModelDrift } from '../../../shared/contract/drills.js';
import { faultPlan, perturbFeature } from '../../../shared/drills/perturb.js';
import { modelDrift } from './drift.js';
import { scoreGuarded } from './guard.js';

export const CODE_VERSION = '0.1.0';

/** Hash of the workspace's sources' hashes: what data a run saw, in one value. */
export function datasetFingerprint(db: Db): string {
  const hashes = db.prepare('SELECT sha256 FROM sources ORDER BY sha256').pluck().all() as string[];
  return crypto.createHash('sha256').update(hashes.join('\n')).digest('hex');
}

/** Runs marked running with no job behind them were cut off (the app was killed): say so. */
export function markInterrupted(db: Db): void {
  db.prepare("UPDATE runs SET state = 'interrupted', finished_at = coalesce(finished_at, ?), error = coalesce(error, 'the app stopped while this run was in progress') WHERE state = 'running'").run(Date.now());
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

/**
 * A change-risk shadow run: every model scores every change in the range, in time order, in
 * batches, with features built as of each change's time. Nothing the models say is acted on;
 * each suggestion is stored with the outcome the change really had. A row a model cannot score
 * is recorded with its error, and answered by the fallback model if the run has one.
 */
export async function runChangeRisk(db: Db, config: RunConfig, job: JobContext): Promise<RunInfo> {
  checkChangeRiskModels(db, [...config.models, ...(config.fallbackModel !== undefined ? [config.fallbackModel] : [])]);
  const attribution = config.attribution ?? defaultRule(db);
  const timings = { loadMs: 0, featuresMs: 0, inferenceMs: 0, storeMs: 0, driftMs: 0 };
  const clock = (key: keyof typeof timings, since: number): void => {
    timings[key] += performance.now() - since;
  };
  let t = performance.now();
  const all = loadChanges(db);
  const changes = subjects(db, config, all);
  if (changes.length === 0) throw new EngineFailure('input_error', 'No changes in the chosen range and services');
  const runId = Number(db.prepare("INSERT INTO runs (task, state, config, started_at) VALUES ('change-risk', 'running', ?, ?)").run(JSON.stringify(config), Date.now()).lastInsertRowid);
  const loaded: Array<Awaited<ReturnType<typeof loadScorer>>> = [];
  const drill = config.drill;
  const rowsInfo = { times: Float64Array.from(changes, (c) => c.ts), services: Int32Array.from(changes, (c) => c.serviceId) };
  // A drill's model-side faults are planned per row of the run, the same rows for every model.
  const plan = drill ? faultPlan(changes.length, drill.perturbations, drill.seed) : null;
  const drifts: ModelDrift[] = [];
  try {
    const outcomes = labelChanges(db, attribution, all);
    clock('loadMs', t);
    for (const id of config.models) loaded.push(await loadScorer(db, id));
    const fallback = config.fallbackModel !== undefined ? await loadScorer(db, config.fallbackModel) : null;
    if (fallback) loaded.push(fallback);
    const featureCache = new Map<string, Float64Array>();
    const columns = (scorer: Scorer): Float64Array[] => {
      // Features are shared between models that ask for the same ones; each is built (and, in a
      // drill, perturbed) once, so every model sees the same perturbed world.
      const started = performance.now();
      const missing = scorer.features.filter((f) => !featureCache.has(f));
      if (missing.length > 0) {
        const built = buildFeatures(db, changes, missing, outcomes, all);
        missing.forEach((f, j) => {
          const column = Float64Array.from(built, (r) => r[j]!);
          featureCache.set(f, drill ? perturbFeature(f, column, rowsInfo, drill.perturbations, drill.seed).values : column);
        });
      }
      const cols = scorer.features.map((f) => featureCache.get(f)!);
      clock('featuresMs', started);
      return cols;
    };
    const rowsOf = (cols: Float64Array[]): number[][] => changes.map((_, i) => cols.map((c) => c[i]!));
    // Rows go in 64 at a time: one statement call per row costs more than the row itself.
    const names = '(run_id, model_id, change_id, replay_ts, score, decision, latency_ms, error, fallback_model_id, label, label_source, incident, fault)';
    const WIDTH = 13;
    const CHUNK = 64;
    const placeholders = `(${Array(WIDTH).fill('?').join(', ')})`;
    const insertOne = db.prepare(`INSERT INTO suggestions ${names} VALUES ${placeholders}`);
    const insertMany = db.prepare(`INSERT INTO suggestions ${names} VALUES ${Array(CHUNK).fill(placeholders).join(', ')}`);
    const pending: unknown[] = [];
    const flush = (): void => {
      let k = 0;
      for (; k + CHUNK * WIDTH <= pending.length; k += CHUNK * WIDTH) insertMany.run(pending.slice(k, k + CHUNK * WIDTH));
      for (; k < pending.length; k += WIDTH) insertOne.run(pending.slice(k, k + WIDTH));
      pending.length = 0;
    };
    const total = config.models.length * changes.length;
    let done = 0;
    const fallbackRows = fallback ? rowsOf(columns(fallback.scorer)) : null;
    for (const { scorer, reference } of loaded.slice(0, config.models.length)) {
      const cols = columns(scorer);
      const rows = rowsOf(cols);
      const threshold = config.thresholds?.[String(scorer.modelId)] ?? scorer.threshold;
      const tDrift = performance.now();
      const drift = modelDrift(db, { modelId: scorer.modelId, features: scorer.features, replayed: cols, all, outcomes, firstSubjectTs: changes[0]!.ts, trainedUntil: getModel(db, scorer.modelId).trainedUntil });
      if (drift) drifts.push(drift);
      timings.driftMs += performance.now() - tDrift;
      for (let start = 0; start < changes.length; start += config.batchSize) {
        const batch = rows.slice(start, start + config.batchSize);
        const subjectsOf = changes.slice(start, start + batch.length);
        const t0 = performance.now();
        const result = await scoreGuarded(scorer, batch, subjectsOf, { guard: config.guard, reference, threshold, plan, offset: start });
        clock('inferenceMs', t0);
        const failed = result.errors.map((e, i) => (e !== null ? i : -1)).filter((i) => i >= 0);
        let rescue: Awaited<ReturnType<typeof scoreGuarded>> | null = null;
        if (fallback && fallbackRows && failed.length > 0) {
          // The fallback is the last line: its missing inputs are always imputed, its output always checked.
          rescue = await scoreGuarded(fallback.scorer, failed.map((i) => fallbackRows[start + i]!), failed.map((i) => subjectsOf[i]!), {
            guard: { nanPolicy: 'impute', outputRange: config.guard?.outputRange ?? [0, 1] }, reference: fallback.reference, threshold: fallback.scorer.threshold, plan: null, offset: 0,
          });
        }
        t = performance.now();
        db.transaction(() => {
          for (let i = 0; i < batch.length; i++) {
            const change = changes[start + i]!;
            const outcome = outcomes.get(change.id)!;
            let score: number | null = result.errors[i] === null ? result.scores[i]! : null;
            let fallbackId: number | null = null;
            let rowThreshold = threshold;
            const fault = [...result.faults[i]!];
            if (score === null && rescue) {
              const k = failed.indexOf(i);
              if (rescue.errors[k] === null) {
                score = rescue.scores[k]!;
                fallbackId = fallback!.scorer.modelId;
                rowThreshold = fallback!.scorer.threshold;
              } else fault.push('fallback-failed');
            }
            pending.push(runId, scorer.modelId, change.id, change.ts, score, score === null ? null : score >= rowThreshold ? 1 : 0, result.latencies[i]!,
              result.errors[i], fallbackId, outcome.label, outcome.source, outcome.incident, fault.length > 0 ? fault.join(',') : null);
          }
          flush();
        })();
        clock('storeMs', t);
        done += batch.length;
        job.throwIfCancelled();
        job.progress({ fraction: done / total, message: `${scorer.name}: ${Math.min(start + batch.length, changes.length).toLocaleString('en-US')} of ${changes.length.toLocaleString('en-US')} changes`, rows: done });
      }
    }
    const manifest = {
      models: config.models.map((id) => {
        const m = getModel(db, id);
        return { id, name: m.name, version: m.version, sha256: m.sha256 };
      }),
      datasetFingerprint: datasetFingerprint(db), attribution, subjects: changes.length,
      timings: Object.fromEntries(Object.entries(timings).map(([k, v]) => [k, Math.round(v)])) as typeof timings,
      outcomeSources: changes.reduce<Record<string, number>>((acc, c) => {
        const source = outcomes.get(c.id)!.source;
        acc[source] = (acc[source] ?? 0) + 1;
        return acc;
      }, {}), seed: config.seed, codeVersion: CODE_VERSION, drift: drifts,
    };
    db.prepare("UPDATE runs SET state = 'done', manifest = ?, finished_at = ? WHERE id = ?").run(JSON.stringify(manifest), Date.now(), runId);
  } catch (err) {
    // A cancelled or failed run keeps no half set of suggestions.
    db.prepare('DELETE FROM suggestions WHERE run_id = ?').run(runId);
    db.prepare('UPDATE runs SET state = ?, finished_at = ?, error = ? WHERE id = ?').run(job.cancelled ? 'cancelled' : 'failed', Date.now(), (err as Error).message, runId);
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
