import { describe, expect, it } from 'vitest';
import { GateSpec } from '../../shared/contract/gates.js';
import { evaluateGate, PRESETS, unknownMetrics } from '../../shared/gates/gate.js';
import type { MetricComparison } from '../../shared/metrics/compare.js';

const iv = (value: number, lo: number, hi: number) => ({ value, lo, hi });
const good = { metrics: { auc_roc: iv(0.8, 0.75, 0.85), capture_at_20: iv(0.5, 0.4, 0.6), ece: iv(0.03, 0.01, 0.05), brier: iv(0.1, 0.09, 0.11) }, operations: { latency_p50_ms: 0.1, latency_p99_ms: 1, error_rate: 0, fallback_rate: 0 } };
const aucDiff = (lo: number, hi: number): MetricComparison[] => [{ metric: 'auc_roc', champion: 0.7, challenger: 0.7 + (lo + hi) / 2, difference: iv((lo + hi) / 2, lo, hi), verdict: 'not enough evidence' }];

describe('gate criteria against the champion', () => {
  it('with no champion yet: "not worse than" holds (the absolute criteria decide), "improves" stays inconclusive', () => {
    const advisory = evaluateGate(GateSpec.parse(PRESETS.advisory), { ...good, comparison: null });
    expect(advisory.verdict).toBe('pass');
    expect(advisory.criteria.find((c) => c.criterion.includes('champion'))).toMatchObject({ verdict: 'pass', reason: expect.stringMatching(/^no champion yet/) });
    const gating = evaluateGate(GateSpec.parse(PRESETS.gating), { ...good, comparison: null });
    expect(gating.criteria.find((c) => c.criterion.includes('improves'))).toMatchObject({ verdict: 'inconclusive', reason: expect.stringMatching(/^no champion to improve auc_roc on/) });
  });

  it('decide by where the interval of the difference lies, against the margin', () => {
    const spec = GateSpec.parse({ name: 'm', criteria: [{ vs: 'champion', metric: 'auc_roc', op: 'not_worse_than', margin: 0.02 }] });
    expect(evaluateGate(spec, { ...good, comparison: aucDiff(-0.01, 0.03) }).verdict).toBe('pass');
    expect(evaluateGate(spec, { ...good, comparison: aucDiff(-0.05, 0.01) }).verdict).toBe('inconclusive');
    expect(evaluateGate(spec, { ...good, comparison: aucDiff(-0.08, -0.03) }).verdict).toBe('fail');
    const improves = GateSpec.parse({ name: 'i', criteria: [{ vs: 'champion', metric: 'auc_roc', op: 'improves' }] });
    expect(evaluateGate(improves, { ...good, comparison: aucDiff(0.01, 0.05) }).verdict).toBe('pass');
    expect(evaluateGate(improves, { ...good, comparison: aucDiff(-0.01, 0.05) }).verdict).toBe('inconclusive');
    expect(evaluateGate(improves, { ...good, comparison: aucDiff(-0.05, -0.01) }).verdict).toBe('fail');
  });

  it('read a margin on "improves" as the least gain the whole interval must clear', () => {
    const by = GateSpec.parse({ name: 'i', criteria: [{ vs: 'champion', metric: 'auc_roc', op: 'improves', margin: 0.05 }] });
    // The reviewer's case: a gain of 0.127 [0.042, 0.204] passed a gate meant as "by at least 0.05".
    expect(evaluateGate(by, { ...good, comparison: aucDiff(0.042, 0.204) }).criteria[0]).toMatchObject({ verdict: 'inconclusive', reason: expect.stringContaining('gains of 0.05 or less') });
    expect(evaluateGate(by, { ...good, comparison: aucDiff(0.06, 0.2) }).verdict).toBe('pass');
    expect(evaluateGate(by, { ...good, comparison: aucDiff(0.01, 0.04) }).criteria[0]).toMatchObject({ verdict: 'fail', reason: expect.stringContaining('does not improve on the champion by more than 0.05') });
    expect(evaluateGate(by, { ...good, comparison: aucDiff(0.06, 0.2) }).criteria[0]!.criterion).toBe('auc_roc improves on (by more than 0.05) the champion');
  });

  it('never read a champion that did not run, or was not chosen, as "no champion yet"', () => {
    const spec = GateSpec.parse(PRESETS.advisory);
    const missing = evaluateGate(spec, { ...good, comparison: null, championMissing: 'the champion, rules v1, did not run in run 2' });
    expect(missing.verdict).toBe('inconclusive');
    expect(missing.criteria.find((c) => c.criterion.includes('champion'))).toMatchObject({ verdict: 'inconclusive', reason: 'the champion, rules v1, did not run in run 2, so auc_roc was not compared with it' });
    // The champion judged against itself: it cannot fall behind, nor improve.
    const self = { ...good, comparison: null, isChampion: true };
    expect(evaluateGate(spec, self).verdict).toBe('pass');
    expect(evaluateGate(GateSpec.parse(PRESETS.gating), self).criteria.find((c) => c.criterion.includes('improves'))).toMatchObject({ verdict: 'fail', reason: expect.stringContaining('is the champion') });
  });

  it('say why a metric has no interval when it rests on too few', () => {
    const spec = GateSpec.parse({ name: 'r', criteria: [{ metric: 'recall', op: '>=', value: 0.5 }] });
    const r = evaluateGate(spec, { ...good, metrics: { recall: { value: 1, lo: null, hi: null } }, comparison: null, evidence: { recall: { count: 1, what: 'incident-causing changes' } } });
    expect(r.criteria[0]).toEqual({ criterion: 'recall >= 0.5', verdict: 'inconclusive', reason: 'recall is 1.00 but has no interval to be sure: it rests on 1 incident-causing change, and an interval needs at least 10', observed: { value: 1, lo: null, hi: null }, bound: 0.5, better: 'higher' });
  });
});

