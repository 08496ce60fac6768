import { AbsoluteCriterion, GateSpec, RelativeCriterion, type GateResult, type GateSpecInput, type SavedGate } from '../../../shared/contract/gates.js';
import { evaluateGate, unknownMetrics, type GateInputs } from '../../../shared/gates/gate.js';
import { trainingOverlapSentence } from '../../../shared/domain/training-overlap.js';
import { evidenceOf } from '../../../shared/metrics/bootstrap.js';
import { MIN_EVIDENCE } from '../../../shared/metrics/evidence.js';
import type { Db } from '../db/workspace.js';
import { EngineFailure } from '../errors.js';
import { scorecard } from '../runs/scorecard.js';
import { getRun } from '../runs/replay-changes.js';
import { getModel } from '../models/registry.js';
import { compareModels, getChampion } from './compare.js';

/** Saved gates (versioned by name) and gate verdicts for a model in a run. */

/**
 * Parses a gate spec with messages a person can act on: a criterion is judged against the shape
 * its own keys point to (`vs` → relative, else absolute) rather than as a failed union.
 */
export function parseGate(input: unknown, where = 'the gate'): GateSpec {
  const parsed = GateSpec.safeParse(input);
  if (parsed.success) return parsed.data;
  const problems: string[] = [];
  const criteria = (input as { criteria?: unknown })?.criteria;
  if (Array.isArray(criteria)) {
    criteria.forEach((c, i) => {
      const relative = typeof c === 'object' && c !== null && 'vs' in c;
      const r = (relative ? RelativeCriterion : AbsoluteCriterion).safeParse(c);
      if (!r.success) {
        const shape = relative ? '{"vs": "champion" (change-risk) | "imported_alerts" (detection), "metric", "op": "improves" | "not_worse_than", "margin"}' : '{"metric", "op": ">=" | "<=" | ">" | "<", "value"}';
        problems.push(`criteria.${i}: ${r.error.issues.map((x) => `${x.path.join('.') || 'criterion'} ${x.message.toLowerCase()}`).join(', ')} (a criterion is ${shape})`);
      }
    });
  }
  for (const issue of parsed.error.issues) if (issue.path[0] !== 'criteria' || issue.path.length === 1) problems.push(`${issue.path.join('.') || 'gate'}: ${issue.message}`);
  throw new EngineFailure('bad_request', `${where} is not valid: ${problems.join('; ')}`);
}

export function saveGate(db: Db, input: GateSpecInput | unknown): SavedGate {
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

/** Refuses a gate that names a metric these inputs cannot have (a typo), naming it and the known ones. */
export function checkMetricsKnown(spec: GateSpec, inputs: GateInputs): void {
  const unknown = unknownMetrics(spec, inputs);
  if (unknown.length > 0) throw new EngineFailure('bad_request', `gate "${spec.name}": ${unknown.join('; ')}`);
}

/**
 * The verdict of a gate for one model of a run. Relative criteria compare it with the champion
 * (given, or the workspace's) when the champion ran in the same run.
 */
export async function checkGate(db: Db, input: { runId: number; modelId: number; spec: GateSpec; gateVersion?: number | null; championId?: number | null | undefined; resamples?: number | undefined; championRunId?: number | undefined }): Promise<GateResult> {
  const run = getRun(db, input.runId);
  const card = await scorecard(db, input.runId, input.modelId, { resamples: input.resamples });
  const stored = getChampion(db);
  const championId = input.championId === undefined ? stored : input.championId;
  const ranIn = (id: number): boolean => run.manifest?.models.some((m) => m.id === id) ?? false;
  // A drill compares with the champion as it ran in the drill's base run, unless it drilled the champion too.
  const championRun = championId !== null && !ranIn(championId) && input.championRunId !== undefined && (getRun(db, input.championRunId).manifest?.models.some((m) => m.id === championId) ?? false) ? input.championRunId : undefined;
  const inRun = championId !== null && championId !== input.modelId && (ranIn(championId) || championRun !== undefined);
  const comparison = inRun ? compareModels(db, { runId: input.runId, championId: championId!, challengerId: input.modelId, resamples: input.resamples, ...(championRun !== undefined ? { championRunId: championRun } : {}) }) : null;
  // A workspace with a champion never judges "vs the champion" as if it had none: a CI job that
  // ran only the candidate would otherwise pass "not worse than the champion" unseen.
  const named = (id: number): string => {
    const m = getModel(db, id);
    return `${m.name} v${m.version}`;
  };
  const championMissing = inRun || championId === input.modelId ? null
    : championId !== null ? `the champion, ${named(championId)}, did not run in run ${input.runId}; run it beside this model (run --models ${getModel(db, championId).name},${card.model.name})`
      : stored !== null ? `no champion was chosen to compare with, though the workspace's champion is ${named(stored)}` : null;
  const point = { n: card.n, positives: card.positives, confusion: card.confusion };
  const evidence = Object.fromEntries(Object.keys(card.metrics).map((k) => [k, evidenceOf(k, point)]));
  const inputs = { metrics: card.metrics, operations: { ...card.operations }, comparison: comparison?.metrics ?? null, championMissing, isChampion: championId !== null && championId === input.modelId, evidence };
  checkMetricsKnown(input.spec, inputs);
  const judged = evaluateGate(input.spec, inputs);
  let { verdict } = judged;
  const criteria = [...judged.criteria];
  // Metrics partly measured on the model's own training data cannot earn a pass: the evidence is
  // contaminated, so such a run is at best inconclusive (a fail still fails).
  // A change-risk model is judged by the failures it would have caught: with fewer than
  // MIN_EVIDENCE of them, a gate of calibration or false-alarm criteria alone could pass a model
  // nobody has seen catch anything.
  if (card.positives < MIN_EVIDENCE) {
    criteria.push({ criterion: `at least ${MIN_EVIDENCE} incident-causing changes judged`, verdict: 'inconclusive', reason: `only ${card.positives} of the ${card.n} changes judged caused an incident: too few to tell whether the model catches them` });
    if (verdict === 'pass') verdict = 'inconclusive';
  }
  const leak = trainingOverlapSentence(card.model, card.n, card.trainingOverlap);
  if (leak) {
    criteria.push({ criterion: 'scored only after its training window', verdict: 'inconclusive', reason: leak });
    if (verdict === 'pass') verdict = 'inconclusive';
  }
  return {
    gate: input.spec.name, gateVersion: input.gateVersion ?? null, runId: input.runId, model: card.model,
    champion: comparison ? { id: comparison.champion.id, name: comparison.champion.name, version: comparison.champion.version } : null,
    verdict, criteria,
  };
}
