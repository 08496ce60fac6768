import type { Db } from '../db/workspace.js';
import type { Outcome } from './outcomes.js';

/**
 * Point-in-time features of changes (DESIGN.md §5). The value for a change at time t uses only
 * what was knowable at t: incidents count from their detection, failures from the moment they
 * were known, history strictly before t. Every builder is tested for leakage by adding the future
 * and checking the past does not move.
 */
export const HISTORY_FEATURES = {
  service_changes_7d: 'changes to the same service in the 7 days before',
  hours_since_prev_change: 'hours since the previous change to the same service (720 if none in 30 days)',
  service_incidents_30d: 'incidents on the service detected in the 30 days before',
  author_changes_90d: 'changes by the same author in the 90 days before',
  service_failed_change_rate_90d: 'share of the service\'s changes in the 90 days before whose failure was already known',
  hour_of_day: 'hour of the day, UTC',
  is_weekend: '1 on Saturday and Sunday, UTC',
  service_tier: 'tier of the service (1 = most critical; 3 if unknown)',
} as const;

export type HistoryFeature = keyof typeof HISTORY_FEATURES;

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export interface ChangeRow {
  id: number;
  externalId: string;
  serviceId: number;
  ts: number;
  author: string | null;
  attributes: Record<string, number>;
  /** the source's explicit outcome label, if it has one */
  outcome: number | null;
}

export interface FeatureCatalog {
  history: HistoryFeature[];
  attributes: string[];
  /** `telemetry_<metric>_1h`: the service's mean of that metric over the hour before the change */
  telemetry: string[];
}

export const TELEMETRY_PREFIX = 'telemetry_';
export const TELEMETRY_SUFFIX = '_1h';

/** Every name a model may ask for, in catalog order. */
export function allFeatures(catalog: FeatureCatalog): string[] {
  return [...catalog.history, ...catalog.attributes, ...catalog.telemetry];
}

/** Every feature a model may name: the history builders and every numeric change attribute in the workspace. */
export function featureCatalog(db: Db): FeatureCatalog {
  const attributes = new Set<string>();
  for (const json of db.prepare("SELECT DISTINCT attributes FROM changes WHERE attributes != '{}' LIMIT 10000").pluck().all() as string[]) {
    for (const key of Object.keys(JSON.parse(json) as object)) attributes.add(key);
  }
  const metrics = db.prepare('SELECT DISTINCT metric FROM series ORDER BY metric').pluck().all() as string[];
  return { history: Object.keys(HISTORY_FEATURES) as HistoryFeature[], attributes: [...attributes].sort(), telemetry: metrics.map((m) => `${TELEMETRY_PREFIX}${m}${TELEMETRY_SUFFIX}`) };
}

/**
 * No history feature looks further back than this (author_changes_90d and
 * service_failed_change_rate_90d are the longest): one change's features need only the changes in
 * [t − HISTORY_WINDOW_MS, t]. A test checks windowed history gives every change the same values.
 */
export const HISTORY_WINDOW_MS = 90 * DAY;

/** The workspace's changes in time order; `around` keeps those in the history window of one time. */
export function loadChanges(db: Db, around?: number): ChangeRow[] {
  // Raw rows (arrays) cost about half what named-column objects do, and a replay loads every change.
  const sql = `SELECT id, external_id, service_id, ts, author, attributes, outcome FROM changes${around === undefined ? '' : ' WHERE ts >= ? AND ts <= ?'} ORDER BY ts, id`;
  const stmt = db.prepare(sql).raw();
  const rows = (around === undefined ? stmt.all() : stmt.all(around - HISTORY_WINDOW_MS, around)) as Array<[number, string, number, number, string | null, string, number | null]>;
  const out = new Array<ChangeRow>(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    out[i] = { id: r[0], externalId: r[1], serviceId: r[2], ts: r[3], author: r[4], attributes: r[5] === '{}' ? {} : JSON.parse(r[5]) as Record<string, number>, outcome: r[6] };
  }
  return out;
}

// Hour and weekday from epoch arithmetic rather than a Date per change (a replay asks for 100k):
// UTC has no leap seconds in epoch ms, and 1970-01-01 was a Thursday.
export const utcHour = (ts: number): number => Math.floor((((ts % DAY) + DAY) % DAY) / HOUR);
/** 0 = Sunday, as Date.getUTCDay */
export const utcWeekday = (ts: number): number => (((Math.floor(ts / DAY) + 4) % 7) + 7) % 7;

