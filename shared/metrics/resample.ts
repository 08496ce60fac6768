import { CAPTURE_LEVELS, type Costs, type Sorted } from './classification.js';
import { RESAMPLE_KERNEL_WASM } from './resample-kernel.wasm.js';

/**
 * One bootstrap resample of the change-risk metrics: draw a Poisson(1) weight per subject, then one
 * pass over the subjects in descending score order. This is the hot loop of every scorecard (1000
 * resamples × every change), so the draw and the pass run in WebAssembly (resample-kernel.wat):
 * per subject they read a weight byte, a code byte (label, last of its tie group) and two f64
 * terms (log-loss term, score), and they record cumulative sums only where they are read — after
 * the threshold's and the calibration bins' groups, and where each capture quota falls.
 * AUC is accumulated as N·P − Σ pos·(negatives ranked above + ½ tied), which needs no totals up front.
 * `computeMetrics` is the readable definition; tests hold the two to the same numbers, with unit
 * and with random weights.
 * Only the engine (Node, worker threads) resamples: the renderer's CSP has no 'wasm-unsafe-eval', so
 * the kernel would not compile there (it is compiled on first use, so importing this module is safe).
 */

// Poisson(1) weights come from a 65536-entry table indexed by 16 random bits, so one 32-bit draw
// yields two weights with no branches. Each cumulative probability is rounded to 1/65536 (an error
// far below the bootstrap's own Monte Carlo noise); a test checks the draws' mean and variance.
const POISSON_CDF = [0.36787944117144233, 0.7357588823428847, 0.9196986029286058, 0.9810118431238462, 0.9963401531726563, 0.9994058151824183, 0.9999167588507119, 0.9999897508033253];
const POISSON_TABLE = (() => {
  const table = new Uint8Array(65536);
  let k = 0;
  for (let u = 0; u < 65536; u++) {
    while (k < POISSON_CDF.length && (u + 0.5) / 65536 >= POISSON_CDF[k]!) k++;
    table[u] = k;
  }
  return table;
})();

export const RESAMPLE_KEYS = ['auc_roc', 'average_precision', 'brier', 'log_loss', 'ece', 'precision', 'recall', 'fpr', 'f1', 'flagged_share', 'expected_cost', ...CAPTURE_LEVELS.map((k) => `capture_at_${k}`)] as const;

// shared/ compiles without DOM or Node types: the few WebAssembly calls made here are typed here.
interface KernelExports {
  memory: { buffer: ArrayBuffer; grow(pages: number): number };
  draw(n: number, weights: number): number;
  accumulate(n: number, weights: number, codes: number, terms: number): void;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: KernelExports };
}
const host = globalThis as unknown as { WebAssembly: WasmApi; atob(data: string): string };

let kernelModule: object | null = null;
function compiledKernel(): object {
  kernelModule ??= new host.WebAssembly.Module(Uint8Array.from(host.atob(RESAMPLE_KERNEL_WASM), (c) => c.charCodeAt(0)));
  return kernelModule;
}

// The memory map of resample-kernel.wat.
const AT = { sums: 65536, state: 65600, stops: 65616, atStop: 65664, atQuota: 65952, quotas: 66080, subjects: 66560 } as const;
const PAGE = 65536;
const NO_STOP = 0x7fffffff;

/** One kernel instance with its own memory, holding one sorted prediction set. */
export interface ResampleScratch {
  n: number;
  kernel: KernelExports;
  /** this resample's weight per subject, in sorted order (Poisson(1) draws, or given); kernel memory */
  weights: Uint8Array;
  offsets: { weights: number; codes: number; terms: number };
  /** per calibration bin (0-9): one past its last tie group; scores run high to low, so bins are contiguous */
  binEnd: Int32Array;
  /** views of the kernel's memory (see the .wat's map) */
  sums: Float64Array;
  state: Int32Array;
  stops: Int32Array;
  atStop: Float64Array;
  atQuota: Float64Array;
  quotas: Float64Array;
  out: Float64Array; // one value per RESAMPLE_KEYS entry; NaN = undefined in this resample
}

