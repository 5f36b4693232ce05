import { AssertionError, deepStrictEqual, notStrictEqual, strictEqual } from 'node:assert/strict';

// The few matchers the store contract uses, on node:assert: the suite runs under vitest, jest or node:test
// without importing any of them, and a failure is an AssertionError every runner reports with its diff.

/** A copy without `undefined` properties (a store that drops them when it serializes is still right), Maps and arrays kept. */
function defined(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(defined);
  if (value instanceof Map) return new Map([...value].map(([k, v]) => [k, defined(v)]));
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) if (item !== undefined) out[key] = defined(item);
  return out;
}

export interface Matchers {
  toBe(expected: unknown): void;
  toEqual(expected: unknown): void;
  toBeUndefined(): void;
  toMatchObject(expected: Record<string, unknown>): void;
  toBeCloseTo(expected: number, digits?: number): void;
  toHaveLength(length: number): void;
  toBeGreaterThan(bound: number): void;
  readonly not: { toBe(expected: unknown): void };
  readonly resolves: { toBe(expected: unknown): Promise<void> };
}

export function expect(actual: unknown): Matchers {
  return {
    toBe: (expected) => strictEqual(actual, expected),
    toEqual: (expected) => deepStrictEqual(defined(actual), defined(expected)),
    toBeUndefined: () => strictEqual(actual, undefined),
    toMatchObject(expected) {
      const picked: Record<string, unknown> = {};
      for (const key of Object.keys(expected)) picked[key] = (actual as Record<string, unknown> | undefined)?.[key];
      deepStrictEqual(defined(picked), defined(expected));
    },
    toBeCloseTo(expected, digits = 2) {
      const value = actual as number;
      if (!(Math.abs(value - expected) < 10 ** -digits / 2)) {
        throw new AssertionError({ message: `Expected ${value} to be close to ${expected} (${digits} digits)`, actual, expected, operator: 'toBeCloseTo' });
      }
    },
    toHaveLength: (length) => strictEqual((actual as { length: number }).length, length),
    toBeGreaterThan(bound) {
      if (!((actual as number) > bound)) throw new AssertionError({ message: `Expected ${String(actual)} > ${bound}`, actual, expected: bound, operator: '>' });
    },
    not: { toBe: (expected) => notStrictEqual(actual, expected) },
    resolves: {
      async toBe(expected) {
        strictEqual(await (actual as Promise<unknown>), expected);
      },
    },
  };
}
