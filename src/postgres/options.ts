/** The PostgreSQL store's options, and their checks and defaults. */
import { durationOption, type Duration } from '../core/duration.js';
import { InvalidConfigError } from '../core/errors.js';
import { systemClock, type Clock } from '../runtime/clock.js';
import { heldLimits, type HeldOptions, type ClaimOptions } from '../store/options.js';
import type { PostgresConnectionOptions, PostgresPool } from './connection.js';
import { schemaName } from './schema.js';

export interface PostgresStoreOptions extends PostgresConnectionOptions, HeldOptions, ClaimOptions {
  /** Your node-postgres `Pool`. Not closed by `dispose()`; the store keeps one of its connections to listen on. */
  readonly pool?: PostgresPool | undefined;
  /** Or a connection string (`postgres://user@host/db`): the store opens (and on `dispose()` closes) a pool of its own. */
  readonly connectionString?: string | undefined;
  /** The schema its tables live in (created by `migrate()`). Default `cascade_router`. */
  readonly schema?: string | undefined;
  /** How long finished cascades stay readable (database time): `'24h'`, or milliseconds. Default 24 hours. `Infinity` keeps them; `0` deletes at once. */
  readonly retention?: Duration | undefined;
  /** @deprecated The same as `retention`, in milliseconds. */
  readonly retentionMs?: number | undefined;
  /**
   * `nextDueAt()` answers at most this far ahead, so every router looks again this often for timers set by
   * other instances whose wake-up it missed, and for sends left by dead instances. Default `'1s'`; 0 reports only real timers.
   */
  readonly poll?: Duration | undefined;
  /** @deprecated The same as `poll`, in milliseconds. */
  readonly pollMs?: number | undefined;
  /** LISTEN for wake-ups (a transactional start that committed): the first step goes out at once rather than at the next poll. Default true. */
  readonly listen?: boolean | undefined;
  /**
   * Notify listeners from a transactional start, so its first step goes out as soon as the transaction commits.
   * PostgreSQL commits notifying transactions one at a time (a lock held through the WAL flush), which bounds how
   * many such starts commit per second; `false` leaves them to the routers' next poll (`poll`). Default true.
   */
  readonly notify?: boolean | undefined;
  /** How often housekeeping runs (retention, expired held receipts, statistics expiry, ledger folding). Default `'10s'`. */
  readonly maintenance?: Duration | undefined;
  /** @deprecated The same as `maintenance`, in milliseconds. */
  readonly maintenanceMs?: number | undefined;
  /** The clock the polling hint counts from: pass the router's clock when it is not the system clock. */
  readonly clock?: Clock | undefined;
  /**
   * Most creates, commits or routes sent in one call (those made in one turn of the event loop go together:
   * one round trip, one commit). Larger batches share more but run on one connection one after another. Default 256; 1 sends each alone.
   */
  readonly batchSize?: number | undefined;
  /** Cascades whose parsed form this instance keeps, so a read of one it holds gets back a few bytes. Default 10,000; 0 keeps none. */
  readonly cacheSize?: number | undefined;
}

/** `PostgresStoreOptions` checked (an `InvalidConfigError` names the bad one), with their defaults; durations in milliseconds. */
export interface ResolvedPostgresOptions {
  readonly schema: string;
  /** How long finished cascades stay, as the SQL functions take it: milliseconds, -1 to keep them. */
  readonly retention: number;
  readonly maxHeldPerId: number;
  readonly maxHeld: number;
  readonly batchSize: number;
  readonly leaseMs: number;
  readonly pollMs: number;
  readonly maintenanceMs: number;
  readonly clock: Clock;
  readonly cacheSize: number;
  readonly timeoutMs: number;
}

const positive = (name: string, value: number): void => {
  if (!Number.isInteger(value) || value < 1) throw new InvalidConfigError(`Expected \`${name}\` to be a positive integer, got ${value}`);
};

export function resolvePostgresOptions(options: PostgresStoreOptions): ResolvedPostgresOptions {
  if (typeof options !== 'object' || options === null || (options.pool === undefined) === (options.connectionString === undefined)) {
    throw new InvalidConfigError('Expected exactly one of `pool` or `connectionString` in postgresStore() options');
  }
  const schema = schemaName(options.schema);
  const retentionMs = durationOption(options, 'retention', 86_400_000, { infinite: true });
  const retention = retentionMs === Infinity ? -1 : retentionMs;
  const { perId: maxHeldPerId, total: maxHeld } = heldLimits(options);
  const batchSize = options.batchSize ?? 256;
  positive('batchSize', batchSize);
  const leaseMs = durationOption(options, 'claimLease', 30_000);
  const pollMs = durationOption(options, 'poll', 1000);
  const maintenanceMs = durationOption(options, 'maintenance', 10_000);
  const clock = options.clock ?? systemClock;
  const cacheSize = options.cacheSize ?? 10_000;
  if (!(cacheSize >= 0)) throw new InvalidConfigError(`Expected \`cacheSize\` to be 0 or more, got ${cacheSize}`);
  const timeoutMs = durationOption(options, 'commandTimeout', 5000);
  return { schema, retention, maxHeldPerId, maxHeld, batchSize, leaseMs, pollMs, maintenanceMs, clock, cacheSize, timeoutMs };
}
