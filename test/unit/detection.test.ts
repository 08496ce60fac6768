import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { DetectorSpec } from '../../shared/contract/detection.js';
import { alertsFromScores, mergeAlerts } from '../../shared/detection/alerts.js';
import { attributionIntervals, attributionMetrics, byRisk, largestChange, rankOf, recentOnService, scoredAll, type Candidate } from '../../shared/detection/attribution.js';
import { runDetector } from '../../shared/detection/detectors.js';
import { compareDetectionRuns, detectionMetrics, matchAlerts, type EvalIncident } from '../../shared/detection/evaluate.js';

const MIN = 60_000;
const WEEK = 7 * 24 * 60 * MIN;

const SPECS: DetectorSpec[] = [
  { kind: 'static', metric: 'm', value: 5, direction: 'above', steps: 2 },
  { kind: 'zscore', metrics: ['m'], window: 20, direction: 'both' },
  { kind: 'ewma', metrics: ['m'], alpha: 0.1, direction: 'up' },
  { kind: 'week-over-week', metrics: ['m'], window: 10, direction: 'up' },
];

describe('detectors never see the future', () => {
  it('gives the same scores up to t whatever the points after t are', () => {
    fc.assert(fc.property(
      fc.array(fc.double({ min: -50, max: 50, noNaN: true }), { minLength: 30, maxLength: 120 }),
      fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 60 }),
      fc.nat(),
      (values, future, cut) => {
        const t = 10 + (cut % (values.length - 10));
        // Steps of one hour, so a week back lands on real steps for the week-over-week detector.
        const times = Float64Array.from(values, (_, i) => i * (WEEK / 24));
        const a = Float64Array.from(values);
        const b = Float64Array.from(values, (v, i) => (i > t ? future[i % future.length]! : v));
        for (const spec of SPECS) {
          const sa = runDetector(spec, { times, values: [a] }).score;
          const sb = runDetector(spec, { times, values: [b] }).score;
          expect(Array.from(sb.subarray(0, t + 1)), spec.kind).toEqual(Array.from(sa.subarray(0, t + 1)));
        }
      },
    ), { numRuns: 150 });
  });

  it('scores a spike against the points before it only', () => {
    const values = Float64Array.from({ length: 40 }, (_, i) => (i === 30 ? 30 : 10 + (i % 2)));
    const times = Float64Array.from(values, (_, i) => i * MIN);
    const out = runDetector({ kind: 'zscore', metrics: ['m'], window: 20, direction: 'up' }, { times, values: [values] });
    // Baseline: the 20 points before step 30 alternate 10, 11: mean 10.5, sd 0.5; z = (30 − 10.5)/0.5.
    expect(out.score[30]).toBeCloseTo(39, 4);
    expect(out.expected[30]).toBeCloseTo(10.5, 5);
    expect(out.score[29]).toBeLessThan(2);
  });

  it('fires the static rule only after n consecutive steps beyond the line', () => {
    const values = Float64Array.of(1, 6, 1, 6, 6, 6, 1);
    const out = runDetector(SPECS[0]!, { times: Float64Array.from(values, (_, i) => i), values: [values] });
    expect(Array.from(out.score)).toEqual([0, 0, 0, 0, 1, 1, 0]);
  });

  it('compares with the same time last week', () => {
    const hour = WEEK / 168;
    const n = 168 * 2 + 10;
    const values = Float64Array.from({ length: n }, (_, i) => 100 + 20 * Math.sin((2 * Math.PI * i) / 24) + (i === n - 1 ? 40 : 0) + (i % 3) * 0.5);
    const out = runDetector({ kind: 'week-over-week', metrics: ['m'], window: 24, direction: 'up' }, { times: Float64Array.from(values, (_, i) => i * hour), values: [values] });
    // The daily cycle is in last week's value too, so only the +40 stands out.
    expect(out.score[n - 1]).toBeGreaterThan(20);
    expect(Math.max(...Array.from(out.score.subarray(168 + 30, n - 1)))).toBeLessThan(4);
  });
});

describe('alerts from scores', () => {
  it('merges runs within the cooldown and reports each alert’s peak', () => {
    const times = Array.from({ length: 12 }, (_, i) => i * 5 * MIN);
    const scores = [0, 5, 7, 0, 0, 6, 0, 0, 0, 0, 0, 9];
    const alerts = alertsFromScores(times, scores, 5, 15 * MIN);
    expect(alerts).toEqual([{ startIndex: 1, endIndex: 5, peakIndex: 2 }, { startIndex: 11, endIndex: 11, peakIndex: 11 }]);
    expect(alertsFromScores(times, scores, 5, 0)).toHaveLength(3);
    expect(alertsFromScores(times, scores, 5, 0, 3)).toHaveLength(2);
  });
});

