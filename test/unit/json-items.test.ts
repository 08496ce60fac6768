import fc from 'fast-check';
import { Readable } from 'node:stream';
import Parser from 'stream-json/Parser.js';
import Pick from 'stream-json/filters/Pick.js';
import StreamValues from 'stream-json/streamers/StreamValues.js';
import { describe, expect, it } from 'vitest';
import { JsonItemScanner } from '../../electron/engine/importers/json-items.js';

/**
 * The importers' JSON item scanner against stream-json (what it replaced, and the reference): the
 * same items, in the same order, however the text is cut into pieces; and clear, located errors.
 */

async function reference(text: string, filter: RegExp): Promise<unknown[]> {
  const values = new StreamValues();
  Readable.from([text]).pipe(new Parser({ jsonStreaming: true })).pipe(new Pick({ filter, pathSeparator: '.' })).pipe(values);
  const out: unknown[] = [];
  for await (const v of values as AsyncIterable<{ value: unknown }>) out.push(v.value);
  return out;
}

function scan(pieces: string[], filter: RegExp, limit?: number): unknown[] {
  const scanner = new JsonItemScanner(filter, limit);
  const out: unknown[] = [];
  for (const p of pieces) out.push(...scanner.push(p));
  out.push(...scanner.end());
  return out;
}

/** `text` cut at the given fractions of its length. */
function cut(text: string, at: number[]): string[] {
  const points = [...new Set(at.map((f) => Math.floor(f * text.length)))].sort((a, b) => a - b);
  const pieces: string[] = [];
  let from = 0;
  for (const p of points) {
    pieces.push(text.slice(from, p));
    from = p;
  }
  pieces.push(text.slice(from));
  return pieces;
}

const FILTERS = [/^\d+$/, /^a\.\d+$/, /^[^.]+$/, /^data\.result\.\d+$/, /^a$/, /\.b$/, /^a\.\d+\.b$/];

describe('the JSON item scanner', () => {
  it('finds exactly the items stream-json picks, for any documents cut anywhere', async () => {
    const doc = fc.oneof(
      fc.jsonValue(),
      fc.record({ a: fc.array(fc.oneof(fc.jsonValue(), fc.record({ b: fc.jsonValue() }))), b: fc.jsonValue() }),
      fc.record({ status: fc.constant('success'), data: fc.record({ resultType: fc.constant('matrix'), result: fc.array(fc.record({ metric: fc.dictionary(fc.string(), fc.string()), values: fc.array(fc.tuple(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.string())) })) }) }),
      fc.array(fc.jsonValue()),
    );
    await fc.assert(fc.asyncProperty(
      fc.array(doc, { minLength: 1, maxLength: 3 }), fc.constantFrom(...FILTERS), fc.constantFrom(0, 2), fc.constantFrom('\n', ' ', '\r\n'), fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 12 }),
      async (docs, filter, indent, between, at) => {
        const text = docs.map((d) => JSON.stringify(d, null, indent)).join(between);
        // stream-json assembles "__proto__" as a prototype; JSON.parse keeps it as a key.
        fc.pre(!text.includes('__proto__'));
        expect(scan(cut(text, at), filter)).toEqual(await reference(text, filter));
      },
    ), { numRuns: 400 });
  });

  it('carries strings, escapes and numbers across pieces one character long', () => {
    const text = '\uFEFF{"data":{"result":[{"metric":{"na\\"me":"a\\\\b","x":"\\u00e9]}"},"values":[[1.5e3,"-0.25"]]},12.5e-1,"s\\"]",true,null]}}';
    expect(scan([...text], /^data\.result\.\d+$/)).toEqual(JSON.parse(text.slice(1)).data.result);
    expect(scan([text], /^data\.result\.\d+$/)).toEqual(JSON.parse(text.slice(1)).data.result);
  });

  it('says where the JSON is broken', () => {
    const items = /^data\.result\.\d+$/;
    expect(() => scan(['{"data":{"result":[{"metric":{}, "values":[[1,"2"]'], items)).toThrow('the JSON ends inside data.result.0 (which starts at character 20)');
    expect(() => scan(['{"data":{"result":[{"a":1}'], items)).toThrow('the JSON ends before its document is complete (inside data.result.0)');
    expect(() => scan(['{"data":{"result":[{"a":1},]}}'], items)).toThrow('unexpected "]" at character 28 (inside data.result.1)');
    expect(() => scan(['{"data" {"result":[]}}'], items)).toThrow('expected ":" after the key "data", found "{" at character 9');
    expect(() => scan(['{"data":{"result":[{"a":tru}]}}'], items)).toThrow(/^data\.result\.0 \(from character 20\) is not valid JSON: /);
    expect(() => scan(['{"data":{"result":[]}}}'], items)).toThrow('unexpected "}" at character 23');
    expect(() => scan(['{"data":{"result":[]]}'], items)).toThrow('expected "," or "}", found "]" at character 21 (inside data.result)');
    expect(() => scan(['{"data":nul}'], items)).toThrow('"nul" is not a JSON value at character 9 (inside data)');
    expect(() => scan(['{"data":{"result":["', 'x'.repeat(100), '"]}}'], items, 64)).toThrow('data.result.0 is larger than 64 characters of text; split the export into smaller files');
  });

  it('reads documents one after another, and nothing from an empty input', () => {
    expect(scan(['[1,2] [3]\n{"0":"x"}'], /^\d+$/)).toEqual([1, 2, 3, 'x']);
    expect(scan(['', '  \n'], /^\d+$/)).toEqual([]);
    expect(scan(['[10', '0, 2', '00]'], /^\d+$/)).toEqual([100, 200]);
  });
});
