/** The Redis store's options, and their checks and defaults. */
import { durationOption, type Duration } from '../core/duration.js';
import { InvalidConfigError } from '../core/errors.js';
import { systemClock, type Clock } from '../runtime/clock.js';
import { requirePeer } from '../runtime/peer.js';
import { heldLimits, type HeldOptions, type ClaimOptions } from '../store/options.js';
import type { ConnectionOptions, RedisClient } from './connection.js';
import { hasHashTag } from './keys.js';
import type { Replication } from './scripts/script.js';

export interface RedisStoreOptions extends ConnectionOptions, HeldOptions, ClaimOptions {
  /** Your ioredis client (`Redis` or `Cluster`). Not closed by `dispose()`. Give it `enableOfflineQueue: false` to fail fast during outages. */
  readonly client?: RedisClient | undefined;
  /** Or a URL such as `redis://localhost:6379`: the store opens (and on `dispose()` closes) its own connection. */
  readonly url?: string | undefined;
  /** Put before every key. Default `cascade-router:`. On Redis Cluster it must hold a hash tag, e.g. `{cascade-router}:`. */
  readonly prefix?: string | undefined;
  /** How long finished cascades stay readable, as a Redis TTL: `'24h'`, or milliseconds. Default 24 hours. `Infinity` keeps them. */
  readonly retention?: Duration | undefined;
  /** @deprecated The same as `retention`, in milliseconds. */
  readonly retentionMs?: number | undefined;
  /**
   * Timers set by other instances are only seen when a router asks the store: `nextDueAt()` answers at
   * most this far ahead, so every router looks again this often (ms); on those wake-ups it also heartbeats and
   * looks for sends left by dead instances (at most once a third of its `instanceTtl`). Default `'1s'`; 0 reports
   * only real timers.
   */
  readonly poll?: Duration | undefined;
  /** @deprecated The same as `poll`, in milliseconds. */
  readonly pollMs?: number | undefined;
  /** The clock the polling hint counts from: pass the router's clock when it is not the system clock. */
  readonly clock?: Clock | undefined;
  /**
   * Cascades whose parsed form this instance keeps, so a read of one it already holds gets back a few bytes
   * (every read still asks Redis: see docs/stores.md). Default 10,000; 0 keeps none.
   */
  readonly cacheSize?: number | undefined;
  /**
   * Replicas that must acknowledge a write before the store answers it (Redis `WAIT`): a cascade's create,
   * each commit of its state, and a receipt held for an unknown provider id. Default 0: answer once the
   * primary has it. With 1 (and a replica per primary), a failover that promotes the replica keeps every
   * write the store answered; a write not acknowledged in `replicaTimeout` fails with `StoreUnavailableError`
   * (it may still have been applied: the router recognises its own write when it reads the cascade again).
   */
  readonly replicas?: number | undefined;
  /** How long a write waits for its replicas: `'500ms'`, or milliseconds. Default `'1s'`; keep it below the client's command timeout. */
  readonly replicaTimeout?: Duration | undefined;
}

/** `RedisStoreOptions` checked (an `InvalidConfigError` names the bad one), with their defaults; durations in milliseconds. */
export interface ResolvedRedisOptions {
  readonly prefix: string;
  /** A finished cascade's TTL as the scripts take it: milliseconds, `'-1'` to keep it. */
  readonly retention: string;
  readonly maxHeld: number;
  readonly maxHeldTotal: number;
  readonly leaseMs: number;
  readonly pollMs: number;
  readonly clock: Clock;
  readonly cacheSize: number;
  readonly replication: Replication | undefined;
}

export function resolveRedisOptions(options: RedisStoreOptions): ResolvedRedisOptions {
  if ((options.client === undefined) === (options.url === undefined)) {
    throw new InvalidConfigError('Expected exactly one of `client` or `url` in redisStore() options');
  }
  if (options.url !== undefined) requirePeer('ioredis', 'redisStore({ url })');
  durationOption(options, 'commandTimeout', 2000);
  const prefix = options.prefix ?? 'cascade-router:';
  if (options.client?.isCluster === true && !hasHashTag(prefix)) {
    throw new InvalidConfigError(`Expected \`prefix\` to hold a hash tag on Redis Cluster (e.g. "{${prefix.replace(/:$/, '')}}:"), got "${prefix}"`);
  }
  const retentionMs = durationOption(options, 'retention', 86_400_000, { infinite: true });
  const retention = retentionMs === Infinity ? '-1' : String(Math.round(retentionMs));
  const { perId: maxHeld, total: maxHeldTotal } = heldLimits(options);
  const leaseMs = durationOption(options, 'claimLease', 30_000);
  if (leaseMs <= 0) throw new InvalidConfigError('Expected `claimLease` to be a positive duration, got 0');
  const pollMs = durationOption(options, 'poll', 1000);
  const clock = options.clock ?? systemClock;
  const cacheSize = options.cacheSize ?? 10_000;
  if (!(cacheSize >= 0)) throw new InvalidConfigError(`Expected \`cacheSize\` to be 0 or more, got ${cacheSize}`);
  const replicas = options.replicas ?? 0;
  if (!Number.isInteger(replicas) || replicas < 0) throw new InvalidConfigError(`Expected \`replicas\` to be 0 or a positive integer, got ${replicas}`);
  const replicaTimeoutMs = durationOption(options, 'replicaTimeout', 1000);
  // WAIT 0 would block for ever: a write must be answered within the command timeout.
  if (!(replicaTimeoutMs >= 1) || replicaTimeoutMs === Infinity) throw new InvalidConfigError(`Expected \`replicaTimeout\` to be a finite duration of at least 1 ms, got ${replicaTimeoutMs}`);
  const replication: Replication | undefined = replicas === 0 ? undefined : { replicas, timeoutMs: Math.round(replicaTimeoutMs) };
  return { prefix, retention, maxHeld, maxHeldTotal, leaseMs, pollMs, clock, cacheSize, replication };
}
