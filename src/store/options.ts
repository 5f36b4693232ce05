/** Options every store takes alike, checked alike. */
import { InvalidConfigError } from '../core/errors.js';

/** The bounds on receipts held for provider ids no cascade has sent yet, as a store's options name them. */
export interface HeldOptions {
  readonly maxHeldPerId?: number | undefined;
  readonly maxHeldTotal?: number | undefined;
  /** @deprecated The same as `maxHeldTotal`. */
  readonly maxHeldReceipts?: number | undefined;
}

export const DEFAULT_MAX_HELD_PER_ID = 32;
export const DEFAULT_MAX_HELD_TOTAL = 100_000;

/** The held-receipt bounds, each a positive integer (`maxHeldReceipts` read as `maxHeldTotal`, not beside it). */
export function heldLimits(options: HeldOptions): { readonly perId: number; readonly total: number } {
  if (options.maxHeldTotal !== undefined && options.maxHeldReceipts !== undefined) {
    throw new InvalidConfigError('Expected one of `maxHeldTotal` or `maxHeldReceipts`, got both');
  }
  const perId = positive(options.maxHeldPerId, 'maxHeldPerId', DEFAULT_MAX_HELD_PER_ID);
  const total =
    options.maxHeldReceipts !== undefined
      ? positive(options.maxHeldReceipts, 'maxHeldReceipts', DEFAULT_MAX_HELD_TOTAL)
      : positive(options.maxHeldTotal, 'maxHeldTotal', DEFAULT_MAX_HELD_TOTAL);
  return { perId, total };
}

function positive(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new InvalidConfigError(`Expected \`${name}\` to be a positive integer, got ${String(value)}`);
  }
  return value;
}
