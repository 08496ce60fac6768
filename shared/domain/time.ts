/**
 * Timestamp parsing for imports. Every stored time is UTC epoch milliseconds.
 *
 * Numeric input without a stated unit is classified by magnitude: a value that is plausible as
 * seconds (before year 5138) is seconds, and so on up to nanoseconds. The boundaries are far enough
 * apart that real telemetry never sits on them.
 */
// The two functions by their own paths: the package's index brings its format(), which imports
// date-fns' whole index; that cost every import ~70 MB of peak memory (measured on a 2M-row CSV).
import { fromZonedTime } from 'date-fns-tz/fromZonedTime';
import { getTimezoneOffset } from 'date-fns-tz/getTimezoneOffset';
import { format as formatDate } from 'date-fns/format';
import { parse as parseWithFormat } from 'date-fns/parse';
import { utc } from '@date-fns/utc';

export type TimeUnit = 'auto' | 's' | 'ms' | 'us' | 'ns';

export interface TimeOptions {
  unit: TimeUnit;
  /**
   * Zone used for ISO timestamps that carry no offset: 'UTC', a fixed offset like '+02:00', or a
   * tz database name like 'Europe/Berlin' (daylight saving time applied as of each timestamp).
   */
  timeZone?: string;
  /**
   * How timestamps that are neither ISO 8601 nor epoch numbers are written, as a date-fns format
   * (`MM/dd/yyyy h:mm a`, `dd.MM.yyyy HH:mm:ss`): spreadsheets and some tools export those. Never
   * guessed — 03/04 is March or April depending on who wrote it.
   */
  format?: string;
}

export type ParsedTime = { ok: true; ms: number } | { ok: false; reason: string };

const NUMERIC = /^-?\d+(\.\d+)?$/;
// Date, optional time, optional fraction, optional zone. Anything else is refused instead of being
// handed to Date.parse, whose leniency differs between engines.
const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?)?\s*(Z|[+-]\d{2}:?\d{2})?$/i;
const OFFSET = /^([+-])(\d{2}):?(\d{2})$/;

const UNIT_TO_MS: Record<Exclude<TimeUnit, 'auto'>, number> = { s: 1000, ms: 1, us: 1e-3, ns: 1e-6 };

export function detectUnit(value: number): Exclude<TimeUnit, 'auto'> {
  const abs = Math.abs(value);
  if (abs < 1e11) return 's';
  if (abs < 1e14) return 'ms';
  if (abs < 1e17) return 'us';
  return 'ns';
}

export function offsetMinutes(zone: string): number | null {
  if (zone.toUpperCase() === 'UTC' || zone.toUpperCase() === 'Z') return 0;
  const m = OFFSET.exec(zone);
  if (!m) return null;
  const minutes = Number(m[2]) * 60 + Number(m[3]);
  return m[1] === '-' ? -minutes : minutes;
}

const QUARTER_HOUR = 15 * 60_000;
// Offsets of named zones by 15-minute step of wall-clock time: every DST change in the tz database
// falls on such a boundary, so one lookup serves every timestamp in the step.
const zoneOffsets = new Map<string, Map<number, number>>();

const isNamedZone = (zone: string): boolean => Number.isFinite(getTimezoneOffset(zone, new Date(0)));

/** Whether `zone` is a time zone this importer can use: UTC, a fixed offset, or a tz database name. */
export function isTimeZone(zone: string): boolean {
  return offsetMinutes(zone) !== null || isNamedZone(zone);
}

/**
 * The offset in ms of `zone` at the wall-clock time `local` (epoch ms of those clock fields read as
 * UTC), or null for an unknown zone. Named zones go through date-fns-tz's fromZonedTime (wall time
 * in a zone → instant): a wall time that occurs twice when clocks go back reads as the later
 * instant; one skipped when they go forward reads with the offset after the change.
 */
export function zoneOffsetAt(zone: string, local: number): number | null {
  const fixed = offsetMinutes(zone);
  if (fixed !== null) return fixed * 60_000;
  let byStep = zoneOffsets.get(zone);
  if (!byStep) {
    if (!isNamedZone(zone)) return null;
    zoneOffsets.set(zone, (byStep = new Map()));
  }
  const step = Math.floor(local / QUARTER_HOUR) * QUARTER_HOUR;
  let offset = byStep.get(step);
  if (offset === undefined) {
    offset = step - fromZonedTime(new Date(step).toISOString().slice(0, 19), zone).getTime();
    if (byStep.size > 200_000) byStep.clear();
    byStep.set(step, offset);
  }
  return offset;
}

