import type { DetectionComparison, DetectionReport, DetectionScorecard, IncidentDetection } from '../../../shared/contract/detection.js';
import { unfinishedReason } from '../../../shared/domain/run-state.js';
import { alertsFromScores, mergeAlerts } from '../../../shared/detection/alerts.js';
import { compareDetectionRuns, detectionMetrics, falseAlertsByDay, matchAlerts, type DetectionSide, type EvalAlert, type EvalIncident } from '../../../shared/detection/evaluate.js';
import { NAB_PROFILE_NAMES, scoreProfile, type NabSeries } from '../../../shared/metrics/nab.js';
import { quantile } from '../../../shared/metrics/bootstrap.js';
import type { Db } from '../db/workspace.js';
import { EngineFailure } from '../errors.js';
import { getDetectionRun, loadScores } from './replay-detection.js';
import { detectorWarmUpMs } from '../../../shared/detection/detectors.js';
import { detectorInputs, detectorOf } from '../models/registry.js';

/**
 * Detection scorecards for a run (DESIGN.md §6): each detector, and the workspace's imported
 * alerts as the incumbent, scored the same way against the incidents in the run's range.
 */

const MINUTE = 60_000;
export const INCUMBENT = 'imported alerts';
const QUANTILES = [0.9, 0.95, 0.98, 0.99, 0.995, 0.998, 0.999, 0.9995, 0.9998, 0.9999];

/**
 * Thresholds for the alert-budget sweep, from the detector's own score distribution (z-scores,
 * probabilities and logged scores live on different scales), plus its configured threshold. A
 * static rule scores 0 or 1: its only threshold is 1. Quantiles come from at most 200k sampled steps.
 */
function sweepThresholds(series: readonly NabSeries[], configured: number): number[] {
  const total = series.reduce((a, s) => a + s.scores.length, 0);
  const every = Math.max(1, Math.floor(total / 200_000));
  const sample: number[] = [];
  let k = 0;
  for (const s of series) for (let i = 0; i < s.scores.length; i++) if (k++ % every === 0 && Number.isFinite(s.scores[i]!)) sample.push(s.scores[i]!);
  if (sample.every((v) => v === 0 || v === 1)) return [1];
  sample.sort((a, b) => a - b);
  const picks = QUANTILES.map((q) => quantile(sample, q)).filter((v) => v > 0);
  return [...new Set([...picks, configured].map((v) => Number(v.toPrecision(3))))].sort((a, b) => a - b);
}

interface IncidentRow { id: string; service: string; service_id: number; severity: number; title: string | null; started: number; detected: number | null; mitigated: number | null; resolved: number | null; cause: string | null }

export function incidentsInRun(db: Db, runId: number): { incidents: IncidentRow[]; serviceIds: Map<string, number>; from: number; until: number } {
  const run = getDetectionRun(db, runId);
  const why = unfinishedReason(run, 'scorecards need a finished run', 'detection');
  if (why || run.from === null || run.until === null) throw new EngineFailure('conflict', why ?? `Detection run ${runId} covered no telemetry; scorecards need a finished run over some`);
  const names = run.config.services?.length ? run.config.services : (db.prepare('SELECT name FROM services').pluck().all() as string[]);
  const serviceIds = new Map((db.prepare(`SELECT name, id FROM services WHERE name IN (${names.map(() => '?').join(',') || "''"})`).raw().all(...names) as [string, number][]));
  const incidents = (db.prepare(`SELECT i.external_id AS id, s.name AS service, i.service_id, i.severity, i.title, i.started_ts AS started, i.detected_ts AS detected,
      i.mitigated_ts AS mitigated, i.resolved_ts AS resolved, i.cause_change_id AS cause
    FROM incidents i JOIN services s ON s.id = i.service_id WHERE i.started_ts >= ? AND i.started_ts < ? ORDER BY i.started_ts`).all(run.from, run.until) as IncidentRow[])
    .filter((i) => serviceIds.has(i.service));
  return { incidents, serviceIds, from: run.from, until: run.until };
}

export function modelAlerts(db: Db, runId: number, modelId: number): EvalAlert[] {
  return db.prepare('SELECT s.name AS service, a.start_ts AS start FROM detection_alerts a JOIN services s ON s.id = a.service_id WHERE a.run_id = ? AND a.model_id = ? ORDER BY a.start_ts')
    .all(runId, modelId) as EvalAlert[];
}

