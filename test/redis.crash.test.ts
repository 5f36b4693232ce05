/**
 * Crash test: two router processes run at once on one Redis, the way a backend runs behind a load
 * balancer. Round after round, one of them is killed with SIGKILL at a random moment and a new one is
 * started, while the other keeps working with its own sends in flight. Then every accepted message must have
 * ended in one terminal state; a step may have been sent by a second router only after the first one was
 * killed and before it recorded the provider id, and then with the same idempotency key (so the live
 * router's sends in flight were never sent by another); recorded spend must equal the sum of billed attempts.
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
  at: number;
}

interface ResumedRecord {
  instance: string;
  cascadeId: string;
  channel: string;
  previousOwner: string | undefined;
  at: number;
}

describe.skipIf(skip)('crash test: one of two live router processes killed at random moments on one Redis', () => {
  const prefix = uniquePrefix('crash');
  const store = redisStore({ url: REDIS_URL, prefix, pollMs: 0 });
  let admin: Redis;
  const live: Instance[] = [];
  // A router is taken for dead 900 ms after its last heartbeat, well within the push step's 2.5 s: a killed
  // router's push in flight is sent again before it times out. SMS is the last step, short, to end quickly.
  const env = {
    REDIS_URL,
    PREFIX: prefix,
    PUSH_TIMEOUT: '2500ms',
    SMS_TIMEOUT: '800ms',
    SEND_DELAY_MS: '150',
    POLL_MS: '50',
    LEASE_MS: '500',
    INSTANCE_TTL: '900ms',
  };

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
  const resumedRecords = async (): Promise<ResumedRecord[]> =>
    (await admin.lrange(`${prefix}test:resumed`, 0, -1)).map((line) => JSON.parse(line) as ResumedRecord);

  it('ends every accepted message once, sends a step again only after its router was killed, and spends what it billed', async () => {
    const accepted = new Set<string>();
    const attempted: string[] = [];
    /** When each killed router was sent its SIGKILL: it sent nothing after. */
    const killedAt = new Map<string, number>();
    /** Emails held in flight by the router that survived a round, released after the new one started. */
    const survivorHolds: { key: string; instance: string }[] = [];
    const random = seeded(20260108);
    let started = 0;
    const start = async (): Promise<Instance> => {
      const instance = new Instance(`router-${started++}`, env);
      live.push(instance);
      await instance.ready;
      return instance;
    };
    await start();
    await start();

    for (let round = 0; round < ROUNDS; round++) {
      const victim = live[random() < 0.5 ? 0 : 1]!;
      const survivor = live.find((instance) => instance !== victim)!;
      const accept = (instance: Instance, key: string, fields: Record<string, unknown> = {}): Promise<unknown> => {
        attempted.push(key);
        return instance.request<SendReceipt>('send', { key, ...fields }).then(
          () => accepted.add(key),
          () => {},
        );
      };
      // Each holds a send in flight: the victim's push is cut by the kill, the survivor's email (a minute's
      // timeout, so it is still sending when the new router starts) must stay its own.
      const held = [accept(victim, `held-${round}`, { hold: true }), accept(survivor, `kept-${round}`, { hold: true, channels: ['email'] })];
      survivorHolds.push({ key: `kept-${round}`, instance: survivor.name });
      await Promise.all(held);

      const killAt = Date.now() + 50 + random() * 400;
      const work: Promise<unknown>[] = [];
      for (let i = 0; i < MESSAGES_PER_ROUND && Date.now() < killAt; i++) {
        work.push(accept(i % 2 === 0 ? victim : survivor, `m-${round}-${i}`));
        // Deliver some pushes sent earlier, through either router.
        const records = (await sendRecords()).filter((r) => r.channel === 'push');
        const push = records[Math.floor(random() * records.length)];
        const via = random() < 0.5 ? victim : survivor;
        if (push && random() < 0.5) work.push(via.request('receipt', { providerMessageId: `push:${push.idempotencyKey}`, status: 'delivered' }).catch(() => {}));
        await pace(random() * 40); // spreads requests over time, so the kill lands at varied moments
      }
      await waitFor('the moment to kill', () => Date.now() >= killAt, 2000, 5);
      killedAt.set(victim.name, Date.now());
      await victim.kill();
      live.splice(live.indexOf(victim), 1);
      await Promise.allSettled(work);

      // A new router starts beside the survivor, whose held email is still in flight; then it is released.
      const fresh = await start();
      await fresh.request('settled');
      const kept = `kept-${round}`;
      expect((await store.get(kept))?.attempts[0]?.phase, kept).toBe('sending');
      await survivor.request('release', { cascadeId: kept });
      await waitFor(`${kept} to be recorded`, async () => (await store.get(kept))?.attempts[0]?.phase === 'waiting', 5000);
      await fresh.request('receipt', { providerMessageId: `email:${kept}:0`, status: 'delivered' });
    }

    // Both routers left run every cascade to its end: pushes time out, SMS are sent and time out.
    const stored = async (): Promise<Cascade[]> => (await Promise.all(attempted.map((key) => store.get(key)))).filter((c) => c !== undefined);
    await waitFor('every cascade to end', async () => (await stored()).every((c) => TERMINAL.has(c.status)), 30_000, 100);
    await Promise.all(live.splice(0).map((instance) => instance.close()));

    const cascades = await stored();
    const records = await sendRecords();
    const resumed = await resumedRecords();
    expect(accepted.size).toBeGreaterThan(3 * ROUNDS);
    // Every accepted message has its cascade, and it ended.
    const byId = new Map(cascades.map((c) => [c.id, c]));
    for (const key of accepted) expect(TERMINAL.has(byId.get(key)?.status ?? 'active'), key).toBe(true);

    for (const cascade of cascades) {
      // Spend is the sum of billed attempts.
      const billed = cascade.attempts.reduce((sum, a) => sum + (a.billed ? a.costMicros : 0), 0);
      expect(cascade.spendMicros, cascade.id).toBe(billed);
      for (const attempt of cascade.attempts) {
        const sends = records.filter((r) => r.cascadeId === cascade.id && r.channel === attempt.channel);
        if (attempt.providerMessageId !== undefined) expect(sends.length, `${cascade.id} ${attempt.channel}`).toBeGreaterThanOrEqual(1);
        expect(new Set(sends.map((s) => s.idempotencyKey)).size, `${cascade.id} ${attempt.channel}: one idempotency key`).toBeLessThanOrEqual(1);
        // Sent again only by another router, after the one before it was killed: never while it lived.
        for (let i = 1; i < sends.length; i++) {
          const before = sends[i - 1]!;
          expect(killedAt.has(before.instance), `${cascade.id} ${attempt.channel}: sent again while ${before.instance} lived`).toBe(true);
          expect(sends[i]!.instance, `${cascade.id} ${attempt.channel}: sent twice by one router`).not.toBe(before.instance);
          expect(sends[i]!.at, `${cascade.id} ${attempt.channel}: sent again before ${before.instance} was killed`).toBeGreaterThanOrEqual(killedAt.get(before.instance)!);
        }
      }
      // Nothing is sent after a delivered receipt, nor for a step the cascade never reached.
      const sentChannels = new Set(records.filter((r) => r.cascadeId === cascade.id).map((r) => r.channel));
      expect([...sentChannels].sort(), cascade.id).toEqual([...new Set(cascade.attempts.map((a) => a.channel))].sort());
    }
    // Every take-over took a step from a killed router, after it was killed, while the step was still its.
    for (const r of resumed) {
      expect(killedAt.has(r.previousOwner ?? ''), `${r.cascadeId}: taken from ${r.previousOwner}, which lived`).toBe(true);
      expect(r.at).toBeGreaterThanOrEqual(killedAt.get(r.previousOwner!)!);
    }
    // Each round's kill cut a held push: most were sent again before their timeout (a slow take-over may let one time out).
    expect(resumed.filter((r) => r.cascadeId.startsWith('held-')).length).toBeGreaterThanOrEqual(ROUNDS / 2);
    // The survivors' held emails were sent once, by the router that held them, and delivered.
    for (const { key, instance } of survivorHolds) {
      expect(records.filter((r) => r.cascadeId === key).map((r) => r.instance), key).toEqual([instance]);
      expect(byId.get(key)?.status, key).toBe('delivered');
    }
    // Every recorded send belongs to a stored cascade.
    for (const record of records) expect(byId.has(record.cascadeId), record.cascadeId).toBe(true);
  }, 120_000);
});

/** Waits `ms` of wall time: used only to spread requests out, never to wait for something to happen. */
function pace(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A small deterministic generator, so a failing run can be repeated. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1_664_525 + 1_013_904_223) >>> 0;
    return state / 2 ** 32;
  };
}