describe('detection metrics', () => {
  const incidents: EvalIncident[] = [
    { id: 'a', service: 's', severity: 1, started: 100 * MIN, detected: 130 * MIN, resolved: 200 * MIN },
    { id: 'b', service: 's', severity: 2, started: 1000 * MIN, detected: 1010 * MIN, resolved: 1100 * MIN },
    { id: 'c', service: 't', severity: 2, started: 2000 * MIN, detected: 2020 * MIN, resolved: 2100 * MIN },
  ];
  const alerts = [
    { service: 's', start: 90 * MIN }, // 10 min early: inside a 15-minute tolerance
    { service: 's', start: 1015 * MIN }, // after humans: lead −5
    { service: 't', start: 1900 * MIN }, // too early: a false alert
    { service: 'u', start: 2010 * MIN }, // wrong service: a false alert
  ];

  it('matches alerts to incidents by service and window, and computes recall, precision, lead and MTTD', () => {
    const m = matchAlerts(incidents, alerts, 15 * MIN);
    expect(m.at).toEqual([90 * MIN, 1015 * MIN, null]);
    expect(Array.from(m.incidentOf)).toEqual([0, 1, -1, -1]);
    const d = detectionMetrics(incidents, alerts, m, { from: 0, until: 2 * 24 * 60 * MIN }, { resamples: 200 });
    expect(d.incident_recall.value).toBeCloseTo(2 / 3, 12);
    expect(d.alert_precision.value).toBe(0.5);
    expect(d.false_alerts_per_day.value).toBe(1);
    expect(d.lead_vs_human_min.median.value).toBe(17.5); // leads 40 and −5
    expect(d.lead_vs_human_min).toMatchObject({ earlier: 1, same: 0, later: 1, missed: 1 });
    expect(d.mttd_min.model.value).toBeCloseTo((0 + 15) / 2, 12); // an early alert counts as 0
    expect(d.mttd_min.humans.value).toBeCloseTo((30 + 10 + 20) / 3, 12);
    expect(d.mttd_min.humans_with_model.value).toBeCloseTo((0 + 10 + 20) / 3, 12);
    // Three incidents and four alerts are too few for an interval (MIN_EVIDENCE): none is given; nor for two days.
    expect(d.incident_recall).toMatchObject({ lo: null, hi: null });
    expect(d.false_alerts_per_day).toEqual({ value: 1, lo: null, hi: null });
    expect(d.alert_precision).toMatchObject({ lo: null, hi: null });
    expect(d.mttd_min.humans).toMatchObject({ lo: null, hi: null });
  });

  it('gives intervals from ten incidents on, and the exact one where every incident was caught', () => {
    const many = Array.from({ length: 12 }, (_, k) => ({ id: `i${k}`, service: 's', severity: 2, started: (k * 1000 + 100) * MIN, detected: (k * 1000 + 130) * MIN, resolved: (k * 1000 + 200) * MIN }));
    const caught = many.map((inc) => ({ service: 's', start: inc.started + 5 * MIN }));
    const d = detectionMetrics(many, caught, matchAlerts(many, caught, 15 * MIN), { from: 0, until: 12_000 * MIN }, { resamples: 200 });
    // Every resample has recall 1, so the bootstrap alone would say [1, 1]; 12 of 12 is [0.025^(1/12), 1] exactly.
    expect(d.incident_recall.value).toBe(1);
    expect(d.incident_recall.lo).toBeCloseTo(0.025 ** (1 / 12), 12);
    expect(d.incident_recall.hi).toBe(1);
    expect(d.mttd_min.model).toEqual({ value: 5, lo: 5, hi: 5 });
  });

  it('puts the false-alerts interval around its point value when the last day is partial', () => {
    // 10.5 days, one false alert a day on the first ten: 10 / 10.5 a day, over 11 day buckets.
    const range = { from: 0, until: 10.5 * 24 * 60 * MIN };
    const noise = Array.from({ length: 10 }, (_, k) => ({ service: 'z', start: (k * 24 * 60 + 600) * MIN }));
    const d = detectionMetrics([], noise, matchAlerts([], noise, 15 * MIN), range, { resamples: 500 });
    expect(d.false_alerts_per_day.value).toBeCloseTo(10 / 10.5, 12);
    expect(d.false_alerts_per_day.lo!).toBeLessThanOrEqual(d.false_alerts_per_day.value!);
    expect(d.false_alerts_per_day.hi!).toBeGreaterThanOrEqual(d.false_alerts_per_day.value!);
    // Unscaled, no resample's bucket mean can pass 1 (one alert a day at most): scaled, the top is 11 / 10.5.
    expect(d.false_alerts_per_day.hi!).toBeCloseTo(11 / 10.5, 12);
  });

  it('finds no difference when a detector is compared with itself', () => {
    const range = { from: 0, until: 10 * 24 * 60 * MIN };
    const side = (inc: EvalIncident[], at: (number | null)[]) => ({ at, falsePerDay: new Array<number>(10).fill(0) });
    const ttk = (inc: EvalIncident[], at: (number | null)[]) => compareDetectionRuns(inc, side(inc, at), side(inc, at), range, { resamples: 200 }).find((d) => d.metric === 'time_to_know_min')!.difference;
    const at = matchAlerts(incidents, alerts, 15 * MIN).at;
    // Few incidents: a difference, but too few for its interval.
    expect(ttk(incidents, at)).toEqual({ value: 0, lo: null, hi: null });
    const many = Array.from({ length: 10 }, (_, k) => ({ ...incidents[k % 3]!, id: `i${k}` }));
    const manyAt = Array.from({ length: 10 }, (_, k) => at[k % 3]!);
    expect(ttk(many, manyAt)).toEqual({ value: 0, lo: 0, hi: 0 });
  });
});

