import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { plainValue } from '../../shared/domain/normalize.js';

// What plainValue is defined to be: an optional sign, then only digits and dots, read by Number(),
// kept if finite. Its quick path (digits over a power of ten) must give the very same double.
const oracle = (text: string): number | null => {
  if (!/^[+-]?[0-9.]+$/.test(text)) return null;
  const value = Number(text);
  return Number.isFinite(value) ? value : null;
};
const same = (text: string): void => {
  const got = plainValue(text);
  const want = oracle(text);
  // Object.is: -0 is not 0 (a "-0.0" cell stays negative zero, as Number() reads it).
  if (!Object.is(got, want)) expect.fail(`plainValue(${JSON.stringify(text)}) = ${got}, Number() gives ${want}`);
};

describe('plainValue', () => {
  it('reads every plain decimal as Number() does, to the last bit', () => {
    for (const text of ['0', '-0', '-0.0', '+5', '5.', '.5', '-.5', '007', '0.1', '0.3', '104.237', '-17.000', '999999999999999',
      '9999999999999999', '0.000000000000001', '123456789012.345', '1234567890123456', '9007199254740993', '1e5', '1.2.3', '.', '-', '+', '', '--1', '1-', ' 1', '1,5', 'NaN', 'Infinity']) same(text);
    expect(plainValue('104.237')).toBe(104.237);
    expect(plainValue('1.2.3')).toBeNull();
  });

  it('agrees with Number() on random strings of digits, dots and signs', () => {
    const char = fc.constantFrom('0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '.', '-', '+');
    fc.assert(fc.property(fc.array(char, { maxLength: 24 }).map((cs) => cs.join('')), (text) => same(text)), { numRuns: 20_000 });
  });

  it('agrees with Number() on decimals as exporters write them', () => {
    const written = fc.oneof(
      fc.double({ noNaN: true, noDefaultInfinity: true }).map((x) => String(x)),
      fc.tuple(fc.double({ min: -1e9, max: 1e9, noNaN: true }), fc.integer({ min: 0, max: 15 })).map(([x, d]) => x.toFixed(d)),
      fc.tuple(fc.bigInt({ min: 0n, max: 10n ** 17n }), fc.integer({ min: 0, max: 17 }), fc.boolean()).map(([m, d, neg]) => {
        const digits = m.toString().padStart(d + 1, '0');
        return `${neg ? '-' : ''}${d === 0 ? digits : `${digits.slice(0, -d)}.${digits.slice(-d)}`}`;
      }),
    );
    fc.assert(fc.property(written, (text) => same(text)), { numRuns: 50_000 });
  });
});
