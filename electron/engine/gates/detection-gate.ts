import type { GateResult, GateSpec } from '../../../shared/contract/gates.js';
import { compareDetectionRuns, detectionMetrics, falseAlertsByDay, matchAlerts, type EvalIncident } from '../../../shared/detection/evaluate.js';
import { evaluateGate, type GateInputs } from '../../../shared/gates/gate.js';
import { detectionGateMetrics } from '../../../shared/gates/detection-metrics.js';
import { MIN_EVIDENCE } from '../../../shared/metrics/evidence.js';
import { NAB_PROFILE_NAMES, scoreProfile } from '../../../shared/metrics/nab.js';
import type { Db } from '../db/workspace.js';
import { EngineFailure } from '../errors.js';
import { FAILED, STEP_FAULT } from '../detection/guard.js';
import { getDetectionRun, loadScores } from '../detection/replay-detection.js';
import { modelDrift } from '../drills/detection-drill.js';
import { incidentsInRun, incumbentAlerts, modelAlerts, nabSeries } from '../detection/scorecard.js';
import { checkMetricsKnown } from './gates.js';

/**
 * A gate for one detector of a detection run (DESIGN.md §6): the same criteria file as for a
 * change-risk model, over the detection metrics. Absolute criteria read the detector's scorecard;
 * relative ones (`"vs": "imported_alerts"`) the paired difference with the alerts the team has
 * today, over the same incidents and days. A detector has no champion: detection runs put every
 * detector beside the imported alerts, and that is the comparison an on-call team cares about.
 *
 * The metric names are those of a detection drill's gate, so one gate file serves both:
 * `incident_recall`, `alert_precision`, `false_alerts_per_day`, `lead_vs_human_min` (its median),
 * `mttd_min` (the detector's own), `time_to_know_min` (the earlier of the humans and the alert: the
 * scorecard's "humans with the model"), `incident_recall_sev1` … (recall within one severity); read as they are, with no interval: `max_psi` (its inputs'
 * drift), `error_rate`, `fallback_rate` (steps a guarded detector failed, or its fallback answered),
 * and NAB's scores at the run's threshold, `nab_standard`, `nab_reward_low_FP_rate`, `nab_reward_low_FN_rate`.
 */

const MINUTE = 60_000;
const NO_VALUE = { value: null, lo: null, hi: null };
const SEVERITIES = [1, 2, 3, 4];
const OPERATIONS = ['max_psi', 'error_rate', 'fallback_rate', ...NAB_PROFILE_NAMES.map((p) => `nab_${p}`)];

/** Refuses a gate naming a metric a detector does not have, before any work (a report checks its gate up front). */
export function checkDetectionGateNames(spec: GateSpec): void {
  // Severities beyond 1–4 exist only where a workspace has them: any is allowed by name here, judged by the run.
  const severityNames = SEVERITIES.map((k) => `incident_recall_sev${k}`);
  const metrics = Object.fromEntries(['incident_recall', 'alert_precision', 'false_alerts_per_day', 'lead_vs_human_min', 'mttd_min', 'time_to_know_min', ...severityNames].map((k) => [k, NO_VALUE]));
  // A severity name is checked as incident_recall is (its "vs" too): the run decides which severities it has.
  const named = { ...spec, criteria: spec.criteria.map((c) => (/^incident_recall_sev\d+$/.test(c.metric) ? { ...c, metric: 'incident_recall' } : c)) };
  checkMetricsKnown(named, { metrics, operations: Object.fromEntries(OPERATIONS.map((k) => [k, null])), comparison: null, baseline: 'imported_alerts' });
}

/** Shares of a detector's steps in a run that failed, and that its fallback answered (0 for an unguarded run). */
function stepRates(db: Db, runId: number, modelId: number, serviceIds: Iterable<number>): { error: number; fallback: number } {
  let steps = 0;
  let failed = 0;
  let fallback = 0;
  for (const id of serviceIds) {
    const { scores, faults } = loadScores(db, runId, modelId, id);
    steps += scores.length;
    if (faults) for (const code of faults) { if (code & FAILED) failed++; if (code & STEP_FAULT.fallback) fallback++; }
  }
  return { error: steps ? failed / steps : 0, fallback: steps ? fallback / steps : 0 };
}

