import type * as ort from 'onnxruntime-node';
import type { ModelManifest } from '../../../shared/contract/models.js';
import { explainHeuristic, scoreHeuristic, type HeuristicModel } from './heuristic.js';
import { explainLogistic, predictLogistic, type LogisticModel } from './logistic.js';
import { scoreOnnx, type BatchScores } from './onnx-model.js';

/**
 * Feature rows packed row-major (row i is values[i·width, (i+1)·width)): how a replay hands a
 * batch to a model, without an array per row.
 */
export interface FeatureMatrix {
  rows: number;
  width: number;
  values: Float64Array;
}

export function matrixOf(rows: readonly (readonly number[])[], width: number): FeatureMatrix {
  const values = new Float64Array(rows.length * width);
  rows.forEach((r, i) => values.set(r, i * width));
  return { rows: rows.length, width, values };
}

export function rowsOf(m: FeatureMatrix): number[][] {
  return Array.from({ length: m.rows }, (_, i) => Array.from(m.values.subarray(i * m.width, (i + 1) * m.width)));
}

/**
 * Which change each row of a batch is, by external id: a prediction log looks its scores up by it,
 * and an error names it. A replay keeps no object per change (100k of them, alive for the whole
 * run, cost its thread more in garbage collection than building their features did), so a batch's
 * names are read from its slice of the replay when asked for.
 */
export interface RowNames {
  readonly length: number;
  nameOf(i: number): string;
}

/** Names of rows that are already objects. */
export function namesOf(rows: readonly { externalId: string }[]): RowNames {
  return { length: rows.length, nameOf: (i) => rows[i]!.externalId };
}

/** Rows from … to − 1 of `names`, renumbered from 0. */
export function sliceNames(names: RowNames, from: number, to: number): RowNames {
  return { length: Math.max(0, Math.min(to, names.length) - from), nameOf: (i) => names.nameOf(from + i) };
}

/** Anything that turns feature rows into change-risk scores, whatever kind of model is behind it. */
export interface Scorer {
  modelId: number;
  name: string;
  features: string[];
  threshold: number;
  explainMethod: 'exact-shapley' | 'exact-linear' | 'sampled-shapley';
  /** `subjects` are the changes the rows belong to; only prediction logs need them. */
  score(batch: FeatureMatrix, subjects?: RowNames): Promise<BatchScores>;
  /** Additive contributions that sum to score(row) − score(reference). */
  explain(row: readonly number[], reference: readonly number[], seed: number): Promise<{ feature: string; value: number; contribution: number }[]>;
}

export type BuiltinParams = LogisticModel | HeuristicModel;

/**
 * Features up to which Shapley values are computed exactly, over every coalition: 2^d rows scored
 * once (a built-in scores 65k rows in milliseconds; an ONNX model 4k rows in one batch).
 */
const EXACT_BUILTIN = 16;
const EXACT_ONNX = 12;

export function builtinScorer(modelId: number, name: string, params: BuiltinParams, threshold: number): Scorer {
  const one = (row: readonly number[]): number => (params.kind === 'logistic' ? predictLogistic(params, row) : scoreHeuristic(row));
  const scoreRows = async (rows: readonly (readonly number[])[]): Promise<BatchScores> => {
    const scores = Float64Array.from(rows, one);
    return { scores, errors: rows.map((_, i) => (Number.isFinite(scores[i]) ? null : `model ${name} returned ${scores[i]}`)) };
  };
  const exact = params.features.length <= EXACT_BUILTIN;
  return {
    modelId, name, features: params.features, threshold, explainMethod: exact ? 'exact-shapley' : 'exact-linear',
    score: (batch) => scoreRows(rowsOf(batch)),
    async explain(row, reference) {
      // A sigmoid is not additive: its log-odds terms rescaled to the score over- or understate
      // features that pull opposite ways (0.19 off on JIT changes). Exact Shapley values where affordable.
      if (exact) return exactShapley(scoreRows, params.features, row, reference);
      return params.kind === 'logistic' ? explainLogistic(params, row, reference) : explainHeuristic(params, row, reference);
    },
  };
}

/**
 * A model that ran in shadow elsewhere and logged its scores: it "scores" a change by looking up
 * what it logged for it. A change it never scored is an error row, exactly as if a model failed.
 */
export function logScorer(modelId: number, name: string, threshold: number, lookup: (subject: string) => { score: number; latency_ms: number | null } | undefined): Scorer {
  return {
    modelId, name, features: [], threshold, explainMethod: 'sampled-shapley',
    async score(batch, subjects) {
      const scores = new Float64Array(batch.rows).fill(Number.NaN);
      const latencies = new Float64Array(batch.rows).fill(Number.NaN);
      const errors: Array<string | null> = new Array(batch.rows).fill(null);
      errors.forEach((_, i) => {
        const hit = subjects && i < subjects.length ? lookup(subjects.nameOf(i)) : undefined;
        if (!hit) errors[i] = `the ${name} log has no score for this change`;
        else {
          scores[i] = hit.score;
          latencies[i] = hit.latency_ms ?? Number.NaN;
        }
      });
      return { scores, errors, latencies };
    },
    async explain() {
      return []; // a log carries scores, not the model: there is nothing to take apart
    },
  };
}

