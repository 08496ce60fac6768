import { DrillReport, DrillSpec, type DrillModelReport, type DrillSpecInput, Perturbation, type SavedDrill } from '../../../shared/contract/drills.js';
import { unfinishedReason } from '../../../shared/domain/run-state.js';
import type { RunConfig } from '../../../shared/contract/models.js';
import type { GateSpec } from '../../../shared/contract/gates.js';
import { faultPlan, pickRows, staleSpan, streamSeed } from '../../../shared/drills/perturb.js';
import { PRESETS } from '../../../shared/gates/gate.js';
import { comparePaired } from '../../../shared/metrics/compare.js';
import type { Db } from '../db/workspace.js';
import { EngineFailure } from '../errors.js';
import { checkGate, latestGate } from '../gates/gates.js';
import { subJob, type JobContext } from '../jobs/jobs.js';
import { getModel } from '../models/registry.js';
import { getRun, runChangeRisk } from '../runs/replay-changes.js';
import type { DetectionRunConfig } from '../../../shared/contract/detection.js';
import { checkDetectionDrill, runDetectionDrill } from './detection-drill.js';

/**
 * Drills (DESIGN.md §7): a finished run re-run with faults injected, then compared with the
 * original row by row (change-risk: changes; detection: time steps, see detection-drill.ts). The
 * drill run is an ordinary run (its config says it is a drill), so its scorecard, gates and
 * reports work as for any other.
 */

/** Valid change-risk scores: probabilities. */
const PROBABILITY: [number, number] = [0, 1];

/** The keys a drill spec allows at a path (the spec itself, its runner, or a perturbation of a kind). */
function keysAt(path: PropertyKey[], kind: unknown): string[] {
  if (path[0] === 'runner') return Object.keys(DrillSpec.shape.runner.unwrap().shape);
  if (path[0] === 'perturbations') return Object.keys(Perturbation.options.find((o) => o.shape.kind.value === kind)?.shape ?? {});
  return Object.keys(DrillSpec.shape);
}

/** Parses a drill spec with messages that name the perturbation and the field. */
export function parseDrill(input: unknown, where = 'the drill'): DrillSpec {
  const parsed = DrillSpec.safeParse(input);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((i) => {
    const at = i.path.join('.');
    const kind = i.path[0] === 'perturbations' && typeof i.path[1] === 'number' ? (input as { perturbations?: Array<{ kind?: unknown }> }).perturbations?.[i.path[1]]?.kind : undefined;
    const known = i.code === 'invalid_union' ? ' (kinds: drift, noise, missing, stale, flip, latency, failure, garbage)' : i.code === 'unrecognized_keys' ? ` (it takes ${keysAt(i.path, kind).join(', ')})` : '';
    return `${at || 'drill'}${typeof kind === 'string' ? ` (${kind})` : ''}: ${i.message}${known}`;
  });
  throw new EngineFailure('bad_request', `${where} is not valid: ${problems.join('; ')}`);
}

export function saveDrill(db: Db, input: unknown, author: string): SavedDrill {
  const spec = parseDrill(input);
  const version = ((db.prepare('SELECT max(version) FROM drills WHERE name = ?').pluck().get(spec.name) as number | null) ?? 0) + 1;
  const savedAt = Date.now();
  db.prepare('INSERT INTO drills (name, version, spec, saved_at, author) VALUES (?, ?, ?, ?, ?)').run(spec.name, version, JSON.stringify(spec), savedAt, author);
  return { name: spec.name, version, spec, savedAt, author };
}

export function listDrills(db: Db): SavedDrill[] {
  return (db.prepare('SELECT name, version, spec, saved_at, author FROM drills ORDER BY name, version').all() as { name: string; version: number; spec: string; saved_at: number; author: string }[])
    .map((r) => ({ name: r.name, version: r.version, spec: DrillSpec.parse(JSON.parse(r.spec)), savedAt: r.saved_at, author: r.author }));
}

