import type { DetectionRunConfig } from '../../../shared/contract/detection.js';
import { unfinishedReason } from '../../../shared/domain/run-state.js';
import type { DrillModelReport, DrillSpec, ModelDrift } from '../../../shared/contract/drills.js';
import type { GateSpec } from '../../../shared/contract/gates.js';
import { compareDetectionRuns, detectionMetrics, falseAlertsByDay, matchAlerts, type EvalIncident } from '../../../shared/detection/evaluate.js';
import { faultPlan, pickRows, staleSpan, streamSeed } from '../../../shared/drills/perturb.js';
import { evaluateGate, type GateVerdict } from '../../../shared/gates/gate.js';
import type { Db } from '../db/workspace.js';
import { detectionRange, FAILED, faultNames, serviceSeed, STEP_FAULT } from '../detection/guard.js';
import { getDetectionRun, loadScores, runDetection } from '../detection/replay-detection.js';
import { incidentsInRun, modelAlerts } from '../detection/scorecard.js';
import { EngineFailure } from '../errors.js';
import { checkMetricsKnown, latestGate } from '../gates/gates.js';
import { detectionGateMetrics } from '../../../shared/gates/detection-metrics.js';
import { subJob, type JobContext } from '../jobs/jobs.js';
import { detectorInputs, detectorOf, getModel } from '../models/registry.js';

/**
 * Drills of detection runs: the base run's detectors re-run over telemetry with the drill's faults
 * (drift, noise, gaps, stale spans in the series they read; failures, timeouts, garbage and flips
 * in their scores), with the runner's guard and fallback, then compared with the base run step by
 * step and incident by incident.
 */

const MINUTE = 60_000;

const metricsOf = (db: Db, id: number): string[] => detectorInputs(detectorOf(db, id).detector);

function resolveFallback(db: Db, fallback: DrillSpec['runner']['fallback']): DetectionRunConfig['fallback'] {
  if (fallback === 'none') return undefined;
  if (fallback === 'static-alerts') return 'static-alerts';
  const id = typeof fallback === 'number' ? fallback : db.prepare("SELECT id FROM models WHERE name = ? AND status = 'active' ORDER BY version DESC LIMIT 1").pluck().get(fallback) as number | undefined;
  if (id === undefined) throw new EngineFailure('input_error', `The drill's fallback "${fallback}" is not an active detector; add one (a static threshold is the usual choice), or use "static-alerts" or "none"`);
  const { info, detector } = detectorOf(db, id);
  if (detector.kind === 'log') throw new EngineFailure('input_error', `The drill's fallback ${info.name} is a detector log, which cannot score changed telemetry; use a built-in or ONNX detector, "static-alerts" or "none"`);
  return info.id;
}

/** Checks a detection drill against the workspace before its job starts. */
export function checkDetectionDrill(db: Db, spec: DrillSpec): { config: DetectionRunConfig } {
  const base = getDetectionRun(db, spec.baseRun);
  const why = unfinishedReason(base, 'a drill re-runs a finished run', 'detection');
  if (why) throw new EngineFailure('conflict', why);
  if (base.config.drill) throw new EngineFailure('input_error', `Detection run ${spec.baseRun} is itself a drill (of run ${base.config.drill.baseRun}); drill the original run`);
  const inRun = base.models.map((m) => m.id);
  // As in a change-risk drill, a detector cannot answer for itself: the fallback is left out of
  // "all the run's detectors", and naming it among the drilled ones is refused.
  const fallback = resolveFallback(db, spec.runner.fallback);
  if (typeof fallback === 'number' && spec.models?.includes(fallback)) {
    const m = getModel(db, fallback);
    throw new EngineFailure('input_error', `${m.name} v${m.version} is the fallback and cannot also be drilled: it would answer for its own failures; drill the other detectors or pick another fallback`);
  }
  const models = spec.models ?? inRun.filter((m) => m !== fallback);
  if (models.length === 0) throw new EngineFailure('input_error', `The only detector of detection run ${spec.baseRun} is the fallback; pick another fallback`);
  const outside = models.filter((m) => !inRun.includes(m));
  if (outside.length > 0) throw new EngineFailure('input_error', `Detector${outside.length > 1 ? 's' : ''} ${outside.join(', ')} did not take part in detection run ${spec.baseRun} (its detectors: ${inRun.join(', ')})`);
  const metrics = new Set(models.flatMap((id) => metricsOf(db, id)));
  spec.perturbations.forEach((p, i) => {
    if (!('features' in p)) return;
    const unknown = p.features.filter((f) => !metrics.has(f));
    if (unknown.length > 0) throw new EngineFailure('input_error', `perturbations.${i} (${p.kind}): no drilled detector reads ${unknown.join(', ')}; the metrics they read: ${[...metrics].join(', ') || 'none (detector logs read no telemetry)'}`);
  });
  if (spec.gate) detectionGate(db, spec.gate);
  const { fallback: _f, guard: _g, ...rest } = base.config;
  const thresholds = Object.fromEntries(base.models.filter((m) => models.includes(m.id)).map((m) => [String(m.id), m.threshold]));
  const config: DetectionRunConfig = {
    ...rest, models, thresholds, ...(fallback !== undefined ? { fallback } : {}),
    guard: { nanPolicy: spec.runner.nanPolicy, ...(spec.runner.outputRange ? { outputRange: spec.runner.outputRange } : {}), ...(spec.runner.timeoutMs !== undefined ? { timeoutMs: spec.runner.timeoutMs } : {}) },
    drill: { name: spec.name, version: null, baseRun: spec.baseRun, seed: spec.seed, perturbations: spec.perturbations },
  };
  return { config };
}

