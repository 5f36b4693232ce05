import { systemClock, type Clock } from '../clock.js';
import { InvalidConfigError, StoreConflictError } from '../errors.js';
import type { CascadeStore, CommitResult, HeldReceipt } from '../store/types.js';
import { TERMINAL, type Cascade, type Receipt } from '../types.js';
import { connect, ready, type ConnectionOptions, type RedisClient } from './connection.js';
import { toStoreError } from './errors.js';
import { hasHashTag, keysFor } from './keys.js';
import { claimDueScript } from './scripts/claim-due.js';
import { commitScript } from './scripts/commit.js';
import { createScript } from './scripts/create.js';
import { routeScript } from './scripts/route.js';
import { runScript, type LuaScript } from './scripts/script.js';

export interface RedisStoreOptions extends ConnectionOptions {
  /** Your ioredis client (`Redis` or `Cluster`). Not closed by `dispose()`. Give it `enableOfflineQueue: false` to fail fast during outages. */
  readonly client?: RedisClient | undefined;
  /** Or a URL such as `redis://localhost:6379`: the store opens (and on `dispose()` closes) its own connection. */
  readonly url?: string | undefined;
  /** Put before every key. Default `cascade-router:`. On Redis Cluster it must hold a hash tag, e.g. `{cascade-router}:`. */
  readonly prefix?: string | undefined;
  /** How long finished cascades stay readable (ms), as a Redis TTL. Default 24 hours. `Infinity` keeps them. */
  readonly retentionMs?: number | undefined;
  /** Most receipts held per unknown provider id. Default 32. */
  readonly maxHeldPerId?: number | undefined;
  /** How long a claimed timer is reserved for the instance that claimed it; if it dies, another fires it after this (ms). Default 30,000. */
  readonly claimLeaseMs?: number | undefined;
  /**
   * Timers set by other instances are only seen when a router asks the store: `nextDueAt()` answers at
   * most this far ahead, so every router looks again this often (ms). Default 1000; 0 reports only real timers.
   */
  readonly pollMs?: number | undefined;
  /** The clock the polling hint counts from: pass the router's clock when it is not the system clock. */
  readonly clock?: Clock | undefined;
}

const OPEN_BATCH = 200;