export function onnxScorer(modelId: number, manifest: ModelManifest, session: ort.InferenceSession): Scorer {
  return runnerScorer(modelId, manifest, (values, rows) => scoreOnnx(session, manifest, values, rows));
}

/** An ONNX model scored through `run`: a session here, or one on a model thread (onnx-thread.ts). */
export function runnerScorer(modelId: number, manifest: ModelManifest, runValues: (values: Float32Array, rows: number) => Promise<BatchScores>): Scorer {
  const width = manifest.features.length;
  // onnxruntime takes float32: one typed-array conversion per batch.
  const run = (batch: FeatureMatrix): Promise<BatchScores> => runValues(Float32Array.from(batch.values), batch.rows);
  return {
    modelId, name: manifest.name, features: manifest.features, threshold: manifest.threshold, explainMethod: width <= EXACT_ONNX ? 'exact-shapley' : 'sampled-shapley',
    score: run,
    async explain(row, reference, seed) {
      if (width <= EXACT_ONNX) return exactShapley((rows) => run(matrixOf(rows, width)), manifest.features, row, reference);
      return sampledShapley((rows) => run(matrixOf(rows, width)), manifest.features, row, reference, seed);
    },
  };
}

/**
 * Exact Shapley values against a reference row: the game is v(S) = score(row on S, reference
 * elsewhere), every coalition scored in one batch, and each feature gets the weighted average of
 * its marginal contributions, φᵢ = Σ_{S ∌ i} |S|!(d−|S|−1)!/d! · (v(S ∪ {i}) − v(S)). Features equal
 * to the reference change nothing and are left out of the coalitions (they get 0). The values sum
 * to score(row) − score(reference) by construction.
 */
export async function exactShapley(run: (rows: readonly (readonly number[])[]) => Promise<BatchScores>, features: string[], row: readonly number[], reference: readonly number[]): Promise<{ feature: string; value: number; contribution: number }[]> {
  const players = features.map((_, i) => i).filter((i) => !Object.is(row[i], reference[i]));
  const k = players.length;
  const out = features.map((feature, i) => ({ feature, value: row[i]!, contribution: 0 }));
  if (k === 0) return out;
  const batch: number[][] = [];
  for (let mask = 0; mask < 1 << k; mask++) {
    const r = [...reference];
    for (let b = 0; b < k; b++) if (mask & (1 << b)) r[players[b]!] = row[players[b]!]!;
    batch.push(r);
  }
  const { scores } = await run(batch);
  // weight[s] = s!(k−s−1)!/k!, built by products so nothing overflows.
  const weight = new Float64Array(k);
  for (let size = 0; size < k; size++) {
    let w = 1 / k;
    for (let j = 1; j <= size; j++) w *= j / (k - j);
    weight[size] = w;
  }
  const bits = (m: number): number => {
    let c = 0;
    for (let x = m; x; x &= x - 1) c++;
    return c;
  };
  for (let b = 0; b < k; b++) {
    const bit = 1 << b;
    let phi = 0;
    for (let mask = 0; mask < 1 << k; mask++) if (!(mask & bit)) phi += weight[bits(mask)]! * (scores[mask | bit]! - scores[mask]!);
    out[players[b]!]!.contribution = phi;
  }
  return out;
}

/**
 * Shapley values by sampled permutations against a reference row (DESIGN.md §5): walk each
 * permutation from the reference to the row one feature at a time; a feature's contribution is
 * the change in score when it switches. All permutations' steps are scored in one batch. Every
 * permutation's steps sum to score(row) − score(reference), so the average does too, exactly.
 */
export async function sampledShapley(run: (rows: readonly (readonly number[])[]) => Promise<BatchScores>, features: string[], row: readonly number[], reference: readonly number[], seed: number, permutations = 32): Promise<{ feature: string; value: number; contribution: number }[]> {
  const d = features.length;
  let state = seed >>> 0 || 1;
  const next = (): number => {
    // xorshift32: permutations only need to be reproducible, not strong.
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state / 4294967296;
  };
  const orders: number[][] = [];
  const batch: number[][] = [];
  for (let p = 0; p < permutations; p++) {
    const order = Array.from({ length: d }, (_, i) => i);
    for (let i = d - 1; i > 0; i--) {
      const j = Math.floor(next() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    orders.push(order);
    const current = [...reference];
    batch.push([...current]);
    for (const f of order) {
      current[f] = row[f]!;
      batch.push([...current]);
    }
  }
  const { scores } = await run(batch);
  const totals = new Array<number>(d).fill(0);
  orders.forEach((order, p) => {
    const base = p * (d + 1);
    order.forEach((f, step) => {
      totals[f]! += scores[base + step + 1]! - scores[base + step]!;
    });
  });
  return features.map((feature, i) => ({ feature, value: row[i]!, contribution: totals[i]! / permutations }));
}
