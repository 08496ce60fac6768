import type { RecordKind } from '../contract/records.js';
import { ambiguousWallTime, parseTimestamp, timestampFromNumber, twinOffsets, type TimeOptions } from './time.js';

/**
 * Turning one mapped input row into a typed record, or a reason it cannot be one. Pure, so the
 * importers, the import preview and the tests all judge rows the same way.
 */

export interface TelemetryRow { kind: 'telemetry'; ts: number; service: string; metric: string; labels: Record<string, string>; value: number }
export interface ChangeRow {
  kind: 'changes'; externalId: string; service: string; ts: number; changeKind: string; author: string | null; version: string | null;
  description: string | null; attributes: Record<string, number>; rolledBack: boolean | null; outcome: number | null;
}
export interface IncidentRow {
  kind: 'incidents'; externalId: string; service: string; severity: number; startedTs: number; detectedTs: number | null;
  mitigatedTs: number | null; resolvedTs: number | null; causeChangeId: string | null; title: string | null;
}
export interface AlertRow { kind: 'alerts'; externalId: string; service: string; ts: number; resolvedTs: number | null; name: string | null; metric: string | null; severity: number | null }
export interface ServiceRow { kind: 'services'; name: string; tier: number | null; team: string | null; dependsOn: string[] }
export interface PredictionRow { kind: 'predictions'; subject: string; model: string; version: string; score: number; latencyMs: number | null }

export interface DetectorScoreRow { kind: 'detector-scores'; ts: number; service: string; model: string; version: string; score: number }

export type NormalRow = TelemetryRow | ChangeRow | IncidentRow | AlertRow | ServiceRow | PredictionRow | DetectorScoreRow;
export type Normalised = { ok: true; row: NormalRow } | { ok: false; reason: string };

export interface NormaliseOptions {
  time: TimeOptions;
  /** Used where a file has no service column at all (a single-service export). */
  defaultService?: string;
  /** "1.234,5" is 1234.5: a comma is the decimal point and dots group thousands (European spreadsheets). */
  decimalComma?: boolean;
  /**
   * The labels built from the last `extra` object seen: a format whose rows share one labels
   * object per series (a Prometheus series' samples) builds them once per series, not per row.
   */
  lastLabels?: { extra: object | null; labels: Record<string, string> };
}

class RowError extends Error {}

const MAX_TEXT = 4096;

function text(fields: Record<string, unknown>, name: string, required: true): string;
function text(fields: Record<string, unknown>, name: string, required: false): string | null;
function text(fields: Record<string, unknown>, name: string, required: boolean): string | null {
  const raw = fields[name];
  if (raw === undefined || raw === null || (typeof raw === 'string' && raw.trim() === '')) {
    if (required) throw new RowError(`${name} is missing`);
    return null;
  }
  if (typeof raw !== 'string' && typeof raw !== 'number' && typeof raw !== 'boolean') throw new RowError(`${name} must be text, got ${describe(raw)}`);
  const value = String(raw).trim();
  if (value.length > MAX_TEXT) throw new RowError(`${name} is longer than ${MAX_TEXT} characters`);
  return value;
}

// With a decimal comma: digits with dots between groups of three, then a comma and decimals.
const COMMA_DECIMAL = /^[+-]?(\d{1,3}(\.\d{3})+|\d+)(,\d+)?$/;
const COMMA_LOOKING = /^[+-]?\d+,\d+$/;

// What exports write for "no value here": Grafana's null, pandas' NaN, a formatted table's "-".
const NO_VALUE = new Set(['null', 'NULL', 'Null', 'NaN', 'nan', 'NAN', 'None', '-', 'N/A', 'n/a', 'undefined']);

/**
 * A telemetry value that says there is none: a gap in the series (counted, as Prometheus' NaN is),
 * not a bad row. An empty cell or a JSON null too; a missing key is not (that is the file's shape).
 */
export function isNoValue(raw: unknown): boolean {
  if (raw === null || raw === '') return true;
  return typeof raw === 'string' && raw.length <= 9 && NO_VALUE.has(raw.trim());
}

/**
 * A cell that is text, not a number gone wrong: it does not read as a number and has more than
 * digits, signs, dots and commas in it ("production", "success", "2024-04-01 10:00"). A change's
 * columns that hold such values are not its numeric attributes; "13,5" or "1.2.3" are numbers gone
 * wrong, refused with their row.
 */