export function resampleScratch(sorted: Sorted): ResampleScratch {
  const n = sorted.n;
  const groups = sorted.groups.length - 1;
  const binEnd = new Int32Array(10);
  // Groups in descending score order fall into bins 9, 8, …, 0 in turn.
  for (let g = 0; g < groups; g++) {
    const b = sorted.bin[sorted.groups[g]!]!;
    binEnd[b] = g + 1;
  }
  for (let b = 8; b >= 0; b--) if (binEnd[b] === 0) binEnd[b] = binEnd[b + 1]!;
  const offsets = { weights: AT.subjects, codes: AT.subjects + n, terms: AT.subjects + 8 * Math.ceil((2 * n) / 8) };
  const kernel = new host.WebAssembly.Instance(compiledKernel(), {}).exports;
  const needPages = Math.ceil((offsets.terms + 16 * n) / PAGE);
  const havePages = kernel.memory.buffer.byteLength / PAGE;
  if (needPages > havePages) kernel.memory.grow(needPages - havePages);
  const buffer = kernel.memory.buffer; // final: the memory never grows again, so views stay valid
  new Uint8Array(buffer, 0, PAGE).set(POISSON_TABLE);
  const codes = new Uint8Array(buffer, offsets.codes, n);
  const terms = new Float64Array(buffer, offsets.terms, 2 * n);
  for (let i = 0; i < n; i++) {
    codes[i] = sorted.labels[i]! === 1 ? 1 : 0;
    terms[2 * i] = sorted.logTerm[i]!;
    terms[2 * i + 1] = sorted.scores[i]!;
  }
  for (let g = 1; g <= groups; g++) codes[sorted.groups[g]! - 1]! |= 2;
  return {
    n, kernel, offsets, binEnd,
    weights: new Uint8Array(buffer, offsets.weights, n),
    sums: new Float64Array(buffer, AT.sums, 6),
    state: new Int32Array(buffer, AT.state, 4),
    stops: new Int32Array(buffer, AT.stops, 12),
    atStop: new Float64Array(buffer, AT.atStop, 36),
    atQuota: new Float64Array(buffer, AT.atQuota, 4 * CAPTURE_LEVELS.length),
    quotas: new Float64Array(buffer, AT.quotas, CAPTURE_LEVELS.length),
    out: new Float64Array(RESAMPLE_KEYS.length),
  };
}

/** A small, fast, seedable generator (sfc32); state is four 32-bit words, advanced in place. */
export function sfc32State(seed: number): Int32Array {
  const s = Int32Array.of(0x9e3779b9, 0x243f6a88, 0xb7e15162, seed | 0);
  for (let i = 0; i < 12; i++) sfc32(s);
  return s;
}

export function sfc32(s: Int32Array): number {
  const t = (((s[0]! + s[1]!) | 0) + s[3]!) | 0;
  s[3] = (s[3]! + 1) | 0;
  s[0] = s[1]! ^ (s[1]! >>> 9);
  s[1] = (s[2]! + (s[2]! << 3)) | 0;
  s[2] = ((s[2]! << 21) | (s[2]! >>> 11)) + t;
  return t >>> 0;
}

/**
 * Fills `into` with independent Poisson(1) draws, two per generator step (state advanced in place),
 * and returns their sum. The kernel's `draw` is the same generator (a test holds them byte-equal);
 * this one serves the paired bootstrap, which draws in subject order and lays weights out per model.
 */
export function drawWeights(state: Int32Array, into: Uint8Array): number {
  let a = state[0]!, b = state[1]!, c = state[2]!, d = state[3]!;
  const n = into.length;
  const table = POISSON_TABLE;
  let total = 0;
  for (let i = 0; i < n; i += 2) {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (((c << 21) | (c >>> 11)) + t) | 0;
    const w0 = table[t & 0xffff]!;
    into[i] = w0;
    total += w0;
    if (i + 1 < n) {
      const w1 = table[t >>> 16]!;
      into[i + 1] = w1;
      total += w1;
    }
  }
  state[0] = a; state[1] = b; state[2] = c; state[3] = d;
  return total;
}

/** Number of tie groups scoring at or above the threshold: they are a prefix of the sorted groups. */
function flaggedGroups(sorted: Sorted, threshold: number): number {
  let lo = 0;
  let hi = sorted.groups.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted.scores[sorted.groups[mid]!]! >= threshold) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Sets `scratch.stops` to the distinct positive group counts in `counts`, ascending, then the sentinel. */
