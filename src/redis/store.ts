/**
 * The Redis store: a cascade's create, read, commit and route, each one Lua script; the other calls of the
 * contract (timers, liveness, health, pacing, statistics) each one script or command. Its pieces: options.ts
 * (the options and their checks), calls.ts (the connection and the calls over it), known.ts (what this
 * instance holds of each cascade, so a read gets back only what changed), keys.ts, codec.ts, stats.ts and
 * scripts/ (one file per script).
 */
import { StoreConflictError } from '../core/errors.js';
import { sendingAttempt, type CascadeStore, type CommitResult, type MaybePromise } from '../store/types.js';
import { TERMINAL, type Cascade, type Receipt } from '../core/types.js';
import { redisCalls } from './calls.js';
import { changingPart, fixedPart, nonceMaker, parseHeld, sameFixed, withFixed } from '../store/codec.js';
import { keysFor } from './keys.js';
import { knownCascades } from './known.js';
import { resolveRedisOptions, type RedisStoreOptions } from './options.js';
import { commitArgs, commitScript } from './scripts/commit.js';
import { createScript } from './scripts/create.js';
import { readScript } from './scripts/read.js';
import { routeScript } from './scripts/route.js';
import { ledgerArgs, recipientTtlMs, statsArg, statsKeys } from './stats.js';
import { sharedCalls } from './shared.js';
import { sentByIndex } from '../store/sent-by.js';

export type { RedisStoreOptions } from './options.js';

const OPEN_BATCH = 200;
const COMMITTED: CommitResult = Object.freeze({ ok: true, held: Object.freeze([]) });
const CONFLICT: CommitResult = Object.freeze({ ok: false, held: Object.freeze([]) });

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
  const resolved = resolveRedisOptions(options);
  const { retention, maxHeld, maxHeldTotal, cacheSize } = resolved;
  const keys = keysFor(resolved.prefix);
  const heldListStart = keys.held('').slice(0, -1);
  const calls = redisCalls(options, resolved, keys);
  const { call, script, durable } = calls;
  const { known, current, indexed, remember, confirm, block, decode } = knownCascades(cacheSize);
  const nonces = nonceMaker();
  // The provider ids this instance indexed, for `routeHint`.
  const sentBy = sentByIndex(cacheSize);

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

    ...sharedCalls(calls, keys, resolved, block, nonces),
    dispose: calls.dispose,
  };
}
