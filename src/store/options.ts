/** Options every store takes alike, checked alike. */
import type { Duration } from '../core/duration.js';
import { InvalidConfigError } from '../core/errors.js';

/** The bounds on receipts held for provider ids no cascade has sent yet, as every store's options name them. */
export interface HeldOptions {
  /** Most receipts held per unknown provider id; its oldest go first. Default 32. */
  readonly maxHeldPerId?: number | undefined;
  /** Most receipts held for unknown provider ids in all; the oldest go first. Default 100,000. */
  readonly maxHeldTotal?: number | undefined;
  /** @deprecated The same as `maxHeldTotal`. */
  readonly maxHeldReceipts?: number | undefined;
}

/** The lease on a claimed timer, as the shared stores (Redis, PostgreSQL) name it. */
export interface ClaimOptions {
  /** How long a claimed timer is reserved for the instance that claimed it; if it dies, another fires it after this. Default `'30s'`. */
  readonly claimLease?: Duration | undefined;
  /** @deprecated The same as `claimLease`, in milliseconds. */
  readonly claimLeaseMs?: number | undefined;
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
