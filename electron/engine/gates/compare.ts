import type { Comparison } from '../../../shared/contract/gates.js';
import { unfinishedReason } from '../../../shared/domain/run-state.js';
import type { ModelEvent } from '../../../shared/contract/models.js';
import { comparePaired } from '../../../shared/metrics/compare.js';
import type { Db } from '../db/workspace.js';
import { EngineFailure } from '../errors.js';
import { championId, getModel } from '../models/registry.js';
import { getRun } from '../runs/replay-changes.js';
import { memo } from '../memo.js';

/**
 * Champion vs challenger in one change-risk run: both scored the same changes, so every metric's
 * difference is bootstrapped on paired subjects, and the changes they disagree on are listed
 * with what really happened.
 */

const CHAMPION_KEY = 'champion.change-risk';

export function getChampion(db: Db): number | null {
  return championId(db);
}

export function setChampion(db: Db, modelId: number | null, actor = 'unknown', reason?: string): { championId: number | null; changed: boolean } {
  if (modelId !== null) {
    const m = getModel(db, modelId);
    if (m.task !== 'change-risk') throw new EngineFailure('input_error', `Model ${m.name} v${m.version} is a ${m.task} model; the change-risk champion must be a change-risk model`);
    if (m.status !== 'active') throw new EngineFailure('conflict', `Model ${m.name} v${m.version} is retired`);
  }
  const previous = getChampion(db);
  // Naming the champion it already is changes nothing, and the log must not say it did.
  if (previous === modelId) return { championId: modelId, changed: false };
  const label = (id: number): string => {
    const m = getModel(db, id);
    return `${m.name} v${m.version}`;
  };
  const event = db.prepare('INSERT INTO model_events (model_id, role, actor, ts, note) VALUES (?, ?, ?, ?, ?)');
  db.transaction(() => {
    if (previous !== null) event.run(previous, 'challenger', actor, Date.now(), modelId === null ? 'no champion any more' : `replaced by ${label(modelId)}`);
    const why = reason ? `: ${reason}` : '';
    if (modelId !== null) event.run(modelId, 'champion', actor, Date.now(), `${previous === null ? 'first champion' : `replaces ${label(previous)}`}${why}`);
    db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(CHAMPION_KEY, modelId === null ? 'none' : String(modelId));
  })();
  return { championId: modelId, changed: true };
}

/** One step back: the champion before the current one (if it is still active) takes over again. */
export function revertChampion(db: Db, actor = 'unknown'): { championId: number | null } {
  const current = getChampion(db);
  const earlier = db.prepare("SELECT model_id FROM model_events WHERE role = 'champion' ORDER BY id DESC").pluck().all() as number[];
  const previous = earlier.find((id) => id !== current && getModel(db, id).status === 'active');
  if (previous === undefined) throw new EngineFailure('conflict', 'There is no earlier champion (still active) to go back to');
  return setChampion(db, previous, actor);
}

/** Every role change of the models (or one model), oldest first, registration included. */
export function modelHistory(db: Db, modelId?: number): ModelEvent[] {
  const models = db.prepare(`SELECT id, name, version, created_at, task FROM models ${modelId !== undefined ? 'WHERE id = ?' : ''}`).all(...(modelId !== undefined ? [modelId] : [])) as { id: number; name: string; version: number; created_at: number; task: string }[];
  const names = new Map(models.map((m) => [m.id, `${m.name} v${m.version}`]));
  const registered: ModelEvent[] = models.map((m) => ({ id: 0, modelId: m.id, model: names.get(m.id)!, role: 'challenger', actor: 'registry', ts: m.created_at, note: `registered (${m.task})` }));
  const events = (db.prepare(`SELECT * FROM model_events ${modelId !== undefined ? 'WHERE model_id = ?' : ''} ORDER BY id`).all(...(modelId !== undefined ? [modelId] : [])) as { id: number; model_id: number; role: ModelEvent['role']; actor: string; ts: number; note: string }[])
    .map((e) => ({ id: e.id, modelId: e.model_id, model: names.get(e.model_id) ?? String(e.model_id), role: e.role, actor: e.actor, ts: e.ts, note: e.note }));
  return [...registered, ...events].sort((a, b) => a.ts - b.ts || a.id - b.id);
}

interface Row { change_id: number; score: number; label: number; external_id: string; service: string; ts: number; rolled_back: number | null }

function modelRows(db: Db, runId: number, modelId: number): Map<number, Row> {
  const rows = db.prepare(`SELECT s.change_id, s.score, s.label, c.external_id, sv.name AS service, c.ts, c.rolled_back
    FROM suggestions s JOIN changes c ON c.id = s.change_id JOIN services sv ON sv.id = c.service_id
    WHERE s.run_id = ? AND s.model_id = ? AND s.score IS NOT NULL AND s.fallback_model_id IS NULL`).all(runId, modelId) as Row[];
  return new Map(rows.map((r) => [r.change_id, r]));
}

