/**
 * Crash test: cascades run through router processes that are killed with SIGKILL at random moments,
 * round after round, and restarted on the same Redis. Then every accepted message must have ended in
 * one terminal state, no step may have been sent twice except by a restart re-sending a step whose
 * provider id was never recorded (with the same idempotency key), and recorded spend must equal the
 * sum of billed attempts.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TERMINAL, type Cascade, type SendReceipt } from 'cascade-router';
import { redisStore } from 'cascade-router/redis';
import { dropPrefix, REDIS_URL, requireRedis, uniquePrefix, waitFor } from './redis/helpers.js';
import { Instance } from './redis/instances.js';

const skip = await requireRedis('test/redis.crash.test.ts');

const ROUNDS = 8;
const MESSAGES_PER_ROUND = 12;

interface SendRecord {
  instance: string;
  cascadeId: string;
  channel: string;
  idempotencyKey: string;
}

describe.skipIf(skip)('crash test: router processes killed at random moments on one Redis', () => {
  const prefix = uniquePrefix('crash');
  const store = redisStore({ url: REDIS_URL, prefix, pollMs: 0 });
  let admin: Redis;
  const live: Instance[] = [];
  const env = { REDIS_URL, PREFIX: prefix, PUSH_TIMEOUT: '400ms', SMS_TIMEOUT: '400ms', SEND_DELAY_MS: '60', POLL_MS: '50', LEASE_MS: '500' };

  beforeAll(() => {
    admin = new Redis(REDIS_URL);
  });
  afterAll(async () => {
    await Promise.all(live.map((instance) => instance.close()));
    await store.dispose();
    await dropPrefix(admin, prefix);
    await admin.quit();
  });

  const sendRecords = async (): Promise<SendRecord[]> =>
    (await admin.lrange(`${prefix}test:sends`, 0, -1)).map((line) => JSON.parse(line) as SendRecord);

  it('ends every accepted message once, sends no step twice but for re-sends of unrecorded ones, and spends what it billed', async () => {
    const accepted = new Set<string>();
    const attempted: string[] = [];
    const random = seeded(20260108);

    for (let round = 0; round < ROUNDS; round++) {
      const instance = new Instance(`round-${round}`, env);
      live.push(instance);
      await instance.ready;
      const killAt = Date.now() + 50 + random() * 400;
      const work: Promise<unknown>[] = [];
      for (let i = 0; i < MESSAGES_PER_ROUND && Date.now() < killAt; i++) {
        const key = `m-${round}-${i}`;
        attempted.push(key);
        work.push(
          instance.request<SendReceipt>('send', { key }).then(
            () => accepted.add(key),
            () => {},
          ),
        );
        // Deliver some pushes sent earlier, through whichever instance is up now.
        const records = await sendRecords();
        const push = records.filter((r) => r.channel === 'push')[Math.floor(random() * records.length)];
        if (push && random() < 0.5) work.push(instance.request('receipt', { providerMessageId: `push:${push.idempotencyKey}`, status: 'delivered' }).catch(() => {}));
        await new Promise((resolve) => setTimeout(resolve, random() * 40));
      }
      await waitFor('the moment to kill', () => Date.now() >= killAt, 2000, 5);
      await instance.kill();
      live.splice(live.indexOf(instance), 1);
      await Promise.allSettled(work);
    }

    // A last instance, left alone: it resumes what was left and runs every cascade to its end.
    const last = new Instance('final', env);
    live.push(last);
    await last.ready;
    const stored = async (): Promise<Cascade[]> => (await Promise.all(attempted.map((key) => store.get(key)))).filter((c) => c !== undefined);
    await waitFor('every cascade to end', async () => (await stored()).every((c) => TERMINAL.has(c.status)), 20_000, 100);
    await last.close();

    const cascades = await stored();
    expect(accepted.size).toBeGreaterThan(ROUNDS);
    // Every accepted message has its cascade, and it ended.
    const byId = new Map(cascades.map((c) => [c.id, c]));
    for (const key of accepted) expect(TERMINAL.has(byId.get(key)?.status ?? 'active'), key).toBe(true);

    const records = await sendRecords();
    for (const cascade of cascades) {
      // Spend is the sum of billed attempts.
      const billed = cascade.attempts.reduce((sum, a) => sum + (a.billed ? a.costMicros : 0), 0);
      expect(cascade.spendMicros, cascade.id).toBe(billed);
      // Each attempt's step was sent by one instance, or re-sent by later ones with the same idempotency key.
      for (const attempt of cascade.attempts) {
        const sends = records.filter((r) => r.cascadeId === cascade.id && r.channel === attempt.channel);
        if (attempt.providerMessageId === undefined) continue;
        expect(sends.length, `${cascade.id} ${attempt.channel}`).toBeGreaterThanOrEqual(1);
        expect(new Set(sends.map((s) => s.idempotencyKey)).size, `${cascade.id} ${attempt.channel}: one idempotency key`).toBe(1);
        expect(new Set(sends.map((s) => s.instance)).size, `${cascade.id} ${attempt.channel}: no instance sent it twice`).toBe(sends.length);
      }
      // Nothing is sent after a delivered receipt, nor for a step the cascade never reached.
      const sentChannels = new Set(records.filter((r) => r.cascadeId === cascade.id).map((r) => r.channel));
      expect([...sentChannels].sort(), cascade.id).toEqual([...new Set(cascade.attempts.map((a) => a.channel))].sort());
    }
    // The same across all cascades: every recorded send belongs to a stored cascade.
    for (const record of records) expect(byId.has(record.cascadeId), record.cascadeId).toBe(true);
  }, 60_000);
});

/** A small deterministic generator, so a failing run can be repeated. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1_664_525 + 1_013_904_223) >>> 0;
    return state / 2 ** 32;
  };
}
