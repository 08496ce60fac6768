/**
 * The heuristic risk rules most teams start with: big changes, off-hours deploys, services that
 * are already unwell, critical services. Additive, so every score explains itself exactly.
 */
export interface HeuristicModel {
  kind: 'heuristic';
  /** The change attribute that measures size (lines_added, la, …). */
  sizeFeature: string;
  features: string[];
}

const BASE = 0.05;

export function heuristicFor(sizeFeature: string): HeuristicModel {
  return { kind: 'heuristic', sizeFeature, features: [sizeFeature, 'hour_of_day', 'is_weekend', 'service_incidents_30d', 'service_tier'] };
}

/** Each rule's contribution, in the model's feature order; the score is BASE plus their sum. */
function rules(row: readonly number[]): number[] {
  const [size, hour, weekend, incidents, tier] = row as [number, number, number, number, number];
  return [
    (size > 100 ? 0.1 : 0) + (size > 500 ? 0.2 : 0),
    hour < 8 || hour >= 19 ? 0.15 : 0,
    weekend ? 0.1 : 0,
    incidents > 0 ? 0.1 : 0,
    tier === 1 ? 0.05 : 0,
  ];
}

export function scoreHeuristic(row: readonly number[]): number {
  // Rounded to the rules' own precision: summed in floating point, one risk came out as 0.4 for
  // some changes and 0.39999999999999997 for others, so a 0.4 threshold held back only some of them.
  return Math.min(0.95, Math.round((BASE + rules(row).reduce((a, b) => a + b, 0)) * 1e6) / 1e6);
}

export function explainHeuristic(model: HeuristicModel, row: readonly number[], reference: readonly number[]): { feature: string; value: number; contribution: number }[] {
  const x = rules(row);
  const r = rules(reference);
  const total = scoreHeuristic(row) - scoreHeuristic(reference);
  const raw = x.map((v, i) => v - r[i]!);
  const rawSum = raw.reduce((a, b) => a + b, 0);
  // The 0.95 cap is the only non-additive step; scale so the parts still sum to the difference.
  const k = rawSum === 0 ? 0 : total / rawSum;
  return model.features.map((feature, i) => ({ feature, value: row[i]!, contribution: raw[i]! * k }));
}
