import type { RunGuard } from '../../../shared/contract/drills.js';
import { reflectAcross, type FaultPlan } from '../../../shared/drills/perturb.js';
import { sliceNames, type FeatureMatrix, type RowNames, type Scorer } from '../models/scorer.js';
import { ModelUnavailable } from '../errors.js';

/**
 * One batch through a model with the run's guard around it (DESIGN.md §7): inputs checked for
 * missing values, the model given a time budget, its outputs checked, and — in a drill — the
 * drill's faults injected between the model and the checks, so the checks are what catch them.
 * A row that fails carries its error and what kind of failure it was; the runner decides who
 * answers instead.
 */

export interface GuardedBatch {
  /** NaN where the row has no valid score */
  scores: Float64Array;
  errors: Array<string | null>;
  /** per row: error, timeout, invalid-input, invalid-output, imputed, flipped (undefined: none; most rows) */
  faults: Array<string[] | undefined>;
  latencies: Float64Array;
  /** how long the model took over the batch, where it ran (retries of a failing batch included) */
  elapsedMs: number;
}

export interface GuardOptions {
  guard: RunGuard | undefined;
  /** the model's reference row (feature medians): what a missing value is imputed with */
  reference: readonly number[];
  threshold: number;
  /** a drill's faults, indexed by the row's position in the run; `offset` is this batch's first row */
  plan: FaultPlan | null;
  offset: number;
}

