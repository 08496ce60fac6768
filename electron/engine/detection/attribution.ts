import { AttributionConfig, type AttributionConfigInput, type AttributionResult } from '../../../shared/contract/detection.js';
import { attributionMetrics, byRisk, changeSize, largestChange, rankOf, recentOnService, type Candidate, type Ranker } from '../../../shared/detection/attribution.js';
import { loadSession } from '../models/onnx-model.js';
import { rankerOf } from '../models/registry.js';
import { rankerMatrix, scoreRows } from './onnx-ranker.js';
import type { Db } from '../db/workspace.js';
import { EngineFailure } from '../errors.js';
import { getRun } from '../runs/replay-changes.js';

const HOUR = 3_600_000;

interface IncidentRow { id: string; service: string; started: number; cause: string | null }
interface ChangeRow { id: string; service: string; ts: number; attributes: string; db_id: number }

/** The rankers of a config: the two built-ins, plus one per change-risk model of the given run. */
export function rankersFor(db: Db, config: ReturnType<typeof AttributionConfig.parse>): { rankers: [string, Ranker][]; risk: Map<number, Record<string, number>> } {
  const rankers: [string, Ranker][] = [['recent-on-service', recentOnService], ['largest-change', largestChange]];
  const risk = new Map<number, Record<string, number>>();
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
    }
  }
  return { rankers, risk };
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
  const { rankers, risk } = rankersFor(db, config);
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
  const rows = incidents.map((inc, k) => {
    const list = candidates[k]!;
    return {
      incident: inc.id, service: inc.service, started: inc.started, cause: inc.cause, candidates: list.length,
      rank: Object.fromEntries(rankers.map(([name, rank]) => [name, rankOf(rank(inc.service, list), inc.cause!)])),
    };
  });
  return {
    lookbackHours: config.lookbackHours,
    incidentsWithCause: incidents.length,
    rankers: rankers.map(([name]) => ({ name, ...attributionMetrics(rows.map((r) => r.rank[name] ?? null)) })),
    incidents: rows,
  };
}
