import { stringEnd } from './json-items.js';

/**
 * A Prometheus series' samples read straight from its JSON text into columns.
 *
 * Why: JSON.parse of a 50k-sample series builds 50k arrays and 50k strings, which live while the
 * series is turned into rows, outlast two scavenges, and are promoted: on a 1M-sample response
 * about 110 MB of old-space garbage, which V8 lets pile up to ~4× the live heap before collecting
 * (the import's peak RSS wandered 300–370 MB). Read here into two Float64Arrays, a series keeps
 * 16 bytes a sample off the heap, and only what is not a plain number keeps its text.
 *
 * Only the common shape is read here: `[number, "string without escapes"]`. Anything else (escapes,
 * another shape, a second "values" key) returns null and the caller parses the series with JSON.parse,
 * so every odd input still gets the same rows and the same located errors as before.
 */
export class SampleColumns {
  constructor(
    readonly times: Float64Array,
    /** the sample's value where it is a number written out; NaN where `raw` keeps its text */
    readonly values: Float64Array,
    /** the text of each value that is not a plain number (NaN, +Inf, "", …), by sample index */
    readonly raw: Map<number, string>,
  ) {}

  get length(): number {
    return this.times.length;
  }
}

const isSpace = (c: number): boolean => c === 32 || c === 10 || c === 13 || c === 9;
const isDigit = (c: number): boolean => c >= 48 && c <= 57;

/** The end of a JSON number starting at `i`, or -1 if none starts there (JSON's grammar, exactly). */
function numberEnd(text: string, i: number): number {
  const n = text.length;
  if (text.charCodeAt(i) === 45) i++; // -
  if (i >= n) return -1;
  if (text.charCodeAt(i) === 48) i++; // a leading 0 stands alone
  else if (isDigit(text.charCodeAt(i))) while (i < n && isDigit(text.charCodeAt(i))) i++;
  else return -1;
  if (text.charCodeAt(i) === 46) {
    i++;
    if (!isDigit(text.charCodeAt(i))) return -1;
    while (i < n && isDigit(text.charCodeAt(i))) i++;
  }
  const e = text.charCodeAt(i);
  if (e === 101 || e === 69) {
    i++;
    const sign = text.charCodeAt(i);
    if (sign === 43 || sign === 45) i++;
    if (!isDigit(text.charCodeAt(i))) return -1;
    while (i < n && isDigit(text.charCodeAt(i))) i++;
  }
  return i;
}

const hasControl = (s: string): boolean => {
  for (let k = 0; k < s.length; k++) if (s.charCodeAt(k) < 32) return true;
  return false;
};

const skip = (text: string, i: number): number => {
  while (i < text.length && isSpace(text.charCodeAt(i))) i++;
  return i;
};

/** Reads `[[t, "v"], …]` from `open` (its "["); the columns and the index after its "]", or null. */
function readSamples(text: string, open: number): { columns: SampleColumns; end: number } | null {
  let times = new Float64Array(1024);
  let values = new Float64Array(1024);
  const raw = new Map<number, string>();
  let count = 0;
  let i = skip(text, open + 1);
  if (text.charCodeAt(i) === 93) return { columns: new SampleColumns(times.subarray(0, 0), values.subarray(0, 0), raw), end: i + 1 };
  for (;;) {
    if (text.charCodeAt(i) !== 91) return null;
    i = skip(text, i + 1);
    const tEnd = numberEnd(text, i);
    if (tEnd < 0) return null;
    const t = Number(text.slice(i, tEnd));
    i = skip(text, tEnd);
    if (text.charCodeAt(i) !== 44) return null;
    i = skip(text, i + 1);
    if (text.charCodeAt(i) !== 34) return null;
    const close = text.indexOf('"', i + 1);
    if (close < 0) return null;
    const s = text.slice(i + 1, close);
    // An escape, or a control character JSON forbids in a string: JSON.parse decides.
    if (s.includes('\\') || hasControl(s)) return null;
    i = skip(text, close + 1);
    if (text.charCodeAt(i) !== 93) return null;
    i = skip(text, i + 1);
    if (count === times.length) {
      const grown = new Float64Array(count * 2);
      grown.set(times);
      times = grown;
      const grownValues = new Float64Array(count * 2);
      grownValues.set(values);
      values = grownValues;
    }
    const v = Number(s);
    // Number('') and Number(' ') are 0: only a number written out is one (as prometheusReader says).
    if (Number.isFinite(v) && (v !== 0 || s.trim() !== '')) values[count] = v;
    else {
      values[count] = Number.NaN;
      raw.set(count, s);
    }
    times[count++] = t;
    const c = text.charCodeAt(i);
    if (c === 93) return { columns: new SampleColumns(times.slice(0, count), values.slice(0, count), raw), end: i + 1 };
    if (c !== 44) return null;
    i = skip(text, i + 1);
  }
}

/**
 * Parses one series' JSON text as JSON.parse would, except that its "values" are SampleColumns when
 * they have the common shape. Throws JSON.parse's own error on text that is not JSON.
 */
export function parseSeries(text: string): unknown {
  const fast = parseWithColumns(text);
  return fast ?? JSON.parse(text);
}

function parseWithColumns(text: string): Record<string, unknown> | null {
  let i = skip(text, 0);
  if (text.charCodeAt(i) !== 123) return null;
  // Walk the object's own keys (depth 1); strings and nested values are skipped by bracket counting.
  let depth = 0;
  let expectKey = false;
  let samples: { columns: SampleColumns; start: number; end: number } | null = null;
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 34) {
      const close = stringEnd(text, i + 1);
      if (close < 0) return null;
      if (depth === 1 && expectKey) {
        expectKey = false;
        const key = text.slice(i + 1, close - 1);
        let j = skip(text, close);
        if (text.charCodeAt(j) !== 58) return null;
        j = skip(text, j + 1);
        if (key === 'values' || key.includes('\\')) {
          // A second "values", or a key JSON spells with escapes: leave the object to JSON.parse.
          if (samples || key !== 'values' || text.charCodeAt(j) !== 91) return null;
          const read = readSamples(text, j);
          if (!read) return null;
          samples = { columns: read.columns, start: j, end: read.end };
          i = read.end;
          continue;
        }
        i = j;
        continue;
      }
      i = close;
      continue;
    }
    if (c === 123 || c === 91) {
      depth++;
      if (depth === 1) expectKey = true;
    } else if (c === 125 || c === 93) depth--;
    else if (c === 44 && depth === 1) expectKey = true;
    i++;
  }
  if (!samples) return null;
  let rest: Record<string, unknown>;
  try {
    rest = JSON.parse(`${text.slice(0, samples.start)}[]${text.slice(samples.end)}`) as Record<string, unknown>;
  } catch {
    return null; // JSON.parse of the whole text gives the error, at its true position
  }
  rest.values = samples.columns;
  return rest;
}
