import fs from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { computeMetrics, sortPredictions, type Prediction } from '../../shared/metrics/classification.js';
import { flatten } from '../../shared/metrics/bootstrap.js';
import { drawWeights, resampleMetrics, resampleScratch, RESAMPLE_KEYS, sfc32State } from '../../shared/metrics/resample.js';
import { RESAMPLE_KERNEL_WASM } from '../../shared/metrics/resample-kernel.wasm.js';
// @ts-expect-error: a plain ES module shared with the build script, without type declarations
import { compileKernel, kernelModuleSource } from '../../scripts/wasm-kernel.js';

const COSTS = { missedIncident: 20, delayedChange: 1 };

describe('the WebAssembly resample kernel', () => {
  it('is the committed build of resample-kernel.wat', async () => {
    const wat = fs.readFileSync(new URL('../../shared/metrics/resample-kernel.wat', import.meta.url), 'utf8');
    const bytes: Uint8Array = await compileKernel(wat);
    expect(Buffer.from(bytes).toString('base64')).toBe(RESAMPLE_KERNEL_WASM);
    expect(fs.readFileSync(new URL('../../shared/metrics/resample-kernel.wasm.ts', import.meta.url), 'utf8')).toBe(kernelModuleSource(bytes));
  });

  it('draws the same weights as the JavaScript generator, byte for byte, and sums them', () => {
    for (const n of [1, 2, 7, 10_000, 10_001]) {
      const sorted = sortPredictions(Array.from({ length: n }, (_, i) => ({ score: (i * 7919) % 1000 / 1000, label: (i % 3 === 0 ? 1 : 0) as 0 | 1 })));
      const scratch = resampleScratch(sorted);
      for (const seed of [1, 99, -5]) {
        const jsState = sfc32State(seed);
        const expected = new Uint8Array(n);
        const expectedTotal = drawWeights(jsState, expected);
        expect(expectedTotal).toBe(expected.reduce((a, b) => a + b, 0));
        const wasmState = sfc32State(seed);
        // resampleMetrics draws with the kernel; the sum of weights is the pass's total.
        resampleMetrics(sorted, 0.5, COSTS, wasmState, scratch);
        expect(Buffer.from(scratch.weights).equals(Buffer.from(expected)), `n=${n} seed=${seed}`).toBe(true);
        expect(scratch.sums[0]).toBe(expectedTotal);
        expect(Array.from(wasmState)).toEqual(Array.from(jsState)); // the state advances the same way
      }
    }
  });

  it('gives, for any weights, the metrics of the data with each subject repeated that many times', () => {
    const score = fc.oneof(fc.double({ min: 0, max: 1, noNaN: true }), fc.constantFrom(0, 0.1, 0.25, 0.5, 0.9, 1));
    fc.assert(fc.property(
      fc.array(fc.record({ score, label: fc.constantFrom(0 as const, 1 as const), weight: fc.integer({ min: 0, max: 4 }) }), { minLength: 1, maxLength: 120 }),
      fc.double({ min: 0, max: 1, noNaN: true }),
      (rows, threshold) => {
        const sorted = sortPredictions(rows.map(({ score, label }) => ({ score, label })));
        const weights = Uint8Array.from(sorted.order, (i) => rows[i]!.weight);
        const fast = resampleMetrics(sorted, threshold, COSTS, sfc32State(1), resampleScratch(sorted), weights);
        const repeated: Prediction[] = rows.flatMap(({ score, label, weight }) => Array.from({ length: weight }, () => ({ score, label })));
        const slow = flatten(computeMetrics(sortPredictions(repeated), threshold, COSTS));
        RESAMPLE_KEYS.forEach((k, i) => {
          const want = repeated.length === 0 ? null : slow[k];
          if (want === null || want === undefined) expect(Number.isNaN(fast[i]!), k).toBe(true);
          else expect(fast[i]!, k).toBeCloseTo(want, 9);
        });
      },
    ), { numRuns: 400 });
  });

  it('keeps each scratch in its own memory, so two prediction sets can be resampled in turn', () => {
    const a = sortPredictions([{ score: 0.9, label: 1 }, { score: 0.1, label: 0 }]);
    const b = sortPredictions([{ score: 0.9, label: 0 }, { score: 0.1, label: 1 }]);
    const sa = resampleScratch(a);
    const sb = resampleScratch(b);
    const ones = Uint8Array.of(1, 1);
    expect(resampleMetrics(a, 0.5, COSTS, sfc32State(1), sa, ones)[0]).toBe(1);
    expect(resampleMetrics(b, 0.5, COSTS, sfc32State(1), sb, ones)[0]).toBe(0);
    expect(resampleMetrics(a, 0.5, COSTS, sfc32State(1), sa, ones)[0]).toBe(1);
  });
});
