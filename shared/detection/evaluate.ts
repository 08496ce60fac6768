import { quantile } from '../metrics/bootstrap.js';
import { sfc32, sfc32State } from '../metrics/resample.js';
import { verdictOf, type MetricComparison } from '../metrics/compare.js';
import { MIN_EVIDENCE, withEvidence } from '../metrics/evidence.js';

/**
 * Detection metrics (DESIGN.md §6): an incident is detected when an alert on its service starts in
 * [started − early tolerance, resolved]; lead is the humans' detection time minus the alert's, in
 * minutes (positive = earlier than humans). Intervals come from a seeded bootstrap over incidents
 * (recall, lead, MTTD), over alerts (precision) and over days (false alerts per day).
 */

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

export interface EvalIncident {
  id: string;
  service: string;
  severity: number;
  started: number;
  detected: number | null;
  resolved: number | null;
}

export interface EvalAlert {
  service: string;
  start: number;
}

export interface Interval {
  value: number | null;
  lo: number | null;
  hi: number | null;
}

export interface Matching {
  /** per incident: the first matching alert's start, or null */
  at: (number | null)[];
  /** per alert: the incident it matched (first by start), or -1 */
  incidentOf: Int32Array;
}

/** Without a resolution time an incident's window runs a day past its start. */
const OPEN_INCIDENT_MS = DAY;

export function matchAlerts(incidents: readonly EvalIncident[], alerts: readonly EvalAlert[], toleranceMs: number): Matching {
  const byService = new Map<string, number[]>();
  alerts.forEach((a, i) => byService.set(a.service, [...(byService.get(a.service) ?? []), i]));
  for (const list of byService.values()) list.sort((a, b) => alerts[a]!.start - alerts[b]!.start);
  const incidentOf = new Int32Array(alerts.length).fill(-1);
  const at = incidents.map((inc, k) => {
    const lo = inc.started - toleranceMs;
    const hi = inc.resolved ?? inc.started + OPEN_INCIDENT_MS;
    let first: number | null = null;
    for (const i of byService.get(inc.service) ?? []) {
      const s = alerts[i]!.start;
      if (s < lo || s > hi) continue;
      if (incidentOf[i] === -1) incidentOf[i] = k;
      if (first === null || s < first) first = s;
    }
    return first;
  });
  return { at, incidentOf };
}

export interface DetectionMetrics {
  incident_recall: Interval;
  alert_precision: Interval;
  false_alerts_per_day: Interval;
  lead_vs_human_min: { median: Interval; p10: number | null; p90: number | null; earlier: number; same: number; later: number; missed: number };
  mttd_min: { model: Interval; humans: Interval; humans_with_model: Interval };
}

/** Per-incident quantities every resample is built from. */
interface PerIncident {
  detected: boolean;
  lead: number | null; // minutes; null when missed or humans never detected it
  modelTtd: number | null;
  humanTtd: number | null;
  withModelTtd: number | null;
}

function perIncident(incidents: readonly EvalIncident[], at: readonly (number | null)[]): PerIncident[] {
  return incidents.map((inc, k) => {
    const a = at[k] ?? null;
    const human = inc.detected;
    return {
      detected: a !== null,
      lead: a !== null && human !== null ? (human - a) / MINUTE : null,
      modelTtd: a !== null ? Math.max(0, a - inc.started) / MINUTE : null,
      humanTtd: human !== null ? Math.max(0, human - inc.started) / MINUTE : null,
      withModelTtd: human !== null ? Math.max(0, Math.min(human, a ?? human) - inc.started) / MINUTE : a !== null ? Math.max(0, a - inc.started) / MINUTE : null,
    };
  });
}

const mean = (xs: number[]): number | null => (xs.length ? xs.reduce((s, x) => s + x, 0) / xs.length : null);
const median = (xs: number[]): number | null => (xs.length ? quantile(Float64Array.from(xs).sort(), 0.5) : null);

function summarise(rows: readonly PerIncident[]): number[] {
  const leads = rows.flatMap((r) => (r.lead === null ? [] : [r.lead]));
  return [
    rows.length ? rows.filter((r) => r.detected).length / rows.length : Number.NaN,
    median(leads) ?? Number.NaN,
    mean(rows.flatMap((r) => (r.modelTtd === null ? [] : [r.modelTtd]))) ?? Number.NaN,
    mean(rows.flatMap((r) => (r.humanTtd === null ? [] : [r.humanTtd]))) ?? Number.NaN,
    mean(rows.flatMap((r) => (r.withModelTtd === null ? [] : [r.withModelTtd]))) ?? Number.NaN,
  ];
}

