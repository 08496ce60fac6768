import type { Db } from '../db/workspace.js';
import type { Outcome } from './outcomes.js';
import { EngineFailure } from '../errors.js';

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

/**
 * How far back each history feature looks. A change less than this after the workspace's first
 * change has a truncated window (its author seems to have made fewer changes than they did): the
 * drift check says how many of the changes it compares are in that warm-up.
 */
export const HISTORY_WINDOW_OF: Record<HistoryFeature, number> = {
  service_changes_7d: 7 * DAY,
  hours_since_prev_change: 30 * DAY,
  service_incidents_30d: 30 * DAY,
  author_changes_90d: 90 * DAY,
  service_failed_change_rate_90d: 90 * DAY,
  hour_of_day: 0,
  is_weekend: 0,
  service_tier: 0,
};

/** The history window a feature needs (0 for attributes and the change's own time). */
export function historyWindowOf(feature: string): number {
  return Object.hasOwn(HISTORY_WINDOW_OF, feature) ? HISTORY_WINDOW_OF[feature as HistoryFeature] : 0;
}

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
export const HISTORY_WINDOW_MS = Math.max(...Object.values(HISTORY_WINDOW_OF));

// Changes cross from SQLite as one JSON array per column per slice: better-sqlite3 builds a JS
// array per row and a string per text cell (~80 ms per text column per 100k rows), while V8's
// JSON.parse reads a whole column in a few ms. Slices keep each string far below V8's size limit.
const LOAD_SLICE = 50_000;
const SLICE_COLUMNS = "count(*), json_group_array(id), json_group_array(external_id), json_group_array(service_id), json_group_array(ts), json_group_array(author), '[' || group_concat(attributes, ',') || ']', json_group_array(outcome)";

type Slice = [number, string, string, string, string, string, string, string];

/** The workspace's changes in time order; `around` keeps those in the history window of one time. `slice`: rows per read (tests make it small). */
export function loadChanges(db: Db, around?: number, slice = LOAD_SLICE): ChangeRow[] {
  // All of them: read in table order (a third quicker than through the time index) and sorted
  // here, which costs nothing when they were imported in time order and little when in reverse
  // (the sort finds the runs). A window is a small range of the time index.
  const inner = around === undefined
    ? (after: string): string => `SELECT id, external_id, service_id, ts, author, attributes, outcome FROM changes WHERE 1${after ? ' AND id > @id' : ''} ORDER BY id LIMIT ${slice}`
    // (ts, id) is the order and changes_by_time is (ts, rowid): the next slice seeks straight to it.
    : (after: string): string => `SELECT id, external_id, service_id, ts, author, attributes, outcome FROM changes WHERE ts >= @from AND ts <= @until${after ? ' AND (ts, id) > (@ts, @id)' : ''} ORDER BY ts, id LIMIT ${slice}`;
  const first = db.prepare(`SELECT ${SLICE_COLUMNS} FROM (${inner('')})`).raw();
  const next = db.prepare(`SELECT ${SLICE_COLUMNS} FROM (${inner('next')})`).raw();
  const window = around === undefined ? {} : { from: around - HISTORY_WINDOW_MS, until: around };
  const out: ChangeRow[] = [];
  let inOrder = true;
  let read = first.get(window) as Slice;
  while (read[0] > 0) {
    const rows = sliceRows(db, read);
    for (const c of rows) {
      const prev = out.length > 0 ? out[out.length - 1]! : null;
      if (prev && (c.ts < prev.ts || (c.ts === prev.ts && c.id < prev.id))) inOrder = false;
      out.push(c);
    }
    if (rows.length < slice) break;
    // Where the next slice starts: past the greatest key read (id, or (ts, id) in a window).
    let key = { ts: -Infinity, id: -Infinity };
    for (const c of rows) if (around === undefined ? c.id > key.id : c.ts > key.ts || (c.ts === key.ts && c.id > key.id)) key = { ts: c.ts, id: c.id };
    read = next.get({ ...window, ...key }) as Slice;
  }
  return inOrder ? out : out.sort((a, b) => a.ts - b.ts || a.id - b.id);
}

/** Changes read together, and their external ids by index (parsed only if one is asked for). */
export interface ChangeSlice {
  rows: ChangeRow[];
  names: SliceIds;
}

/**
 * The workspace's changes in time order, through the time index, as many per call as asked for:
 * what a replay reads while its model scores the changes read before (runs/replay-source.ts).
 * Null after the last.
 */