export function isTextCell(raw: unknown, decimalComma = false): boolean {
  if (typeof raw !== 'string' || raw.trim() === '' || /^[+-]?[\d.,]+$/.test(raw.trim())) return false;
  try {
    parseNumber(raw, '', decimalComma);
    return false;
  } catch {
    return true;
  }
}

function parseNumber(raw: unknown, name: string, decimalComma = false): number | null {
  if (raw === undefined || raw === null || raw === '') return null;
  if (decimalComma && typeof raw === 'string') {
    const trimmed = raw.trim();
    if (COMMA_DECIMAL.test(trimmed)) return Number(trimmed.replace(/\./g, '').replace(',', '.'));
    // A dot that cannot be a thousands separator ("1.25") would read as a decimal point here and
    // as a separator in "1.250": one column a thousandfold apart without a word. Refused.
    if (trimmed.includes('.') && /^[+-]?[\d.,]+$/.test(trimmed)) throw new RowError(`${name} "${short(trimmed)}" has a dot that is not a thousands separator, but the file was said to write decimals with a comma (1.234,5)`);
  }
  if (typeof raw === 'number') {
    if (!Number.isFinite(raw)) throw new RowError(`${name} is not a finite number`);
    return raw;
  }
  if (typeof raw === 'boolean') return raw ? 1 : 0;
  if (typeof raw !== 'string') throw new RowError(`${name} must be a number, got ${describe(raw)}`);
  const trimmed = raw.trim();
  if (trimmed === '') return null;
  // Plain decimals (nearly every value in a telemetry file) skip the regex: digits, one sign, dots.
  if (plainDecimal(trimmed)) {
    const fast = Number(trimmed);
    if (Number.isFinite(fast)) return fast;
  }
  const lower = trimmed.toLowerCase();
  if (lower === 'true') return 1;
  if (lower === 'false') return 0;
  const value = Number(trimmed);
  // Number('0x10') and Number('1e400') are valid JS but not data anyone exported on purpose.
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(trimmed) || !Number.isFinite(value)) {
    // "13,5" is a European spreadsheet's 13.5: say how to read it, rather than only that it is wrong.
    const hint = !decimalComma && COMMA_LOOKING.test(trimmed) ? '; if the file writes decimals with a comma, import with decimal comma (--decimal-comma)' : '';
    throw new RowError(`${name} "${short(trimmed)}" is not a number${hint}`);
  }
  return value;
}

/** Only digits and dots after an optional sign: Number() reads such a string exactly as the regex below would accept it, or gives NaN. */
function plainDecimal(text: string): boolean {
  let i = text.charCodeAt(0) === 45 || text.charCodeAt(0) === 43 ? 1 : 0;
  if (i === text.length) return false;
  for (; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if ((c < 48 || c > 57) && c !== 46) return false;
  }
  return true;
}

function number(fields: Record<string, unknown>, name: string, required: boolean, decimalComma = false): number | null {
  const value = parseNumber(fields[name], name, decimalComma);
  if (value === null && required) throw new RowError(`${name} is missing`);
  return value;
}

/** Severity words as alerting rules use them, on the 1 = most severe scale. */
const SEVERITY_WORDS: Record<string, number> = { critical: 1, page: 1, error: 2, major: 2, warning: 3, warn: 3, minor: 3, info: 4, informational: 4, none: 5 };

function severity(fields: Record<string, unknown>, name: string, required: boolean): number | null {
  const raw = fields[name];
  // "SEV2", "P1", "sev-3" are how incident tools spell it.
  if (typeof raw === 'string' && /^\s*(sev|p)[\s-]?\d\s*$/i.test(raw)) return Number(raw.replace(/\D/g, ''));
  // ServiceNow writes "1 - Critical"; PagerDuty has two urgencies, high (pages) and low.
  if (typeof raw === 'string' && /^\s*\d\s*-\s*\S/.test(raw)) return Number(raw.trim()[0]);
  if (typeof raw === 'string' && /^\s*(high|low)\s*$/i.test(raw)) return raw.trim().toLowerCase() === 'high' ? 1 : 3;
  // Alertmanager and most alerting rules label severity in words.
  // Own keys only: "constructor" or "__proto__" in a cell must not find Object's.
  const key = typeof raw === 'string' ? raw.trim().toLowerCase() : '';
  if (Object.hasOwn(SEVERITY_WORDS, key)) return SEVERITY_WORDS[key]!;
  const value = number(fields, name, required);
  if (value === null) return null;
  if (!Number.isInteger(value) || value < 0 || value > 9) throw new RowError(`${name} ${value} must be a whole number from 0 to 9`);
  return value;
}

