import { AttributionConfig, type AttributionConfigInput, type AttributionResult } from '../../../shared/contract/detection.js';
import { attributionIntervals, attributionMetrics, byRisk, changeSize, largestChange, rankOf, recentOnService, scoredAll, type Candidate, type Ranker } from '../../../shared/detection/attribution.js';
import { loadSession } from '../models/onnx-model.js';
import { getModel, rankerOf } from '../models/registry.js';
import { rankerMatrix, scoreRows } from './onnx-ranker.js';
import type { Db } from '../db/workspace.js';
import { EngineFailure } from '../errors.js';
import { getRun } from '../runs/replay-changes.js';

const HOUR = 3_600_000;

/** A change-risk model ranking by its scores in a run. */
interface RiskModel { name: string; runId: number; trainedUntil: number | null }

interface IncidentRow { id: string; service: string; started: number; cause: string | null }
interface ChangeRow { id: string; service: string; ts: number; attributes: string; db_id: number }

/** The rankers of a config: the two built-ins, plus one per change-risk model of the given run. */
export function rankersFor(db: Db, config: ReturnType<typeof AttributionConfig.parse>): { rankers: [string, Ranker][]; risk: Map<number, Record<string, number>>; riskModels: RiskModel[] } {
  const rankers: [string, Ranker][] = [['recent-on-service', recentOnService], ['largest-change', largestChange]];
  const risk = new Map<number, Record<string, number>>();
  const riskModels: RiskModel[] = [];
  if (config.riskRun) {
    const run = getRun(db, config.riskRun.runId);
    for (const modelId of config.riskRun.modelIds) {
      const entry = run.manifest?.models.find((m) => m.id === modelId);
      if (!entry) throw new EngineFailure('not_found', `Model ${modelId} is not part of run ${run.id}`);
      const name = `${entry.name} v${entry.version}`;
      for (const [changeId, score] of db.prepare('SELECT change_id, score FROM suggestions WHERE run_id = ? AND model_id = ? AND score IS NOT NULL').raw().all(run.id, modelId) as [number, number][]) {
        const r = risk.get(changeId) ?? {};
        r[name] = score;
        risk.set(changeId, r);
      }
      rankers.push([name, byRisk(name)]);
      riskModels.push({ name, runId: run.id, trainedUntil: getModel(db, modelId).trainedUntil });
    }
  }
  return { rankers, risk, riskModels };
}

/** Changes in the lookback window before `t`, every service (a failing dependency is a cause too). */
export function candidatesBefore(db: Db, t: number, lookbackHours: number, risk: Map<number, Record<string, number>>): Candidate[] {
  return (db.prepare(`SELECT c.external_id AS id, s.name AS service, c.ts, c.attributes, c.id AS db_id FROM changes c JOIN services s ON s.id = c.service_id
    WHERE c.ts >= ? AND c.ts < ? ORDER BY c.ts`).all(t - lookbackHours * HOUR, t) as ChangeRow[])
    .map((c) => {
      const attributes = JSON.parse(c.attributes) as Record<string, number>;
      return { id: c.id, service: c.service, ts: c.ts, size: changeSize(attributes), files: attributes.files_changed ?? attributes.nf ?? null, risk: risk.get(c.db_id) ?? {} };
    });
}

/** Services each service calls, by name. */
function dependencies(db: Db): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const [from, to] of db.prepare('SELECT a.name, b.name FROM service_dependencies d JOIN services a ON a.id = d.service_id JOIN services b ON b.id = d.depends_on_id').raw().all() as [string, string][]) {
    out.set(from, (out.get(from) ?? new Set()).add(to));
  }
  return out;
}

