import type { Timeline } from '../../../shared/contract/records.js';
import type { Db } from '../db/workspace.js';
import { floorTo, ROLLUP_LEVELS } from '../db/rollups.js';
import { EngineFailure } from '../errors.js';
import { ALERT_COLUMNS, CHANGE_COLUMNS, INCIDENT_COLUMNS, toAlert, toChange, toIncident } from './records.js';

const MAX_MARKERS = 5000;

/**
 * A service's metrics downsampled in SQL to at most `maxBuckets` buckets per series (min, max and
 * mean per bucket, so spikes survive), with the changes, incidents and alerts in the same range.
 * Points are clustered by (series, ts), so each series is one range scan.
 */
export function queryTimeline(db: Db, input: { service: string; from?: number | undefined; until?: number | undefined; maxBuckets: number; risk?: { runId: number; modelId: number } | undefined; detectionRunId?: number | undefined }): Timeline {
  const serviceId = db.prepare('SELECT id FROM services WHERE name = ?').pluck().get(input.service) as number | undefined;
  if (serviceId === undefined) throw new EngineFailure('not_found', `No service named "${input.service}" in this workspace`);
  const series = db.prepare('SELECT id, metric, labels FROM series WHERE service_id = ? ORDER BY metric, labels').all(serviceId) as Array<{ id: number; metric: string; labels: string }>;
  const extentRow = db.prepare(`SELECT min(lo) AS lo, max(hi) AS hi FROM (
      SELECT (SELECT min(ts) FROM points WHERE series_id = se.id) AS lo, (SELECT max(ts) FROM points WHERE series_id = se.id) AS hi
      FROM series se WHERE se.service_id = ?
      UNION ALL SELECT min(ts), max(ts) FROM changes WHERE service_id = ?
      UNION ALL SELECT min(started_ts), max(coalesce(resolved_ts, started_ts)) FROM incidents WHERE service_id = ?)`).get(serviceId, serviceId, serviceId) as { lo: number | null; hi: number | null };
  const extent = extentRow.lo !== null && extentRow.hi !== null ? { from: extentRow.lo, until: extentRow.hi } : null;
  const from = input.from ?? extent?.from ?? 0;
  const until = Math.max(input.until ?? extent?.until ?? 0, from + 1);
  let bucketMs = Math.max(1, Math.ceil((until - from + 1) / input.maxBuckets));
  // Wide buckets read the coarsest rollup that fits, aligned so each rollup row falls in exactly
  // one bucket; narrow ones read the points. Parameters bind as REAL, hence the integer casts.
  const level = [...ROLLUP_LEVELS].reverse().find((l) => bucketMs >= l);
  let origin = from;
  let bucketStmt;
  if (level !== undefined) {
    bucketMs = Math.ceil(bucketMs / level) * level;
    origin = floorTo(from, level);
    bucketStmt = db.prepare(`SELECT CAST((bucket_ts - @from) / @bucket AS INTEGER) AS b, min(lo), max(hi), sum(total) / sum(n)
      FROM point_rollups WHERE series_id = @id AND level = CAST(@level AS INTEGER) AND bucket_ts >= @from AND bucket_ts <= @until GROUP BY b ORDER BY b`).raw();
  } else {
    bucketStmt = db.prepare(`SELECT CAST((ts - @from) / @bucket AS INTEGER) AS b, min(value), max(value), avg(value)
      FROM points WHERE series_id = @id AND ts >= @from AND ts <= @until GROUP BY b ORDER BY b`).raw();
  }
  const changes = db.prepare(`SELECT ${CHANGE_COLUMNS} FROM changes c JOIN services s ON s.id = c.service_id
    WHERE c.service_id = ? AND c.ts >= ? AND c.ts <= ? ORDER BY c.ts LIMIT ${MAX_MARKERS}`).all(serviceId, from, until) as Record<string, unknown>[];
  const incidents = db.prepare(`SELECT ${INCIDENT_COLUMNS} FROM incidents i JOIN services s ON s.id = i.service_id
    WHERE i.service_id = ? AND i.started_ts <= ? AND coalesce(i.resolved_ts, i.started_ts) >= ? ORDER BY i.started_ts LIMIT ${MAX_MARKERS}`).all(serviceId, until, from) as Record<string, unknown>[];
  const alerts = db.prepare(`SELECT ${ALERT_COLUMNS} FROM alerts a JOIN services s ON s.id = a.service_id
    WHERE a.service_id = ? AND a.ts >= ? AND a.ts <= ? ORDER BY a.ts LIMIT ${MAX_MARKERS}`).all(serviceId, from, until) as Record<string, unknown>[];
  return {
    service: input.service, from, until, extent,
    series: series.map((s) => ({
      seriesId: s.id, metric: s.metric, labels: JSON.parse(s.labels), bucketMs,
      buckets: (bucketStmt.all({ id: s.id, from: origin, until, bucket: bucketMs, ...(level !== undefined ? { level } : {}) }) as Array<[number, number, number, number]>)
        .map(([b, lo, hi, mean]) => [origin + b * bucketMs, lo, hi, mean] as [number, number, number, number]),
    })),
    changes: changes.map(toChange),
    incidents: incidents.map(toIncident),
    alerts: alerts.map(toAlert),
    // Past the cap the markers are the first ones by time: say how many the range really holds.
    ...(changes.length === MAX_MARKERS ? { changesInRange: db.prepare('SELECT count(*) FROM changes WHERE service_id = ? AND ts >= ? AND ts <= ?').pluck().get(serviceId, from, until) as number } : {}),
    ...(input.risk ? changeRisk(db, input.risk, changes.map((c) => c.id as number)) : {}),
    ...(input.detectionRunId !== undefined ? { modelAlerts: (db.prepare(`SELECT m.name || ' v' || m.version AS model, a.start_ts AS start, a.end_ts AS "end", a.explanation
        FROM detection_alerts a JOIN models m ON m.id = a.model_id WHERE a.run_id = ? AND a.service_id = ? AND a.start_ts <= ? AND a.end_ts >= ?
        ORDER BY a.start_ts LIMIT ${MAX_MARKERS}`).all(input.detectionRunId, serviceId, until, from) as Array<{ model: string; start: number; end: number; explanation: string }>) } : {}),
  };
}

function changeRisk(db: Db, risk: { runId: number; modelId: number }, ids: number[]): { risk: Record<string, number>; riskThreshold?: number } {
  const out: Record<string, number> = {};
  const stmt = db.prepare('SELECT score FROM suggestions WHERE run_id = ? AND model_id = ? AND change_id = ? AND score IS NOT NULL').pluck();
  for (const id of ids) {
    const score = stmt.get(risk.runId, risk.modelId, id) as number | undefined;
    if (score !== undefined) out[String(id)] = score;
  }
  const config = db.prepare('SELECT config FROM runs WHERE id = ?').pluck().get(risk.runId) as string | undefined;
  const threshold = config ? (JSON.parse(config) as { thresholds?: Record<string, number> }).thresholds?.[String(risk.modelId)] : undefined;
  const modelThreshold = threshold ?? (() => {
    const manifest = db.prepare('SELECT manifest FROM models WHERE id = ?').pluck().get(risk.modelId) as string | undefined;
    if (!manifest) return undefined;
    const m = JSON.parse(manifest) as { kind: string; threshold?: number; manifest?: { threshold: number } };
    return m.kind === 'onnx' ? m.manifest?.threshold : m.threshold;
  })();
  return { risk: out, ...(modelThreshold !== undefined ? { riskThreshold: modelThreshold } : {}) };
}
