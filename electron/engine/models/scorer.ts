import type * as ort from 'onnxruntime-node';
import type { ModelManifest } from '../../../shared/contract/models.js';
import { explainHeuristic, scoreHeuristic, type HeuristicModel } from './heuristic.js';
import { explainLogistic, predictLogistic, type LogisticModel } from './logistic.js';
import { scoreOnnx, type BatchScores } from './onnx-model.js';

/** Anything that turns feature rows into change-risk scores, whatever kind of model is behind it. */
export interface Scorer {
  modelId: number;
  name: string;
  features: string[];
  threshold: number;
  explainMethod: 'exact-linear' | 'sampled-shapley';
  /** `subjects` are the changes the rows belong to; only prediction logs need them. */
  score(rows: readonly (readonly number[])[], subjects?: readonly { externalId: string }[]): Promise<BatchScores>;
  /** Additive contributions that sum to score(row) − score(reference). */
  explain(row: readonly number[], reference: readonly number[], seed: number): Promise<{ feature: string; value: number; contribution: number }[]>;
}

export type BuiltinParams = LogisticModel | HeuristicModel;

export function builtinScorer(modelId: number, name: string, params: BuiltinParams, threshold: number): Scorer {
  const one = (row: readonly number[]): number => (params.kind === 'logistic' ? predictLogistic(params, row) : scoreHeuristic(row));
  return {
    modelId, name, features: params.features, threshold, explainMethod: 'exact-linear',
    async score(rows) {
      const scores = Float64Array.from(rows, one);
      return { scores, errors: rows.map((_, i) => (Number.isFinite(scores[i]) ? null : `model ${name} returned ${scores[i]}`)) };
    },
    async explain(row, reference) {
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
    async score(rows, subjects) {
      const scores = new Float64Array(rows.length).fill(Number.NaN);
      const latencies = new Float64Array(rows.length).fill(Number.NaN);
      const errors: Array<string | null> = rows.map(() => null);
      rows.forEach((_, i) => {
        const hit = subjects?.[i] ? lookup(subjects[i]!.externalId) : undefined;
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
  const width = manifest.features.length;
  const run = (rows: readonly (readonly number[])[]): Promise<BatchScores> => {
    const matrix = new Float32Array(rows.length * width);
    rows.forEach((r, i) => matrix.set(r, i * width));
    return scoreOnnx(session, manifest, matrix, rows.length);
  };
  return {
    modelId, name: manifest.name, features: manifest.features, threshold: manifest.threshold, explainMethod: 'sampled-shapley',
    score: run,
    async explain(row, reference, seed) {
      return sampledShapley(run, manifest.features, row, reference, seed);
    },
  };
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
