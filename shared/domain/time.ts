/**
 * Timestamp parsing for imports. Every stored time is UTC epoch milliseconds.
 *
 * Numeric input without a stated unit is classified by magnitude: a value that is plausible as
 * seconds (before year 5138) is seconds, and so on up to nanoseconds. The boundaries are far enough
 * apart that real telemetry never sits on them. A number that lands before 1990 (or, in a stated unit,
 * before 1900) or after 2200 is refused, naming what it more likely is (a compact date, a
 * spreadsheet serial date, another unit).
 */
// The functions by their own paths: the package's index brings its format(), which imports
// date-fns' whole index; that cost every import ~70 MB of peak memory (measured on a 2M-row CSV).
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
// handed to Date.parse, whose leniency differs between engines. Besides ISO 8601 proper, the shapes
// common exports write: a year-first date with slashes, a comma before the fraction (Python's
// logging), "UTC"/"GMT" for Z (psql, many logs), an offset of hours alone (PostgreSQL's "+00"), and
// an offset followed by its zone's abbreviation (Go's "+0000 UTC", "-0500 EST": the offset decides).
// (AM/PM is never a zone.) With a stated format, only ISO 8601 proper (STRICT_ISO) is read this way: the
// format decides the rest, as the user said (yyyy/dd/MM, hh:mm a, a literal 'CET').
const ISO = /^(\d{4})([-/])(\d{2})\2(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})([.,]\d{1,9})?)?)?\s*(Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?(\s+(?!(?:AM|PM)$)[A-Z]{2,5})?$/i;
const STRICT_ISO = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)?\s*(?:Z|[+-]\d{2}:?\d{2})?$/i;
const OFFSET = /^([+-])(\d{2})(?::?(\d{2}))?$/;

const UNIT_TO_MS: Record<Exclude<TimeUnit, 'auto'>, number> = { s: 1000, ms: 1, us: 1e-3, ns: 1e-6 };

export function detectUnit(value: number): Exclude<TimeUnit, 'auto'> {
  const abs = Math.abs(value);
  if (abs < 1e11) return 's';
  if (abs < 1e14) return 'ms';
  if (abs < 1e17) return 'us';
  return 'ns';
}

export function offsetMinutes(zone: string): number | null {
  const upper = zone.toUpperCase();
  if (upper === 'UTC' || upper === 'Z' || upper === 'GMT') return 0;
  const m = OFFSET.exec(zone);
  if (!m) return null;
  const minutes = Number(m[2]) * 60 + Number(m[3] ?? 0);
  return m[1] === '-' ? -minutes : minutes;
}

const QUARTER_HOUR = 15 * 60_000;
const DAY = 86_400_000;
// Offsets of named zones by 15-minute step of wall-clock time: every DST change in the tz database
// falls on such a boundary, so one lookup serves every timestamp in the step. Two per step: the
// offset of the earlier and of the later instant showing that wall time; they differ only in the
// hour that happens twice as clocks go back.
const zoneOffsets = new Map<string, Map<number, readonly [number, number, boolean]>>();

const isNamedZone = (zone: string): boolean => Number.isFinite(getTimezoneOffset(zone, new Date(0)));

/**
 * Whether `zone` is a time zone this importer can use: UTC, a fixed offset, or a tz database name of
 * the Area/Location kind. Abbreviations and legacy names are refused (see zoneNameProblem): the
 * runtime reads "BST" as Bangladesh and "EST" as a zone with no summer time.
 */
export function isTimeZone(zone: string): boolean {
  return offsetMinutes(zone) !== null || (zone.includes('/') && isNamedZone(zone));
}

/** Why `zone` cannot be used (null if it can), in words an importer can show. */
export function zoneNameProblem(zone: string): string | null {
  if (isTimeZone(zone)) return null;
  if (!zone.includes('/') && /^[A-Za-z][A-Za-z0-9+-]*$/.test(zone)) {
    return `time zone "${zone}" is an abbreviation or a legacy name, which can mean several zones (BST is British Summer Time and Bangladesh; EST has no summer time): give a tz database name such as Europe/London or America/New_York, or a fixed offset such as -05:00`;
  }
  return `unknown time zone "${zone}": use UTC, an offset like +02:00, or a name like Europe/Berlin`;
}

/**
 * The offsets (ms) of the earliest and latest instants a named zone shows as the wall time `local`
 * (epoch ms of the clock fields read as UTC), and whether the zone skips that wall time as clocks go
 * forward. A skipped time gets the offset before the change, twice: 02:30 in New York on a spring
 * morning is 03:30 EDT, as Python (fold=0), Java's ZonedDateTime and Temporal ("compatible") read it,
 * which is also what a clock left on standard time meant by it.
 */