function resolveFallback(db: Db, fallback: DrillSpec['runner']['fallback']): number | undefined {
  if (fallback === 'none') return undefined;
  if (typeof fallback === 'number') return getModel(db, fallback).id;
  const id = db.prepare("SELECT id FROM models WHERE name = ? AND status = 'active' ORDER BY version DESC LIMIT 1").pluck().get(fallback) as number | undefined;
  if (id === undefined) throw new EngineFailure('input_error', `The drill's fallback "${fallback}" is not an active model; train a baseline (e.g. heuristic rules) or use "none"`);
  return id;
}

function resolveGate(db: Db, name: string): GateSpec {
  if (name === 'advisory' || name === 'gating') return PRESETS[name] as GateSpec;
  return latestGate(db, name).spec;
}

/** Checks a drill against the workspace before its job starts, so a wrong spec is an immediate error. */
export function checkDrill(db: Db, spec: DrillSpec): { config: RunConfig | DetectionRunConfig } {
  return spec.task === 'detection' ? checkDetectionDrill(db, spec) : checkChangeRiskDrill(db, spec);
}

function checkChangeRiskDrill(db: Db, spec: DrillSpec): { config: RunConfig } {
  if (spec.runner.fallback === 'static-alerts') throw new EngineFailure('input_error', 'The imported alerts ("static-alerts") can only stand in for a detector; a change-risk drill falls back to a model (e.g. heuristic rules) or "none"');
  const base = getRun(db, spec.baseRun);
  const why = unfinishedReason(base, 'a drill re-runs a finished run');
  if (why) throw new EngineFailure('conflict', why);
  if (base.config.drill) throw new EngineFailure('input_error', `Run ${spec.baseRun} is itself a drill (of run ${base.config.drill.baseRun}); drill the original run`);
  // A model cannot answer for itself: the fallback is left out of "all the run's models", and
  // naming it as a drilled model is refused (its failed rows would come back unchanged).
  const fallbackModel = resolveFallback(db, spec.runner.fallback);
  if (fallbackModel !== undefined && spec.models?.includes(fallbackModel)) {
    const m = getModel(db, fallbackModel);
    throw new EngineFailure('input_error', `${m.name} v${m.version} is the fallback and cannot also be drilled: it would answer for its own failures; drill the other models or pick another fallback`);
  }
  const models = spec.models ?? base.config.models.filter((m) => m !== fallbackModel);
  if (models.length === 0) throw new EngineFailure('input_error', `Run ${spec.baseRun}'s only model is the fallback; pick another fallback`);
  const outside = models.filter((m) => !base.config.models.includes(m));
  if (outside.length > 0) throw new EngineFailure('input_error', `Model${outside.length > 1 ? 's' : ''} ${outside.join(', ')} did not take part in run ${spec.baseRun} (its models: ${base.config.models.join(', ')})`);
  const features = new Set(models.flatMap((id) => getModel(db, id).features));
  spec.perturbations.forEach((p, i) => {
    if (!('features' in p)) return;
    const unknown = p.features.filter((f) => !features.has(f));
    if (unknown.length > 0) throw new EngineFailure('input_error', `perturbations.${i} (${p.kind}): no drilled model reads ${unknown.join(', ')}; their features: ${[...features].join(', ')}`);
  });
  if (spec.gate) resolveGate(db, spec.gate);
  const { fallbackModel: _ignored, ...rest } = base.config;
  // An open-ended base range is pinned to the changes it scored: one imported since (a newer
  // deploy) would otherwise join the drill and read as a difference the faults made.
  const span = db.prepare('SELECT min(c.ts) AS lo, max(c.ts) AS hi FROM suggestions s JOIN changes c ON c.id = s.change_id WHERE s.run_id = ? AND s.model_id = ?').get(base.id, models[0]) as { lo: number | null; hi: number | null };
  const pinned = { ...(rest.from === undefined && span.lo !== null ? { from: span.lo } : {}), ...(rest.until === undefined && span.hi !== null ? { until: span.hi + 1 } : {}) };
  const config: RunConfig = {
    ...rest, ...pinned, models, ...(fallbackModel !== undefined ? { fallbackModel } : {}),
    guard: { nanPolicy: spec.runner.nanPolicy, outputRange: spec.runner.outputRange ?? PROBABILITY, ...(spec.runner.timeoutMs !== undefined ? { timeoutMs: spec.runner.timeoutMs } : {}) },
    drill: { name: spec.name, version: null, baseRun: spec.baseRun, seed: spec.seed, perturbations: spec.perturbations },
  };
  return { config };
}