/** The imported alerts in the run's range, merged by the detectors' cooldown; `raw`: how many rows that was. */
export function incumbentAlerts(db: Db, serviceIds: Map<string, number>, from: number, until: number, cooldownMs: number): { alerts: EvalAlert[]; raw: number } {
  const rows = (db.prepare('SELECT s.name AS service, a.ts AS start, a.resolved_ts AS end FROM alerts a JOIN services s ON s.id = a.service_id WHERE a.ts >= ? AND a.ts < ? ORDER BY a.ts')
    .all(from, until) as Array<EvalAlert & { end: number | null }>).filter((a) => serviceIds.has(a.service));
  return { alerts: mergeAlerts(rows, cooldownMs).map(({ service, start }) => ({ service, start })), raw: rows.length };
}

function card(name: string, modelId: number | null, threshold: number | null, incidents: EvalIncident[], alerts: EvalAlert[], range: { from: number; until: number }, tolMs: number, resamples: number, seed: number): { card: Omit<DetectionScorecard, 'nab' | 'sweep' | 'warmUp' | 'importedRows'>; side: DetectionSide } {
  const matching = matchAlerts(incidents, alerts, tolMs);
  const metrics = detectionMetrics(incidents, alerts, matching, range, { resamples, seed });
  const severities = [...new Set(incidents.map((i) => i.severity))].sort((a, b) => a - b);
  return {
    side: { at: matching.at, falsePerDay: falseAlertsByDay(alerts, matching, range) },
    card: {
      modelId, name, threshold, incidents: incidents.length, alerts: alerts.length, days: (range.until - range.from) / (24 * 60 * MINUTE), metrics,
      recallBySeverity: severities.map((sev) => {
        const ks = incidents.flatMap((inc, k) => (inc.severity === sev ? [k] : []));
        return { severity: sev, incidents: ks.length, recall: ks.length ? ks.filter((k) => matching.at[k] !== null).length / ks.length : null };
      }),
    },
  };
}

/** NAB's score on this workspace: each service is a file, its incidents (start to resolution) the windows. */
export function nabSeries(db: Db, runId: number, modelId: number, incidents: IncidentRow[], serviceIds: Map<string, number>): NabSeries[] {
  return [...serviceIds].map(([name, id]) => {
    const { times, scores } = loadScores(db, runId, modelId, id);
    // A step nobody answered (a guarded run's failure with no fallback) detects nothing: score 0 for NAB.
    for (let i = 0; i < scores.length; i++) if (Number.isNaN(scores[i]!)) scores[i] = 0;
    const windows = incidents.filter((i) => i.service === name).map((i) => [i.started, i.resolved ?? i.started + 60 * MINUTE] as const);
    return { name, times, scores, windows: mergeWindows(windows) };
  });
}

/** NAB windows never overlap; incidents on one service can, so overlapping ones become one window. */
function mergeWindows(windows: readonly (readonly [number, number])[]): [number, number][] {
  const sorted = [...windows].sort((a, b) => a[0] - b[0]);
  const out: [number, number][] = [];
  for (const [a, b] of sorted) {
    const last = out[out.length - 1];
    if (last && a <= last[1]) last[1] = Math.max(last[1], b);
    else out.push([a, b]);
  }
  return out;
}

/**
 * A detector's warm-up and the incidents inside it: each service's telemetry (of the metrics the
 * detector reads) begins somewhere, and the detector answers 0 until it has the history its baseline
 * needs. Those incidents count as missed like any other; this says how many, so a week-long baseline
 * is not mistaken for a blind spot. A detector log (scores from elsewhere) has none.
 */