function wallOffsets(zone: string, local: number): readonly [number, number, boolean] {
  const before = offsetAtInstant(zone, local - DAY);
  const after = offsetAtInstant(zone, local + DAY);
  const fits = [...new Set([before, after, offsetAtInstant(zone, local - before), offsetAtInstant(zone, local - after)])]
    .filter((o) => offsetAtInstant(zone, local - o) === o);
  if (fits.length === 0) return [before, before, true];
  // The larger offset places the wall time at the earlier instant.
  return [Math.max(...fits), Math.min(...fits), false];
}

/** The earlier and later offsets of `zone` at wall time `local` and whether it is skipped, or null for an unknown zone. */
function offsetsAt(zone: string, local: number): readonly [number, number, boolean] | null {
  const fixed = offsetMinutes(zone);
  if (fixed !== null) return [fixed * 60_000, fixed * 60_000, false];
  let byStep = zoneOffsets.get(zone);
  if (!byStep) {
    if (!isNamedZone(zone)) return null;
    zoneOffsets.set(zone, (byStep = new Map()));
  }
  const step = Math.floor(local / QUARTER_HOUR) * QUARTER_HOUR;
  let offsets = byStep.get(step);
  if (offsets === undefined) {
    offsets = wallOffsets(zone, step);
    if (byStep.size > 200_000) byStep.clear();
    byStep.set(step, offsets);
  }
  return offsets;
}

/**
 * Per import (its options object): the last instant read, and the wall times that happened twice.
 * A wall time in the repeated hour is read as whichever of its two instants is nearer the time read
 * just before it, when that is within three hours: a time-ordered export (a Grafana panel across the
 * change) then keeps both passes of the hour apart, in either order. Without a near neighbour it is
 * the later instant. Either way it is counted, so the report can say so.
 */
interface ZoneReading { last: number | null; repeated: number; example: string | null; skipped: number; skippedExample: string | null }
const readings = new WeakMap<TimeOptions, ZoneReading>();
const NEAR = 3 * 3_600_000;

function readingOf(options: TimeOptions): ZoneReading {
  let r = readings.get(options);
  if (!r) readings.set(options, (r = { last: null, repeated: 0, example: null, skipped: 0, skippedExample: null }));
  return r;
}

function placeWallTime(zone: string, local: number, text: string, options: TimeOptions): number | null {
  const offsets = offsetsAt(zone, local);
  if (offsets === null) return null;
  const reading = readingOf(options);
  const [earlyOffset, lateOffset, skipped] = offsets;
  if (skipped) {
    reading.skipped++;
    reading.skippedExample ??= text;
  }
  let t = local - lateOffset;
  if (earlyOffset !== lateOffset) {
    const early = local - earlyOffset;
    const last = reading.last;
    if (last !== null && Math.min(Math.abs(last - early), Math.abs(last - t)) <= NEAR && Math.abs(last - early) < Math.abs(last - t)) t = early;
    reading.repeated++;
    reading.example ??= text;
  }
  reading.last = t;
  return t;
}

/** How many wall times of an import fell in an hour that happens twice, and the first of them. */
export function repeatedWallTimes(options: TimeOptions): { count: number; example: string } | null {
  const r = readings.get(options);
  return r && r.repeated > 0 ? { count: r.repeated, example: r.example! } : null;
}