interface Row { change_id: number; ts: number; service_id: number; score: number | null; decision: number | null; error: string | null; fallback_model_id: number | null; label: number; fault: string | null }

function rowsOf(db: Db, runId: number, modelId: number): Row[] {
  // The order the run scored them in (changes by time, then id): the order the fault plan indexes.
  return db.prepare(`SELECT s.change_id, c.ts, c.service_id, s.score, s.decision, s.error, s.fallback_model_id, s.label, s.fault FROM suggestions s JOIN changes c ON c.id = s.change_id
    WHERE s.run_id = ? AND s.model_id = ? ORDER BY c.ts, c.id`).all(runId, modelId) as Row[];
}

/** How many rows each perturbation touched: the exact shares the spec claims. */
function injectedCounts(perturbations: readonly Perturbation[], rows: readonly Row[], seed: number): Record<string, number> {
  const out: Record<string, number> = {};
  const n = rows.length;
  perturbations.forEach((p, index) => {
    let count: number;
    if (p.kind === 'stale') {
      const span = staleSpan({ times: rows.map((r) => r.ts), services: rows.map((r) => r.service_id) }, p.share, p.at);
      count = rows.filter((r) => r.ts >= span.from && r.ts < span.until).length;
    } else count = pickRows(n, p.share, streamSeed(seed, index)).reduce((a, b) => a + b, 0);
    out[p.kind] = (out[p.kind] ?? 0) + count;
  });
  return out;
}

