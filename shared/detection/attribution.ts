import { bootstrapColumns, type Interval } from './evaluate.js';
import { withEvidence } from '../metrics/evidence.js';

/**
 * Attribution: per incident, rank the changes that could have caused it, and score the rankings
 * against the causes postmortems named (DESIGN.md §6: top1, top3, mrr, coverage).
 */

export interface Candidate {
  id: string;
  service: string;
  ts: number;
  size: number | null;
  files: number | null;
  /** a change-risk model's score, per model name, where a run scored this change */
  risk: Record<string, number>;
}

export type Ranker = (incidentService: string, candidates: readonly Candidate[]) => Candidate[];

/** Most recent change on the incident's service first, then the other services' by recency. */
export const recentOnService: Ranker = (service, candidates) =>
  [...candidates].sort((a, b) => Number(b.service === service) - Number(a.service === service) || b.ts - a.ts || a.id.localeCompare(b.id));

/** Largest change first (lines added + deleted); the incident's service breaks ties, then recency. */
export const largestChange: Ranker = (service, candidates) =>
  [...candidates].sort((a, b) => (b.size ?? -1) - (a.size ?? -1) || Number(b.service === service) - Number(a.service === service) || b.ts - a.ts || a.id.localeCompare(b.id));

/**
 * Riskiest change first by a change-risk model; changes it did not score go last. Where a run
 * scored none of an incident's candidates this is just recent-on-service, so callers judge a risk
 * ranker only on incidents whose candidates it scored (`scoredAll`).
 */
export function byRisk(model: string): Ranker {
  return (service, candidates) => [...candidates].sort((a, b) => (b.risk[model] ?? -1) - (a.risk[model] ?? -1) || Number(b.service === service) - Number(a.service === service) || b.ts - a.ts || a.id.localeCompare(b.id));
}

/** Whether a change-risk model scored every candidate (a ranking it can be judged on). */
export const scoredAll = (model: string, candidates: readonly Candidate[]): boolean => candidates.every((c) => c.risk[model] !== undefined);

/** 1-based rank of the cause, or null when it is not among the candidates. */
export function rankOf(ranked: readonly Candidate[], cause: string): number | null {
  const i = ranked.findIndex((c) => c.id === cause);
  return i < 0 ? null : i + 1;
}

export function attributionMetrics(ranks: readonly (number | null)[]): { top1: number | null; top3: number | null; mrr: number | null; coverage: number | null } {
  const n = ranks.length;
  if (n === 0) return { top1: null, top3: null, mrr: null, coverage: null };
  return {
    top1: ranks.filter((r) => r === 1).length / n,
    top3: ranks.filter((r) => r !== null && r <= 3).length / n,
    mrr: ranks.reduce<number>((s, r) => s + (r === null ? 0 : 1 / r), 0) / n,
    coverage: ranks.filter((r) => r !== null).length / n,
  };
}

const POINT = (ranks: readonly (number | null)[]): number[] => {
  const m = attributionMetrics(ranks);
  return [m.top1, m.top3, m.mrr, m.coverage].map((v) => v ?? Number.NaN);
};

/** The four metrics with 95 % percentile bootstrap intervals over incidents (seeded, so reproducible). */
export function attributionIntervals(ranks: readonly (number | null)[], resamples = 1000, seed = 1): { top1: Interval; top3: Interval; mrr: Interval; coverage: Interval } {
  const point = attributionMetrics(ranks);
  const ci = bootstrapColumns(ranks, POINT, resamples, seed);
  const n = ranks.length;
  const iv = (value: number | null, i: number, successes?: number): Interval => withEvidence({ value, lo: ci[i]?.lo ?? null, hi: ci[i]?.hi ?? null }, n, successes === undefined ? undefined : { successes });
  const count = (keep: (r: number | null) => boolean): number => ranks.filter(keep).length;
  return {
    top1: iv(point.top1, 0, count((r) => r === 1)), top3: iv(point.top3, 1, count((r) => r !== null && r <= 3)),
    mrr: iv(point.mrr, 2), coverage: iv(point.coverage, 3, count((r) => r !== null)),
  };
}

/** Lines added + deleted (or JIT's la + ld); null when a change has no size attributes. */
export function changeSize(attributes: Record<string, number>): number | null {
  const keys = ['lines_added', 'lines_deleted', 'la', 'ld'].filter((k) => typeof attributes[k] === 'number');
  return keys.length ? keys.reduce((s, k) => s + attributes[k]!, 0) : null;
}
