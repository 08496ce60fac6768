import type { ModelDrift } from '../../../shared/contract/drills.js';
import { ks2, psi, psiBand } from '../../../shared/metrics/drift.js';
import type { Db } from '../db/workspace.js';
import { buildFeatures, historyWindowOf, type ChangeRow } from '../features/catalog.js';
import type { Outcome } from '../features/outcomes.js';

/** The reference window is capped at its most recent rows: enough for deciles, cheap to build. */
const MAX_REFERENCE = 20_000;
const MIN_REFERENCE = 30;
const DAY = 86_400_000;

/** How many of `times` fall before `from`. */
function countBefore(times: ArrayLike<number>, from: number): number {
  let n = 0;
  for (let i = 0; i < times.length; i++) if (times[i]! < from) n++;
  return n;
}

/**
 * Where a model's "normal" inputs come from: the changes it was trained on (before its
 * trainedUntil) when it says, else the history before the run's first change.
 */
export function referenceWindow(all: readonly ChangeRow[], firstSubjectTs: number, trainedUntil: number | null): { rows: ChangeRow[]; label: string } {
  const end = Math.min(firstSubjectTs, trainedUntil ?? Infinity);
  const before = all.filter((c) => c.ts < end);
  const rows = before.slice(Math.max(0, before.length - MAX_REFERENCE));
  const label = trainedUntil !== null && trainedUntil <= firstSubjectTs ? `its training window (changes before ${new Date(trainedUntil).toISOString().slice(0, 16).replace('T', ' ')} UTC)` : `the ${rows.length === before.length ? '' : `last ${rows.length} `}changes before the run`;
  return { rows, label };
}

/**
 * PSI and KS of each feature as the model saw it in the run (after any drill's perturbations,
 * before imputation) against the same feature over the reference window. Null when the
 * reference window is too small to say anything.
 */
export function modelDrift(db: Db, input: {
  modelId: number; features: readonly string[]; replayed: readonly ArrayLike<number>[];
  /** the time of each replayed row (the change's), in the order of `replayed` */
  replayedTimes: ArrayLike<number>;
  /** the workspace's changes in time order, at least all of those before the first subject, with their outcomes */
  history: readonly ChangeRow[]; outcomes: Map<number, Outcome>; firstSubjectTs: number; trainedUntil: number | null;
}): ModelDrift | null {
  if (input.features.length === 0) return null;
  const { rows, label } = referenceWindow(input.history, input.firstSubjectTs, input.trainedUntil);
  if (rows.length < MIN_REFERENCE) return null;
  const matrix = buildFeatures(db, rows, input.features, input.outcomes, input.history);
  // A history feature counted over a window that reaches back past the workspace's first change
  // reads low (a 90-day count 10 days in) and grows as the history fills. That is a real shift in
  // what the model sees (and it learned from the truncated values), so it counts towards the flag;
  // warmUp says how much of each side is in it, so nobody reads it as the world changing.
  const historyStart = input.history.length > 0 ? input.history[0]!.ts : 0;
  const referenceTimes = rows.map((r) => r.ts);
  const features = input.features.map((feature, j) => {
    const reference = Float64Array.from(matrix, (r) => r[j]!);
    const value = psi(reference, input.replayed[j]!);
    const ks = ks2(reference, input.replayed[j]!);
    const finite = Number.isFinite(value);
    const window = historyWindowOf(feature);
    const inReference = window > 0 ? countBefore(referenceTimes, historyStart + window) : 0;
    const inRun = window > 0 ? countBefore(input.replayedTimes, historyStart + window) : 0;
    const warmUp = inReference + inRun === 0 ? null : { reference: inReference, run: inRun, windowDays: Math.round(window / DAY), historyStart };
    return { feature, psi: finite ? value : null, band: finite ? psiBand(value) : null, ks: Number.isFinite(ks.d) ? ks.d : null, ksP: Number.isFinite(ks.p) ? ks.p : null, warmUp };
  });
  const worst = features.reduce<(typeof features)[number] | null>((best, f) => (f.psi !== null && (best === null || f.psi > best.psi!) ? f : best), null);
  return {
    modelId: input.modelId, reference: label, referenceRows: rows.length, replayedRows: input.replayed[0]?.length ?? 0,
    maxPsi: worst?.psi ?? null, worst: worst?.feature ?? null, band: worst?.band ?? null, flag: (worst?.band ?? null) === 'drift', features,
  };
}