/**
 * PagerDuty's priority (P1–P5) is the severity, but an account without priorities leaves it empty
 * on every row: then the row's urgency says it (high pages: 1; low: 3), as it would with no
 * priority column at all.
 */
function incidentSeverity(fields: Record<string, unknown>, extra: Record<string, unknown>): number {
  const given = severity(fields, 'severity', false);
  if (given !== null) return given;
  const urgency = Object.hasOwn(extra, 'urgency') ? extra['urgency'] : undefined;
  if (typeof urgency === 'string' && /^\s*(high|low)\s*$/i.test(urgency)) return urgency.trim().toLowerCase() === 'high' ? 1 : 3;
  throw new RowError(`severity is missing${urgency !== undefined && urgency !== '' ? ` (and urgency "${short(String(urgency))}" is not high or low)` : ''}`);
}

function bool(fields: Record<string, unknown>, name: string): boolean | null {
  const raw = fields[name];
  if (raw === undefined || raw === null || raw === '') return null;
  if (typeof raw === 'boolean') return raw;
  const value = String(raw).trim().toLowerCase();
  if (['1', 'true', 'yes', 'y', 't'].includes(value)) return true;
  if (['0', 'false', 'no', 'n', 'f'].includes(value)) return false;
  throw new RowError(`${name} "${short(value)}" is not true/false`);
}

function time(fields: Record<string, unknown>, name: string, required: boolean, options: TimeOptions): number | null {
  const raw = fields[name];
  if (raw === undefined || raw === null || raw === '') {
    if (required) throw new RowError(`${name} is missing`);
    return null;
  }
  if (typeof raw !== 'string' && typeof raw !== 'number') throw new RowError(`${name} must be a timestamp, got ${describe(raw)}`);
  // Go's zero time is how Alertmanager (and other Go tools) write "not set", e.g. a firing alert's endsAt.
  // (Tested by its first characters: this runs for every timestamp of a million-row import.)
  if (typeof raw === 'string' && raw.startsWith('0001-01-01T') && /^0001-01-01T00:00:00(\.0+)?Z$/.test(raw)) {
    if (required) throw new RowError(`${name} is 0001-01-01T00:00:00Z, Go's "not set"`);
    return null;
  }
  // A number (JSON formats) needs no text round trip: a million samples, a million strings saved.
  const parsed = typeof raw === 'number' && Number.isFinite(raw) ? timestampFromNumber(raw, options) : parseTimestamp(String(raw), options);
  if (!parsed.ok) throw new RowError(`${name}: ${parsed.reason}`);
  return parsed.ms;
}

function service(fields: Record<string, unknown>, options: NormaliseOptions): string {
  const value = text(fields, 'service', false) ?? options.defaultService ?? null;
  if (value === null) throw new RowError('service is missing');
  return value;
}

function describe(raw: unknown): string {
  if (Array.isArray(raw)) return 'a list';
  return raw === null ? 'null' : typeof raw;
}

function short(value: string): string {
  return value.length > 30 ? `${value.slice(0, 30)}…` : value;
}

function orderCheck(earlier: number | null, later: number | null, a: string, b: string, zone?: string): void {
  if (earlier === null || later === null || later >= earlier) return;
  // Local times in the hour clocks go back happen twice and are read as the later: say so, since
  // "resolved before started" is otherwise a mystery for a 40-minute incident across the change.
  const twin = zone ? [[a, earlier] as const, [b, later] as const].find(([, t]) => ambiguousWallTime(zone, t)) : undefined;
  if (twin) throw new RowError(`${b} is before ${a}; ${twin[0]} is a local time that happens twice in ${zone} as daylight saving time ends. Give these times with their offset (${twinOffsets(zone!, twin[1])}) to say which`);
  throw new RowError(`${b} is before ${a}`);
}

/**
 * @param fields  field name -> raw value, after column mapping
 * @param extra   unmapped columns: labels for telemetry, numeric attributes for changes
 */
/**
 * A long telemetry CSV's cells in their plain forms, read as build() reads them, for the importer's
 * quick way through millions of such rows (read-file.ts). Null for anything else: that row goes the
 * general way, where it is judged (and refused, with its reason) as ever.
 */
