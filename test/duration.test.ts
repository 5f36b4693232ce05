import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidInputError, toMs } from 'cascade-router';

describe('toMs', () => {
  it('takes a number as milliseconds, rounded', () => {
    expect(toMs(0)).toBe(0);
    expect(toMs(1500)).toBe(1500);
    expect(toMs(1.4)).toBe(1);
    expect(toMs(1.5)).toBe(2);
  });

  it('parses each unit', () => {
    expect(toMs('500ms')).toBe(500);
    expect(toMs('30s')).toBe(30_000);
    expect(toMs('2m')).toBe(120_000);
    expect(toMs('1h')).toBe(3_600_000);
    expect(toMs('1d')).toBe(86_400_000);
  });

  it('adds compound durations and reads decimals', () => {
    expect(toMs('1h30m')).toBe(5_400_000);
    expect(toMs('1d2h3m4s5ms')).toBe(86_400_000 + 7_200_000 + 180_000 + 4_000 + 5);
    expect(toMs('2m30s')).toBe(150_000);
    expect(toMs('1.5s')).toBe(1_500);
    expect(toMs('0.5d')).toBe(43_200_000);
    expect(toMs('1s500ms')).toBe(1_500);
  });

  it('ignores surrounding whitespace', () => {
    expect(toMs(' 2m ')).toBe(120_000);
  });

  it('rejects negative, NaN and infinite numbers', () => {
    expect(() => toMs(-5)).toThrow(InvalidInputError);
    expect(() => toMs(Number.NaN)).toThrow(InvalidInputError);
    expect(() => toMs(Number.POSITIVE_INFINITY)).toThrow(InvalidInputError);
  });

  it('rejects strings that are not durations', () => {
    for (const bad of ['', '   ', '5', 'abc', '2x', '-1s', '1h 30m', 'm', '1.s', '.5s', '2 m', '1h30', 's30', '1.5.5s', '10M']) {
      expect(() => toMs(bad), JSON.stringify(bad)).toThrow(InvalidInputError);
    }
  });

  it('names the field and the value in its message', () => {
    try {
      toMs(-5, 'timeout');
      expect.unreachable();
    } catch (error) {
      expect((error as InvalidInputError).code).toBe('INVALID_INPUT');
      expect((error as Error).message).toBe(
        'Expected `timeout` to be a non-negative duration (milliseconds, or a string like "30s", "2m", "1h30m"), got -5',
      );
    }
    expect(() => toMs('soon', 'delays.email')).toThrow(
      'Expected `delays.email` to be a non-negative duration (milliseconds, or a string like "30s", "2m", "1h30m"), got "soon"',
    );
  });

  it('parses any concatenation of whole-number parts to the sum of their milliseconds', () => {
    const units = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 10_000 }), fc.constantFrom(...(Object.keys(units) as (keyof typeof units)[]))), {
          minLength: 1,
          maxLength: 5,
        }),
        (parts) => {
          const text = parts.map(([n, unit]) => `${n}${unit}`).join('');
          const expected = parts.reduce((sum, [n, unit]) => sum + n * units[unit], 0);
          expect(toMs(text)).toBe(expected);
        },
      ),
    );
  });
});