/**
 * Whether the instant `t`, read from a wall time in `zone`, has a twin: the same wall time an
 * hour (or the shift) earlier or later, across clocks going back. Where reading such a time one
 * way makes a row inconsistent, the error says so.
 */
export function ambiguousWallTime(zone: string, t: number): boolean {
  if (offsetMinutes(zone) !== null || !isNamedZone(zone)) return false;
  const now = offsetAtInstant(zone, t);
  // A twin `shift` earlier, still on the earlier offset; or `shift` later, already on the later one.
  const before = offsetAtInstant(zone, t - 3 * 3_600_000);
  if (before > now && offsetAtInstant(zone, t - (before - now)) === before) return true;
  const after = offsetAtInstant(zone, t + 3 * 3_600_000);
  return now > after && offsetAtInstant(zone, t + (now - after)) === after;
}

const offsetFormats = new Map<string, Intl.DateTimeFormat>();

/** A named zone's UTC offset (ms) at an instant, from Intl ("GMT-07:00"). */
function offsetAtInstant(zone: string, t: number): number {
  let format = offsetFormats.get(zone);
  if (!format) offsetFormats.set(zone, (format = new Intl.DateTimeFormat('en-US', { timeZone: zone, timeZoneName: 'longOffset' })));
  const name = format.formatToParts(new Date(t)).find((p) => p.type === 'timeZoneName')?.value ?? 'GMT';
  const m = /GMT([+-])(\d{2}):(\d{2})/.exec(name);
  return m ? (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3])) * 60_000 : 0;
}

// Long telemetry repeats one timestamp for every series at that step: remember the last answer.
let lastText = '';
let lastOptions: TimeOptions | null = null;
let lastResult: ParsedTime = { ok: false, reason: '' };

export function parseTimestamp(raw: string, options: TimeOptions): ParsedTime {
  if (raw === lastText && options === lastOptions) return lastResult;
  const result = parseTimestampUncached(raw, options);
  lastText = raw;
  lastOptions = options;
  lastResult = result;
  return result;
}

/** An epoch time given as a number (JSON formats), in the options' unit. */
export function timestampFromNumber(value: number, options: TimeOptions, text = String(value)): ParsedTime {
  const unit = options.unit === 'auto' ? detectUnit(value) : options.unit;
  const ms = Math.round(value * UNIT_TO_MS[unit]);
  if (!Number.isSafeInteger(ms)) return { ok: false, reason: `timestamp ${text} is out of range` };
  return { ok: true, ms };
}

function parseTimestampUncached(raw: string, options: TimeOptions): ParsedTime {
  const text = raw.trim();
  if (text === '') return { ok: false, reason: 'empty timestamp' };
  if (NUMERIC.test(text)) return timestampFromNumber(Number(text), options, text);
  if ((text.length === 20 || (text.length === 24 && text.charCodeAt(19) === 46 /* . */)) && text.charCodeAt(text.length - 1) === 90 /* Z */) {
    const fast = parseIsoZ(text);
    if (fast !== null) return { ok: true, ms: fast };
  }
  const m = ISO.exec(text);
  if (!m) {
    if (options.format) return parseFormatted(text, options);
    return { ok: false, reason: `unparseable timestamp "${truncate(text)}"${LOCAL_DATE.test(text) ? '; dates written like this need their format stated (time format, e.g. MM/dd/yyyy HH:mm or dd.MM.yyyy HH:mm)' : ''}` };
  }
  const [, y, mo, d, h = '00', mi = '00', s = '00', frac = '', zone] = m;
  if (!zone && !options.timeZone) return { ok: false, reason: `timestamp "${truncate(text)}" has no time zone; add an offset or set the time zone` };
  const fields = [Number(y), Number(mo), Number(d), Number(h), Number(mi), Number(s)] as const;
  const utc = utcMs(fields[0], fields[1] - 1, fields[2], fields[3], fields[4], fields[5]);
  const check = new Date(utc);
  // Date.UTC rolls 2026-02-31 over to March; a real export never says that, so refuse it.
  if (check.getUTCMonth() !== fields[1] - 1 || check.getUTCDate() !== fields[2] || fields[3] > 23 || fields[4] > 59 || fields[5] > 60) {
    return { ok: false, reason: `timestamp "${truncate(text)}" is not a real date` };
  }
  const fraction = frac ? Math.round(Number(`0${frac}`) * 1000) : 0;
  if (zone) {
    const minutes = offsetMinutes(zone);
    if (minutes === null) return { ok: false, reason: `bad time zone in "${truncate(text)}"` };
    return { ok: true, ms: utc + fraction - minutes * 60_000 };
  }
  const offset = zoneOffsetAt(options.timeZone!, utc + fraction);
  if (offset === null) return { ok: false, reason: `unknown time zone "${truncate(options.timeZone!)}": use UTC, an offset like +02:00, or a name like Europe/Berlin` };
  return { ok: true, ms: utc + fraction - offset };
}

