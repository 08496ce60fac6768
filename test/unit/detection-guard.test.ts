import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyNanPolicy, FAILED, guardSteps, perturbFrame, staticSpans, STEP_FAULT } from '../../electron/engine/detection/guard.js';
import { alertsFromScores } from '../../shared/detection/alerts.js';
import { faultPlan, reflectUnbounded } from '../../shared/drills/perturb.js';

const grid = (n: number): Float64Array => Float64Array.from({ length: n }, (_, i) => i * 60_000);

describe('the detection guard', () => {
  it('a flipped unbounded score lands on the other side of the threshold and stays ≥ 0', () => {
    fc.assert(fc.property(fc.double({ min: 0, max: 1e6, noNaN: true }), fc.double({ min: 1e-3, max: 100, noNaN: true }), (s, t) => {
      const r = reflectUnbounded(s, t);
      expect(r).toBeGreaterThanOrEqual(0);
      expect(r >= t).toBe(!(s >= t));
    }));
    expect(Number.isNaN(reflectUnbounded(Number.NaN, 3))).toBe(true);
  });

  it('garbage for an unbounded range is below its floor; for a bounded one, above and below', () => {
    const p = [{ kind: 'garbage' as const, value: 'out-of-range' as const, share: 1 }];
    expect(Array.from(faultPlan(50, p, 3, [0, Number.POSITIVE_INFINITY]).garbageValue).every((v) => v < 0)).toBe(true);
    const bounded = Array.from(faultPlan(50, p, 3, [0, 1]).garbageValue);
    expect(bounded.filter((v) => v > 1).length + bounded.filter((v) => v < 0).length).toBe(50);
    expect(bounded.some((v) => v > 1) && bounded.some((v) => v < 0)).toBe(true);
  });

  it('marks exactly the injected failures, answers them from the fallback on the right scale, and checks every score', () => {
    const n = 1000;
    const start = 200;
    const score = Float32Array.from({ length: n }, (_, i) => (i % 7 === 0 ? 9 : 1));
    const fallback = Float32Array.from({ length: n }, (_, i) => (i % 2));
    const out = guardSteps({
      score, thrown: null, start, threshold: 6, guard: { nanPolicy: 'pass' }, perturbations: [{ kind: 'failure', share: 0.25 }], seed: 11,
      imputed: null, refused: null, perStepMs: 0, fallback: { score: fallback, threshold: 1 },
    });
    expect(out.faults.length).toBe(n - start);
    const failed = Array.from(out.faults).filter((f) => f & STEP_FAULT.error);
    expect(failed.length).toBe(Math.round(0.25 * (n - start)));
    for (let k = 0; k < out.faults.length; k++) {
      const i = start + k;
      if (out.faults[k]! & STEP_FAULT.error) {
        expect(out.faults[k]! & STEP_FAULT.fallback).toBeTruthy();
        // The rule's decision, on the detector's scale: 1 → 6 (alerts), 0 → 0.
        expect(out.score[i]).toBe(fallback[i]! * 6);
      } else expect(out.score[i]).toBe(score[i]);
    }
    // Steps before the range are the detector's own, untouched.
    expect(Array.from(out.score.subarray(0, start))).toEqual(Array.from(score.subarray(0, start)));
  });

  it('timeouts by the per-step budget; refused inputs; a thrown batch; nobody to answer → NaN and "no-answer"', () => {
    const n = 100;
    const score = new Float32Array(n).fill(2);
    const thrown = new Uint8Array(n);
    thrown.fill(1, 10, 20);
    const refused = new Uint8Array(n);
    refused[50] = 1;
    const out = guardSteps({
      score, thrown, start: 0, threshold: 3, guard: { nanPolicy: 'refuse', timeoutMs: 100 }, perturbations: [{ kind: 'latency', ms: 150, distribution: 'fixed', alpha: 1.5, share: 0.2 }], seed: 5,
      imputed: null, refused, perStepMs: 1, fallback: null,
    });
    const count = (bit: number): number => Array.from(out.faults).filter((f) => f & bit).length;
    expect(count(STEP_FAULT['invalid-input'])).toBe(1);
    expect(count(STEP_FAULT.error)).toBe(10);
    const plan = faultPlan(n, [{ kind: 'latency', ms: 150, distribution: 'fixed', alpha: 1.5, share: 0.2 }], 5);
    const slow = Array.from(plan.latency).flatMap((l, i) => (l > 0 && !thrown[i] && !refused[i] ? [i] : []));
    expect(count(STEP_FAULT.timeout)).toBe(slow.length);
    expect(count(STEP_FAULT['no-answer'])).toBe(count(FAILED));
    out.faults.forEach((f, i) => expect(Number.isNaN(out.score[i]!)).toBe((f & FAILED) !== 0));
  });

  it('imputes a gap with the last value before it (history before the range included) and marks it; refuses instead under "refuse"', () => {
    const frame = { times: grid(6), values: [Float64Array.from([1, 2, Number.NaN, Number.NaN, 5, Number.NaN])] };
    const imputed = applyNanPolicy(frame, 3, 'impute');
    expect(Array.from(imputed.frame.values[0]!)).toEqual([1, 2, Number.NaN, 2, 5, 5]);
    expect(Array.from(imputed.touched[0]!)).toEqual([1, 0, 1]);
    const refused = applyNanPolicy(frame, 3, 'refuse');
    expect(refused.frame.values[0]).toBe(frame.values[0]);
    expect(Array.from(refused.touched[0]!)).toEqual([1, 0, 1]);
    expect(applyNanPolicy(frame, 3, 'pass').frame).toBe(frame);
  });

  it('input perturbations touch only steps in the range and only the metrics they name', () => {
    const values = [Float64Array.from({ length: 100 }, (_, i) => i % 5), Float64Array.from({ length: 100 }, () => 1)];
    const frame = { times: grid(100), values };
    const out = perturbFrame(frame, 40, ['a', 'b'], [{ kind: 'missing', features: ['a'], share: 0.5 }], 9);
    expect(Array.from(out.values[0]!.subarray(0, 40))).toEqual(Array.from(values[0]!.subarray(0, 40)));
    expect(Array.from(out.values[0]!.subarray(40)).filter(Number.isNaN).length).toBe(30);
    expect(out.values[1]).toBe(values[1]);
  });

  it('spans the imported alerts answer for are the runs of fallback steps, up to the next step (or the end of the range)', () => {
    const times = grid(8);
    const faults = Uint8Array.from([0, STEP_FAULT.fallback, STEP_FAULT.fallback, 0, 0, STEP_FAULT.fallback]);
    expect(staticSpans(times, 2, faults, 999_999_999)).toEqual([[180_000, 300_000], [420_000, 999_999_999]]);
  });

  it('a NaN score never raises an alert', () => {
    const scores = Float32Array.from([0, Number.NaN, 5, Number.NaN, Number.NaN, 0]);
    expect(alertsFromScores(grid(6), scores, 1, 0)).toEqual([{ startIndex: 2, endIndex: 2, peakIndex: 2 }]);
  });
});