/**
 * `championRunId`: take the champion's suggestions from another run over the same changes (a
 * drill's base run, when the drill did not replay the champion).
 */
export function compareModels(db: Db, input: { runId: number; championId: number; challengerId: number; resamples?: number | undefined; championRunId?: number | undefined }): Comparison {
  // Kept once computed (memo.ts): the gate editor asks again on every pause in typing.
  return memo(db, `compare:${input.runId}:${input.championId}:${input.challengerId}:${input.resamples ?? ''}:${input.championRunId ?? ''}`, () => computeComparison(db, input));
}

function computeComparison(db: Db, input: { runId: number; championId: number; challengerId: number; resamples?: number | undefined; championRunId?: number | undefined }): Comparison {
  const run = getRun(db, input.runId);
  const championRun = input.championRunId === undefined ? run : getRun(db, input.championRunId);
  for (const r of [run, championRun]) {
    const why = unfinishedReason(r, 'a comparison needs a finished run');
    if (why || !r.manifest) throw new EngineFailure('conflict', why ?? `Run ${r.id} has no manifest; a comparison needs a finished run`);
  }
  const inRun = (id: number, where: typeof run): { id: number; name: string; version: number; threshold: number } => {
    const entry = where.manifest!.models.find((m) => m.id === id);
    if (!entry) throw new EngineFailure('not_found', `Model ${id} is not part of run ${where.id} (it has ${where.manifest!.models.map((m) => `${m.name} v${m.version}`).join(', ')})`);
    return { id, name: entry.name, version: entry.version, threshold: where.config.thresholds?.[String(id)] ?? getModel(db, id).threshold };
  };
  const champion = inRun(input.championId, championRun);
  const challenger = inRun(input.challengerId, run);
  const a = modelRows(db, championRun.id, champion.id);
  const b = modelRows(db, run.id, challenger.id);
  // Only the changes both answered themselves: a row one model failed on (or its fallback
  // answered) is not a fair point for either.
  const ids = [...a.keys()].filter((id) => b.has(id)).sort((x, y) => x - y);
  if (ids.length === 0) throw new EngineFailure('input_error', 'The two models scored no change in common');
  const labels = ids.map((id) => (a.get(id)!.label === 1 ? 1 : 0) as 0 | 1);
  const resamples = input.resamples ?? 1000;
  const result = comparePaired({
    labels, champion: ids.map((id) => a.get(id)!.score), challenger: ids.map((id) => b.get(id)!.score),
    championThreshold: champion.threshold, challengerThreshold: challenger.threshold,
  }, run.config.costs, { resamples, seed: run.config.seed });
  const disagreements = result.disagreements.map((i) => {
    const ra = a.get(ids[i]!)!;
    const rb = b.get(ids[i]!)!;
    return {
      changeId: ra.change_id, externalId: ra.external_id, service: ra.service, ts: ra.ts, championScore: ra.score, challengerScore: rb.score,
      championGates: ra.score >= champion.threshold, challengerGates: rb.score >= challenger.threshold,
      outcome: (ra.label === 1 ? 'incident' : ra.rolled_back === 1 ? 'rolled back' : 'nothing') as 'incident' | 'rolled back' | 'nothing',
    };
  }).sort((x, y) => Math.max(y.championScore, y.challengerScore) - Math.max(x.championScore, x.challengerScore));
  const better = result.metrics.filter((m) => m.verdict === 'better').map((m) => m.metric);
  const worse = result.metrics.filter((m) => m.verdict === 'worse').map((m) => m.metric);
  const name = (m: { name: string; version: number }): string => `${m.name} v${m.version}`;
  const summary = better.length === 0 && worse.length === 0
    ? `${name(challenger)} vs ${name(champion)} on ${result.n} changes (${result.positives} caused incidents): no metric differs beyond noise`
    : `${name(challenger)} vs ${name(champion)} on ${result.n} changes (${result.positives} caused incidents): better on ${better.join(', ') || 'nothing'}; worse on ${worse.join(', ') || 'nothing'}; McNemar p = ${result.mcnemar.p.toPrecision(2)} on ${result.disagreements.length} disagreements`;
  return {
    runId: run.id, champion, challenger, n: result.n, positives: result.positives, resamples, metrics: result.metrics, mcnemar: result.mcnemar,
    disagreements: disagreements.slice(0, 500), disagreementCount: disagreements.length, summary,
  };
}