/** A detection drill's gate is a saved gate over detection metrics; the presets judge change-risk scorecards. */
function detectionGate(db: Db, name: string): GateSpec {
  if (name === 'advisory' || name === 'gating') throw new EngineFailure('input_error', `The "${name}" preset judges change-risk scorecards; a detection drill needs a saved gate over detection metrics (incident_recall, alert_precision, false_alerts_per_day, lead_vs_human_min, mttd_min, time_to_know_min, max_psi, fallback_rate, error_rate)`);
  const spec = latestGate(db, name).spec;
  // Checked before the drill runs, not after (a whole detection run wasted on a name it cannot judge).
  // A drill judges each detector's own figures, base against drill: not NAB, not one severity, and
  // criteria against the imported alerts stay undecided.
  try {
    checkMetricsKnown(spec, { metrics: Object.fromEntries(DRILL_GATE_METRICS.map((k) => [k, { value: null, lo: null, hi: null }])), operations: { max_psi: null, fallback_rate: null, error_rate: null }, comparison: null, baseline: 'imported_alerts' });
  } catch (err) {
    throw new EngineFailure('input_error', `${(err as Error).message} (a detection drill's gate judges ${[...DRILL_GATE_METRICS, 'max_psi', 'fallback_rate', 'error_rate'].join(', ')}; NAB scores and recall by severity are for gate --detection-run)`);
  }
  return spec;
}

const DRILL_GATE_METRICS = ['incident_recall', 'alert_precision', 'false_alerts_per_day', 'lead_vs_human_min', 'mttd_min', 'time_to_know_min'];

interface Steps { total: number; perService: { service: string; times: Float64Array; scores: Float32Array; faults: Uint8Array | null }[] }

function stepsOf(db: Db, runId: number, modelId: number, services: Map<string, number>): Steps {
  const perService = [...services].map(([service, id]) => ({ service, ...loadScores(db, runId, modelId, id) }));
  return { total: perService.reduce((a, s) => a + s.times.length, 0), perService };
}

const same = (a: number, b: number): boolean => a === b || (Number.isNaN(a) && Number.isNaN(b));

