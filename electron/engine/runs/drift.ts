import type { ModelDrift } from '../../../shared/contract/drills.js';
import { ks2, psi, psiBand } from '../../../shared/metrics/drift.js';
import type { Db } from '../db/workspace.js';
import { buildFeatures, type ChangeRow } from '../features/catalog.js';
import type { Outcome } from '../features/outcomes.js';

/** The reference window is capped at its most recent rows: enough for deciles, cheap to build. */
const MAX_REFERENCE = 20_000;
const MIN_REFERENCE = 30;

/**
 * Where a model's "normal" inputs come from: the changes it was trained on (before its
 * trainedUntil) when it says, else the history before the run's first change.
 */
export function referenceWindow(all: readonly ChangeRow[], firstSubjectTs: number, trainedUntil: number | null): { rows: ChangeRow[]; label: string } {
  const end = Math.min(firstSubjectTs, trainedUntil ?? Infinity);
  const before = all.filter((c) => c.ts < end);
  const rows = before.slice(Math.max(0, before.length - MAX_REFERENCE));
  const label = trainedUntil !== null && trainedUntil <= firstSubjectTs ? `its training window (changes before ${new Date(trainedUntil).toISOString()})` : `the ${rows.length === before.length ? '' : `last ${rows.length} `}changes before the run`;
  return { rows, label };
}

/**
 * PSI and KS of each feature as the model saw it in the run (after any drill's perturbations,
 * before imputation) against the same feature over the reference window. Null when the
 * reference window is too small to say anything.
 */
export function modelDrift(db: Db, input: {
  modelId: number; features: readonly string[]; replayed: readonly ArrayLike<number>[];
  all: readonly ChangeRow[]; outcomes: Map<number, Outcome>; firstSubjectTs: number; trainedUntil: number | null;
}): ModelDrift | null {
  if (input.features.length === 0) return null;
  const { rows, label } = referenceWindow(input.all, input.firstSubjectTs, input.trainedUntil);
  if (rows.length < MIN_REFERENCE) return null;
  const matrix = buildFeatures(db, rows, input.features, input.outcomes, input.all);
  const features = input.features.map((feature, j) => {
    const reference = Float64Array.from(matrix, (r) => r[j]!);
    const value = psi(reference, input.replayed[j]!);
    const ks = ks2(reference, input.replayed[j]!);
    const finite = Number.isFinite(value);
    return { feature, psi: finite ? value : null, band: finite ? psiBand(value) : null, ks: Number.isFinite(ks.d) ? ks.d : null, ksP: Number.isFinite(ks.p) ? ks.p : null };
  });
  const worst = features.reduce<(typeof features)[number] | null>((best, f) => (f.psi !== null && (best === null || f.psi > best.psi!) ? f : best), null);
  return {
    modelId: input.modelId, reference: label, referenceRows: rows.length, replayedRows: input.replayed[0]?.length ?? 0,
    maxPsi: worst?.psi ?? null, worst: worst?.feature ?? null, band: worst?.band ?? null, flag: (worst?.band ?? null) === 'drift', features,
  };
}