export function checkDetectionGate(db: Db, input: { runId: number; modelId: number; spec: GateSpec; gateVersion?: number | null; resamples?: number | undefined }): GateResult {
  const run = getDetectionRun(db, input.runId);
  const model = run.models.find((m) => m.id === input.modelId);
  if (!model) throw new EngineFailure('bad_request', `Model ${input.modelId} is not a detector of detection run ${run.id}; it ran ${run.models.map((m) => `${m.name} v${m.version}`).join(', ') || 'none'}`);
  const { incidents, serviceIds, from, until } = incidentsInRun(db, input.runId);
  const range = { from, until };
  const resamples = input.resamples ?? 1000;
  const seed = run.config.seed;
  const tolMs = run.config.earlyToleranceMinutes * MINUTE;
  const evalIncidents: EvalIncident[] = incidents.map((i) => ({ id: i.id, service: i.service, severity: i.severity, started: i.started, detected: i.detected, resolved: i.resolved }));

  const alerts = modelAlerts(db, input.runId, model.id);
  const matching = matchAlerts(evalIncidents, alerts, tolMs);
  const card = detectionMetrics(evalIncidents, alerts, matching, range, { resamples, seed });
  const metrics = detectionGateMetrics(card);
  // Recall within each severity: pooled recall can rise while the worst incidents are missed.
  // SEV1–4 always (a gate on SEV1 must not fail to parse in a month without one), and any other present.
  const severities = [...new Set([...SEVERITIES, ...evalIncidents.map((i) => i.severity)])].sort((a, b) => a - b);
  const bySeverity = severities.map((sev) => {
    const ks = evalIncidents.flatMap((inc, k) => (inc.severity === sev ? [k] : []));
    const sub = ks.map((k) => evalIncidents[k]!);
    const subMatch = matchAlerts(sub, alerts, tolMs);
    return { sev, sub, ks, recall: sub.length ? detectionMetrics(sub, alerts, subMatch, range, { resamples, seed }).incident_recall : NO_VALUE };
  });
  for (const b of bySeverity) metrics[`incident_recall_sev${b.sev}`] = b.recall;
  const series = nabSeries(db, input.runId, model.id, incidents, serviceIds);
  const rates = stepRates(db, input.runId, model.id, serviceIds.values());
  const operations: Record<string, number | null> = {
    max_psi: modelDrift(db, run, model.id)?.maxPsi ?? null, error_rate: rates.error, fallback_rate: rates.fallback,
    ...Object.fromEntries(NAB_PROFILE_NAMES.map((p) => [`nab_${p}`, scoreProfile(series, p, model.threshold).score])),
  };

  // The imported alerts as the other side of a paired comparison; with none imported there is no
  // "today" to beat, and a detector must not pass "improves on the imported alerts" against silence.
  const imported = incumbentAlerts(db, serviceIds, from, until, run.config.cooldownMinutes * MINUTE);
  const incumbentMatching = matchAlerts(evalIncidents, imported.alerts, tolMs);
  const incumbentSide = { at: incumbentMatching.at, falsePerDay: falseAlertsByDay(imported.alerts, incumbentMatching, range) };
  const modelSide = { at: matching.at, falsePerDay: falseAlertsByDay(alerts, matching, range) };
  const comparison = imported.raw === 0 ? null : [
    ...compareDetectionRuns(evalIncidents, incumbentSide, modelSide, range, { resamples, seed }),
    // The same paired recall difference within each severity, over its incidents.
    // A severity with no incident in the run: no difference to judge, so undecided, not "not compared".
    ...bySeverity.filter((b) => b.sub.length === 0).map((b) => ({ metric: `incident_recall_sev${b.sev}`, champion: null, challenger: null, difference: NO_VALUE, verdict: 'not enough evidence' as const })),
    ...bySeverity.filter((b) => b.sub.length > 0).map((b) => {
      const pick = (at: readonly (number | null)[]) => b.ks.map((k) => at[k] ?? null);
      const d = compareDetectionRuns(b.sub, { at: pick(incumbentSide.at), falsePerDay: incumbentSide.falsePerDay }, { at: pick(modelSide.at), falsePerDay: modelSide.falsePerDay }, range, { resamples, seed }).find((x) => x.metric === 'incident_recall')!;
      return { ...d, metric: `incident_recall_sev${b.sev}` };
    }),
  ];

  const caught = matching.at.filter((a) => a !== null).length;
  const leads = evalIncidents.filter((inc, k) => inc.detected !== null && matching.at[k] !== null).length;
  const known = evalIncidents.filter((inc, k) => inc.detected !== null || matching.at[k] !== null).length;
  const evidence: GateInputs['evidence'] = {
    incident_recall: { count: incidents.length, what: 'incidents' },
    false_alerts_per_day: { count: modelSide.falsePerDay.length, what: 'days' },
    ...Object.fromEntries(bySeverity.map((b) => [`incident_recall_sev${b.sev}`, { count: b.sub.length, what: `SEV${b.sev} incidents` }])),
    alert_precision: { count: alerts.length, what: 'alerts' },
    lead_vs_human_min: { count: leads, what: 'caught incidents with a human detection time' },
    mttd_min: { count: caught, what: 'caught incidents' },
    time_to_know_min: { count: known, what: 'incidents with a human detection time or an alert' },
  };
  const unknownWhy: Record<string, string> = {
    max_psi: `max_psi is not known for detection run ${run.id}: drift compares each input with at least 30 points of the same series before the run's range, and there were none (start the run after the first telemetry, --from)`,
    alert_precision: `alert_precision is undefined here: the detector raised no alerts in detection run ${run.id}`,
    incident_recall: `incident_recall is undefined here: no incident began in detection run ${run.id}'s range`,
    lead_vs_human_min: `lead_vs_human_min is undefined here: the detector caught no incident that humans also noticed`,
    mttd_min: `mttd_min is undefined here: the detector caught no incident`,
    ...Object.fromEntries(bySeverity.filter((b) => b.sub.length === 0).map((b) => [`incident_recall_sev${b.sev}`, `incident_recall_sev${b.sev} is undefined here: no SEV${b.sev} incident began in detection run ${run.id}'s range`])),
  };
  const inputs: GateInputs = {
    metrics, operations, comparison, baseline: 'imported_alerts', evidence, unknownWhy,
    championMissing: imported.raw === 0 ? `no alerts were imported for the services and days of detection run ${run.id} (import your alerting history with import --kind alerts)` : null,
  };
  checkMetricsKnown(input.spec, inputs);
  const judged = evaluateGate(input.spec, inputs);
  let { verdict } = judged;
  const criteria = [...judged.criteria];
  // As for change-risk: with too few incidents nobody has seen the detector catch anything, and a
  // gate of false-alarm criteria alone would pass a detector that never fires.
  // mttd_min, lead_vs_human_min and alert_precision are measured on what the detector caught or
  // raised, and false alerts fall as it fires less: a detector that catches nothing (a renamed metric,
  // so it reads nothing) passes them all. A gate must judge coverage to pass one.
  if (incidents.length > 0 && caught === 0) {
    criteria.push({ criterion: 'catches at least one incident', verdict: 'fail', reason: `it caught none of the ${incidents.length} incidents in detection run ${run.id}'s range (${alerts.length} alerts): whatever else it scores, it would have told no one` });
    verdict = 'fail';
  } else if (!input.spec.criteria.some((c) => c.metric.startsWith('incident_recall') && ('vs' in c || c.op === '>=' || c.op === '>'))) {
    criteria.push({ criterion: 'coverage judged (an incident_recall criterion)', verdict: 'inconclusive', reason: `the gate sets no floor on incident_recall, and mttd_min, lead_vs_human_min and alert_precision are measured only on what the detector caught or raised (here ${caught} of ${incidents.length} incidents): add {"metric": "incident_recall", "op": ">=", "value": …} or a recall criterion against the imported alerts` });
    if (verdict === 'pass') verdict = 'inconclusive';
  }
  if (incidents.length < MIN_EVIDENCE) {
    criteria.push({ criterion: `at least ${MIN_EVIDENCE} incidents in the run's range`, verdict: 'inconclusive', reason: `only ${incidents.length} incident${incidents.length === 1 ? '' : 's'} began in detection run ${run.id}'s range: too few to tell whether the detector catches them` });
    if (verdict === 'pass') verdict = 'inconclusive';
  }
  return {
    gate: input.spec.name, gateVersion: input.gateVersion ?? null, runId: run.id, task: 'detection',
    model: { id: model.id, name: model.name, version: model.version }, champion: null, verdict, criteria,
  };
}