export function changeReader(db: Db): (slice: number) => ChangeSlice | null {
  const inner = (after: boolean): string => `SELECT id, external_id, service_id, ts, author, attributes, outcome FROM changes${after ? ' WHERE (ts, id) > (@ts, @id)' : ''} ORDER BY ts, id LIMIT @slice`;
  const first = db.prepare(`SELECT ${SLICE_COLUMNS} FROM (${inner(false)})`).raw();
  const next = db.prepare(`SELECT ${SLICE_COLUMNS} FROM (${inner(true)})`).raw();
  let last: ChangeRow | null = null;
  let ended = false;
  return (slice) => {
    if (ended) return null;
    const read = (last === null ? first.get({ slice }) : next.get({ slice, ts: last.ts, id: last.id })) as Slice;
    const got = read[0] > 0 ? replayRows(db, read) : null;
    if (!got || got.rows.length < slice) ended = true;
    if (!got || got.rows.length === 0) return null;
    last = got.rows[got.rows.length - 1]!;
    return got;
  };
}

/** A slice's columns but its external ids, parsed. */
function sliceColumns(db: Db, read: Slice) {
  const ids = JSON.parse(read[1]) as number[];
  return {
    ids, services: JSON.parse(read[3]) as number[], times: JSON.parse(read[4]) as number[], authors: JSON.parse(read[5]) as Array<string | null>,
    attributes: parseAttributes(db, read[6], ids), outcomes: JSON.parse(read[7]) as Array<number | null>,
  };
}

function sliceRows(db: Db, read: Slice): ChangeRow[] {
  const { ids, services, times, authors, attributes, outcomes } = sliceColumns(db, read);
  const externalIds = JSON.parse(read[2]) as string[];
  const rows = new Array<ChangeRow>(ids.length);
  for (let i = 0; i < ids.length; i++) rows[i] = { id: ids[i]!, externalId: externalIds[i]!, serviceId: services[i]!, ts: times[i]!, author: authors[i]!, attributes: attributes[i]!, outcome: outcomes[i]! };
  return rows;
}

/**
 * A slice's external ids, parsed the first time one is asked for. A replay names a change only for
 * a prediction log, a postmortem link or an error; making 100k strings it never reads costs its
 * thread ~20 ms, on a core the model shares.
 */
export class SliceIds {
  private parsed: string[] | null = null;
  constructor(private readonly text: string) {}
  at(k: number): string {
    return (this.parsed ??= JSON.parse(this.text) as string[])[k]!;
  }
}

/** A change as a replay reads it: its external id looked up in its slice's on first use. */
class ReplayRow implements ChangeRow {
  constructor(
    readonly id: number,
    private readonly names: SliceIds,
    private readonly k: number,
    readonly serviceId: number,
    readonly ts: number,
    readonly author: string | null,
    readonly attributes: Record<string, number>,
    readonly outcome: number | null,
  ) {}

  get externalId(): string {
    return this.names.at(this.k);
  }
}

/** sliceRows for a replay (changeReader): the same changes, their external ids read when asked for. */
function replayRows(db: Db, read: Slice): ChangeSlice {
  const { ids, services, times, authors, attributes, outcomes } = sliceColumns(db, read);
  const names = new SliceIds(read[2]);
  const rows = new Array<ChangeRow>(ids.length);
  for (let i = 0; i < ids.length; i++) rows[i] = new ReplayRow(ids[i]!, names, i, services[i]!, times[i]!, authors[i]!, attributes[i]!, outcomes[i]!);
  return { rows, names };
}

/** A slice's attribute objects; if one of them is not JSON, the error names its change. */
function parseAttributes(db: Db, text: string, ids: readonly number[]): Array<Record<string, number>> {
  try {
    return JSON.parse(text) as Array<Record<string, number>>;
  } catch {
    const one = db.prepare('SELECT external_id, attributes FROM changes WHERE id = ?').raw();
    for (const id of ids) {
      const [externalId, json] = one.get(id) as [string, string];
      try {
        JSON.parse(json);
      } catch (err) {
        throw new Error(`change ${externalId}: its stored attributes are not JSON (${(err as Error).message})`);
      }
    }
    throw new Error('changes: stored attributes are not JSON');
  }
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
  checkFeatureNames(db, names, (n) => all.some((c) => Object.hasOwn(c.attributes, n)));
  const builder = featureBuilder(db, names);
  builder.add(all, (i) => outcomes.get(all[i]!.id));
  return builder.columns(changes);
}

/**
 * Throws, naming what is available, if a name is none of: a history feature, a metric's
 * telemetry, an attribute of some change. `seen` says whether the changes at hand have the
 * attribute (quicker than listing every attribute; the catalog is read only when they do not, and
 * the whole table only when the catalog's sample does not have it either).
 */