export async function runDrill(db: Db, input: DrillSpecInput | DrillSpec, job: JobContext, options: { version?: number | null } = {}): Promise<DrillReport> {
  const spec = parseDrill(input);
  if (spec.task === 'detection') {
    const { drillRunId, models } = await runDetectionDrill(db, spec, job, options.version ?? null);
    return saveResult(db, spec, options.version ?? null, drillRunId, models, job);
  }
  const { config } = checkChangeRiskDrill(db, spec);
  config.drill!.version = options.version ?? null;
  const base = getRun(db, spec.baseRun);
  const run = await runChangeRisk(db, config, subJob(job, 0.8, 'drill run: '));
  job.progress({ fraction: 0.85, message: 'comparing with the base run' });
  const [lo, hi] = spec.runner.outputRange ?? PROBABILITY;
  const gateSpec = spec.gate ? resolveGate(db, spec.gate) : null;
  const models: DrillModelReport[] = [];
  for (const modelId of config.models) {
    job.throwIfCancelled();
    const model = getModel(db, modelId);
    const threshold = config.thresholds?.[String(modelId)] ?? model.threshold;
    const before = rowsOf(db, base.id, modelId);
    const after = rowsOf(db, run.id, modelId);
    const plan = faultPlan(after.length, spec.perturbations, spec.seed);
    const failures: Record<string, number> = {};
    let garbageCaught = 0;
    let garbageEarlier = 0;
    const garbageRows = plan.garbage.reduce((a, b) => a + b, 0);
    after.forEach((r, k) => {
      const tags = r.fault?.split(',') ?? [];
      for (const t of tags) if (['error', 'timeout', 'invalid-input', 'invalid-output'].includes(t)) failures[t] = (failures[t] ?? 0) + 1;
      if (plan.garbage[k] && tags.includes('invalid-output')) garbageCaught++;
      else if (plan.garbage[k] && tags.some((t) => t === 'error' || t === 'timeout' || t === 'invalid-input')) garbageEarlier++;
    });
    // Judged from what was stored, not from the runner's own bookkeeping: a score that is not a
    // finite number in range, or a row with neither a score nor an error, got through unhandled.
    const unhandled = after.filter((r) => (r.score !== null && (!Number.isFinite(r.score) || r.score < lo || r.score > hi)) || (r.score === null && r.error === null)).length
      + Math.max(0, before.length - after.length);
    const baseById = new Map(before.map((r) => [r.change_id, r]));
    const identical = before.length === after.length && after.every((r) => {
      const b = baseById.get(r.change_id);
      return b !== undefined && b.score === r.score && b.decision === r.decision && b.error === r.error;
    });
    // The model alone: rows its fallback answered (in either run) carry another model's score.
    const own = (r: Row | undefined): boolean => r !== undefined && r.score !== null && r.fallback_model_id === null;
    const pairs = after.filter((r) => own(r) && own(baseById.get(r.change_id)));
    const deltas = pairs.length > 0
      ? comparePaired({
        labels: pairs.map((r) => (r.label === 1 ? 1 : 0)), champion: pairs.map((r) => baseById.get(r.change_id)!.score!), challenger: pairs.map((r) => r.score!),
        championThreshold: threshold, challengerThreshold: threshold,
      }, config.costs, { resamples: 1000, seed: config.seed }).metrics
      : [];
    let gate: DrillModelReport['gate'] = null;
    if (gateSpec) {
      const [g0, g1] = [await checkGate(db, { runId: base.id, modelId, spec: gateSpec }), await checkGate(db, { runId: run.id, modelId, spec: gateSpec, championRunId: base.id })];
      gate = {
        name: gateSpec.name, base: g0.verdict, drill: g1.verdict, changed: g0.verdict !== g1.verdict,
        reasons: g1.criteria.filter((c, i) => c.verdict !== g0.criteria[i]?.verdict).map((c) => `${c.criterion}: ${c.reason}`),
      };
    }
    const answeredByFallback = after.filter((r) => r.fallback_model_id !== null && r.score !== null).length;
    models.push({
      model: { id: model.id, name: model.name, version: model.version }, rows: after.length,
      answeredByModel: after.filter((r) => r.score !== null && r.fallback_model_id === null).length, answeredByFallback,
      noSuggestion: after.filter((r) => r.score === null).length, fallbackRate: after.length ? answeredByFallback / after.length : 0,
      failures, unhandled, injected: injectedCounts(spec.perturbations, after, spec.seed), garbageCaught, garbageEarlier, garbageRows, identicalToBase: identical,
      deltas, paired: pairs.length,
      drift: { base: base.manifest?.drift?.find((d) => d.modelId === modelId) ?? null, drill: run.manifest?.drift?.find((d) => d.modelId === modelId) ?? null },
      gate,
    });
  }
  return saveResult(db, spec, options.version ?? null, run.id, models, job);
}

