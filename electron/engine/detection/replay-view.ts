import type { DetectionAlert, ReplayFrame } from '../../../shared/contract/detection.js';
import { AttributionConfig } from '../../../shared/contract/detection.js';
import type { Db } from '../db/workspace.js';
import { EngineFailure } from '../errors.js';
import { candidatesBefore, rankersFor } from './attribution.js';
import { getDetectionRun } from './replay-detection.js';
import { INCUMBENT } from './scorecard.js';

const HOUR = 3_600_000;

interface IncidentRow { id: string; service: string; service_id: number; severity: number; title: string | null; started: number; detected: number | null; mitigated: number | null; resolved: number | null; cause: string | null }

/**
 * The incident replay at one cursor time: only what was knowable then. Metrics up to the cursor,
 * alerts raised by then (their end clipped to the cursor), candidate changes made before it, what
 * humans had done by then, and the postmortem's cause only once the incident was resolved.
 */
export function replayFrame(db: Db, input: { runId: number; incident: string; cursor?: number | undefined; riskRun?: { runId: number; modelIds: number[] } | undefined; lookbackHours?: number | undefined }): ReplayFrame {
  const run = getDetectionRun(db, input.runId);
  const inc = db.prepare(`SELECT i.external_id AS id, s.name AS service, i.service_id, i.severity, i.title, i.started_ts AS started, i.detected_ts AS detected,
      i.mitigated_ts AS mitigated, i.resolved_ts AS resolved, i.cause_change_id AS cause FROM incidents i JOIN services s ON s.id = i.service_id WHERE i.external_id = ?`).get(input.incident) as IncidentRow | undefined;
  if (!inc) throw new EngineFailure('not_found', `No incident ${input.incident}`);
  const from = inc.started - 6 * HOUR;
  const until = Math.max(inc.resolved ?? inc.started, inc.detected ?? inc.started) + 2 * HOUR;
  const cursor = Math.min(until, Math.max(from, input.cursor ?? inc.started));

  const points = db.prepare(`SELECT s.metric, p.ts, p.value FROM points p JOIN series s ON s.id = p.series_id
    WHERE s.service_id = ? AND p.ts >= ? AND p.ts <= ? ORDER BY s.metric, p.ts`).raw().all(inc.service_id, from, cursor) as [string, number, number][];
  const byMetric = new Map<string, [number, number][]>();
  for (const [metric, ts, value] of points) {
    const list = byMetric.get(metric) ?? [];
    list.push([ts, value]);
    byMetric.set(metric, list);
  }

  const names = new Map(run.models.map((m) => [m.id, `${m.name} v${m.version}`]));
  const alerts: DetectionAlert[] = [
    ...(db.prepare(`SELECT model_id, start_ts, end_ts, peak_score, explanation FROM detection_alerts
        WHERE run_id = ? AND service_id = ? AND start_ts <= ? AND end_ts >= ? ORDER BY start_ts`).all(run.id, inc.service_id, cursor, from) as { model_id: number; start_ts: number; end_ts: number; peak_score: number; explanation: string }[])
      .map((a) => ({
        modelId: a.model_id, service: inc.service, start: a.start_ts, end: Math.min(a.end_ts, cursor),
        // The peak may lie after the cursor: then say only that the alert had fired.
        peakScore: a.end_ts <= cursor ? a.peak_score : null,
        explanation: a.end_ts <= cursor ? `${names.get(a.model_id) ?? a.model_id}: ${a.explanation}` : `${names.get(a.model_id) ?? a.model_id}: firing`,
        incident: null,
      })),
    ...(db.prepare(`SELECT ts, resolved_ts, name, metric FROM alerts WHERE service_id = ? AND ts >= ? AND ts <= ? ORDER BY ts`).all(inc.service_id, from, cursor) as { ts: number; resolved_ts: number | null; name: string | null; metric: string | null }[])
      .map((a) => ({ modelId: null, service: inc.service, start: a.ts, end: Math.min(a.resolved_ts ?? a.ts, cursor), peakScore: null, explanation: `${INCUMBENT}: ${a.name ?? a.metric ?? 'alert'}`, incident: null })),
  ];

  const config = AttributionConfig.parse({ lookbackHours: input.lookbackHours ?? 24, ...(input.riskRun ? { riskRun: input.riskRun } : {}) });
  const { rankers, risk } = rankersFor(db, config);
  const candidates = candidatesBefore(db, Math.min(cursor, inc.started) + 1, config.lookbackHours, risk);
  const ranks = new Map<string, Record<string, number>>();
  for (const [name, rank] of rankers) rank(inc.service, candidates).forEach((c, i) => ranks.set(c.id, { ...(ranks.get(c.id) ?? {}), [name]: i + 1 }));
  const descriptions = new Map((db.prepare(`SELECT external_id, description FROM changes WHERE external_id IN (${candidates.map(() => '?').join(',') || "''"})`).raw().all(...candidates.map((c) => c.id)) as [string, string | null][]));

  const humans = [
    ...(inc.detected !== null ? [{ ts: inc.detected, what: 'humans noticed (incident declared)' }] : []),
    ...(inc.mitigated !== null ? [{ ts: inc.mitigated, what: 'mitigated' }] : []),
    ...(inc.resolved !== null ? [{ ts: inc.resolved, what: 'resolved' }] : []),
  ].filter((h) => h.ts <= cursor);

  const known = (t: number | null): number | null => (t !== null && t <= cursor ? t : null);
  return {
    // What humans did is known only once it has happened.
    incident: {
      id: inc.id, service: inc.service, severity: inc.severity, title: inc.title, started: inc.started,
      detected: known(inc.detected), mitigated: known(inc.mitigated), resolved: known(inc.resolved), cause: inc.resolved !== null && cursor >= inc.resolved ? inc.cause : null,
    },
    cursor, from, until,
    series: [...byMetric].map(([metric, pts]) => ({ metric, points: pts })),
    alerts,
    candidates: candidates.map((c) => ({ id: c.id, service: c.service, ts: c.ts, description: descriptions.get(c.id) ?? null, ranks: ranks.get(c.id) ?? {} }))
      .sort((a, b) => (a.ranks['recent-on-service'] ?? 1e9) - (b.ranks['recent-on-service'] ?? 1e9)).slice(0, 50),
    humans,
  };
}