export function checkFeatureNames(db: Db, names: readonly string[], seen: (name: string) => boolean): void {
  const metrics = new Set(db.prepare('SELECT DISTINCT metric FROM series').pluck().all() as string[]);
  let catalog: FeatureCatalog | null = null;
  const anywhere = db.prepare('SELECT EXISTS (SELECT 1 FROM changes, json_each(changes.attributes) AS a WHERE a.key = ?)').pluck();
  const inTable = (name: string): boolean => {
    try {
      return anywhere.get(name) === 1;
    } catch {
      return false; // attributes that are not JSON: loading them says which change
    }
  };
  const missing = names.filter((n) => !Object.hasOwn(HISTORY_FEATURES, n)
    && !(n.startsWith(TELEMETRY_PREFIX) && n.endsWith(TELEMETRY_SUFFIX) && metrics.has(n.slice(TELEMETRY_PREFIX.length, -TELEMETRY_SUFFIX.length)))
    && !seen(n)
    && !(catalog ??= featureCatalog(db)).attributes.includes(n)
    && !inTable(n));
  if (missing.length > 0) {
    throw new EngineFailure('input_error', `unknown feature${missing.length > 1 ? 's' : ''} ${missing.join(', ')}; available: ${allFeatures(catalog ?? featureCatalog(db)).join(', ')}`);
  }
}

export interface FeatureBuilder {
  /** Changes in time order, each call's after the last's, with the outcome of each (by its index in `history`). */
  add(history: readonly ChangeRow[], outcomeOf: (i: number) => Outcome | undefined): void;
  /** One column per name, for `changes` (each at or before the latest change added). */
  columns(changes: readonly ChangeRow[]): Float64Array[];
}

/**
 * Features built as the history arrives, so a replay can score its first changes before it has
 * read its last. A change's features look only strictly before its own time, so the values over
 * the history up to it are the values over all of it (a test checks it against buildFeatureColumns).
 */
export function featureBuilder(db: Db, names: readonly string[]): FeatureBuilder {
  // Each index is built only if a requested feature reads it (a replay's model may need none of them).
  const wants = (...features: HistoryFeature[]): boolean => features.some((f) => names.includes(f));
  const serviceTimes = new Map<number, number[]>();
  const authorTimes = new Map<string, number[]>();
  const serviceFailures = new Map<number, Array<{ ts: number; knownAt: number }>>();
  const byService = wants('service_changes_7d', 'hours_since_prev_change', 'service_failed_change_rate_90d');
  const byAuthor = wants('author_changes_90d');
  const failures = wants('service_failed_change_rate_90d');
  const add = (history: readonly ChangeRow[], outcomeOf: (i: number) => Outcome | undefined): void => {
    if (!byService && !byAuthor && !failures) return;
    for (let i = 0; i < history.length; i++) {
      const c = history[i]!;
      if (byService) (serviceTimes.get(c.serviceId) ?? serviceTimes.set(c.serviceId, []).get(c.serviceId)!).push(c.ts);
      if (byAuthor && c.author) (authorTimes.get(c.author) ?? authorTimes.set(c.author, []).get(c.author)!).push(c.ts);
      if (!failures) continue;
      const o = outcomeOf(i);
      if (o?.label === 1 && o.knownAt !== null) (serviceFailures.get(c.serviceId) ?? serviceFailures.set(c.serviceId, []).get(c.serviceId)!).push({ ts: c.ts, knownAt: o.knownAt });
    }
  };
  const incidentKnown = new Map<number, number[]>();
  // Known from its detection; without one, from the first time that shows someone knew (mitigated,
  // resolved). Its start is the last resort: counting from it would use what nobody knew yet.
  const incidents = wants('service_incidents_30d') ? db.prepare('SELECT service_id, coalesce(detected_ts, mitigated_ts, resolved_ts, started_ts) AS known FROM incidents ORDER BY known').all() as Array<{ service_id: number; known: number }> : [];
  for (const r of incidents) {
    (incidentKnown.get(r.service_id) ?? incidentKnown.set(r.service_id, []).get(r.service_id)!).push(r.known);
  }
  const tiers = new Map((db.prepare('SELECT id, tier FROM services').all() as Array<{ id: number; tier: number | null }>).map((s) => [s.id, s.tier ?? 3]));

  // Counting strictly before t ([t - window, t)) keeps a change from seeing itself or anything simultaneous.
  const countIn = (times: readonly number[] | undefined, from: number, until: number): number => (times ? lowerBound(times, until) - lowerBound(times, from) : 0);
  // Telemetry before the change: strictly before t, so the change's own effect is never seen.
  const telemetryMean = db.prepare(`SELECT avg(p.value) FROM points p JOIN series s ON s.id = p.series_id
    WHERE s.service_id = ? AND s.metric = ? AND p.ts >= ? AND p.ts < ?`).pluck();
  let changes: readonly ChangeRow[] = [];
  const fill = (value: (c: ChangeRow) => number): Float64Array => {
    const n = changes.length;
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
  return {
    add,
    columns(subjects) {
      changes = subjects;
      return names.map(column);
    },
  };
}
