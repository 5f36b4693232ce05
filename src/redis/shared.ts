/**
 * The calls routers coordinate by through a Redis store, besides their cascades: due timers and their
 * claims, heartbeats and the sends a dead instance left, breakers, rate limits and frequency caps, and what
 * was learned and spent. Each is one script or one command.
 */
import type { CascadeStore, Orphan, SharedHealth } from '../store/types.js';
import type { RedisCalls } from './calls.js';
import type { Keys } from './keys.js';
import type { ResolvedRedisOptions } from './options.js';
import { claimDueScript } from './scripts/claim-due.js';
import { reportHealthScript } from './scripts/health.js';
import { heartbeatScript, orphansScript } from './scripts/liveness.js';
import { admitScript, paceScript } from './scripts/pacing.js';
import { learnedScript } from './scripts/stats.js';
import { parseLearned, parseLedger } from './stats.js';

/** Sending cascades asked for per step of the orphans scan (as `open()` asks per step of its own). */
const SCAN_BATCH = 200;

type Shared = Pick<CascadeStore, 'claimDue' | 'nextDueAt' | 'learned' | 'ledger' | 'heartbeat' | 'leave' | 'orphans' | 'health' | 'reportHealth' | 'pace' | 'admit'>;

/**
 * Those calls for a store's connection. `block(id)`: the cascade may have changed in a way this instance cannot place (a timer claimed, an owner
 * gone), so its next read asks Redis. `nonce()`: a member unique to this call.
 */
export function sharedCalls({ call, script }: RedisCalls, keys: Keys, { leaseMs, pollMs, clock }: ResolvedRedisOptions, block: (id: string) => void, nonce: () => string): Shared {
  let lastNow: number | undefined;
  return {
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


    async heartbeat(instanceId, ttlMs) {
      return (await script('heartbeat', heartbeatScript, [keys.instances], [instanceId, Math.max(1, Math.ceil(ttlMs))])) === 1;
    },

    async leave(instanceId) {
      await call('leave', (redis) => redis.zrem(keys.instances, instanceId));
    },

    async *orphans(_now, self) {
      let cursor = '0';
      do {
        const [nextCursor, ...found] = (await script('orphans', orphansScript, [keys.sending, keys.instances], [cursor, SCAN_BATCH, self ?? ''])) as string[];
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
      const member = nonce();
      const answer = (await script('pace', paceScript, [keys.paceLog(provider), keys.paceTail(provider)], [limit, windowMs, reserve, urgent ? '1' : '0', now, member])) as number;
      return answer === 0 ? { go: true } : { go: false, retryAt: Number(answer) };
    },

    async admit({ recipientId, category, key, max, windowMs, now }) {
      return (await script('admit', admitScript, [keys.capLog(recipientId, category)], [key, max, windowMs, now])) === 1;
    },
  };
}
