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

/** Riskiest change first by a change-risk model; changes it did not score go last. */
export function byRisk(model: string): Ranker {
  return (service, candidates) => [...candidates].sort((a, b) => (b.risk[model] ?? -1) - (a.risk[model] ?? -1) || Number(b.service === service) - Number(a.service === service) || b.ts - a.ts || a.id.localeCompare(b.id));
}

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

/** Lines added + deleted (or JIT's la + ld); null when a change has no size attributes. */
export function changeSize(attributes: Record<string, number>): number | null {
  const keys = ['lines_added', 'lines_deleted', 'la', 'ld'].filter((k) => typeof attributes[k] === 'number');
  return keys.length ? keys.reduce((s, k) => s + attributes[k]!, 0) : null;
}