export async function runDetectionDrill(db: Db, spec: DrillSpec, job: JobContext, version: number | null): Promise<{ drillRunId: number; models: DrillModelReport[] }> {
  const { config } = checkDetectionDrill(db, spec);
  config.drill!.version = version;
  const base = getDetectionRun(db, spec.baseRun);
  const run = await runDetection(db, config, subJob(job, 0.8, 'drill run: '));
  job.progress({ fraction: 0.85, message: 'comparing with the base run' });
  const { incidents, serviceIds, from, until } = incidentsInRun(db, run.id);
  const evalIncidents: EvalIncident[] = incidents.map((i) => ({ id: i.id, service: i.service, severity: i.severity, started: i.started, detected: i.detected, resolved: i.resolved }));
  const range = { from, until };
  const tolMs = config.earlyToleranceMinutes * MINUTE;
  const [lo, hi] = detectionRange(config.guard);
  const gateSpec = spec.gate ? detectionGate(db, spec.gate) : null;
  const models: DrillModelReport[] = [];
  for (const m of run.models) {
    job.throwIfCancelled();
    const before = stepsOf(db, base.id, m.id, serviceIds);
    const after = stepsOf(db, run.id, m.id, serviceIds);
    const failures: Record<string, number> = {};
    const injected: Record<string, number> = {};
    let answeredByModel = 0;
    let answeredByFallback = 0;
    let noSuggestion = 0;
    let unhandled = Math.max(0, before.total - after.total);
    let garbageCaught = 0;
    let garbageRows = 0;
    let identical = before.total === after.total;
    for (const s of after.perService) {
      const b = before.perService.find((x) => x.service === s.service)!;
      if (identical && (b.scores.length !== s.scores.length || s.scores.some((v, i) => !same(v, b.scores[i]!)))) identical = false;
      const n = s.times.length;
      const seed = serviceSeed(spec.seed, s.service);
      // What the drill injected on this service's steps: the same picks the run made.
      spec.perturbations.forEach((p, index) => {
        let count: number;
        if (p.kind === 'stale') {
          const span = staleSpan({ times: s.times, services: new Uint8Array(n) }, p.share, p.at);
          count = s.times.filter((t) => t >= span.from && t < span.until).length;
        } else count = pickRows(n, p.share, streamSeed(seed, index)).reduce((a, v) => a + v, 0);
        injected[p.kind] = (injected[p.kind] ?? 0) + count;
      });
      const plan = faultPlan(n, spec.perturbations, seed, [lo, hi]);
      for (let k = 0; k < n; k++) {
        const code = s.faults?.[k] ?? 0;
        const v = s.scores[k]!;
        for (const f of faultNames(code & FAILED)) failures[f] = (failures[f] ?? 0) + 1;
        if (plan.garbage[k]) {
          garbageRows++;
          if (code & STEP_FAULT['invalid-output']) garbageCaught++;
        }
        // Judged from what was stored: a step the model answered must hold a valid score; one
        // the fallback answered a finite one (or none, for the imported alerts); one nobody answered, none.
        if (code & STEP_FAULT['no-answer']) { noSuggestion++; if (!Number.isNaN(v)) unhandled++; }
        else if (code & STEP_FAULT.fallback) { answeredByFallback++; if (config.fallback !== 'static-alerts' && !Number.isFinite(v)) unhandled++; }
        else if (code & FAILED) unhandled++;
        else { answeredByModel++; if (!(Number.isFinite(v) && v >= lo && v <= hi)) unhandled++; }
      }
    }
    const baseAlerts = modelAlerts(db, base.id, m.id).filter((a) => serviceIds.has(a.service));
    const drillAlerts = modelAlerts(db, run.id, m.id).filter((a) => serviceIds.has(a.service));
    if (identical && JSON.stringify(baseAlerts) !== JSON.stringify(drillAlerts)) identical = false;
    const baseMatch = matchAlerts(evalIncidents, baseAlerts, tolMs);
    const drillMatch = matchAlerts(evalIncidents, drillAlerts, tolMs);
    const deltas = compareDetectionRuns(evalIncidents, { at: baseMatch.at, falsePerDay: falseAlertsByDay(baseAlerts, baseMatch, range) }, { at: drillMatch.at, falsePerDay: falseAlertsByDay(drillAlerts, drillMatch, range) }, range, { resamples: 1000, seed: config.seed });
    const drift = { base: modelDrift(db, base, m.id), drill: modelDrift(db, run, m.id) };
    const failed = Object.values(failures).reduce((a, b) => a + b, 0);
    let gate: DrillModelReport['gate'] = null;
    if (gateSpec) {
      const judge = (match: typeof baseMatch, alerts: typeof baseAlerts, d: ModelDrift | null, ops: { fallback: number; error: number }) => {
        const metrics = detectionMetrics(evalIncidents, alerts, match, range, { resamples: 1000, seed: config.seed });
        const inputs = {
          metrics: detectionGateMetrics(metrics),
          operations: { max_psi: d?.maxPsi ?? null, fallback_rate: ops.fallback, error_rate: ops.error },
          comparison: null, baseline: 'imported_alerts' as const,
          championMissing: 'a drill judges the detector on its own, drill against base',
        };
        checkMetricsKnown(gateSpec, inputs);
        return evaluateGate(gateSpec, inputs);
      };
      const g0 = judge(baseMatch, baseAlerts, drift.base, { fallback: 0, error: 0 });
      const g1 = judge(drillMatch, drillAlerts, drift.drill, { fallback: after.total ? answeredByFallback / after.total : 0, error: after.total ? failed / after.total : 0 });
      gate = {
        name: gateSpec.name, base: g0.verdict as GateVerdict, drill: g1.verdict as GateVerdict, changed: g0.verdict !== g1.verdict,
        reasons: g1.criteria.filter((c, i) => c.verdict !== g0.criteria[i]?.verdict).map((c) => `${c.criterion}: ${c.reason}`),
      };
    }
    models.push({
      model: { id: m.id, name: m.name, version: m.version }, rows: after.total, answeredByModel, answeredByFallback, noSuggestion,
      fallbackRate: after.total ? answeredByFallback / after.total : 0, failures, unhandled, injected, garbageCaught, garbageRows,
      identicalToBase: identical, deltas, paired: evalIncidents.length, drift, gate,
    });
  }
  return { drillRunId: run.id, models };
}

/** A detection run's input drift, for the inputs one detector reads, in the shape change-risk runs report it. */
export function modelDrift(db: Db, run: ReturnType<typeof getDetectionRun>, modelId: number): ModelDrift | null {
  if (!run.drift) return null;
  const metrics = new Set(metricsOf(db, modelId));
  const inputs = run.drift.inputs.filter((d) => metrics.has(d.metric));
  if (inputs.length === 0) return null;
  const worst = inputs.reduce<(typeof inputs)[number] | null>((b, x) => (x.psi !== null && (b === null || x.psi > b.psi!) ? x : b), null);
  return {
    modelId, reference: 'the same series before the run', referenceRows: Math.min(...inputs.map((d) => d.referencePoints)), replayedRows: 0,
    maxPsi: worst?.psi ?? null, worst: worst ? `${worst.service}/${worst.metric}` : null, band: worst?.band ?? null, flag: worst?.band === 'drift',
    features: inputs.map((d) => ({ feature: `${d.service}/${d.metric}`, psi: d.psi, band: d.band, ks: null, ksP: d.ksP })),
  };
}