/** A `CascadeStore` in Redis, shared by every router instance that uses the same prefix. */
export function redisStore(options: RedisStoreOptions): CascadeStore {
  if ((options.client === undefined) === (options.url === undefined)) {
    throw new InvalidConfigError('Expected exactly one of `client` or `url` in redisStore() options');
  }
  const prefix = options.prefix ?? 'cascade-router:';
  if (options.client?.isCluster === true && !hasHashTag(prefix)) {
    throw new InvalidConfigError(`Expected \`prefix\` to hold a hash tag on Redis Cluster (e.g. "{${prefix.replace(/:$/, '')}}:"), got "${prefix}"`);
  }
  const retentionMs = options.retentionMs ?? 86_400_000;
  if (!(retentionMs >= 0)) throw new InvalidConfigError(`Expected \`retentionMs\` to be 0 or more, got ${retentionMs}`);
  const retention = retentionMs === Infinity ? '-1' : String(Math.round(retentionMs));
  const maxHeld = options.maxHeldPerId ?? 32;
  const leaseMs = options.claimLeaseMs ?? 30_000;
  const pollMs = options.pollMs ?? 1000;
  const clock = options.clock ?? systemClock;
  const keys = keysFor(prefix);
  const ownsClient = options.client === undefined;
  let lastNow: number | undefined;

  let connecting: Promise<RedisClient> | undefined;
  const client = async (): Promise<RedisClient> => {
    connecting ??= options.client ? Promise.resolve(options.client) : connect(options.url!, options);
    const redis = await connecting;
    await ready(redis);
    return redis;
  };

  /** Runs one Redis call, turning an outage into `StoreUnavailableError`. */
  async function call<T>(operation: string, fn: (redis: RedisClient) => Promise<T>): Promise<T> {
    try {
      return await fn(await client());
    } catch (error) {
      throw toStoreError(operation, error);
    }
  }

  const script = (operation: string, lua: LuaScript, scriptKeys: string[], args: (string | number)[]) =>
    call(operation, (redis) => runScript(redis, lua, scriptKeys, args));

  const get = (id: string): Promise<Cascade | undefined> =>
    call('get', async (redis) => {
      const json = await redis.hget(keys.cascade(id), 'j');
      return json === null ? undefined : (JSON.parse(json) as Cascade);
    });

  return {
    async create(cascade) {
      const terminal = TERMINAL.has(cascade.status) ? '1' : '0';
      const args = [cascade.id, cascade.key, cascade.version, serialize(cascade), cascade.timerAt ?? '', terminal, retention];
      const scriptKeys = [keys.cascade(cascade.id), keys.key(cascade.key), keys.due, keys.open];
      // The key's owner may expire between the script and the read: then the key is free, so try once more.
      for (let tries = 0; tries < 2; tries++) {
        const [outcome, value] = (await script('create', createScript, scriptKeys, args)) as [number, string?];
        if (outcome === 1) return { created: true, cascade };
        if (outcome === 0) return { created: false, cascade: JSON.parse(value!) as Cascade };
        const owner = await get(value!);
        if (owner) return { created: false, cascade: owner };
      }
      throw new StoreConflictError(cascade.id, 2);
    },

    get,

    async commit(next, providerIds): Promise<CommitResult> {
      const terminal = TERMINAL.has(next.status);
      const scriptKeys = [keys.cascade(next.id), keys.key(next.key), keys.due, keys.leases, keys.leasedAt, keys.open];
      for (const providerId of providerIds) scriptKeys.push(keys.providerId(providerId), keys.held(providerId));
      if (terminal) {
        const fresh = new Set(providerIds);
        for (const attempt of next.attempts) {
          const providerId = attempt.providerMessageId;
          if (providerId !== undefined && !fresh.has(providerId)) scriptKeys.push(keys.providerId(providerId));
        }
      }
      const args = [
        next.id,
        String(next.version - 1),
        next.version,
        serialize(next),
        next.timerAt ?? '',
        terminal ? '1' : '0',
        retention,
        providerIds.length,
        next.updatedAt,
        next.id === next.key ? '0' : '1',
      ];
      const [ok, ...entries] = (await script('commit', commitScript, scriptKeys, args)) as [number, ...string[]];
      return { ok: ok === 1, held: entries.map(parseHeld) };
    },

    async route(receipt: Receipt, now: number, holdUntil: number) {
      const entry = `${holdUntil}:${JSON.stringify({ receipt, receivedAt: now })}`;
      const holdMs = Math.max(1, Math.ceil(holdUntil - now));
      const scriptKeys = [keys.providerId(receipt.providerMessageId), keys.held(receipt.providerMessageId)];
      const id = (await script('route', routeScript, scriptKeys, [entry, holdMs, maxHeld])) as string | null;
      return id ?? undefined;
    },

    async claimDue(now, limit) {
      lastNow = now;
      return (await script('claimDue', claimDueScript, [keys.due, keys.leases, keys.leasedAt], [now, limit, leaseMs])) as string[];
    },

    async nextDueAt() {
      const [, score] = await call('nextDueAt', (redis) => redis.zrange(keys.due, 0, 0, 'WITHSCORES'));
      const due = score === undefined ? undefined : Number(score);
      if (pollMs <= 0) return due;
      // Counted from the router's own time when it has told us one (claimDue), so a simulated clock polls in its own time.
      const poll = Math.max(lastNow ?? -Infinity, clock.now()) + pollMs;
      return due === undefined ? poll : Math.min(due, poll);
    },

    async *open() {
      let cursor = '0';
      do {
        const [nextCursor, ids] = await call('open', (redis) => redis.sscan(keys.open, cursor, 'COUNT', OPEN_BATCH));
        cursor = nextCursor;
        if (ids.length === 0) continue;
        const jsons = await call('open', async (redis) => Promise.all(ids.map((id) => redis.hget(keys.cascade(id), 'j'))));
        for (const json of jsons) {
          if (json === null) continue;
          const cascade = JSON.parse(json) as Cascade;
          if (!TERMINAL.has(cascade.status)) yield cascade;
        }
      } while (cursor !== '0');
    },

    async dispose() {
      if (!ownsClient || connecting === undefined) return;
      const redis = await connecting.catch(() => undefined);
      connecting = undefined;
      if (!redis) return;
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}

/** JSON, with a `sendAt` Date written as its epoch ms (the one Date a message may carry). */
function serialize(cascade: Cascade): string {
  const sendAt = cascade.message.sendAt;
  if (!(sendAt instanceof Date)) return JSON.stringify(cascade);
  return JSON.stringify({ ...cascade, message: { ...cascade.message, sendAt: sendAt.getTime() } });
}

function parseHeld(entry: string): HeldReceipt {
  const colon = entry.indexOf(':');
  const { receipt, receivedAt } = JSON.parse(entry.slice(colon + 1)) as { receipt: Receipt; receivedAt: number };
  return { receipt, receivedAt, until: Number(entry.slice(0, colon)) };
}
