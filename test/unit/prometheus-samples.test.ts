import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseSeries, SampleColumns } from '../../electron/engine/importers/prometheus-samples.js';

/**
 * The Prometheus series reader that skips JSON.parse for samples, against JSON.parse itself: for
 * any series text it must give the same labels and, sample by sample, the same time and either the
 * same number or the same text (what prometheusReader turns into a row, a gap or an error).
 */

type Sample = ['num', number, number] | ['raw', number, string];

/** What prometheusReader reads from a parsed `values` array. */
function fromArrays(values: unknown[]): Sample[] | null {
  const out: Sample[] = [];
  for (const s of values) {
    if (!Array.isArray(s) || s.length !== 2 || typeof s[0] !== 'number' || typeof s[1] !== 'string') return null;
    const v = Number(s[1]);
    out.push(Number.isFinite(v) && (v !== 0 || s[1].trim() !== '') ? ['num', s[0], v] : ['raw', s[0], s[1]]);
  }
  return out;
}

function fromColumns(c: SampleColumns): Sample[] {
  const out: Sample[] = [];
  for (let j = 0; j < c.length; j++) {
    const raw = c.raw.get(j);
    out.push(raw === undefined ? ['num', c.times[j]!, c.values[j]!] : ['raw', c.times[j]!, raw]);
  }
  return out;
}

/** parseSeries and JSON.parse agree on `text`: both throw the same error, or read the same series. */
function agree(text: string): 'columns' | 'arrays' | 'error' {
  let expected: unknown;
  try {
    expected = JSON.parse(text);
  } catch (err) {
    expect(() => parseSeries(text)).toThrow((err as Error).message);
    return 'error';
  }
  const got = parseSeries(text) as Record<string, unknown>;
  if (!(got?.values instanceof SampleColumns)) {
    expect(got).toEqual(expected);
    return 'arrays';
  }
  const { values, ...rest } = expected as Record<string, unknown>;
  const { values: columns, ...gotRest } = got;
  expect(gotRest).toEqual(rest);
  expect(fromColumns(columns as SampleColumns)).toEqual(fromArrays(values as unknown[]));
  return 'columns';
}

const valueText = fc.oneof(
  fc.double({ noNaN: false }).map(String),
  fc.integer().map(String),
  fc.constantFrom('NaN', '+Inf', '-Inf', 'Inf', '', ' ', ' 5', '1e400', '0', '-0', '0x1A', 'Infinity', '1_000', 'a "quote"', 'back\\slash', 'tab\there', '\u00e9', '\u2028'),
);
const time = fc.oneof(fc.integer({ min: 0, max: 2 ** 40 }), fc.double({ min: 0, max: 2e9, noNaN: true }), fc.constantFrom(-0, 1e21, 1.5e-7));
const series = fc.record({
  metric: fc.dictionary(fc.constantFrom('__name__', 'job', 'instance', 'le', 'values', 'x\\y', ''), fc.string({ maxLength: 6 })),
  values: fc.array(fc.tuple(time, valueText), { maxLength: 12 }),
});

describe('a Prometheus series read into columns', () => {
  it('reads what JSON.parse reads, for any series however it is spaced, and falls back where it must', () => {
    const seen = new Set<string>();
    fc.assert(fc.property(series, fc.constantFrom(0, 1, 2, '\t'), fc.boolean(), (s, indent, valuesFirst) => {
      const ordered = valuesFirst ? { values: s.values, metric: s.metric } : s;
      seen.add(agree(JSON.stringify(ordered, null, indent)));
    }), { numRuns: 400 });
    // Both paths were taken: most series are read into columns, those with escapes by JSON.parse.
    expect([...seen].sort()).toEqual(['arrays', 'columns']);
  });

  it('gives JSON.parse\'s own error for text that is not JSON, wherever it is cut or spoilt', () => {
    const text = JSON.stringify({ metric: { __name__: 'up', job: 'api' }, values: [[1767600000, '1'], [1767600060.5, 'NaN'], [1767600120, '2.5e3']] });
    for (let k = 0; k < text.length; k++) expect(agree(text.slice(0, k)), text.slice(0, k)).toBe('error');
    const spoilt = ['01', '1.', '.5', '-', '1e', '+1', 'NaN', '"1"'];
    for (const t of spoilt) expect(agree(text.replace('1767600060.5', t)), t).toBe(t === '"1"' ? 'arrays' : 'error');
    // A raw control character in a value, a second "values", trailing text, a value that is not an array.
    expect(agree(text.replace('"NaN"', '"a\u0001b"'))).toBe('error');
    expect(agree(text.replace('"metric"', '"values":[[1,"9"]],"metric"'))).toBe('arrays');
    expect(agree(`${text} x`)).toBe('error');
    expect(agree(text.replace(/"values":.*\]\]/, '"values":null'))).toBe('arrays');
  });

  it('keeps the text only of values that are not plain numbers', () => {
    const got = parseSeries('{"metric":{},"values":[[1,"1.5"],[2,"NaN"],[3,""],[4," 7 "],[5,"0"]]}') as { values: SampleColumns };
    expect([...got.values.times]).toEqual([1, 2, 3, 4, 5]);
    expect([...got.values.raw]).toEqual([[1, 'NaN'], [2, '']]);
    expect([...got.values.values].map((v) => (Number.isNaN(v) ? 'NaN' : v))).toEqual([1.5, 'NaN', 'NaN', 7, 0]);
  });
});
