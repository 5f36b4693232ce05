import { systemClock, type Clock } from '../runtime/clock.js';
import { durationOption, type Duration } from '../core/duration.js';
import { InvalidConfigError, StoreConflictError, StoreUnavailableError } from '../core/errors.js';
import { sendingAttempt, type CascadeStore, type CommitResult, type MaybePromise, type Orphan, type SharedHealth } from '../store/types.js';
import { TERMINAL, type Cascade, type Receipt } from '../core/types.js';
import { connect, ready, writeBatcher, type ConnectionOptions, type RedisClient } from './connection.js';
import { changingPart, fixedPart, nonceMaker, parseHeld, sameFixed, withFixed, type Fixed } from './codec.js';
import { toStoreError } from './errors.js';
import { requirePeer } from '../runtime/peer.js';
import { FORMAT, hasHashTag, keysFor } from './keys.js';
import { formatScript } from './scripts/format.js';
import { claimDueScript } from './scripts/claim-due.js';
import { commitArgs, commitScript } from './scripts/commit.js';
import { createScript } from './scripts/create.js';
import { reportHealthScript } from './scripts/health.js';
import { admitScript, paceScript } from './scripts/pacing.js';
import { heartbeatScript, orphansScript } from './scripts/liveness.js';
import { readScript } from './scripts/read.js';
import { routeScript } from './scripts/route.js';
import { learnedScript } from './scripts/stats.js';
import { ledgerArgs, parseLearned, parseLedger, recipientTtlMs, statsArg, statsKeys } from './stats.js';
import { sentByIndex } from '../store/sent-by.js';
import { heldLimits } from '../store/options.js';
import { runScript, runScriptReplicated, type LuaScript, type PipelineClient, type Replication } from './scripts/script.js';

