import { InvalidConfigError, InvalidInputError, type CascadeRouterError } from './errors.js';

/** A duration: milliseconds as a number, or a string such as `'500ms'`, `'30s'`, `'2m'`, `'1h30m'`, `'1d'`. */
export type Duration = number | string;

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;

/** Parses a duration to milliseconds; a bad one throws `error` (default `InvalidInputError`), naming `field`. */
export function toMs(value: Duration, field = 'duration', error: new (message: string) => CascadeRouterError = InvalidInputError): number {
  const fail = (): never => {
    throw new error(
      `Expected \`${field}\` to be a non-negative duration (milliseconds, or a string like "30s", "2m", "1h30m"), got ${JSON.stringify(value)}`,
    );
  };
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) fail();
    return Math.round(value);
  }
  const text = value.trim();
  if (text === '') fail();
  let total = 0;
  PART.lastIndex = 0;
  let consumed = 0;
  for (let match = PART.exec(text); match; match = PART.exec(text)) {
    total += Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
    consumed = PART.lastIndex;
  }
  if (consumed !== text.length) fail();
  return Math.round(total);
}

/**
 * A store option given as a duration (`'30s'`, or milliseconds) under its own name, or in milliseconds under
 * its older `…Ms` name; both at once is a configuration error. `Infinity` is kept where `infinite` allows it.
 */
export function durationOption(
  options: object,
  name: string,
  fallbackMs: number,
  { infinite = false }: { readonly infinite?: boolean } = {},
): number {
  const record = options as Record<string, unknown>;
  const given = record[name];
  const legacy = record[`${name}Ms`];
  if (given !== undefined && legacy !== undefined) {
    throw new InvalidConfigError(`Expected one of \`${name}\` or \`${name}Ms\`, got both`);
  }
  const value = given ?? legacy;
  const field = given === undefined && legacy !== undefined ? `${name}Ms` : name;
  if (value === undefined) return fallbackMs;
  if (infinite && value === Infinity) return Infinity;
  if (typeof value !== 'number' && typeof value !== 'string') {
    throw new InvalidConfigError(`Expected \`${field}\` to be a duration (milliseconds, or a string like "30s"), got ${typeof value}`);
  }
  return toMs(value, field, InvalidConfigError);
}