function warmUp(db: Db, modelId: number, incidents: readonly IncidentRow[], serviceIds: Map<string, number>, series: readonly NabSeries[]): { ms: number; incidents: number; withoutTelemetry: number } | null {
  const { detector } = detectorOf(db, modelId);
  if (detector.kind === 'log') return null;
  const metrics = detectorInputs(detector);
  const start = db.prepare(`SELECT min((SELECT min(ts) FROM points WHERE series_id = s.id)) FROM series s WHERE s.service_id = ? AND s.metric IN (${metrics.map(() => '?').join(',')})`).pluck();
  let ms = 0;
  let count = 0;
  let without = 0;
  for (const [name, id] of serviceIds) {
    const times = series.find((s) => s.name === name)?.times;
    const step = times && times.length > 1 ? (times[times.length - 1]! - times[0]!) / (times.length - 1) : 0;
    const w = detector.kind === 'builtin' ? detectorWarmUpMs(detector.spec, step) : detector.manifest.window.length * (detector.manifest.window.stepSeconds !== undefined ? detector.manifest.window.stepSeconds * 1000 : step);
    ms = Math.max(ms, w);
    const begins = start.get(id, ...metrics) as number | null;
    if (begins !== null) count += incidents.filter((i) => i.service === name && i.started < begins + w).length;
    else without += incidents.filter((i) => i.service === name).length;
  }
  return { ms, incidents: count, withoutTelemetry: without };
}

export function detectionReport(db: Db, runId: number, options: { resamples?: number | undefined } = {}): DetectionReport {
  const run = getDetectionRun(db, runId);
  const { incidents, serviceIds, from, until } = incidentsInRun(db, runId);
  const range = { from, until };
  const tolMs = run.config.earlyToleranceMinutes * MINUTE;
  const cooldownMs = run.config.cooldownMinutes * MINUTE;
  const resamples = options.resamples ?? 1000;
  const evalIncidents: EvalIncident[] = incidents.map((i) => ({ id: i.id, service: i.service, severity: i.severity, started: i.started, detected: i.detected, resolved: i.resolved }));
  const scorecards: DetectionScorecard[] = [];
  const comparisons: DetectionComparison[] = [];

  const imported = incumbentAlerts(db, serviceIds, from, until, run.config.cooldownMinutes * MINUTE);
  const incumbent = card(INCUMBENT, null, null, evalIncidents, imported.alerts, range, tolMs, resamples, run.config.seed);
  for (const m of run.models) {
    const { card: c, side } = card(`${m.name} v${m.version}`, m.id, m.threshold, evalIncidents, modelAlerts(db, runId, m.id), range, tolMs, resamples, run.config.seed);
    const series = nabSeries(db, runId, m.id, incidents, serviceIds);
    const nab = Object.fromEntries(NAB_PROFILE_NAMES.map((p) => {
      const r = scoreProfile(series, p, m.threshold);
      const best = scoreProfile(series, p);
      return [p, { score: r.score, threshold: r.threshold, optimised: { score: best.score, threshold: best.threshold } }];
    }));
    // The alert budget: what each threshold would have cost in false pages and bought in recall.
    const sweep = sweepThresholds(series, m.threshold).map((threshold) => {
      const alerts: EvalAlert[] = [];
      for (const s of series) for (const a of alertsFromScores(s.times, s.scores, threshold, cooldownMs)) alerts.push({ service: s.name, start: s.times[a.startIndex]! });
      const matching = matchAlerts(evalIncidents, alerts, tolMs);
      const falseAlerts = Array.from(matching.incidentOf).filter((k) => k < 0).length;
      const leads = evalIncidents.flatMap((inc, k) => (matching.at[k] !== null && inc.detected !== null ? [(inc.detected - matching.at[k]!) / MINUTE] : [])).sort((a, b) => a - b);
      return {
        threshold, falseAlertsPerDay: falseAlerts / ((until - from) / (24 * 60 * MINUTE)),
        recall: evalIncidents.length ? matching.at.filter((a) => a !== null).length / evalIncidents.length : null,
        medianLeadMin: leads.length ? quantile(leads, 0.5) : null,
      };
    });
    scorecards.push({ ...c, importedRows: null, nab, sweep, warmUp: warmUp(db, m.id, incidents, serviceIds, series) });
    // The same paired differences a detector gate judges ("vs": "imported_alerts"), with the same
    // seed: the sentence here and the gate's verdict quote one number, not two near ones.
    const deltas = compareDetectionRuns(evalIncidents, incumbent.side, side, range, { resamples, seed: run.config.seed });
    const ttk = deltas.find((d) => d.metric === 'time_to_know_min')!.difference;
    const negate = (v: number | null): number | null => (v === null || v === 0 ? v : -v);
    const cmp = { gain: { value: negate(ttk.value), lo: negate(ttk.hi), hi: negate(ttk.lo) }, recallGain: deltas.find((d) => d.metric === 'incident_recall')!.difference };
    const faDelta = (c.metrics.false_alerts_per_day.value ?? 0) - (incumbent.card.metrics.false_alerts_per_day.value ?? 0);
    const verdict = cmp.gain.lo !== null && cmp.gain.lo > 0 ? 'earlier' : cmp.gain.hi !== null && cmp.gain.hi < 0 ? 'later' : 'not enough evidence';
    const fmt = (v: number | null): string => (v === null ? '—' : v.toFixed(1));
    const tradeOffs: string[] = [];
    const rg = cmp.recallGain;
    if (rg.hi !== null && rg.hi < 0) tradeOffs.push(`it would have caught fewer incidents (recall ${rg.value!.toFixed(3)} [${rg.lo!.toFixed(3)}, ${rg.hi.toFixed(3)}] relative to the imported alerts)`);
    const incumbentFa = incumbent.card.metrics.false_alerts_per_day.value ?? 0;
    const pagesMore = faDelta > 0 && faDelta >= 0.5 * Math.max(incumbentFa, 0.2);
    if (pagesMore) tradeOffs.push(`it would page ${fmt(faDelta)} more times a day for nothing (${fmt(incumbentFa + faDelta)} against ${fmt(incumbentFa)})`);
    comparisons.push({
      modelId: m.id, leadGainMin: cmp.gain, recallGain: cmp.recallGain, falseAlertsPerDayDelta: faDelta, verdict, tradeOffs,
      summary: verdict === 'not enough evidence'
        ? `${c.name} vs ${INCUMBENT}: with it, humans would have known ${fmt(cmp.gain.value)} min earlier than with the imported alerts on average, but the 95 % interval [${fmt(cmp.gain.lo)}, ${fmt(cmp.gain.hi)}] includes no difference`
        : `${c.name} vs ${INCUMBENT}: with it, humans would have known ${fmt(Math.abs(cmp.gain.value ?? 0))} min ${verdict === 'earlier' ? 'earlier' : 'later'} than with the imported alerts on average (95 % interval [${fmt(cmp.gain.lo)}, ${fmt(cmp.gain.hi)}], beyond noise)${pagesMore ? '' : `, at ${faDelta <= 0 ? `${fmt(-faDelta)} fewer` : `${fmt(faDelta)} more`} false alerts per day`}`
          + (tradeOffs.length > 0 ? `; but ${tradeOffs.join(', and ')}` : ''),
    });
  }
  // The incumbent pages at alert start: a 0/1 score at the first step of each alert.
  scorecards.unshift({ ...incumbent.card, importedRows: imported.raw, nab: null, sweep: [], warmUp: null });
  return { run, scorecards, comparisons, unresolvedIncidents: incidents.filter((i) => i.resolved === null).length };
}

