import type { Db } from '../db/workspace.js';
import type { ImportConflict } from '../../../shared/contract/records.js';
import type { ChangeRow, IncidentRow, NormalRow, TelemetryRow } from '../../../shared/domain/normalize.js';
import { floorTo, refreshRollups, ROLLUP_LEVELS } from '../db/rollups.js';

/**
 * Writes validated rows with prepared statements. It never opens or commits a transaction: the
 * import owns that, so a whole file lands or none of it does.
 */
export interface RecordWriter {
  /** Writes a row that is not telemetry. */
  write(row: Exclude<NormalRow, TelemetryRow>): void;
  /** A series' id, created if new (labels as JSON text, `{}` for none). Ask once per series. */
  series(service: string, metric: string, labelsJson: string): number;
  /** Queues one point of a series from `series()` for a multi-row insert. */
  point(seriesId: number, ts: number, value: number): void;
  /**
   * Writes what is queued; returns, since the last flush, the rows added, the duplicates skipped,
   * and which of those the workspace holds with other values (the first CONFLICTS_KEPT of them).
   */
  flush(): WriteCounts;
  /** Series that received points, with the time range written, for refreshing their rollups. */
  touchedSeries(): Map<number, [number, number]>;
  /** Brings one touched series' rollups up to date (call after the last flush). */
  writeRollups(seriesId: number): void;
}

/**
 * `differing`: telemetry duplicates whose value is not the one kept (the same series and time twice,
 * in the file or against the workspace, with another number): a resampled or doubled export, not a
 * harmless repeat, so they are counted apart.
 */
export interface WriteCounts { added: number; duplicates: number; conflicting: number; conflicts: ImportConflict[]; differing: number }

/** Conflicts described one by one; the rest are counted. */
export const CONFLICTS_KEPT = 20;

/** Hourly min, max, sum and count of one series' points, kept as they are written. */
interface Hours { buckets: Map<number, [number, number, number, number]>; lastBucket: number; last: [number, number, number, number] | null }

/**
 * Points per INSERT: one statement with 64 rows costs about a third of 64 single-row statements
 * (measured 0.95M vs 0.31M rows/s into the points table); more rows per statement gain nothing.
 */
const POINTS_PER_INSERT = 64;

/** A series' labels as stored: JSON text, `{}` when there are none. */
export function labelsText(labels: Record<string, string>): string {
  // Most telemetry has no labels; skip serialising an empty object for every point.
  for (const _ in labels) return JSON.stringify(labels);
  return '{}';
}