function setStops(scratch: ResampleScratch, counts: number[]): void {
  const distinct = [...new Set(counts.filter((c) => c > 0))].sort((x, y) => x - y);
  scratch.stops.fill(NO_STOP);
  scratch.stops.set(distinct);
}

/** Cumulative [count, positives, score sum] after `groups` groups, from the stops recorded by the pass. */
function cumulativeAt(scratch: ResampleScratch, groups: number, into: Float64Array): Float64Array {
  into.fill(0);
  if (groups === 0) return into;
  const at = scratch.stops.indexOf(groups);
  into.set(scratch.atStop.subarray(3 * at, 3 * at + 3));
  return into;
}

/**
 * @param weights  if given, fixed per-subject counts in sorted order (no random draws): used by
 *                 the paired bootstrap and by the consistency test; otherwise Poisson(1) draws.
 */
export function resampleMetrics(sorted: Sorted, threshold: number, costs: Costs, state: Int32Array, scratch: ResampleScratch, weights?: Uint8Array): Float64Array {
  const { binEnd, atQuota, out, kernel, offsets, sums } = scratch;
  let size = 0;
  if (weights) {
    scratch.weights.set(weights);
    for (let i = 0; i < weights.length; i++) size += weights[i]!;
  } else {
    scratch.state.set(state);
    size = kernel.draw(scratch.n, offsets.weights);
    state.set(scratch.state);
  }
  const k = flaggedGroups(sorted, threshold);
  setStops(scratch, [k, ...binEnd]);
  // The first quota the pass watches for is a share of the resample's size, known from the draw.
  CAPTURE_LEVELS.forEach((level, q) => (scratch.quotas[q] = (level / 100) * size));
  kernel.accumulate(scratch.n, offsets.weights, offsets.codes, offsets.terms);
  const total = sums[0]!, positives = sums[1]!, tiePenalty = sums[2]!, apSum = sums[3]!, brier = sums[4]!, logLoss = sums[5]!;
  const cum = new Float64Array(3);
  const prev = new Float64Array(3);
  cumulativeAt(scratch, k, cum);
  const tp = cum[1]!;
  const fp = cum[0]! - tp;
  const negatives = total - positives;
  const NaN_ = Number.NaN;
  let ece = 0;
  for (let b = 9; b >= 0; b--) {
    const endG = binEnd[b]!;
    const startG = b === 9 ? 0 : binEnd[b + 1]!;
    if (endG <= startG) continue;
    cumulativeAt(scratch, endG, cum);
    cumulativeAt(scratch, startG, prev);
    const count = cum[0]! - prev[0]!;
    if (count > 0) ece += Math.abs(cum[1]! - prev[1]! - (cum[2]! - prev[2]!)) / total;
  }
  const precision = tp + fp > 0 ? tp / (tp + fp) : NaN_;
  const recall = positives > 0 ? tp / positives : NaN_;
  out[0] = positives > 0 && negatives > 0 ? (positives * negatives - tiePenalty) / (positives * negatives) : NaN_;
  out[1] = positives > 0 ? apSum / positives : NaN_;
  out[2] = total > 0 ? brier / total : NaN_;
  out[3] = total > 0 ? logLoss / total : NaN_;
  out[4] = total > 0 ? ece : NaN_;
  out[5] = precision;
  out[6] = recall;
  out[7] = negatives > 0 ? fp / negatives : NaN_;
  out[8] = Number.isNaN(precision) || Number.isNaN(recall) ? NaN_ : precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
  out[9] = total > 0 ? (tp + fp) / total : NaN_;
  out[10] = total > 0 ? ((positives - tp) * costs.missedIncident + fp * costs.delayedChange) / total : NaN_;
  // capture_at: the group where each quota falls was recorded by the pass; a tie group cut in two
  // contributes in proportion, as in computeMetrics.
  for (let q = 0; q < CAPTURE_LEVELS.length; q++) {
    if (positives === 0) {
      out[11 + q] = NaN_;
      continue;
    }
    const quota = (CAPTURE_LEVELS[q]! / 100) * total;
    const prevAll = atQuota[4 * q]!, prevPos = atQuota[4 * q + 1]!, gAll = atQuota[4 * q + 2]!, gPos = atQuota[4 * q + 3]!;
    out[11 + q] = (prevPos + (gAll > 0 ? ((quota - prevAll) / gAll) * gPos : 0)) / positives;
  }
  return out;
}