/** Rank candidate changes for every incident with a known cause, per ranker. */
export async function evaluateAttribution(db: Db, input: AttributionConfigInput): Promise<AttributionResult> {
  const config = AttributionConfig.parse(input);
  const { rankers, risk, riskModels } = rankersFor(db, config);
  const incidents = db.prepare(`SELECT i.external_id AS id, s.name AS service, i.started_ts AS started, i.cause_change_id AS cause
    FROM incidents i JOIN services s ON s.id = i.service_id WHERE i.cause_change_id IS NOT NULL ORDER BY i.started_ts`).all() as IncidentRow[];
  const candidates = incidents.map((inc) => candidatesBefore(db, inc.started, config.lookbackHours, risk));
  // ONNX rankers score every (incident, candidate) pair in one batched pass, then rank by score.
  const deps = dependencies(db);
  for (const id of config.rankers ?? []) {
    const { info, manifest, bytes } = rankerOf(db, id);
    const session = await loadSession(info.name, bytes);
    try {
      const cases = incidents.map((inc, k) => ({ service: inc.service, started: inc.started, candidates: candidates[k]!, dependsOn: deps.get(inc.service) ?? new Set<string>() }));
      const scores = await scoreRows(session, manifest, rankerMatrix(manifest, cases));
      const byCase = new Map<readonly Candidate[], Map<string, number>>();
      let r = 0;
      for (const c of cases) {
        const m = new Map<string, number>();
        for (const cand of c.candidates) m.set(cand.id, scores[r++]!);
        byCase.set(c.candidates, m);
      }
      const name = `${info.name} v${info.version}`;
      rankers.push([name, (service, list) => {
        const s = byCase.get(list) ?? new Map<string, number>();
        return recentOnService(service, list).map((cand, i) => ({ cand, i })).sort((a, b) => (s.get(b.cand.id) ?? -Infinity) - (s.get(a.cand.id) ?? -Infinity) || a.i - b.i).map((x) => x.cand);
      }]);
    } finally {
      await session.release();
    }
  }
  const riskOf = new Map(riskModels.map((m) => [m.name, m]));
  const rows = incidents.map((inc, k) => {
    const list = candidates[k]!;
    // A risk model is judged only where its run scored every candidate: elsewhere its ranking
    // is the recency tie-break, and it would be credited with recent-on-service's accuracy.
    const judged = rankers.filter(([name]) => !riskOf.has(name) || scoredAll(name, list));
    return {
      incident: inc.id, service: inc.service, started: inc.started, cause: inc.cause, candidates: list.length,
      rank: Object.fromEntries(judged.map(([name, rank]) => [name, rankOf(rank(inc.service, list), inc.cause!)])),
    };
  });
  const total = db.prepare('SELECT count(*) FROM incidents').pluck().get() as number;
  return {
    lookbackHours: config.lookbackHours,
    incidentsWithCause: incidents.length,
    incidentsTotal: total,
    rankers: rankers.map(([name]) => {
      const mine = rows.filter((r) => name in r.rank);
      return { name, incidents: mine.length, ...attributionIntervals(mine.map((r) => r.rank[name] ?? null)), note: riskNote(riskOf.get(name), rows, mine) };
    }),
    incidents: rows,
  };
}

type Row = { incident: string; started: number; rank: Record<string, number | null> };

/**
 * What a reader of a risk model's row must know: that it was judged on fewer incidents (with the
 * recency baseline's top 1 on the same ones, the fair comparison), and that incidents from before
 * its training cutoff are ones whose causes it learned from.
 */
function riskNote(model: RiskModel | undefined, all: readonly Row[], mine: readonly Row[]): string | null {
  if (!model) return null;
  const parts: string[] = [];
  if (mine.length < all.length) {
    const baseline = attributionMetrics(mine.map((r) => r.rank['recent-on-service'] ?? null)).top1;
    parts.push(`judged on the ${mine.length} of ${all.length} incidents whose candidate changes run ${model.runId} scored${mine.length > 0 ? ` (recent-on-service on the same ${mine.length}: top 1 ${baseline === null ? '—' : baseline.toFixed(3)})` : ''}`);
  }
  const early = model.trainedUntil === null ? 0 : mine.filter((r) => r.started < model.trainedUntil!).length;
  if (early > 0) parts.push(`${early} of them started before ${model.name}'s training cutoff (${new Date(model.trainedUntil!).toISOString().slice(0, 16).replace('T', ' ')} UTC): it learned from their causes, so these numbers read too good`);
  return parts.length ? `${model.name}: ${parts.join('; ')}` : null;
}
