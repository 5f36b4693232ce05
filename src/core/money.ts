import { InvalidInputError, type CascadeRouterError } from './errors.js';

/** An amount in millionths of the currency unit. Integers add without drift. */
export type Micros = number;

/** An amount as the user writes it: a decimal number (`0.0075`) or a decimal string (`'0.0075'`). */
export type Amount = number | string;

const SCALE = 1_000_000;
const DECIMAL = /^(\d+)(?:\.(\d{1,6}))?$/;

/** Converts a decimal amount to integer micro-units; rejects negatives and precision finer than 1e-6 (with `error`, default `InvalidInputError`). */
export function toMicros(value: Amount, field = 'amount', error: new (message: string) => CascadeRouterError = InvalidInputError): Micros {
  if (typeof value === 'string') {
    const match = DECIMAL.exec(value.trim());
    if (!match) {
      throw new error(
        `Expected \`${field}\` to be a non-negative decimal with at most 6 decimal places, got ${JSON.stringify(value)}`,
      );
    }
    const micros = Number(match[1]) * SCALE + Number((match[2] ?? '').padEnd(6, '0'));
    if (!Number.isSafeInteger(micros)) {
      throw new error(`Expected \`${field}\` to be at most 9007199254.740991, got ${JSON.stringify(value)}`);
    }
    return micros;
  }
  const scaled = value * SCALE;
  const micros = Math.round(scaled);
  if (!Number.isFinite(value) || value < 0 || Math.abs(scaled - micros) > 1e-3 || !Number.isSafeInteger(micros)) {
    throw new error(
      `Expected \`${field}\` to be a non-negative decimal with at most 6 decimal places, got ${String(value)}`,
    );
  }
  return micros;
}

const RATE = /^(\d+)(?:\.(\d{1,12}))?$/;

/**
 * A value of time (an amount per second, non-negative, up to 12 decimal places: it weighs time against
 * money, it is never summed as money) as micro-units per millisecond.
 */
export function toMicrosPerMs(value: Amount, field = 'valueOfTime', error: new (message: string) => Error = InvalidInputError): number {
  const text = typeof value === 'string' ? value.trim() : value;
  const ok = typeof text === 'string' ? RATE.test(text) : Number.isFinite(text) && text >= 0;
  if (!ok) {
    throw new error(`Expected \`${field}\` to be a non-negative amount per second with at most 12 decimal places, got ${JSON.stringify(value)}`);
  }
  return (Number(text) * SCALE) / 1000;
}

/** Formats micro-units as a decimal string with at least two decimals: 7500 → "0.0075". */
export function formatMicros(micros: Micros): string {
  // Every free step and every event before a billed send: skip the string work.
  if (micros === 0) return '0.00';
  const sign = micros < 0 ? '-' : '';
  const abs = Math.abs(micros);
  const whole = Math.floor(abs / SCALE);
  const fraction = String(abs % SCALE).padStart(6, '0').replace(/0{1,4}$/, '');
  return `${sign}${whole}.${fraction}`;
}