// A day, month and year in some local order (11/26/2026, 26.11.2026, 26-11-26): what a stated format is for.
const LOCAL_DATE = /^\d{1,2}[./-]\d{1,2}[./-]\d{2,4}\b/;
// date-fns tokens that carry an offset or zone: with one, the text says its own instant.
const ZONE_TOKEN = /(^|[^'])(X|x|O|z)/;
const EPOCH = new Date(0);

/**
 * A timestamp in a stated date-fns format. The wall-clock fields are read in UTC (date-fns' `in`
 * context: its default, the process's own zone, moves a wall time that zone skips by an hour), then
 * placed in the import's time zone like an ISO time without an offset; a format with a zone token
 * says its own instant.
 */
function parseFormatted(text: string, options: TimeOptions): ParsedTime {
  const format = options.format!;
  const wall = parseWithFormat(text, format, EPOCH, { in: utc }).getTime();
  if (!Number.isFinite(wall)) return { ok: false, reason: `timestamp "${truncate(text)}" does not match the time format "${truncate(format)}"` };
  if (ZONE_TOKEN.test(format.replace(/'[^']*'/g, ''))) return { ok: true, ms: wall };
  if (!options.timeZone) return { ok: false, reason: `timestamp "${truncate(text)}" has no time zone; set the time zone` };
  const offset = zoneOffsetAt(options.timeZone, wall);
  if (offset === null) return { ok: false, reason: `unknown time zone "${truncate(options.timeZone)}": use UTC, an offset like +02:00, or a name like Europe/Berlin` };
  return { ok: true, ms: wall - offset };
}

/**
 * Why a date-fns format cannot be used (date-fns' own words), or null if it can. Formatting checks
 * every token; parsing stops at the first that does not match, so it would miss a `YYYY` after it.
 */
export function timeFormatProblem(format: string): string | null {
  try {
    formatDate(EPOCH, format, { in: utc });
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

/**
 * The shape almost every export uses, `2026-09-01T00:05:00Z` (or `…:00.000Z`), parsed without a regex: imports
 * parse one per row, and this is several times faster. Anything unusual falls through to the
 * general parser, which gives the error messages.
 */
function parseIsoZ(text: string): number | null {
  if (text.charCodeAt(4) !== 45 || text.charCodeAt(7) !== 45 || text.charCodeAt(10) !== 84 || text.charCodeAt(13) !== 58 || text.charCodeAt(16) !== 58) return null;
  const y = digits(text, 0, 4), mo = digits(text, 5, 7), d = digits(text, 8, 10), h = digits(text, 11, 13), mi = digits(text, 14, 16), s = digits(text, 17, 19);
  // With milliseconds too (`…:00.000Z`, what JavaScript's toISOString and many exporters write).
  const ms = text.length === 24 ? digits(text, 20, 23) : 0;
  if (y < 100 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 || s > 59 || ms < 0) return null;
  // Days past the 28th are checked against the month's length (day 0 of the next month is its last).
  if (d > 28 && d > new Date(Date.UTC(y, mo, 0)).getUTCDate()) return null;
  return Date.UTC(y, mo - 1, d, h, mi, s) + ms;
}

/**
 * The decimal number in text[from, to), or -1 if any character is not a digit. A module-level
 * function, not a closure inside parseIsoZ: a closure is allocated on every call (and, run through
 * tsx, wrapped in a naming helper too), which cost a third of a 1.2M-row import's timestamp time.
 */
function digits(text: string, from: number, to: number): number {
  let value = 0;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    value = value * 10 + c;
  }
  return value;
}

/** Date.UTC, except that years 0-99 are those years: Date.UTC reads them as 1900-1999. */
function utcMs(y: number, month: number, d: number, h: number, mi: number, s: number): number {
  if (y >= 100) return Date.UTC(y, month, d, h, mi, s);
  const date = new Date(0);
  date.setUTCFullYear(y, month, d);
  date.setUTCHours(h, mi, s, 0);
  return date.getTime();
}

function truncate(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}