export function plainValue(raw: string): number | null {
  // Most cells are short decimals ("104.237"): read in one pass as digits over a power of ten, which
  // is exact: up to 15 digits the integer is exact in a double, 10^0…10^15 are too, and one IEEE
  // division rounds correctly, so the result is the double nearest the decimal, as Number() gives.
  // Three times faster than the check and Number() below (0.03 against 0.1 s per million cells).
  const n = raw.length;
  const first = raw.charCodeAt(0);
  const negative = first === 45;
  let digits = 0;
  let integer = 0;
  let dot = -1;
  for (let i = negative || first === 43 ? 1 : 0; i < n; i++) {
    const c = raw.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      integer = integer * 10 + (c - 48);
      digits++;
    } else if (c === 46 && dot < 0) {
      dot = i;
    } else {
      digits = -1;
      break;
    }
  }
  if (digits > 0 && digits <= 15) {
    const decimals = dot < 0 ? 0 : n - 1 - dot;
    const value = decimals === 0 ? integer : integer / POWERS_OF_TEN[decimals]!;
    return negative ? -value : value;
  }
  if (!plainDecimal(raw)) return null;
  const value = Number(raw);
  return Number.isFinite(value) ? value : null;
}

/** 10^0 … 10^15, each exact in a double (15 digits leave at most 15 decimals). */
const POWERS_OF_TEN = Array.from({ length: 16 }, (_, k) => Number(`1e${k}`));

/** See plainValue. Go's zero time ("not set") and anything the time parser refuses: null. */
export function plainTime(raw: string, options: TimeOptions): number | null {
  if (raw.startsWith('0001-01-01T')) return null;
  const parsed = parseTimestamp(raw, options);
  return parsed.ok ? parsed.ms : null;
}

export function normaliseRow(kind: RecordKind, fields: Record<string, unknown>, extra: Record<string, unknown>, options: NormaliseOptions): Normalised {
  try {
    return { ok: true, row: build(kind, fields, extra, options) };
  } catch (err) {
    if (err instanceof RowError) return { ok: false, reason: err.message };
    throw err;
  }
}

/** One shared, frozen empty label set: most telemetry has no labels, and there are millions of rows. */
const NO_LABELS: Record<string, string> = Object.freeze({}) as Record<string, string>;

function hasKeys(o: Record<string, unknown>): boolean {
  for (const _ in o) return true;
  return false;
}

/** A label may come twice (top level and nested) only with one value. */
function setLabel(labels: Record<string, string>, key: string, value: string): void {
  // Own keys only: a column named `toString` or `constructor` is not already there. And `__proto__`
  // is a label like any other, not the object's prototype (set by assignment, it vanished).
  if (Object.hasOwn(labels, key) && labels[key] !== value) throw new RowError(`label ${key} is given twice, as ${JSON.stringify(labels[key])} and ${JSON.stringify(value)}`);
  if (key === '__proto__') Object.defineProperty(labels, key, { value, enumerable: true, writable: true, configurable: true });
  else labels[key] = value;
}

/** Extra fields that may hold a telemetry row's labels as one object. */
const NESTED_LABELS = new Set(['labels', 'tags', 'attributes']);

