import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatMicros, InvalidInputError, toMicros } from 'cascade-router';

/** The canonical decimal formatMicros writes: trailing zeros dropped, but at least two decimals. */
function canonical(whole: bigint, fraction: string): string {
  const trimmed = fraction.replace(/0+$/, '');
  return `${whole}.${trimmed.padEnd(2, '0')}`;
}

describe('toMicros', () => {
  it('converts decimal numbers and strings to integer micro-units', () => {
    expect(toMicros(0)).toBe(0);
    expect(toMicros(1)).toBe(1_000_000);
    expect(toMicros(0.0075)).toBe(7_500);
    expect(toMicros('0.0075')).toBe(7_500);
    expect(toMicros(0.000001)).toBe(1);
    expect(toMicros('0.000001')).toBe(1);
    expect(toMicros('12')).toBe(12_000_000);
    expect(toMicros('12.5')).toBe(12_500_000);
    expect(toMicros(' 0.05 ')).toBe(50_000);
    expect(toMicros(12_345_678.123456)).toBe(12_345_678_123_456);
  });

  it('sums 0.1 ten times to exactly 1.00 (floats give 0.9999999999999999)', () => {
    let floatSum = 0;
    let micros = 0;
    for (let i = 0; i < 10; i++) {
      floatSum += 0.1;
      micros += toMicros(0.1);
    }
    expect(floatSum).toBe(0.9999999999999999);
    expect(micros).toBe(1_000_000);
    expect(formatMicros(micros)).toBe('1.00');
  });

  it('takes a float that carries drift (0.1 + 0.2) as the decimal it stands for', () => {
    expect(0.1 + 0.2).toBe(0.30000000000000004);
    expect(toMicros(0.1 + 0.2)).toBe(300_000);
  });

  it('rejects negative amounts', () => {
    expect(() => toMicros(-0.01)).toThrow(InvalidInputError);
    expect(() => toMicros('-0.01')).toThrow(InvalidInputError);
    expect(() => toMicros(-1, 'maxCost')).toThrow(
      'Expected `maxCost` to be a non-negative decimal with at most 6 decimal places, got -1',
    );
  });

  it('rejects NaN and infinities', () => {
    expect(() => toMicros(Number.NaN)).toThrow(InvalidInputError);
    expect(() => toMicros(Number.POSITIVE_INFINITY)).toThrow(InvalidInputError);
    expect(() => toMicros(Number.NEGATIVE_INFINITY)).toThrow(InvalidInputError);
    expect(() => toMicros(Number.NaN, 'price')).toThrow('Expected `price` to be a non-negative decimal with at most 6 decimal places, got NaN');
  });

  it('rejects more than 6 decimal places', () => {
    expect(() => toMicros(0.0000001)).toThrow(InvalidInputError);
    expect(() => toMicros(0.1234567)).toThrow(InvalidInputError);
    expect(() => toMicros('0.1234567')).toThrow(InvalidInputError);
    expect(() => toMicros('0.0000001', 'cost')).toThrow(
      'Expected `cost` to be a non-negative decimal with at most 6 decimal places, got "0.0000001"',
    );
  });

  it('rejects strings that are not plain decimals', () => {
    for (const bad of ['', ' ', 'abc', '1e3', '1e-3', '.5', '5.', '1,5', '1.2.3', '+1', '0x10', 'NaN', 'Infinity', '1 000', '$1']) {
      expect(() => toMicros(bad), JSON.stringify(bad)).toThrow(InvalidInputError);
    }
    try {
      toMicros('abc', 'amount');
      expect.unreachable();
    } catch (error) {
      expect((error as InvalidInputError).code).toBe('INVALID_INPUT');
      expect((error as Error).message).toBe('Expected `amount` to be a non-negative decimal with at most 6 decimal places, got "abc"');
    }
  });

  it('rejects a number too large to stay exact in micro-units', () => {
    expect(() => toMicros(9_007_199_254.740993)).toThrow(InvalidInputError);
    expect(() => toMicros(1e20)).toThrow(InvalidInputError);
  });

  it('rejects a string too large to stay exact in micro-units, like it rejects the same number', () => {
    // 9007199254.740993 is 2^53 + 1 micro-units: as a float it silently becomes 2^53.
    expect(() => toMicros('9007199254.740993')).toThrow(InvalidInputError);
    expect(() => toMicros('99999999999999999')).toThrow(InvalidInputError);
  });
});

describe('formatMicros', () => {
  it('writes at least two decimals and drops other trailing zeros', () => {
    expect(formatMicros(0)).toBe('0.00');
    expect(formatMicros(1_000_000)).toBe('1.00');
    expect(formatMicros(1_500_000)).toBe('1.50');
    expect(formatMicros(7_500)).toBe('0.0075');
    expect(formatMicros(50_000)).toBe('0.05');
    expect(formatMicros(1)).toBe('0.000001');
    expect(formatMicros(10)).toBe('0.00001');
    expect(formatMicros(123_456_789)).toBe('123.456789');
    expect(formatMicros(100_000)).toBe('0.10');
    expect(formatMicros(120_000)).toBe('0.12');
    expect(formatMicros(123_000)).toBe('0.123');
  });

  it('writes negative amounts with a sign', () => {
    expect(formatMicros(-1_500_000)).toBe('-1.50');
    expect(formatMicros(-7_500)).toBe('-0.0075');
  });

  it('formatMicros(toMicros(x)) round-trips every decimal with ≤6 places', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 9_000_000_000n }),
        fc.integer({ min: 0, max: 6 }).chain((places) => fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: places, maxLength: places })),
        (whole, fraction) => {
          const text = fraction === '' ? `${whole}` : `${whole}.${fraction}`;
          const micros = toMicros(text);
          expect(micros).toBe(Number(whole) * 1_000_000 + Number(fraction.padEnd(6, '0')));
          const formatted = formatMicros(micros);
          expect(formatted).toBe(canonical(whole, fraction));
          expect(toMicros(formatted)).toBe(micros);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('formatMicros(toMicros(x)) round-trips every decimal number with ≤6 places below one million', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 999_999 }), fc.integer({ min: 0, max: 999_999 }), (whole, fractionMicros) => {
        const fraction = String(fractionMicros).padStart(6, '0');
        const value = Number(`${whole}.${fraction}`);
        expect(toMicros(value)).toBe(whole * 1_000_000 + fractionMicros);
        expect(formatMicros(toMicros(value))).toBe(canonical(BigInt(whole), fraction));
      }),
      { numRuns: 500 },
    );
  });
});
