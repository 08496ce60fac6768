import type { Alert, Change, Incident, Service, SeriesInfo, Source, WorkspaceInfo } from '../../../shared/contract/records.js';
import type { Db } from '../db/workspace.js';

/** Read-side queries: rows in, contract records out. Every value is bound, never spliced. */

type Row = Record<string, unknown>;

export function workspaceInfo(db: Db, path: string, name: string): WorkspaceInfo {
  const count = (table: string): number => db.prepare(`SELECT count(*) FROM ${table}`).pluck().get() as number;
  const range = db.prepare(`SELECT min(lo) AS lo, max(hi) AS hi FROM (
      SELECT min(ts) AS lo, max(ts) AS hi FROM points
      UNION ALL SELECT min(ts), max(ts) FROM changes
      UNION ALL SELECT min(started_ts), max(coalesce(resolved_ts, started_ts)) FROM incidents)`).get() as { lo: number | null; hi: number | null };
  return {
    path, name,
    schemaVersion: db.pragma('user_version', { simple: true }) as number,
    counts: {
      sources: count('sources'), services: count('services'), series: count('series'), points: count('points'),
      changes: count('changes'), incidents: count('incidents'), alerts: count('alerts'),
    },
    range: range.lo !== null && range.hi !== null ? { from: range.lo, until: range.hi } : null,
  };
}

export function listSources(db: Db): Source[] {
  return (db.prepare('SELECT * FROM sources ORDER BY id DESC').all() as Row[]).map((r) => ({
    id: r.id as number, kind: r.kind as Source['kind'], format: r.format as Source['format'], fileName: r.file_name as string,
    sha256: r.sha256 as string, bytes: r.byte_size as number, rowsAccepted: r.rows_accepted as number, rowsRejected: r.rows_rejected as number,
    importedAt: r.imported_at as number, report: JSON.parse(r.report as string),
  }));
}

export function listServices(db: Db): Service[] {
  const deps = db.prepare(`SELECT d.service_id AS id, s.name AS dep FROM service_dependencies d JOIN services s ON s.id = d.depends_on_id ORDER BY s.name`).all() as Array<{ id: number; dep: string }>;
  const rows = db.prepare(`SELECT s.id, s.name, s.tier, s.team,
      (SELECT count(*) FROM series WHERE service_id = s.id) AS series,
      (SELECT count(*) FROM changes WHERE service_id = s.id) AS changes,
      (SELECT count(*) FROM incidents WHERE service_id = s.id) AS incidents
    FROM services s ORDER BY coalesce(s.tier, 99), s.name`).all() as Row[];
  return rows.map((r) => ({
    id: r.id as number, name: r.name as string, tier: (r.tier as number | null) ?? null, team: (r.team as string | null) ?? null,
    dependsOn: deps.filter((d) => d.id === r.id).map((d) => d.dep),
    series: r.series as number, changes: r.changes as number, incidents: r.incidents as number,
  }));
}

export function listSeries(db: Db, service: string): SeriesInfo[] {
  // Per-series bounds come from the primary key, so this stays cheap at millions of points.
  const rows = db.prepare(`SELECT se.id, se.metric, se.labels,
      (SELECT min(ts) FROM points WHERE series_id = se.id) AS lo,
      (SELECT max(ts) FROM points WHERE series_id = se.id) AS hi
    FROM series se JOIN services s ON s.id = se.service_id WHERE s.name = ? ORDER BY se.metric, se.labels`).all(service) as Row[];
  const countStmt = db.prepare('SELECT count(*) FROM points WHERE series_id = ?').pluck();
  return rows.map((r) => ({
    id: r.id as number, service, metric: r.metric as string, labels: JSON.parse(r.labels as string),
    points: countStmt.get(r.id) as number, from: (r.lo as number | null) ?? null, until: (r.hi as number | null) ?? null,
  }));
}

export const CHANGE_COLUMNS = `c.id, c.external_id, s.name AS service, c.ts, c.kind, c.author, c.version, c.description, c.attributes, c.rolled_back, c.outcome`;
export function toChange(r: Row): Change {
  return {
    id: r.id as number, externalId: r.external_id as string, service: r.service as string, ts: r.ts as number, kind: r.kind as string,
    author: (r.author as string | null) ?? null, version: (r.version as string | null) ?? null, description: (r.description as string | null) ?? null,
    attributes: JSON.parse(r.attributes as string), rolledBack: r.rolled_back === null ? null : r.rolled_back === 1,
    outcome: (r.outcome as number | null) ?? null,
  };
}

export const INCIDENT_COLUMNS = `i.id, i.external_id, s.name AS service, i.severity, i.started_ts, i.detected_ts, i.mitigated_ts, i.resolved_ts, i.cause_change_id, i.title`;
export function toIncident(r: Row): Incident {
  return {
    id: r.id as number, externalId: r.external_id as string, service: r.service as string, severity: r.severity as number,
    startedTs: r.started_ts as number, detectedTs: (r.detected_ts as number | null) ?? null, mitigatedTs: (r.mitigated_ts as number | null) ?? null,
    resolvedTs: (r.resolved_ts as number | null) ?? null, causeChangeId: (r.cause_change_id as string | null) ?? null, title: (r.title as string | null) ?? null,
  };
}

export const ALERT_COLUMNS = `a.id, a.external_id, s.name AS service, a.ts, a.resolved_ts, a.name, a.metric, a.severity`;
export function toAlert(r: Row): Alert {
  return {
    id: r.id as number, externalId: r.external_id as string, service: r.service as string, ts: r.ts as number,
    resolvedTs: (r.resolved_ts as number | null) ?? null, name: (r.name as string | null) ?? null, metric: (r.metric as string | null) ?? null,
    severity: (r.severity as number | null) ?? null,
  };
}

interface PageQuery { offset: number; limit: number; service?: string | undefined; order: 'asc' | 'desc' }

const TABLES = {
  changes: { from: 'changes c JOIN services s ON s.id = c.service_id', columns: CHANGE_COLUMNS, time: 'c.ts', id: 'c.id', map: toChange },
  incidents: { from: 'incidents i JOIN services s ON s.id = i.service_id', columns: INCIDENT_COLUMNS, time: 'i.started_ts', id: 'i.id', map: toIncident },
  alerts: { from: 'alerts a JOIN services s ON s.id = a.service_id', columns: ALERT_COLUMNS, time: 'a.ts', id: 'a.id', map: toAlert },
} as const;

/** One page of a table, newest first by default; the UI asks for pages as rows scroll into view. */
export function page<K extends keyof typeof TABLES>(db: Db, table: K, query: PageQuery): { total: number; offset: number; rows: ReturnType<(typeof TABLES)[K]['map']>[] } {
  const t = TABLES[table];
  const where = query.service !== undefined ? 'WHERE s.name = @service' : '';
  const params = { service: query.service, limit: query.limit, offset: query.offset };
  const bound = query.service !== undefined ? params : { limit: params.limit, offset: params.offset };
  const total = db.prepare(`SELECT count(*) FROM ${t.from} ${where}`).pluck().get(query.service !== undefined ? { service: query.service } : {}) as number;
  const order = query.order === 'asc' ? 'ASC' : 'DESC';
  const rows = db.prepare(`SELECT ${t.columns} FROM ${t.from} ${where} ORDER BY ${t.time} ${order}, ${t.id} ${order} LIMIT @limit OFFSET @offset`).all(bound) as Row[];
  return { total, offset: query.offset, rows: rows.map((r) => t.map(r)) as ReturnType<(typeof TABLES)[K]['map']>[] };
}