/** Percentile bootstrap of `stat` over `items` drawn with replacement; columns are the stat's outputs. */
export function bootstrapColumns<T>(items: readonly T[], stat: (sample: T[]) => number[], resamples: number, seed: number, level = 0.95): { lo: number | null; hi: number | null }[] {
  const state = sfc32State(seed);
  const columns: number[][] = [];
  for (let r = 0; r < resamples && items.length > 0; r++) {
    const sample = Array.from({ length: items.length }, () => items[Math.floor((sfc32(state) / 4294967296) * items.length)]!);
    stat(sample).forEach((v, i) => {
      (columns[i] ??= []);
      if (Number.isFinite(v)) columns[i]!.push(v);
    });
  }
  const alpha = (1 - level) / 2;
  const width = items.length ? stat(items.slice()).length : 0;
  return Array.from({ length: width }, (_, i) => {
    const got = Float64Array.from(columns[i] ?? []).sort();
    return resamples > 0 && got.length > 0 && got.length >= resamples / 2 ? { lo: quantile(got, alpha), hi: quantile(got, 1 - alpha) } : { lo: null, hi: null };
  });
}

const finite = (v: number): number | null => (Number.isFinite(v) ? v : null);

/** Alerts that matched no incident, counted per day of the range (the last day may be partial). */
export function falseAlertsByDay(alerts: readonly EvalAlert[], matching: Matching, range: { from: number; until: number }): number[] {
  const days = Math.max(1, Math.ceil((range.until - range.from) / DAY));
  const falsePerDay = new Array<number>(days).fill(0);
  alerts.forEach((a, i) => {
    if (matching.incidentOf[i] !== -1) return;
    const d = Math.min(days - 1, Math.max(0, Math.floor((a.start - range.from) / DAY)));
    falsePerDay[d]!++;
  });
  return falsePerDay;
}

export function detectionMetrics(incidents: readonly EvalIncident[], alerts: readonly EvalAlert[], matching: Matching, range: { from: number; until: number }, options: { resamples?: number; seed?: number } = {}): DetectionMetrics {
  const resamples = options.resamples ?? 1000;
  const seed = options.seed ?? 20260901;
  const rows = perIncident(incidents, matching.at);
  const point = summarise(rows);
  const ci = bootstrapColumns(rows, summarise, resamples, seed);
  // Each interval needs MIN_EVIDENCE of what it rests on (incidents, leads, alerts); a share at 0 or 1 the exact interval.
  const detected = rows.filter((r) => r.detected).length;
  const counts = [rows.length, rows.filter((r) => r.lead !== null).length, detected, rows.filter((r) => r.humanTtd !== null).length, rows.filter((r) => r.withModelTtd !== null).length];
  const iv = (i: number): Interval => withEvidence({ value: finite(point[i]!), lo: ci[i]?.lo ?? null, hi: ci[i]?.hi ?? null }, counts[i]!, i === 0 ? { successes: detected } : undefined);

  const matched = Array.from(matching.incidentOf, (k) => (k >= 0 ? 1 : 0));
  const precision = matched.length ? matched.reduce<number>((s, x) => s + x, 0) / matched.length : Number.NaN;
  const precisionCi = bootstrapColumns(matched, (xs) => [xs.reduce<number>((s, x) => s + x, 0) / xs.length], resamples, seed + 1)[0];

  const falsePerDay = falseAlertsByDay(alerts, matching, range);
  const spanDays = (range.until - range.from) / DAY || 1;
  const faRate = falsePerDay.reduce((s, x) => s + x, 0) / spanDays;
  // Per-day means scaled so the interval is around the point value (the last day may be partial: a
  // 10.5-day run has 11 buckets), and none below MIN_EVIDENCE days: a one-day run's "interval" was [x, x].
  const scale = falsePerDay.length / spanDays;
  const faCi = falsePerDay.length >= MIN_EVIDENCE ? bootstrapColumns(falsePerDay, (xs) => [scale * (xs.reduce((s, x) => s + x, 0) / xs.length)], resamples, seed + 2)[0] : undefined;

  const leads = rows.flatMap((r) => (r.lead === null ? [] : [r.lead])).sort((a, b) => a - b);
  return {
    incident_recall: iv(0),
    alert_precision: withEvidence({ value: finite(precision), lo: precisionCi?.lo ?? null, hi: precisionCi?.hi ?? null }, matched.length, { successes: matched.reduce<number>((a, x) => a + x, 0) }),
    false_alerts_per_day: { value: faRate, lo: faCi?.lo ?? null, hi: faCi?.hi ?? null },
    lead_vs_human_min: {
      median: iv(1),
      p10: leads.length ? quantile(leads, 0.1) : null,
      p90: leads.length ? quantile(leads, 0.9) : null,
      earlier: leads.filter((l) => l > 0).length,
      // A tie (the alert in the minute humans noticed) is neither earlier nor later.
      same: leads.filter((l) => l === 0).length,
      later: leads.filter((l) => l < 0).length,
      missed: rows.filter((r) => !r.detected).length,
    },
    mttd_min: { model: iv(2), humans: iv(3), humans_with_model: iv(4) },
  };
}

