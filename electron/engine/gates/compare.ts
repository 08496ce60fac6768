import type { Comparison } from '../../../shared/contract/gates.js';
import { comparePaired } from '../../../shared/metrics/compare.js';
import type { Db } from '../db/workspace.js';
import { EngineFailure } from '../errors.js';
import { getModel } from '../models/registry.js';
import { getRun } from '../runs/replay-changes.js';

/**
 * Champion vs challenger in one change-risk run: both scored the same changes, so every metric's
 * difference is bootstrapped on paired subjects, and the changes they disagree on are listed
 * with what really happened.
 */

const CHAMPION_KEY = 'champion.change-risk';

export function getChampion(db: Db): number | null {
  const v = db.prepare('SELECT value FROM meta WHERE key = ?').pluck().get(CHAMPION_KEY) as string | undefined;
  return v === undefined || v === 'none' ? null : Number(v);
}

export function setChampion(db: Db, modelId: number | null): { championId: number | null } {
  if (modelId !== null) {
    const m = getModel(db, modelId);
    if (m.task !== 'change-risk') throw new EngineFailure('input_error', `Model ${m.name} v${m.version} is a ${m.task} model; the change-risk champion must be a change-risk model`);
    if (m.status !== 'active') throw new EngineFailure('conflict', `Model ${m.name} v${m.version} is retired`);
  }
  db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(CHAMPION_KEY, modelId === null ? 'none' : String(modelId));
  return { championId: modelId };
}

interface Row { change_id: number; score: number; label: number; external_id: string; service: string; ts: number; rolled_back: number | null }

function modelRows(db: Db, runId: number, modelId: number): Map<number, Row> {
  const rows = db.prepare(`SELECT s.change_id, s.score, s.label, c.external_id, sv.name AS service, c.ts, c.rolled_back
    FROM suggestions s JOIN changes c ON c.id = s.change_id JOIN services sv ON sv.id = c.service_id
    WHERE s.run_id = ? AND s.model_id = ? AND s.score IS NOT NULL`).all(runId, modelId) as Row[];
  return new Map(rows.map((r) => [r.change_id, r]));
}

export function compareModels(db: Db, input: { runId: number; championId: number; challengerId: number; resamples?: number | undefined }): Comparison {
  const run = getRun(db, input.runId);
  if (run.state !== 'done' || !run.manifest) throw new EngineFailure('conflict', `Run ${input.runId} is ${run.state}; a comparison needs a finished run`);
  const inRun = (id: number): { id: number; name: string; version: number; threshold: number } => {
    const entry = run.manifest!.models.find((m) => m.id === id);
    if (!entry) throw new EngineFailure('not_found', `Model ${id} is not part of run ${input.runId} (it has ${run.manifest!.models.map((m) => `${m.name} v${m.version}`).join(', ')})`);
    return { id, name: entry.name, version: entry.version, threshold: run.config.thresholds?.[String(id)] ?? getModel(db, id).threshold };
  };
  const champion = inRun(input.championId);
  const challenger = inRun(input.challengerId);
  const a = modelRows(db, run.id, champion.id);
  const b = modelRows(db, run.id, challenger.id);
  // Only the changes both scored: a row one model failed on is not a fair point for either.
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