export function createWriter(db: Db, sourceId: number, options: { updateExisting: boolean } = { updateExisting: false }): RecordWriter {
  const serviceIds = new Map<string, number>();
  // Services this import created only because something referred to them; their own row, when it
  // comes, is new data rather than a duplicate.
  const stubs = new Set<string>();
  const q = {
    insertService: db.prepare('INSERT INTO services (name) VALUES (?) ON CONFLICT (name) DO NOTHING'),
    serviceId: db.prepare('SELECT id FROM services WHERE name = ?').pluck(),
    upsertService: db.prepare(`INSERT INTO services (name, tier, team) VALUES (?, ?, ?)
      ON CONFLICT (name) DO UPDATE SET tier = coalesce(excluded.tier, tier), team = coalesce(excluded.team, team)`),
    insertDependency: db.prepare('INSERT OR IGNORE INTO service_dependencies (service_id, depends_on_id) VALUES (?, ?)'),
    insertSeries: db.prepare('INSERT INTO series (service_id, metric, labels) VALUES (?, ?, ?) ON CONFLICT DO NOTHING'),
    seriesId: db.prepare('SELECT id FROM series WHERE service_id = ? AND metric = ? AND labels = ?').pluck(),
    insertPoint: db.prepare('INSERT OR IGNORE INTO points (series_id, ts, value) VALUES (?, ?, ?)'),
    storedValue: db.prepare('SELECT value FROM points WHERE series_id = ? AND ts = ?').pluck(),
    // How many of a statement's points read back as another value than they carry (one query, not 64).
    differingIn: db.prepare(`SELECT count(*) FROM points p JOIN (VALUES ${'(?, ?, ?), '.repeat(POINTS_PER_INSERT - 1)}(?, ?, ?)) v
      ON p.series_id = v.column1 AND p.ts = v.column2 WHERE p.value <> v.column3`).pluck(),
    insertPoints: db.prepare(`INSERT OR IGNORE INTO points (series_id, ts, value) VALUES ${'(?, ?, ?), '.repeat(POINTS_PER_INSERT - 1)}(?, ?, ?)`),
    insertChange: db.prepare(`INSERT OR IGNORE INTO changes
      (external_id, service_id, ts, kind, author, version, description, attributes, rolled_back, outcome, source_id)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
    insertIncident: db.prepare(`INSERT OR IGNORE INTO incidents
      (external_id, service_id, severity, started_ts, detected_ts, mitigated_ts, resolved_ts, cause_change_id, title, source_id)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
    findLog: db.prepare("SELECT id FROM models WHERE kind = 'imported-log' AND task = 'change-risk' AND name = ? AND json_extract(manifest, '$.logVersion') = ?").pluck(),
    nextVersion: db.prepare('SELECT coalesce(max(version), 0) + 1 FROM models WHERE name = ?').pluck(),
    insertLog: db.prepare(`INSERT INTO models (name, version, task, kind, sha256, onnx, manifest, notes, created_at)
      VALUES (?, ?, 'change-risk', 'imported-log', ?, NULL, ?, '[]', ?)`),
    findDetectorLog: db.prepare("SELECT id FROM models WHERE kind = 'imported-log' AND task = 'detection' AND name = ? AND json_extract(manifest, '$.logVersion') = ?").pluck(),
    insertDetectorLog: db.prepare(`INSERT INTO models (name, version, task, kind, sha256, onnx, manifest, notes, created_at)
      VALUES (?, ?, 'detection', 'imported-log', ?, NULL, ?, '[]', ?)`),
    insertDetectorScore: db.prepare('INSERT OR IGNORE INTO logged_detector_scores (model_id, service_id, ts, score, source_id) VALUES (?, ?, ?, ?, ?)'),
    insertScore: db.prepare('INSERT OR IGNORE INTO logged_scores (model_id, subject, score, latency_ms, source_id) VALUES (?, ?, ?, ?, ?)'),
    storedChange: db.prepare(`SELECT c.ts AS timestamp, s.name AS service, c.kind, c.author, c.version, c.description, c.attributes, c.rolled_back, c.outcome, c.source_id
      FROM changes c JOIN services s ON s.id = c.service_id WHERE c.external_id = ?`),
    storedIncident: db.prepare(`SELECT s.name AS service, i.severity, i.started_ts AS started, i.detected_ts AS detected, i.mitigated_ts AS mitigated, i.resolved_ts AS resolved, i.cause_change_id, i.title, i.source_id
      FROM incidents i JOIN services s ON s.id = i.service_id WHERE i.external_id = ?`),
    updateChange: db.prepare(`UPDATE changes SET service_id = ?, ts = ?, kind = ?, author = ?, version = ?, description = ?, attributes = ?,
      rolled_back = ?, outcome = ?, source_id = ? WHERE external_id = ?`),
    updateIncident: db.prepare(`UPDATE incidents SET service_id = ?, severity = ?, started_ts = ?, detected_ts = ?, mitigated_ts = ?, resolved_ts = ?,
      cause_change_id = ?, title = ?, source_id = ? WHERE external_id = ?`),
    insertAlert: db.prepare(`INSERT OR IGNORE INTO alerts
      (external_id, service_id, ts, resolved_ts, name, metric, severity, source_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
  };

  function serviceId(name: string): number {
    let id = serviceIds.get(name);
    if (id === undefined) {
      if (q.insertService.run(name).changes > 0) stubs.add(name);
      id = q.serviceId.get(name) as number;
      serviceIds.set(name, id);
    }
    return id;
  }

  // Asked once per series: the importer numbers its series as they appear (points-batch.ts).
  function seriesFor(service: string, metric: string, labelsJson: string): number {
    const svc = serviceId(service);
    const created = q.insertSeries.run(svc, metric, labelsJson).changes > 0;
    const id = q.seriesId.get(svc, metric, labelsJson) as number;
    // A series this import created has no points but ours: its rollups can be summed as the
    // points go by instead of read back from the table (which costs a tenth of the import).
    if (created) hours.set(id, { buckets: new Map(), lastBucket: Number.NaN, last: null });
    return id;
  }

  // One registry entry per (model, version) a log names: a log of change scores is evaluated like a
  // change-risk model run here, a log of per-step scores like a detector.
  const logRegistry = (kind: 'imported-log' | 'detector-log', find: typeof q.findLog, insert: typeof q.insertLog) => {
    const ids = new Map<string, number>();
    return (name: string, version: string): number => {
      const key = `${name}\u0000${version}`;
      let id = ids.get(key) ?? (find.get(name, version) as number | undefined);
      if (id === undefined) {
        const manifest = JSON.stringify({ kind, name, logVersion: version, threshold: 0.5, sourceId });
        id = Number(insert.run(name, q.nextVersion.get(name), `log:${sourceId}:${version}`, manifest, Date.now()).lastInsertRowid);
      }
      ids.set(key, id);
      return id;
    };
  };
  const logModel = logRegistry('imported-log', q.findLog, q.insertLog);
  const detectorLog = logRegistry('detector-log', q.findDetectorLog, q.insertDetectorLog);
  const touched = new Map<number, [number, number]>();
  const hours = new Map<number, Hours>();
  const [HOUR, DAY] = ROLLUP_LEVELS;
  const sumHour = (h: Hours, ts: number, value: number): void => {
    const bucket = floorTo(ts, HOUR);
    let acc = bucket === h.lastBucket ? h.last : h.buckets.get(bucket);
    if (!acc) h.buckets.set(bucket, (acc = [value, value, 0, 0]));
    if (value < acc[0]) acc[0] = value;
    if (value > acc[1]) acc[1] = value;
    acc[2] += value;
    acc[3]++;
    h.lastBucket = bucket;
    h.last = acc;
  };
  // Merged into what is there: buckets are written out as a series collects them (memory must not
  // grow with the file), and a late point can land in an hour already written.
  const upsertHour = db.prepare(`INSERT INTO point_rollups (series_id, level, bucket_ts, lo, hi, total, n) VALUES (?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (series_id, level, bucket_ts) DO UPDATE SET lo = min(lo, excluded.lo), hi = max(hi, excluded.hi), total = total + excluded.total, n = n + excluded.n`);
  const daysFromHours = db.prepare(`INSERT INTO point_rollups (series_id, level, bucket_ts, lo, hi, total, n)
    SELECT series_id, CAST(@day AS INTEGER), bucket_ts - (((bucket_ts % CAST(@day AS INTEGER)) + CAST(@day AS INTEGER)) % CAST(@day AS INTEGER)) AS b,
      min(lo), max(hi), sum(total), sum(n)
    FROM point_rollups WHERE series_id = @id AND level = CAST(@hour AS INTEGER) GROUP BY b`);
  const HELD_HOURS = 256;
  const writeHours = (id: number, h: Hours): void => {
    for (const [bucket, [lo, hi, total, n]] of h.buckets) upsertHour.run(id, HOUR, bucket, lo, hi, total, n);
    h.buckets.clear();
    h.lastBucket = Number.NaN;
    h.last = null;
  };
  const touch = (id: number, ts: number): void => {
    const range = touched.get(id);
    if (!range) touched.set(id, [ts, ts]);
    else if (ts < range[0]) range[0] = ts;
    else if (ts > range[1]) range[1] = ts;
  };

  const flag = (value: boolean | null): number | null => (value === null ? null : value ? 1 : 0);

  let added = 0;
  let written = 0;
  let differing = 0;
  // Only a statement that skipped some of its points pays for looking at them: each point is read
  // back, and one whose stored value is another number was a duplicate with a different value
  // (a point this statement stored reads back as itself).
  const countDiffering = (from: number, rows: number): void => {
    if (from === 0 && rows === POINTS_PER_INSERT) {
      differing += q.differingIn.get(queued) as number;
      return;
    }
    for (let r = from; r < from + rows; r++) {
      const stored = q.storedValue.get(queued[r * 3], queued[r * 3 + 1]) as number | undefined;
      if (stored !== undefined && stored !== queued[r * 3 + 2]) differing++;
    }
  };
  const queued: number[] = new Array<number>(POINTS_PER_INSERT * 3);
  let queuedRows = 0;
  const insertQueued = (): void => {
    const changes = q.insertPoints.run(queued).changes;
    // A repeat was ignored somewhere in this statement: the sums of its series no longer match
    // the table, so those series fall back to reading their rollups from it.
    if (changes < POINTS_PER_INSERT) {
      for (let r = 0; r < POINTS_PER_INSERT; r++) hours.delete(queued[r * 3]!);
      countDiffering(0, POINTS_PER_INSERT);
    }
    added += changes;
    written += POINTS_PER_INSERT;
    queuedRows = 0;
  };
  // A change or incident that is already there may have moved on since (resolved, rolled back): the
  // stored row is kept, and the difference said, rather than counted as one more duplicate.
  let conflicting = 0;
  let described = 0;
  let conflicts: ImportConflict[] = [];
  // `given` is keyed by the stored columns' names as the files call them (the queries alias them so).
  // With updateExisting the file's row replaces the stored one (and this import becomes its source).
  const compare = (kind: ImportConflict['kind'], id: string, stored: Record<string, unknown> | undefined, given: Record<string, unknown>): boolean => {
    if (!stored) return false;
    const fields = Object.keys(given).filter((k) => stored[k] !== given[k]);
    if (fields.length === 0) return false;
    conflicting++;
    if (described++ < CONFLICTS_KEPT) conflicts.push({ kind, id, fields, sourceId: stored.source_id as number });
    return options.updateExisting;
  };
  const checkChange = (row: ChangeRow): boolean => compare('changes', row.externalId, q.storedChange.get(row.externalId) as Record<string, unknown> | undefined, {
    timestamp: row.ts, service: row.service, kind: row.changeKind, author: row.author, version: row.version, description: row.description,
    attributes: JSON.stringify(row.attributes), rolled_back: flag(row.rolledBack), outcome: row.outcome,
  });
  const checkIncident = (row: IncidentRow): boolean => compare('incidents', row.externalId, q.storedIncident.get(row.externalId) as Record<string, unknown> | undefined, {
    service: row.service, severity: row.severity, started: row.startedTs, detected: row.detectedTs, mitigated: row.mitigatedTs,
    resolved: row.resolvedTs, cause_change_id: row.causeChangeId, title: row.title,
  });
  const counted = (isNew: boolean): void => {
    written++;
    if (isNew) added++;
  };
  const point = (id: number, ts: number, value: number): void => {
    // Every queued point widens its series' range, duplicates too: the rollups over that range
    // are recomputed from what is stored, so a wider range costs a little time and nothing else.
    touch(id, ts);
    const h = hours.get(id);
    if (h) {
      sumHour(h, ts, value);
      if (h.buckets.size > HELD_HOURS) writeHours(id, h);
    }
    const k = queuedRows * 3;
    queued[k] = id;
    queued[k + 1] = ts;
    queued[k + 2] = value;
    if (++queuedRows === POINTS_PER_INSERT) insertQueued();
  };
  const write = (row: Exclude<NormalRow, TelemetryRow>): boolean => {
    switch (row.kind) {
      case 'changes': {
        const isNew = q.insertChange.run(row.externalId, serviceId(row.service), row.ts, row.changeKind, row.author, row.version,
          row.description, JSON.stringify(row.attributes), flag(row.rolledBack), row.outcome, sourceId).changes > 0;
        if (!isNew && checkChange(row)) {
          q.updateChange.run(serviceId(row.service), row.ts, row.changeKind, row.author, row.version, row.description, JSON.stringify(row.attributes),
            flag(row.rolledBack), row.outcome, sourceId, row.externalId);
        }
        return isNew;
      }
      case 'incidents': {
        const isNew = q.insertIncident.run(row.externalId, serviceId(row.service), row.severity, row.startedTs, row.detectedTs,
          row.mitigatedTs, row.resolvedTs, row.causeChangeId, row.title, sourceId).changes > 0;
        if (!isNew && checkIncident(row)) {
          q.updateIncident.run(serviceId(row.service), row.severity, row.startedTs, row.detectedTs, row.mitigatedTs, row.resolvedTs,
            row.causeChangeId, row.title, sourceId, row.externalId);
        }
        return isNew;
      }
      case 'alerts':
        return q.insertAlert.run(row.externalId, serviceId(row.service), row.ts, row.resolvedTs, row.name, row.metric,
          row.severity, sourceId).changes > 0;
      case 'predictions':
        return q.insertScore.run(logModel(row.model, row.version), row.subject, row.score, row.latencyMs, sourceId).changes > 0;
      case 'detector-scores':
        return q.insertDetectorScore.run(detectorLog(row.model, row.version), serviceId(row.service), row.ts, row.score, sourceId).changes > 0;
      case 'services': {
        const existed = q.serviceId.get(row.name) !== undefined && !stubs.delete(row.name);
        q.upsertService.run(row.name, row.tier, row.team);
        const id = q.serviceId.get(row.name) as number;
        serviceIds.set(row.name, id);
        let isNew = !existed;
        for (const dep of row.dependsOn) isNew = q.insertDependency.run(id, serviceId(dep)).changes > 0 || isNew;
        return isNew;
      }
    }
  };

  return {
    series: seriesFor,
    point,
    touchedSeries: () => touched,
    writeRollups(seriesId) {
      const h = hours.get(seriesId);
      const range = touched.get(seriesId);
      if (!h) {
        if (range) refreshRollups(db, seriesId, range[0], range[1]);
        return;
      }
      writeHours(seriesId, h);
      // Days from the hours just written: a new series has no day rollups yet.
      daysFromHours.run({ day: DAY, hour: HOUR, id: seriesId });
      hours.delete(seriesId);
    },
    write(row) {
      counted(write(row));
    },
    flush() {
      // The tail of the queue, one row at a time, in the order it came.
      for (let r = 0; r < queuedRows; r++) {
        const isNew = q.insertPoint.run(queued[r * 3], queued[r * 3 + 1], queued[r * 3 + 2]).changes > 0;
        if (!isNew) {
          hours.delete(queued[r * 3]!);
          countDiffering(r, 1);
        }
        counted(isNew);
      }
      queuedRows = 0;
      const out = { added, duplicates: written - added, conflicting, conflicts, differing };
      added = 0;
      written = 0;
      differing = 0;
      conflicting = 0;
      conflicts = [];
      return out;
    },
  };
}