describe('gate criteria against the imported alerts (detectors)', () => {
  const detector = { metrics: { incident_recall: iv(0.8, 0.74, 0.86), false_alerts_per_day: iv(0.5, 0.3, 0.7), time_to_know_min: iv(9, 8, 10) }, operations: { error_rate: 0 }, baseline: 'imported_alerts' as const };
  const diff = (metric: string, lo: number, hi: number): MetricComparison[] => [{ metric, champion: 10, challenger: 10 + (lo + hi) / 2, difference: iv((lo + hi) / 2, lo, hi), verdict: 'not enough evidence' }];

  it('judge a lower-is-better metric by its direction: minutes saved are a gain', () => {
    const spec = GateSpec.parse({ name: 'd', criteria: [{ vs: 'imported_alerts', metric: 'time_to_know_min', op: 'improves' }] });
    const earlier = evaluateGate(spec, { ...detector, comparison: diff('time_to_know_min', -3, -1) });
    // The numbers behind the sentence, for a dashboard: the difference and its interval, and the margin.
    expect(earlier.criteria[0]).toEqual({ criterion: 'time_to_know_min improves on the imported alerts', verdict: 'pass', reason: 'time_to_know_min improves on the imported alerts: detector − imported alerts -2.00 [-3.00, -1.00]', observed: { value: -2, lo: -3, hi: -1 }, bound: 0, better: 'lower' });
    expect(evaluateGate(spec, { ...detector, comparison: diff('time_to_know_min', 1, 3) }).criteria[0]).toMatchObject({ verdict: 'fail', reason: expect.stringMatching(/^time_to_know_min is worse than the imported alerts/) });
    expect(evaluateGate(spec, { ...detector, comparison: diff('time_to_know_min', -1, 1) }).verdict).toBe('inconclusive');
  });

  it('with no imported alerts to compare with, decide nothing rather than beat silence', () => {
    const spec = GateSpec.parse({ name: 'd', criteria: [{ vs: 'imported_alerts', metric: 'incident_recall', op: 'not_worse_than', margin: 0 }] });
    const r = evaluateGate(spec, { ...detector, comparison: null, championMissing: 'no alerts were imported for the services and days of detection run 4' });
    expect(r.criteria[0]).toEqual({ criterion: 'incident_recall not worse than (margin 0) the imported alerts', verdict: 'inconclusive', reason: 'no alerts were imported for the services and days of detection run 4; incident_recall was not compared with the imported alerts', observed: null, bound: 0, better: 'higher' });
  });

  it('give the bound in the difference\'s own units, so a dashboard can check observed against it without the verdict', () => {
    const faster = GateSpec.parse({ name: 'd', criteria: [{ vs: 'imported_alerts', metric: 'time_to_know_min', op: 'improves', margin: 1 }, { vs: 'imported_alerts', metric: 'false_alerts_per_day', op: 'not_worse_than', margin: 0.5 }, { vs: 'imported_alerts', metric: 'incident_recall', op: 'not_worse_than', margin: 0.05 }] });
    const r = evaluateGate(faster, { ...detector, comparison: [...diff('time_to_know_min', -12.76, -9.12), ...diff('false_alerts_per_day', 0.2, 0.41), ...diff('incident_recall', -0.03, 0.02)] });
    expect(r.criteria.map((c) => [c.verdict, c.bound, c.better])).toEqual([['pass', -1, 'lower'], ['pass', 0.5, 'lower'], ['pass', -0.05, 'higher']]);
    // What a dashboard would check, from the numbers alone, agrees with each verdict.
    for (const c of r.criteria) expect(c.better === 'lower' ? c.observed!.hi! <= c.bound! : c.observed!.lo! >= c.bound!).toBe(true);
  });

  it('refuse a criterion written for the other task, saying what to write instead', () => {
    const champion = GateSpec.parse({ name: 'd', criteria: [{ vs: 'champion', metric: 'incident_recall', op: 'improves' }] });
    expect(unknownMetrics(champion, { ...detector, comparison: null })).toEqual(['criteria.0: "vs": "champion": detectors have no champion; a detector is compared with the alerts the team has today ("vs": "imported_alerts")']);
    const alerts = GateSpec.parse({ name: 'c', criteria: [{ vs: 'imported_alerts', metric: 'auc_roc', op: 'improves' }] });
    expect(unknownMetrics(alerts, { ...good, comparison: null })).toEqual(['criteria.0: "vs": "imported_alerts" compares a detector with the imported alerts; a change-risk model is compared with the champion ("vs": "champion")']);
    const typo = GateSpec.parse({ name: 't', criteria: [{ vs: 'imported_alerts', metric: 'alert_precision', op: 'improves' }] });
    expect(unknownMetrics(typo, { ...detector, comparison: null })).toEqual(['criteria.0: "alert_precision" is not a metric that can be compared with the imported alerts (known: incident_recall, false_alerts_per_day, time_to_know_min)']);
  });
});