/** A batch that takes longer than its rows' budgets together is abandoned (onnxruntime cannot be interrupted, only ignored). */
async function withBudget<T>(work: Promise<T>, ms: number | undefined): Promise<T> {
  if (ms === undefined) return work;
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timeout: the batch took longer than its ${Math.round(ms)} ms budget`)), ms);
  });
  try {
    return await Promise.race([work, expired]);
  } finally {
    clearTimeout(timer);
  }
}

type BatchResult = { scores: Float64Array; errors: Array<string | null>; latencies?: Float64Array; elapsedMs?: number };

/**
 * Rows a model may be tried on alone, per model in a run: a model that throws on everything costs
 * two calls per row to bisect, so after this many failing rows a failing batch fails whole.
 */
const BISECT_BUDGET = 2000;
const bisectLeft = new WeakMap<Scorer, number>();

async function bisect(scorer: Scorer, batch: FeatureMatrix, subjects: RowNames, message: string, firstElapsed: number | undefined): Promise<BatchResult> {
  const n = batch.rows;
  const scores = new Float64Array(n).fill(Number.NaN);
  const errors: Array<string | null> = new Array(n).fill(null);
  const latencies = new Float64Array(n).fill(Number.NaN);
  // The model's own time over every try, where each ran (undefined once one try was not timed there).
  let elapsedMs = firstElapsed;
  const timed = (ms: number | undefined): void => {
    elapsedMs = elapsedMs === undefined || ms === undefined ? undefined : elapsedMs + ms;
  };
  const slice = (from: number, to: number): FeatureMatrix => ({ rows: to - from, width: batch.width, values: batch.values.subarray(from * batch.width, to * batch.width) });
  const visit = async (from: number, to: number, failure: string): Promise<void> => {
    const left = bisectLeft.get(scorer) ?? BISECT_BUDGET;
    if (left <= 0) {
      for (let i = from; i < to; i++) errors[i] = failure;
      return;
    }
    if (to - from === 1) {
      bisectLeft.set(scorer, left - 1);
      errors[from] = `model ${scorer.name} failed on ${from < subjects.length ? subjects.nameOf(from) : `row ${from + 1}`}: ${failure}`;
      return;
    }
    const mid = (from + to) >> 1;
    for (const [a, b] of [[from, mid], [mid, to]] as const) {
      try {
        const part = await scorer.score(slice(a, b), sliceNames(subjects, a, b));
        timed(part.elapsedMs);
        scores.set(part.scores, a);
        for (let i = 0; i < b - a; i++) errors[a + i] = part.errors[i] ?? null;
        if (part.latencies) latencies.set(part.latencies, a);
      } catch (err) {
        if (err instanceof ModelUnavailable) throw err;
        timed((err as { elapsedMs?: number }).elapsedMs);
        await visit(a, b, (err as Error).message);
      }
    }
  };
  await visit(0, n, message);
  return { scores, errors, latencies, ...(elapsedMs !== undefined ? { elapsedMs } : {}) };
}

/** One batch through a model: the inputs checked and the model asked at once, the answer checked when it is settled. */
export interface StartedBatch {
  settle(): Promise<GuardedBatch>;
}

export async function scoreGuarded(scorer: Scorer, batch: FeatureMatrix, subjects: RowNames, options: GuardOptions): Promise<GuardedBatch> {
  return startGuarded(scorer, batch, subjects, options).settle();
}

/**
 * Hands the batch to the model now; `settle` waits for the answer and checks it. A replay starts
 * many batches on a model thread and settles them in run order: a batch the model threw on is split
 * only then, so the rows tried alone (a budget per model) are the ones a run scored batch by batch
 * would try.
 */
export function startGuarded(scorer: Scorer, batch: FeatureMatrix, subjects: RowNames, options: GuardOptions): StartedBatch {
  const { rows: n, width } = batch;
  const { guard, plan, offset } = options;
  // A list only for a row that has a fault: a replay passes 100k rows through here.
  const faults = new Array<string[] | undefined>(n);
  const fault = (i: number, kind: string): void => {
    (faults[i] ??= []).push(kind);
  };
  const errors: Array<string | null> = new Array(n).fill(null);
  const policy = guard?.nanPolicy ?? 'pass';
  // Input validation: a missing feature is imputed with the model's reference value, or the row refused.
  let inputs = batch;
  if (policy !== 'pass') {
    let values: Float64Array | null = null;
    for (let i = 0; i < n; i++) {
      let missing: number[] | null = null;
      for (let j = 0; j < width; j++) if (!Number.isFinite(batch.values[i * width + j]!)) (missing ??= []).push(j);
      if (!missing) continue;
      // The batch is the run's own matrix: impute into a copy.
      values ??= Float64Array.from(batch.values);
      for (const j of missing) values[i * width + j] = options.reference[j] ?? 0;
      const names = missing.map((j) => scorer.features[j]).join(', ');
      if (policy === 'impute') fault(i, 'imputed');
      else {
        errors[i] = `invalid input: ${names} ${missing.length > 1 ? 'are' : 'is'} missing`;
        fault(i, 'invalid-input');
      }
    }
    if (values) inputs = { rows: n, width, values };
  }
  const started = performance.now();
  const attempt = withBudget(scorer.score(inputs, subjects), guard?.timeoutMs !== undefined ? guard.timeoutMs * n : undefined);
  attempt.catch(() => undefined); // settled below; a run that stops first never asks
  return {
    async settle() {
      let result: BatchResult;
      try {
        result = await attempt;
      } catch (err) {
        // The model's thread is gone: not an answer about these rows, and no reason to try them alone.
        if (err instanceof ModelUnavailable) throw err;
        const message = (err as Error).message;
        // Out of time: the batch as a whole; every row in it is an error. A model that threw did so for
        // some rows (one value out of a lookup's range, say): the batch is split until the rows it
        // throws on are found, so the others keep their scores and each error names its change.
        result = message.startsWith('timeout') ? { scores: new Float64Array(n).fill(Number.NaN), errors: new Array(n).fill(message) } : await bisect(scorer, inputs, subjects, message, (err as { elapsedMs?: number }).elapsedMs);
      }
      return checked(result);
    },
  };
  function checked(result: BatchResult): GuardedBatch {
    // Batched inference has no per-row time; each row carries its share of the batch. A model on a
    // thread of its own times the batch there: the replay may have queued it behind the one before.
    const elapsedMs = result.elapsedMs ?? performance.now() - started;
    const share = elapsedMs / n;
    const scores = new Float64Array(n).fill(Number.NaN);
    const latencies = new Float64Array(n);
    const [lo, hi] = guard?.outputRange ?? [-Infinity, Infinity];
    for (let i = 0; i < n; i++) {
      const k = offset + i;
      const logged = result.latencies?.[i];
      latencies[i] = (logged !== undefined && !Number.isNaN(logged) ? logged : share) + (plan ? plan.latency[k]! : 0);
      if (errors[i] !== null) continue;
      if (result.errors[i] !== null) {
        errors[i] = result.errors[i]!;
        fault(i, errors[i]!.startsWith('timeout') ? 'timeout' : 'error');
        continue;
      }
      let score = result.scores[i]!;
      if (plan?.fail[k]) {
        errors[i] = `model ${scorer.name} threw on this row (drill: injected failure)`;
        fault(i, 'error');
        continue;
      }
      if (plan?.garbage[k]) score = plan.garbageValue[k]!;
      if (plan?.flip[k] && Number.isFinite(score)) {
        score = reflectAcross(score, options.threshold);
        fault(i, 'flipped');
      }
      // Output validation: whatever the model (or the drill) produced, only a finite score in range gets through.
      if (!Number.isFinite(score) || score < lo || score > hi) {
        errors[i] = `invalid output: model ${scorer.name} returned ${score}${Number.isFinite(score) ? `, outside [${lo}, ${hi}]` : ''}`;
        fault(i, 'invalid-output');
        continue;
      }
      if (guard?.timeoutMs !== undefined && latencies[i]! > guard.timeoutMs) {
        errors[i] = `timeout: ${latencies[i]!.toFixed(1)} ms over the ${guard.timeoutMs} ms budget`;
        fault(i, 'timeout');
        continue;
      }
      scores[i] = score;
    }
    return { scores, errors, faults, latencies, elapsedMs };
  }
}