/** A telemetry row's labels from its unmapped fields (sorted keys; nested label objects merged). */
function telemetryLabels(extra: Record<string, unknown>): Record<string, string> {
  let labels: Record<string, string> = NO_LABELS;
  let nested = false;
  for (const key of hasKeys(extra) ? Object.keys(extra).sort() : []) {
    if (labels === NO_LABELS) labels = {};
    const value = extra[key];
    if (value === undefined || value === null || value === '') continue;
    if (typeof value === 'object' && NESTED_LABELS.has(key) && !Array.isArray(value)) {
      // NDJSON often nests them: {"metric": …, "labels": {"host": "a"}}.
      nested = true;
      for (const [inner, v] of Object.entries(value)) {
        if (v === undefined || v === null || v === '') continue;
        if (typeof v === 'object') throw new RowError(`label ${key}.${inner} must be text, got ${describe(v)}`);
        setLabel(labels, inner, String(v));
      }
      continue;
    }
    if (typeof value === 'object') throw new RowError(`label ${key} must be text, got ${describe(value)}`);
    setLabel(labels, key, String(value));
  }
  // Stored as JSON, so one series always has one key order (top-level keys already come sorted).
  if (nested) labels = Object.fromEntries(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return labels;
}

function build(kind: RecordKind, fields: Record<string, unknown>, extra: Record<string, unknown>, options: NormaliseOptions): NormalRow {
  switch (kind) {
    case 'telemetry': {
      const memo = options.lastLabels;
      const labels = memo && memo.extra === extra ? memo.labels : telemetryLabels(extra);
      if (memo) {
        memo.extra = extra;
        memo.labels = labels;
      }
      return {
        kind, ts: time(fields, 'timestamp', true, options.time)!, service: service(fields, options), metric: text(fields, 'metric', true),
        labels, value: number(fields, 'value', true, options.decimalComma)!,
      };
    }
    case 'changes': {
      const attributes: Record<string, number> = {};
      for (const key of Object.keys(extra).sort()) {
        const value = parseNumber(extra[key], key, options.decimalComma);
        if (value !== null) attributes[key] = value;
      }
      const changeKind = text(fields, 'kind', false) ?? 'deploy';
      return {
        kind, externalId: text(fields, 'id', true), service: service(fields, options), ts: time(fields, 'timestamp', true, options.time)!,
        changeKind: changeKind.toLowerCase(), author: text(fields, 'author', false), version: text(fields, 'version', false),
        description: text(fields, 'description', false), attributes, rolledBack: bool(fields, 'rolled_back'),
        outcome: outcome(fields),
      };
    }
    case 'incidents': {
      const startedTs = time(fields, 'started', true, options.time)!;
      const detectedTs = time(fields, 'detected', false, options.time);
      const mitigatedTs = time(fields, 'mitigated', false, options.time);
      const resolvedTs = time(fields, 'resolved', false, options.time);
      orderCheck(startedTs, resolvedTs, 'started', 'resolved', options.time.timeZone);
      orderCheck(startedTs, mitigatedTs, 'started', 'mitigated', options.time.timeZone);
      return {
        kind, externalId: text(fields, 'id', true), service: service(fields, options), severity: incidentSeverity(fields, extra),
        startedTs, detectedTs, mitigatedTs, resolvedTs, causeChangeId: text(fields, 'cause_change_id', false), title: text(fields, 'title', false),
      };
    }
    case 'alerts': {
      const svc = service(fields, options);
      const ts = time(fields, 'timestamp', true, options.time)!;
      const name = text(fields, 'name', false);
      const resolvedTs = time(fields, 'resolved', false, options.time);
      orderCheck(ts, resolvedTs, 'timestamp', 'resolved', options.time.timeZone);
      return {
        kind, externalId: text(fields, 'id', false) ?? `${svc}/${name ?? 'alert'}/${ts}`, service: svc, ts, resolvedTs, name,
        metric: text(fields, 'metric', false), severity: severity(fields, 'severity', false),
      };
    }
    case 'predictions': {
      const score = number(fields, 'score', true, options.decimalComma)!;
      if (score < 0 || score > 1) throw new RowError(`score ${score} must be between 0 and 1`);
      const latency = number(fields, 'latency_ms', false, options.decimalComma);
      if (latency !== null && latency < 0) throw new RowError(`latency_ms ${latency} is negative`);
      return { kind, subject: text(fields, 'subject', true), model: text(fields, 'model', true), version: text(fields, 'version', false) ?? 'unversioned', score, latencyMs: latency };
    }
    case 'detector-scores': {
      const score = number(fields, 'score', true, options.decimalComma)!;
      return { kind, ts: time(fields, 'timestamp', true, options.time)!, service: service(fields, options), model: text(fields, 'model', true), version: text(fields, 'version', false) ?? 'unversioned', score };
    }
    case 'services': {
      const deps = text(fields, 'depends_on', false);
      const tier = number(fields, 'tier', false);
      if (tier !== null && (!Number.isInteger(tier) || tier < 0 || tier > 9)) throw new RowError(`tier ${tier} must be a whole number from 0 to 9`);
      return {
        kind, name: text(fields, 'name', true), tier, team: text(fields, 'team', false),
        dependsOn: deps ? deps.split(/[;|]/).map((d) => d.trim()).filter((d) => d !== '') : [],
      };
    }
  }
}

function outcome(fields: Record<string, unknown>): number | null {
  const value = number(fields, 'outcome', false);
  if (value === null) return null;
  if (value !== 0 && value !== 1) throw new RowError(`outcome ${value} must be 0 or 1`);
  return value;
}
