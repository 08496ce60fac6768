import { GateSpec, type GateResult, type GateSpecInput, type SavedGate } from '../../../shared/contract/gates.js';
import { evaluateGate } from '../../../shared/gates/gate.js';
import type { Db } from '../db/workspace.js';
import { EngineFailure } from '../errors.js';
import { scorecard } from '../runs/scorecard.js';
import { getRun } from '../runs/replay-changes.js';
import { compareModels, getChampion } from './compare.js';

/** Saved gates (versioned by name) and gate verdicts for a model in a run. */

export function parseGate(input: unknown, where = 'the gate'): GateSpec {
  const parsed = GateSpec.safeParse(input);
  if (!parsed.success) throw new EngineFailure('bad_request', `${where} is not valid: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'gate'}: ${i.message}`).join('; ')}`);
  return parsed.data;
}

export function saveGate(db: Db, input: GateSpecInput): SavedGate {
  const spec = parseGate(input);
  const version = ((db.prepare('SELECT max(version) FROM gates WHERE name = ?').pluck().get(spec.name) as number | null) ?? 0) + 1;
  const savedAt = Date.now();
  db.prepare('INSERT INTO gates (name, version, spec, saved_at) VALUES (?, ?, ?, ?)').run(spec.name, version, JSON.stringify(spec), savedAt);
  return { name: spec.name, version, spec, savedAt };
}

export function listGates(db: Db): SavedGate[] {
  return (db.prepare('SELECT name, version, spec, saved_at FROM gates ORDER BY name, version').all() as { name: string; version: number; spec: string; saved_at: number }[])
    .map((r) => ({ name: r.name, version: r.version, spec: GateSpec.parse(JSON.parse(r.spec)), savedAt: r.saved_at }));
}

export function latestGate(db: Db, name: string): SavedGate {
  const all = listGates(db).filter((g) => g.name === name);
  if (all.length === 0) throw new EngineFailure('not_found', `No saved gate named "${name}"`);
  return all[all.length - 1]!;
}

/**
 * The verdict of a gate for one model of a run. Relative criteria compare it with the champion
 * (given, or the workspace's) when the champion ran in the same run.
 */
export async function checkGate(db: Db, input: { runId: number; modelId: number; spec: GateSpec; gateVersion?: number | null; championId?: number | null | undefined; resamples?: number | undefined }): Promise<GateResult> {
  const run = getRun(db, input.runId);
  const card = await scorecard(db, input.runId, input.modelId, { resamples: input.resamples });
  const championId = input.championId === undefined ? getChampion(db) : input.championId;
  const inRun = championId !== null && championId !== input.modelId && (run.manifest?.models.some((m) => m.id === championId) ?? false);
  const comparison = inRun ? compareModels(db, { runId: input.runId, championId: championId!, challengerId: input.modelId, resamples: input.resamples }) : null;
  const { verdict, criteria } = evaluateGate(input.spec, {
    metrics: card.metrics,
    operations: { ...card.operations },
    comparison: comparison?.metrics ?? null,
  });
  return {
    gate: input.spec.name, gateVersion: input.gateVersion ?? null, runId: input.runId, model: card.model,
    champion: comparison ? { id: comparison.champion.id, name: comparison.champion.name, version: comparison.champion.version } : null,
    verdict, criteria,
  };
}