function saveResult(db: Db, spec: DrillSpec, version: number | null, drillRunId: number, models: DrillModelReport[], job: JobContext): DrillReport {
  const summary = models.flatMap((m) => summarise(m, spec.task));
  const createdAt = Date.now();
  const draft = { task: spec.task, drill: spec.name, drillVersion: version, spec, baseRunId: spec.baseRun, drillRunId, createdAt, models, summary };
  const id = Number(db.prepare('INSERT INTO drill_results (drill, drill_version, task, base_run_id, drill_run_id, report, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
    .run(spec.name, version, spec.task, spec.baseRun, drillRunId, JSON.stringify(draft), createdAt).lastInsertRowid);
  job.progress({ fraction: 1, message: summary[0] ?? 'done' });
  return DrillReport.parse({ id, ...draft });
}

function summarise(m: DrillModelReport, task: DrillSpec['task']): string[] {
  const name = `${m.model.name} v${m.model.version}`;
  const failed = Object.values(m.failures).reduce((a, b) => a + b, 0);
  const rows = task === 'detection' ? 'steps' : 'rows';
  const lines = [
    m.identicalToBase ? `${name}: every ${task === 'detection' ? 'score and alert' : 'suggestion'} identical to the base run` : `${name}: ${failed} of ${m.rows} ${rows} failed; the fallback answered ${m.answeredByFallback}, ${m.noSuggestion} got no ${task === 'detection' ? 'answer' : 'suggestion'}; ${m.unhandled} reached the output unhandled`,
  ];
  const moved = m.deltas.filter((d) => d.verdict === 'better' || d.verdict === 'worse');
  // A bound that rounds to zero is 0.000, not "-0.000".
  const f3 = (v: number): string => (Math.abs(v) < 0.0005 ? 0 : v).toFixed(3);
  if (moved.length > 0) lines.push(`${name}: ${moved.map((d) => `${d.metric} ${d.difference.value! >= 0 ? '+' : ''}${f3(d.difference.value!)} [${f3(d.difference.lo!)}, ${f3(d.difference.hi!)}]`).join(', ')}`);
  const drift = m.drift.drill;
  if (drift) {
    // What the drill moved: features whose PSI band is worse than in the base run.
    const baseBand = new Map((m.drift.base?.features ?? []).map((f) => [f.feature, f]));
    const rank = { stable: 0, moderate: 1, drift: 2 } as const;
    const newly = drift.features.filter((f) => f.band !== null && rank[f.band] > rank[baseBand.get(f.feature)?.band ?? 'stable']);
    lines.push(`${name}: drift flag ${drift.flag ? 'RAISED' : 'not raised'} (max PSI ${drift.maxPsi?.toFixed(2) ?? '—'} on ${drift.worst ?? '—'}; base run ${m.drift.base?.maxPsi?.toFixed(2) ?? '—'})${newly.length ? `; newly drifting: ${newly.map((f) => `${f.feature} PSI ${baseBand.get(f.feature)?.psi?.toFixed(2) ?? '—'} → ${f.psi!.toFixed(2)}`).join(', ')}` : ''}`);
  }
  if (m.garbageRows > 0) {
    // A row that had already failed (its input refused, the model failed) never produced the garbage.
    const earlier = m.garbageEarlier ?? 0;
    lines.push(`${name}: output validation caught ${m.garbageCaught} of ${m.garbageRows} garbage outputs${earlier > 0 ? `; the other ${earlier} row${earlier === 1 ? '' : 's'} had already failed before ${earlier === 1 ? 'its' : 'their'} output, so no garbage reached ${earlier === 1 ? 'it' : 'them'}` : ''}`);
  }
  if (m.gate) lines.push(`${name}: gate "${m.gate.name}" ${m.gate.base} → ${m.gate.drill}${m.gate.changed ? ' (CHANGED)' : ''}`);
  return lines;
}

/** Results, newest first; with a run id, those of drills of that run (or made by it) of that task. */
export function listDrillResults(db: Db, baseRunId?: number, task: DrillSpec['task'] = 'change-risk'): DrillReport[] {
  const rows = (baseRunId === undefined
    ? db.prepare('SELECT id, report FROM drill_results ORDER BY id DESC').all()
    : db.prepare('SELECT id, report FROM drill_results WHERE task = ? AND (base_run_id = ? OR drill_run_id = ?) ORDER BY id DESC').all(task, baseRunId, baseRunId)) as { id: number; report: string }[];
  return rows.map((r) => DrillReport.parse({ id: r.id, ...JSON.parse(r.report) }));
}

export function getDrillResult(db: Db, id: number): DrillReport {
  const r = db.prepare('SELECT id, report FROM drill_results WHERE id = ?').get(id) as { id: number; report: string } | undefined;
  if (!r) throw new EngineFailure('not_found', `No drill result ${id}`);
  return DrillReport.parse({ id: r.id, ...JSON.parse(r.report) });
}