/** Per incident: when it started, when humans noticed, when each detector (and the incumbent) would have alerted. */
export function incidentDetections(db: Db, runId: number): IncidentDetection[] {
  const run = getDetectionRun(db, runId);
  const { incidents, serviceIds, from, until } = incidentsInRun(db, runId);
  const tolMs = run.config.earlyToleranceMinutes * MINUTE;
  const evalIncidents: EvalIncident[] = incidents.map((i) => ({ id: i.id, service: i.service, severity: i.severity, started: i.started, detected: i.detected, resolved: i.resolved }));
  const who: [string, (number | null)[]][] = [
    [INCUMBENT, matchAlerts(evalIncidents, incumbentAlerts(db, serviceIds, from, until, run.config.cooldownMinutes * MINUTE).alerts, tolMs).at],
    ...run.models.map((m) => [`${m.name} v${m.version}`, matchAlerts(evalIncidents, modelAlerts(db, runId, m.id), tolMs).at] as [string, (number | null)[]]),
  ];
  return incidents.map((inc, k) => ({
    incident: inc.id, service: inc.service, severity: inc.severity, title: inc.title, started: inc.started, detectedByHumans: inc.detected, resolved: inc.resolved,
    detections: Object.fromEntries(who.map(([name, at]) => [name, { at: at[k] ?? null, leadMin: at[k] !== null && at[k] !== undefined && inc.detected !== null ? (inc.detected - at[k]!) / MINUTE : null }])),
  }));
}