function lowerBoundBy(sorted: ReadonlyArray<{ ts: number }>, value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]!.ts < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Index of the first element >= value in a sorted array. */
function lowerBound(sorted: readonly number[], value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The feature matrix (row-major, one row per change in `changes` order) for `names`. Unknown
 * names are an error naming what is available; a change without an attribute gets 0 for it.
 */
export function buildFeatures(db: Db, changes: readonly ChangeRow[], names: readonly string[], outcomes: Map<number, Outcome>, history?: readonly ChangeRow[]): number[][] {
  const columns = buildFeatureColumns(db, changes, names, outcomes, history);
  return changes.map((_, i) => columns.map((c) => c[i]!));
}

/**
 * The same values as buildFeatures, one column per name. A replay builds 100k rows × d features:
 * a column at a time it is one tight loop per feature instead of a name switch per value.
 */
export function buildFeatureColumns(db: Db, changes: readonly ChangeRow[], names: readonly string[], outcomes: Map<number, Outcome>, history?: readonly ChangeRow[]): Float64Array[] {
  // History comes from every change in the workspace, not just the subjects; callers that already
  // loaded them pass them in (loading 100k changes costs more than building their features).
  const all = history ?? loadChanges(db);
  // A name is known if it is a history feature, a metric's telemetry, or an attribute of some change
  // (found by looking, which is quicker than listing every attribute; the full catalog only for the error).
  const metrics = new Set(db.prepare('SELECT DISTINCT metric FROM series').pluck().all() as string[]);
  let catalog: FeatureCatalog | null = null;
  // An attribute is found in the history at hand, or else (a windowed history) in the workspace's catalog.
  const missing = names.filter((n) => !Object.hasOwn(HISTORY_FEATURES, n)
    && !(n.startsWith(TELEMETRY_PREFIX) && n.endsWith(TELEMETRY_SUFFIX) && metrics.has(n.slice(TELEMETRY_PREFIX.length, -TELEMETRY_SUFFIX.length)))
    && !all.some((c) => Object.hasOwn(c.attributes, n))
    && !(catalog ??= featureCatalog(db)).attributes.includes(n));
  if (missing.length > 0) {
    throw new Error(`unknown feature${missing.length > 1 ? 's' : ''} ${missing.join(', ')}; available: ${allFeatures(catalog ?? featureCatalog(db)).join(', ')}`);
  }
  const serviceTimes = new Map<number, number[]>();
  const authorTimes = new Map<string, number[]>();
  const serviceFailures = new Map<number, Array<{ ts: number; knownAt: number }>>();
  for (const c of all) {
    (serviceTimes.get(c.serviceId) ?? serviceTimes.set(c.serviceId, []).get(c.serviceId)!).push(c.ts);
    if (c.author) (authorTimes.get(c.author) ?? authorTimes.set(c.author, []).get(c.author)!).push(c.ts);
    const o = outcomes.get(c.id);
    if (o?.label === 1 && o.knownAt !== null) (serviceFailures.get(c.serviceId) ?? serviceFailures.set(c.serviceId, []).get(c.serviceId)!).push({ ts: c.ts, knownAt: o.knownAt });
  }
  const incidentKnown = new Map<number, number[]>();
  for (const r of db.prepare('SELECT service_id, coalesce(detected_ts, started_ts) AS known FROM incidents ORDER BY known').all() as Array<{ service_id: number; known: number }>) {
    (incidentKnown.get(r.service_id) ?? incidentKnown.set(r.service_id, []).get(r.service_id)!).push(r.known);
  }
  const tiers = new Map((db.prepare('SELECT id, tier FROM services').all() as Array<{ id: number; tier: number | null }>).map((s) => [s.id, s.tier ?? 3]));

  // Counting strictly before t ([t - window, t)) keeps a change from seeing itself or anything simultaneous.
  const countIn = (times: readonly number[] | undefined, from: number, until: number): number => (times ? lowerBound(times, until) - lowerBound(times, from) : 0);
  // Telemetry before the change: strictly before t, so the change's own effect is never seen.
  const telemetryMean = db.prepare(`SELECT avg(p.value) FROM points p JOIN series s ON s.id = p.series_id
    WHERE s.service_id = ? AND s.metric = ? AND p.ts >= ? AND p.ts < ?`).pluck();
  const n = changes.length;
  const fill = (value: (c: ChangeRow) => number): Float64Array => {
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) out[i] = value(changes[i]!);
    return out;
  };
  const column = (name: string): Float64Array => {
    if (name.startsWith(TELEMETRY_PREFIX) && name.endsWith(TELEMETRY_SUFFIX)) {
      const metric = name.slice(TELEMETRY_PREFIX.length, -TELEMETRY_SUFFIX.length);
      // A change attribute of the same name wins; no telemetry in that hour reads as 0, like a missing attribute.
      return fill((c) => (Object.hasOwn(c.attributes, name) ? c.attributes[name]! : (telemetryMean.get(c.serviceId, metric, c.ts - HOUR, c.ts) as number | null) ?? 0));
    }
    switch (name) {
      case 'service_changes_7d': return fill((c) => countIn(serviceTimes.get(c.serviceId), c.ts - 7 * DAY, c.ts));
      case 'hours_since_prev_change': return fill((c) => {
        const times = serviceTimes.get(c.serviceId)!;
        const i = lowerBound(times, c.ts);
        return i === 0 ? 720 : Math.min(720, (c.ts - times[i - 1]!) / HOUR);
      });
      case 'service_incidents_30d': return fill((c) => countIn(incidentKnown.get(c.serviceId), c.ts - 30 * DAY, c.ts));
      case 'author_changes_90d': return fill((c) => (c.author ? countIn(authorTimes.get(c.author), c.ts - 90 * DAY, c.ts) : 0));
      case 'service_failed_change_rate_90d': return fill((c) => {
        const from = c.ts - 90 * DAY;
        const total = countIn(serviceTimes.get(c.serviceId), from, c.ts);
        if (total === 0) return 0;
        // Failures are in change-time order: look only at the ones inside the window.
        const failures = serviceFailures.get(c.serviceId) ?? [];
        let failed = 0;
        for (let k = lowerBoundBy(failures, from); k < failures.length && failures[k]!.ts < c.ts; k++) if (failures[k]!.knownAt < c.ts) failed++;
        return failed / total;
      });
      case 'hour_of_day': return fill((c) => utcHour(c.ts));
      case 'is_weekend': return fill((c) => {
        const day = utcWeekday(c.ts);
        return day === 0 || day === 6 ? 1 : 0;
      });
      case 'service_tier': return fill((c) => tiers.get(c.serviceId) ?? 3);
      default: return fill((c) => c.attributes[name] ?? 0);
    }
  };
  return names.map(column);
}