describe('attribution', () => {
  const c = (id: string, service: string, ts: number, size: number | null, risk = 0): Candidate => ({ id, service, ts, size, files: null, risk: { m: risk } });
  const candidates = [c('x', 'other', 50, 900, 0.2), c('y', 'api', 40, 10, 0.9), c('z', 'api', 45, 300, 0.1)];

  it('ranks by recency on the service, by size, and by risk', () => {
    expect(recentOnService('api', candidates).map((x) => x.id)).toEqual(['z', 'y', 'x']);
    expect(largestChange('api', candidates).map((x) => x.id)).toEqual(['x', 'z', 'y']);
    expect(byRisk('m')('api', candidates).map((x) => x.id)).toEqual(['y', 'x', 'z']);
    expect(rankOf(recentOnService('api', candidates), 'y')).toBe(2);
    expect(rankOf(candidates, 'nope')).toBeNull();
  });

  it('computes top1, top3, MRR and coverage', () => {
    expect(attributionMetrics([1, 2, 4, null])).toEqual({ top1: 0.25, top3: 0.5, mrr: (1 + 0.5 + 0.25) / 4, coverage: 0.75 });
    expect(attributionMetrics([])).toEqual({ top1: null, top3: null, mrr: null, coverage: null });
  });

  it('puts bootstrap intervals over incidents around each metric: none wide when all agree, about ±2σ of a proportion otherwise', () => {
    // All 50 first: the bootstrap collapses to [1, 1]; the exact interval of 50 of 50 is [0.025^(1/50), 1].
    const perfect = attributionIntervals(Array(50).fill(1));
    expect(perfect.top1.value).toBe(1);
    expect(perfect.top1.lo).toBeCloseTo(0.025 ** (1 / 50), 12);
    expect(perfect.top1.hi).toBe(1);
    expect(perfect.mrr).toEqual({ value: 1, lo: 1, hi: 1 });
    // Nine incidents are too few for any interval.
    expect(attributionIntervals(Array(9).fill(1)).top1).toEqual({ value: 1, lo: null, hi: null });
    // 100 incidents, half with the cause first: a proportion's 95 % interval is about 0.5 ± 1.96·0.05.
    const half = attributionIntervals(Array.from({ length: 100 }, (_, i) => (i % 2 === 0 ? 1 : 5)));
    expect(half.top1.value).toBe(0.5);
    expect(half.top1.lo!).toBeGreaterThan(0.38);
    expect(half.top1.lo!).toBeLessThan(0.42);
    expect(half.top1.hi!).toBeGreaterThan(0.58);
    expect(half.top1.hi!).toBeLessThan(0.62);
    expect(half.coverage).toEqual({ value: 1, lo: 0.025 ** (1 / 100), hi: 1 });
    expect(attributionIntervals(Array.from({ length: 100 }, (_, i) => (i % 2 === 0 ? 1 : 5)))).toEqual(half);
    expect(attributionIntervals([]).top1).toEqual({ value: null, lo: null, hi: null });
  });

  it('knows whether a risk model scored every candidate of an incident', () => {
    const c = (id: string, risk: Record<string, number>): Candidate => ({ id, service: 'api', ts: 0, size: null, files: null, risk });
    expect(scoredAll('m', [c('a', { m: 0.1 }), c('b', { m: 0.9 })])).toBe(true);
    expect(scoredAll('m', [c('a', { m: 0.1 }), c('b', { other: 0.9 })])).toBe(false);
  });
});

describe('merging imported alerts', () => {
  it('makes alerts within the cooldown of the previous one\'s end on a service one page, as the detectors\' alerts are', () => {
    const a = (service: string, start: number, end: number | null) => ({ service, start: start * MIN, end: end === null ? null : end * MIN });
    const merged = mergeAlerts([
      a('api', 0, 10), a('api', 5, 8), // error rate and latency together: one page
      a('api', 35, null), // 25 min after the first ended: still the same page
      a('api', 80, 90), // 45 min after: a new page
      a('db', 6, null), // another service: its own page
    ], 30 * MIN);
    expect(merged.map((x) => [x.service, x.start / MIN, x.end === null ? null : x.end / MIN])).toEqual([['api', 0, 35], ['db', 6, null], ['api', 80, 90]]);
    // Order of input does not matter, and nothing merges without a cooldown unless alerts overlap.
    expect(mergeAlerts([a('api', 80, 90), a('api', 0, 10), a('api', 5, 8)], 0).map((x) => x.start / MIN)).toEqual([0, 80]);
  });
});