/** One side of a paired comparison of two detection runs over the same incidents and days. */
export interface DetectionSide {
  /** per incident (same order on both sides): the first matching alert's start, or null */
  at: readonly (number | null)[];
  /** false alerts on each day of the range */
  falsePerDay: readonly number[];
}

/**
 * Drill − base for the detection metrics, each with a paired bootstrap interval: recall and the time
 * until someone knew (the earlier of the humans and the alert) over the same incidents, false
 * alerts per day over the same days. Used for drills, where the same detector ran twice.
 */
export function compareDetectionRuns(incidents: readonly EvalIncident[], base: DetectionSide, drill: DetectionSide, range: { from: number; until: number }, options: { resamples?: number; seed?: number } = {}): MetricComparison[] {
  const resamples = options.resamples ?? 1000;
  const seed = (options.seed ?? 20260901) + 5;
  const b = perIncident(incidents, base.at);
  const d = perIncident(incidents, drill.at);
  const pairs = b.map((x, k) => [x, d[k]!] as const);
  const recall = (xs: readonly (readonly [PerIncident, PerIncident])[]): number[] => {
    const n = xs.length || Number.NaN;
    return [xs.filter(([x]) => x.detected).length / n, xs.filter(([, y]) => y.detected).length / n];
  };
  const known = pairs.filter(([x, y]) => x.withModelTtd !== null && y.withModelTtd !== null);
  const ttk = (xs: readonly (readonly [PerIncident, PerIncident])[]): number[] => [mean(xs.map(([x]) => x.withModelTtd!)) ?? Number.NaN, mean(xs.map(([, y]) => y.withModelTtd!)) ?? Number.NaN];
  const days = base.falsePerDay.map((x, i) => [x, drill.falsePerDay[i] ?? 0] as const);
  const spanDays = (range.until - range.from) / DAY || 1;
  // Per-day means scaled so the point values are the run's false alerts per day (the last day may be partial).
  const scale = days.length / spanDays;
  const fa = (xs: readonly (readonly [number, number])[]): number[] => [scale * (mean(xs.map(([x]) => x)) ?? Number.NaN), scale * (mean(xs.map(([, y]) => y)) ?? Number.NaN)];
  const one = <T>(metric: string, higher: boolean, items: readonly T[], stat: (xs: readonly T[]) => number[], salt: number, minItems = MIN_EVIDENCE): MetricComparison => {
    const [c0, c1] = stat(items);
    const diff = (xs: readonly T[]): number[] => { const [x, y] = stat(xs); return [y! - x!]; };
    const ci = bootstrapColumns(items, diff, resamples, seed + salt)[0];
    const value = items.length ? finite(c1! - c0!) : null;
    const difference = items.length >= minItems ? { value, lo: ci?.lo ?? null, hi: ci?.hi ?? null } : { value, lo: null, hi: null };
    return { metric, champion: finite(c0 ?? Number.NaN), challenger: finite(c1 ?? Number.NaN), difference, verdict: verdictOf(difference, higher) };
  };
  return [
    one('incident_recall', true, pairs, recall, 0),
    one('time_to_know_min', false, known, ttk, 1),
    // As for the figure itself: no interval from fewer than MIN_EVIDENCE days (one day's bootstrap is [d, d]).
    one('false_alerts_per_day', false, days, fa, 2),
  ];
}