/** How many wall times of an import fell in an hour skipped as clocks went forward, and the first of them. */
export function skippedWallTimes(options: TimeOptions): { count: number; example: string } | null {
  const r = readings.get(options);
  return r && r.skipped > 0 ? { count: r.skipped, example: r.skippedExample! } : null;
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

/**
 * How to write the wall time of `t` in `zone` with each of its two offsets ("01:30-04:00 or
 * 01:30-05:00"), for a time in the hour that happens twice: what a user adds to say which.
 */
export function twinOffsets(zone: string, t: number): string {
  const offset = offsetAtInstant(zone, t);
  const wall = new Date(t + offset).toISOString().slice(11, 16);
  const offsets = offsetsAt(zone, t + offset) ?? [offset, offset];
  const text = (o: number): string => `${o < 0 ? '-' : '+'}${String(Math.floor(Math.abs(o) / 3_600_000)).padStart(2, '0')}:${String((Math.abs(o) / 60_000) % 60).padStart(2, '0')}`;
  return `${wall}${text(offsets[0])} or ${wall}${text(offsets[1])}`;
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

// Where an epoch number may land. A unit the user stated is trusted from 1900 to 2200 (past that, the
// unit is wrong: seconds read as milliseconds are 1970, milliseconds read as seconds are year 56000);
// a unit guessed from the magnitude only from 1990, because the numbers that land before it are
// mostly not epoch times at all: 20240401 (a compact date) is 1970-08-23 in seconds, and 45383
// (a spreadsheet's serial date) is 1970-01-01T12:36Z. Telemetry cannot be deleted once imported,
// so a wrong guess is refused rather than stored.
const STATED_FROM = Date.UTC(1900, 0, 1);
const GUESSED_FROM = Date.UTC(1990, 0, 1);
const LATEST = Date.UTC(2200, 0, 1);
const UNIT_NAMES: Record<Exclude<TimeUnit, 'auto'>, string> = { s: 'seconds', ms: 'milliseconds', us: 'microseconds', ns: 'nanoseconds' };

/** An epoch time given as a number (JSON formats), in the options' unit. */
export function timestampFromNumber(value: number, options: TimeOptions, text = String(value)): ParsedTime {
  const unit = options.unit === 'auto' ? detectUnit(value) : options.unit;
  const ms = Math.round(value * UNIT_TO_MS[unit]);
  if (!Number.isSafeInteger(ms)) return { ok: false, reason: `timestamp ${text} is out of range` };
  if (ms >= GUESSED_FROM && ms < LATEST) return { ok: true, ms };
  if (options.unit !== 'auto' && ms >= STATED_FROM && ms < LATEST) return { ok: true, ms };
  return { ok: false, reason: implausible(text, ms, unit, options.unit === 'auto') };
}

/** Why an epoch number is not taken as one, with what it more likely is. */
function implausible(text: string, ms: number, unit: Exclude<TimeUnit, 'auto'>, guessed: boolean): string {
  const when = new Date(ms).toISOString().replace(/\.000Z$/, 'Z');
  const read = `timestamp ${truncate(text)} read as epoch ${UNIT_NAMES[unit]} is ${when}`;
  const compact = /^(\d{4})(\d{2})(\d{2})(\d{2})?(\d{2})?(\d{2})?$/.exec(text);
  if (compact && [8, 12, 14].includes(text.length) && Number(compact[1]) >= 1900 && Number(compact[2]) >= 1 && Number(compact[2]) <= 12 && Number(compact[3]) >= 1 && Number(compact[3]) <= 31) {
    const format = ['yyyyMMdd', '', '', '', 'yyyyMMddHHmm', '', 'yyyyMMddHHmmss'][text.length - 8];
    return `${read}; it looks like a date written ${format}: state that format (the time format, --time-format ${format} on the command line)`;
  }
  const number = Number(text);
  if (guessed && number >= 1 && number < 110_000) return `${read}; it looks like a spreadsheet's serial date (days since 1899-12-30): format that column as a date (yyyy-mm-dd hh:mm:ss) before exporting`;
  if (!guessed) {
    const other = (Object.keys(UNIT_TO_MS) as Exclude<TimeUnit, 'auto'>[]).find((u) => u !== unit && number * UNIT_TO_MS[u] >= GUESSED_FROM && number * UNIT_TO_MS[u] < LATEST);
    return `${read}, which is not a plausible time${other ? `; as ${UNIT_NAMES[other]} it would be ${new Date(Math.round(number * UNIT_TO_MS[other])).toISOString().slice(0, 10)} (the time unit, --time-unit on the command line)` : ''}`;
  }
  return `${read}, which is not a plausible time for an export; if it is right, state the unit (the time unit, --time-unit on the command line), which allows times from 1900`;
}

function parseTimestampUncached(raw: string, options: TimeOptions): ParsedTime {
  const text = raw.trim();
  if (text === '') return { ok: false, reason: 'empty timestamp' };
  if (NUMERIC.test(text)) {
    // A stated format is what the user says the column holds, digits or not (yyyyMMdd, yyyyMMddHHmm);
    // a number it does not fit (an epoch time in another column) is still read as one.
    if (options.format) {
      const formatted = parseFormatted(text, options);
      if (formatted.ok) return formatted;
    }
    return timestampFromNumber(Number(text), options, text);
  }
  if ((text.length === 20 || (text.length === 24 && text.charCodeAt(19) === 46 /* . */)) && text.charCodeAt(text.length - 1) === 90 /* Z */) {
    const fast = parseIsoZ(text);
    if (fast !== null) return { ok: true, ms: fast };
  }
  const m = options.format && !STRICT_ISO.test(text) ? null : ISO.exec(text);
  if (!m) {
    if (options.format) return parseFormatted(text, options);
    return { ok: false, reason: `unparseable timestamp "${truncate(text)}"${LOCAL_DATE.test(text) ? '; dates written like this need their format stated (the time format, --time-format on the command line, e.g. MM/dd/yyyy HH:mm or dd.MM.yyyy HH:mm)' : '; write ISO 8601 or epoch time, or state its format (the time format, --time-format on the command line, in date-fns tokens, e.g. "EEE, dd MMM yyyy HH:mm:ss \'GMT\'" or "MMM d, yyyy h:mm:ss a")'}` };
  }
  const [, y, , mo, d, h = '00', mi = '00', s = '00', frac = '', zone, abbreviation] = m;
  // An abbreviation alone ("15:04 EST", "CET") names no one offset (CST is three): refused, not guessed.
  if (abbreviation && !(zone && /^[+-]/.test(zone))) return { ok: false, reason: `timestamp "${truncate(text)}" names its zone by an abbreviation${zone ? ' after another zone' : ''}, which names no one offset; give an offset (+01:00) or set the time zone (--time-zone on the command line) and leave it out` };
  if (!zone && !options.timeZone) return { ok: false, reason: `timestamp "${truncate(text)}" has no time zone; add an offset or set the time zone (--time-zone on the command line)` };
  const fields = [Number(y), Number(mo), Number(d), Number(h), Number(mi), Number(s)] as const;
  const utc = utcMs(fields[0], fields[1] - 1, fields[2], fields[3], fields[4], fields[5]);
  const check = new Date(utc);
  // Date.UTC rolls 2026-02-31 over to March; a real export never says that, so refuse it.
  if (check.getUTCMonth() !== fields[1] - 1 || check.getUTCDate() !== fields[2] || fields[3] > 23 || fields[4] > 59 || fields[5] > 60) {
    return { ok: false, reason: `timestamp "${truncate(text)}" is not a real date` };
  }
  const fraction = frac ? Math.round(Number(`0.${frac.slice(1)}`) * 1000) : 0;
  if (zone) {
    const minutes = offsetMinutes(zone);
    if (minutes === null) return { ok: false, reason: `bad time zone in "${truncate(text)}"` };
    return { ok: true, ms: utc + fraction - minutes * 60_000 };
  }
  const ms = placeWallTime(options.timeZone!, utc + fraction, text, options);
  if (ms === null) return { ok: false, reason: `unknown time zone "${truncate(options.timeZone!)}": use UTC, an offset like +02:00, or a name like Europe/Berlin` };
  return { ok: true, ms };
}

// A day, month and year in some local order (11/26/2026, 26.11.2026, 26-11-26): what a stated format is for.
const LOCAL_DATE = /^\d{1,2}[./-]\d{1,2}[./-]\d{2,4}\b/;
// date-fns tokens that carry an offset or zone: with one, the text says its own instant.
const ZONE_TOKEN = /(^|[^'])(X|x|O|z)/;
const EPOCH = new Date(0);
// date-fns reads a two-digit year (`yy`) as the year nearest its reference date's: with 2000 as the
// reference, 00-49 are 2000-2049 and 50-99 are 1950-1999 (POSIX strptime splits at 69, close
// enough for exports of the last decades); with 1970, as before, 24 was 1924.
const TWO_DIGIT_YEARS_NEAR = new Date(Date.UTC(2000, 0, 1));

/**
 * A timestamp in a stated date-fns format. The wall-clock fields are read in UTC (date-fns' `in`
 * context: its default, the process's own zone, moves a wall time that zone skips by an hour), then
 * placed in the import's time zone like an ISO time without an offset; a format with a zone token
 * says its own instant.
 */
function parseFormatted(text: string, options: TimeOptions): ParsedTime {
  const format = options.format!;
  const wall = parseWithFormat(text, format, TWO_DIGIT_YEARS_NEAR, { in: utc }).getTime();
  if (!Number.isFinite(wall)) return { ok: false, reason: `timestamp "${truncate(text)}" does not match the time format "${truncate(format)}"` };
  if (ZONE_TOKEN.test(format.replace(/'[^']*'/g, ''))) return { ok: true, ms: wall };
  if (!options.timeZone) return { ok: false, reason: `timestamp "${truncate(text)}" has no time zone; set the time zone (--time-zone on the command line)` };
  const ms = placeWallTime(options.timeZone, wall, text, options);
  if (ms === null) return { ok: false, reason: `unknown time zone "${truncate(options.timeZone)}": use UTC, an offset like +02:00, or a name like Europe/Berlin` };
  return { ok: true, ms };
}

/**
 * Why a date-fns format cannot be used (date-fns' own words), or null if it can. Formatting checks
 * every token; parsing stops at the first that does not match, so it would miss a `YYYY` after it.
 */
export function timeFormatProblem(format: string): string | null {
  let written: string;
  try {
    written = formatDate(EPOCH, format, { in: utc });
  } catch (err) {
    return (err as Error).message;
  }
  // Some tokens can be written but not read back (`z`, a zone's name such as "PST", is ambiguous
  // the world over): checked here, before a file's rows are read with it.
  try {
    parseWithFormat(written, format, TWO_DIGIT_YEARS_NEAR, { in: utc });
    return null;
  } catch (err) {
    return `${(err as Error).message}. It can be written but not read; for an offset in the text use XXX (+02:00), xx (+0200) or X (Z)`;
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