export interface RedisStoreOptions extends ConnectionOptions {
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
  /** Most receipts held per unknown provider id; its oldest go first. Default 32. */
  readonly maxHeldPerId?: number | undefined;
  /** Most receipts held for unknown provider ids in all; the oldest go first. Default 100,000. */
  readonly maxHeldTotal?: number | undefined;
  /** @deprecated The same as `maxHeldTotal`. */
  readonly maxHeldReceipts?: number | undefined;
  /** How long a claimed timer is reserved for the instance that claimed it; if it dies, another fires it after this. Default `'30s'`. */
  readonly claimLease?: Duration | undefined;
  /** @deprecated The same as `claimLease`, in milliseconds. */
  readonly claimLeaseMs?: number | undefined;
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

const OPEN_BATCH = 200;
const COMMITTED: CommitResult = Object.freeze({ ok: true, held: Object.freeze([]) });
const CONFLICT: CommitResult = Object.freeze({ ok: false, held: Object.freeze([]) });

/** What this instance knows of one stored cascade: its fixed part (by nonce) and, if current when last seen, the whole. */
interface Known {
  readonly nonce: string;
  readonly fixed: Fixed;
  /** The cascade at `version`, as last read or written by this instance; it may since have changed in Redis. */
  cascade: Cascade | undefined;
}

/**
 * The arguments saying whether a cascade's current step is claimed and whose it is: the sending set follows
 * them. `base`, when known, is the version the change is based on: if neither is sending there is nothing to
 * remove from the set ('').
 */
function claim(cascade: Cascade, base?: Cascade): [string, string] {
  const attempt = sendingAttempt(cascade);
  if (attempt !== undefined) return ['1', attempt.owner ?? ''];
  return base !== undefined && sendingAttempt(base) === undefined ? ['', ''] : ['0', ''];
}

/** A `CascadeStore` in Redis, shared by every router instance that uses the same prefix. */
export function redisStore(options: RedisStoreOptions): CascadeStore {
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
  const keys = keysFor(prefix);
  const heldListStart = keys.held('').slice(0, -1);
  const ownsClient = options.client === undefined;
  let lastNow: number | undefined;

  const batch = writeBatcher();
  let connecting: Promise<RedisClient> | undefined;
  /** Set once the first connection is up: later calls skip the waits (an outage then fails them fast). */
  let connected: RedisClient | undefined;
  const connectFirst = async (): Promise<RedisClient> => {
    connecting ??= options.client ? Promise.resolve(options.client) : connect(options.url!, options);
    const pending = connecting;
    const redis = await pending;
    await ready(redis);
    await checkFormat(redis);
    if (connecting === pending) connected = redis;
    return redis;
  };

  /** Refuses data written in a layout this release does not know (a later release's), before any other call. */
  const checkFormat = async (redis: RedisClient): Promise<void> => {
    const found = String(await runScript(redis, formatScript, [keys.format], [FORMAT]));
    if (found === String(FORMAT)) return;
    throw new InvalidConfigError(
      `The Redis data under prefix "${prefix}" is in format ${found}; this release reads format ${FORMAT}: use the release that wrote it, or another prefix`,
    );
  };

  /** Runs one Redis call, turning an outage into `StoreUnavailableError`. */
  function call<T>(operation: string, fn: (redis: RedisClient) => Promise<T>): Promise<T> {
    const fail = (error: unknown): never => {
      throw toStoreError(operation, error);
    };
    if (connected === undefined) return connectFirst().then(fn).catch(fail);
    batch(connected);
    try {
      return fn(connected).catch(fail);
    } catch (error) {
      return Promise.reject(toStoreError(operation, error));
    }
  }

  const script = (operation: string, lua: LuaScript, scriptKeys: string[], args: (string | number)[]) =>
    call(operation, (redis) => runScript(redis, lua, scriptKeys, args));

  /**
   * A script that may write what the store must not lose: with `replicas`, its write waits for them, and a
   * reply that shows it wrote (`wrote`) without their acknowledgement fails as an outage would.
   */
  const durable = (operation: string, lua: LuaScript, scriptKeys: string[], args: (string | number)[], wrote: (reply: unknown) => boolean) => {
    if (replication === undefined) return script(operation, lua, scriptKeys, args);
    return call(operation, async (redis) => {
      const { reply, acked } = await runScriptReplicated(redis as unknown as PipelineClient, lua, scriptKeys, args, replication);
      if (acked < replication.replicas && wrote(reply)) {
        throw new StoreUnavailableError(operation, {
          store: 'Redis store',
          cause: new Error(`the write reached ${acked} of ${replication.replicas} replicas within ${replication.timeoutMs} ms (WAIT); it may be lost in a failover`),
        });
      }
      return reply;
    });
  };

  // What this instance knows per cascade id, least recently stored first. Never trusted without asking
  // Redis: a read sends the nonce and version held and gets back only what changed.
  const known = new Map<string, Known>();
  const nonces = nonceMaker();
  // The provider ids this instance indexed, for `routeHint`.
  const sentBy = sentByIndex(cacheSize);
  const remember = (id: string, entry: Known): void => {
    if (cacheSize === 0) return;
    known.delete(id);
    known.set(id, entry);
    if (known.size > cacheSize) known.delete(known.keys().next().value!);
  };

  // What Redis confirmed during this tick: cascades as a create, commit, read or route reply showed them
  // current, and provider ids a commit indexed. A read or route later in the same tick answers from them
  // without a round trip. Dropped at the end of the tick: no I/O comes between, so an answer from here is
  // as current as a round trip made at that reply. Continuations of one socket read may run out of reply
  // order, so a confirmation never replaces a newer one, and a reply that shows a change this tick cannot
  // place (a lost compare-and-set, a claimed timer, another version on route) blocks the id (null) until
  // the tick ends: its next read asks Redis.
  const current = new Map<string, Cascade | null>();
  const indexed = new Map<string, string>();
  const forgetTick = (): void => {
    current.clear();
    indexed.clear();
  };
  const touch = (): void => {
    if (current.size === 0 && indexed.size === 0) process.nextTick(forgetTick);
  };
  const confirm = (cascade: Cascade): void => {
    touch();
    const before = current.get(cascade.id);
    if (before === null || (before !== undefined && before.version > cascade.version)) return;
    current.set(cascade.id, cascade);
  };
  const block = (id: string): void => {
    touch();
    current.set(id, null);
  };

  /**
   * The cascade from a `read` reply (or create's `{0, m, n, i}`), remembered for the next read. `sent` is
   * what this instance held when it asked: the reply is relative to that, not to what it holds now.
   */
  const decode = (id: string, reply: unknown, sent: Known | undefined, sentCascade: Cascade | undefined): Cascade | undefined => {
    if (reply === null) {
      known.delete(id);
      block(id);
      return undefined;
    }
    if (reply === 0) {
      confirm(sentCascade!);
      return sentCascade!;
    }
    const [changing, nonce, fixedJson] = reply as [string, string?, string?];
    const fixed = nonce === undefined ? sent!.fixed : (JSON.parse(fixedJson!) as Fixed);
    const cascade = { ...fixed, ...(JSON.parse(changing) as Omit<Cascade, keyof Fixed>) } as Cascade;
    if (TERMINAL.has(cascade.status)) known.delete(id);
    else remember(id, { nonce: nonce ?? sent!.nonce, fixed, cascade });
    // A fixed part this instance did not hold may be a cascade created again under the id: versions restart.
    if (nonce !== undefined && current.has(id)) block(id);
    else confirm(cascade);
    return cascade;
  };

  const read = (id: string, operation: string): Promise<Cascade | undefined> => {
    const entry = known.get(id);
    const held = entry?.cascade;
    const args = entry === undefined ? ['', ''] : [entry.nonce, held === undefined ? '' : String(held.version)];
    return script(operation, readScript, [keys.cascade(id)], args).then((reply) => decode(id, reply, entry, held));
  };

  const get = (id: string): MaybePromise<Cascade | undefined> => current.get(id) ?? read(id, 'get');


  const routeInRedis = async (receipt: Receipt, now: number, holdUntil: number): Promise<string | undefined> => {
    const entry = JSON.stringify({ receipt, receivedAt: now });
    const scriptKeys = [keys.providerId(receipt.providerMessageId), keys.held(receipt.providerMessageId), keys.open, keys.heldIds, keys.heldCounts];
    const args = [entry, holdUntil, maxHeld, maxHeldTotal, now, heldListStart];
    const found = (await durable('route', routeScript, scriptKeys, args, (reply) => reply === null)) as [string, string | null] | null;
    if (found === null) return undefined;
    const [id, state] = found;
    // The version route read with the lookup: when it is the one this instance holds, that is current.
    const mine = known.get(id);
    const held = mine?.cascade;
    if (held !== undefined && state === `${held.version}:${mine!.nonce}`) confirm(held);
    else block(id); // changed since this instance saw it, or ended
    return id;
  };

  return {
    async create(cascade, update) {
      const terminal = TERMINAL.has(cascade.status);
      const fixed = fixedPart(cascade);
      const nonce = nonces();
      const args = [
        cascade.id,
        cascade.key,
        cascade.version,
        JSON.stringify(changingPart(cascade)),
        cascade.timerAt ?? '',
        terminal ? '1' : '0',
        retention,
        JSON.stringify(fixed),
        nonce,
        ...claim(cascade),
        statsArg(update, cascade.updatedAt),
        recipientTtlMs(update),
        ...ledgerArgs(update),
      ];
      const scriptKeys = [keys.cascade(cascade.id), keys.key(cascade.key), keys.due, keys.open, keys.sending, ...statsKeys(keys, update)];
      // The key's owner may expire between the script and the read: then the key is free, so try once more.
      for (let tries = 0; tries < 2; tries++) {
        const [outcome, ...reply] = (await durable('create', createScript, scriptKeys, args, (reply) => (reply as [number])[0] === 1)) as [number, ...string[]];
        if (outcome === 1) {
          const stored = withFixed(cascade, fixed);
          if (terminal) known.delete(cascade.id);
          else remember(cascade.id, { nonce, fixed, cascade: stored });
          if (terminal && retention === '0') block(cascade.id);
          else confirm(stored);
          return { created: true, cascade };
        }
        if (outcome === 0) {
          known.delete(cascade.id);
          return { created: false, cascade: decode(cascade.id, reply, undefined, undefined)! };
        }
        const owner = await get(reply[0]!);
        if (owner) return { created: false, cascade: owner };
      }
      throw new StoreConflictError(cascade.id, 2);
    },

    get,

    async commit(next, providerIds, update, heldThrough): Promise<CommitResult> {
      const terminal = TERMINAL.has(next.status);
      const scriptKeys = [keys.cascade(next.id), keys.key(next.key), keys.due, keys.leases, keys.leasedAt, keys.open, keys.sending, keys.heldIds, keys.heldCounts];
      for (const providerId of providerIds) scriptKeys.push(keys.providerId(providerId), keys.held(providerId));
      if (terminal) {
        const fresh = new Set(providerIds);
        for (const attempt of next.attempts) {
          const providerId = attempt.providerMessageId;
          if (providerId !== undefined && !fresh.has(providerId)) scriptKeys.push(keys.providerId(providerId));
        }
      }
      // The fixed part goes again only when `next` does not carry the one this instance read (by reference).
      const entry = known.get(next.id);
      const same = entry !== undefined && sameFixed(entry.fixed, next);
      const fixed = same ? entry.fixed : fixedPart(next);
      const nonce = same ? entry.nonce : nonces();
      // The copy this instance holds is the base when it has the version before and the same fixed part (its
      // nonce): the compare-and-set checks both, so the change is written only if it is.
      const [sending, owner] = claim(next, same && entry.cascade?.version === next.version - 1 ? entry.cascade : undefined);
      const args = commitArgs({
        id: next.id,
        baseVersion: next.version - 1,
        version: next.version,
        changing: JSON.stringify(changingPart(next)),
        timerAt: next.timerAt,
        terminal,
        retention,
        now: next.updatedAt,
        distinctKey: next.id !== next.key,
        fixed: same ? undefined : JSON.stringify(fixed),
        nonce,
        sending: sending === '1' ? 'claimed' : sending === '0' ? 'released' : 'unchanged',
        owner,
        stats: update === undefined ? undefined : { firstKey: scriptKeys.length + 1, json: statsArg(update, next.updatedAt), ledger: ledgerArgs(update) },
        recipientTtlMs: recipientTtlMs(update),
        heldThrough,
        providerIds,
      });
      scriptKeys.push(...statsKeys(keys, update));
      let reply: [number, ...string[]];
      try {
        reply = (await durable('commit', commitScript, scriptKeys, args, (answer) => (answer as [number])[0] === 1)) as [number, ...string[]];
      } catch (error) {
        known.delete(next.id); // it may or may not have been written
        block(next.id);
        throw error;
      }
      const [ok, ...entries] = reply;
      if (ok === 2) {
        // Refused for receipts held for a new provider id: what this instance holds of the cascade is still current.
        return { ok: false, held: entries.map(parseHeld).sort((a, b) => a.seq - b.seq) };
      }
      if (ok !== 1) {
        // Lost a race (or a stale nonce): keep what is known of the fixed part, the next read says what changed.
        if (entry) entry.cascade = undefined;
        block(next.id);
      } else {
        const stored = withFixed(next, fixed);
        if (terminal) known.delete(next.id);
        else remember(next.id, { nonce, fixed, cascade: stored });
        if (terminal && retention === '0') {
          // Deleted by this commit, with its provider ids.
          block(next.id);
          for (const attempt of next.attempts) if (attempt.providerMessageId !== undefined) indexed.delete(attempt.providerMessageId);
        } else {
          confirm(stored);
          for (const providerId of providerIds) {
            indexed.set(providerId, next.id);
            if (!terminal) sentBy.remember(providerId, next.id);
          }
        }
      }
      return ok === 1 ? COMMITTED : CONFLICT;
    },

    route(receipt: Receipt, now: number, holdUntil: number): MaybePromise<string | undefined> {
      return indexed.get(receipt.providerMessageId) ?? routeInRedis(receipt, now, holdUntil);
    },

    routeHint(providerMessageId: string) {
      return sentBy.hint(providerMessageId, known);
    },

    async heldCounts() {
      const [held, expired, evicted] = await call('heldCounts', (redis) => redis.hmget(keys.heldCounts, 'held', 'expired', 'evicted'));
      return { held: Number(held ?? 0), expired: Number(expired ?? 0), evicted: Number(evicted ?? 0) };
    },

    async claimDue(now, limit) {
      lastNow = now;
      const ids = (await script('claimDue', claimDueScript, [keys.due, keys.leases, keys.leasedAt], [now, limit, leaseMs])) as string[];
      // Their timers may have moved since this tick saw them: the router reads them from Redis.
      for (const id of ids) block(id);
      return ids;
    },

    async nextDueAt() {
      const [, score] = await call('nextDueAt', (redis) => redis.zrange(keys.due, 0, 0, 'WITHSCORES'));
      const due = score === undefined ? undefined : Number(score);
      if (pollMs <= 0) return due;
      // Counted from the router's own time when it has told us one (claimDue), so a simulated clock polls in its own time.
      const poll = Math.max(lastNow ?? -Infinity, clock.now()) + pollMs;
      return due === undefined ? poll : Math.min(due, poll);
    },

    async learned(recipientId, channels) {
      const scriptKeys = [...channels.map((c) => keys.channelStats(c)), keys.recipientStats(recipientId)];
      const reply = (await script('learned', learnedScript, scriptKeys, [...channels])) as string[][];
      return parseLearned(channels, reply);
    },

    async ledger() {
      return parseLedger(await call('ledger', (redis) => redis.hgetall(keys.ledger)));
    },

    async *open() {
      let cursor = '0';
      do {
        const [nextCursor, entries] = await call('open', (redis) => redis.hscan(keys.open, cursor, 'COUNT', OPEN_BATCH));
        cursor = nextCursor;
        const ids = entries.filter((_, i) => i % 2 === 0);
        if (ids.length === 0) continue;
        const cascades = await Promise.all(ids.map((id) => read(id, 'open')));
        for (const cascade of cascades) {
          if (cascade !== undefined && !TERMINAL.has(cascade.status)) yield cascade;
        }
      } while (cursor !== '0');
    },

    async heartbeat(instanceId, ttlMs) {
      return (await script('heartbeat', heartbeatScript, [keys.instances], [instanceId, Math.max(1, Math.ceil(ttlMs))])) === 1;
    },

    async leave(instanceId) {
      await call('leave', (redis) => redis.zrem(keys.instances, instanceId));
    },

    async *orphans(_now, self) {
      let cursor = '0';
      do {
        const [nextCursor, ...found] = (await script('orphans', orphansScript, [keys.sending, keys.instances], [cursor, OPEN_BATCH, self ?? ''])) as string[];
        cursor = nextCursor!;
        for (let i = 0; i < found.length; i += 2) {
          const cascadeId = found[i]!;
          // Its owner is gone: whoever takes it over reads it from Redis, not from this instance's copy.
          block(cascadeId);
          const orphan: Orphan = { cascadeId, owner: found[i + 1] === '' ? undefined : found[i + 1] };
          yield orphan;
        }
      } while (cursor !== '0');
    },

    async health() {
      const hash = await call('health', (redis) => redis.hgetall(keys.health));
      return Object.values(hash).map((json) => JSON.parse(json) as SharedHealth);
    },

    async reportHealth(state) {
      await script('reportHealth', reportHealthScript, [keys.health], [state.provider, JSON.stringify(state), state.at]);
    },

    async pace({ provider, limit, windowMs, reserve, urgent, now }) {
      const member = nonces();
      const answer = (await script('pace', paceScript, [keys.paceLog(provider), keys.paceTail(provider)], [limit, windowMs, reserve, urgent ? '1' : '0', now, member])) as number;
      return answer === 0 ? { go: true } : { go: false, retryAt: Number(answer) };
    },

    async admit({ recipientId, category, key, max, windowMs, now }) {
      return (await script('admit', admitScript, [keys.capLog(recipientId, category)], [key, max, windowMs, now])) === 1;
    },

    async dispose() {
      if (!ownsClient || connecting === undefined) return;
      const redis = await connecting.catch(() => undefined);
      connecting = undefined;
      connected = undefined;
      if (!redis) return;
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
