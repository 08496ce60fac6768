/**
 * A run that reaches into a model's training window scores some changes the model learned from,
 * and its metrics read too good there. The Runs form warns before such a run; this is the same
 * warning on everything that shows its results (scorecards, the CLI, reports), in one wording.
 */
export interface TrainingOverlap {
  /** the model's training cutoff (epoch ms): it learned from changes before it */
  trainedUntil: number;
  /** how many of the run's changes are from before it */
  changes: number;
}

export function trainingOverlapSentence(model: { name: string; version: number }, n: number, overlap: TrainingOverlap | null): string | null {
  if (!overlap || overlap.changes === 0) return null;
  const cutoff = new Date(overlap.trainedUntil).toISOString().slice(0, 16).replace('T', ' ');
  return `${overlap.changes} of ${n} changes are from before ${model.name} v${model.version}'s training cutoff (${cutoff} UTC): it was scored on data it learned from, so these numbers read too good. Run from after the cutoff to judge it.`;
}
