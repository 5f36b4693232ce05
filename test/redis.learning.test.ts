/**
 * Learning and the spend report through the Redis store: two routers on one Redis prefix (as two backend
 * instances would be) in simulated time. What one learns, the other plans with; either one's report()
 * counts both instances' spend, once.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRouter, SimulatedClock, type Recipient, type Router, type SendFunction } from 'cascade-router';
import { redisStore } from 'cascade-router/redis';
import { dropPrefix, REDIS_URL, requireRedis, uniquePrefix } from './redis/helpers.js';

const skip = await requireRedis('test/redis.learning.test.ts');
const MINUTE = 60_000;

describe.skipIf(skip)('learning and report() on the Redis store', () => {
  let admin: Redis;
  const prefix = uniquePrefix('learning');
  beforeAll(() => {
    admin = new Redis(REDIS_URL);
  });
  afterAll(async () => {
    await dropPrefix(admin, prefix);
    await admin.quit();
  });

  it('shares what each instance learns and adds up both instances’ spend exactly', async () => {
    const clock = new SimulatedClock(Date.UTC(2026, 0, 5, 9, 0));
    let seq = 0;
    const routers: Router[] = [];
    const stores: ReturnType<typeof redisStore>[] = [];
    // Push reaches ann, never bob; SMS reaches both. Receipts go to whichever instance (here: the other one).
    const provider = (channel: string, reaches: (r: Recipient) => boolean): SendFunction => async (request) => {
      const id = `${channel}-${++seq}`;
      if (reaches(request.recipient)) clock.setTimer(clock.now() + 2_000, () => void routers[seq % 2]!.handleReceipt({ providerMessageId: id, status: 'delivered' }));
      return id;
    };
    const channels = {
      push: { kind: 'push' as const, cost: 0, send: provider('push', (r) => r.id === 'ann'), confirm: { timeout: '2m' } },
      sms: { kind: 'sms' as const, cost: '0.05', send: provider('sms', () => true), confirm: { timeout: '5m', adaptive: false as const } },
    };
    for (let i = 0; i < 2; i++) {
      const store = redisStore({ url: REDIS_URL, prefix, clock, pollMs: 0 });
      stores.push(store);
      routers.push(createRouter({ channels, store, clock, learning: { minProbability: 0.1 } }));
    }
    const ann: Recipient = { id: 'ann', addresses: { push: 'tok-a', sms: '+380501234567' } };
    const bob: Recipient = { id: 'bob', addresses: { push: 'tok-b', sms: '+380501234568' } };
    const message = (key: string) => ({ key, category: 'transactional', content: { text: 'Shipped' } });
    try {
      for (let round = 0; round < 8; round++) {
        // Round-robin between the instances, as a load balancer would.
        await routers[round % 2]!.send(message(`ann-${round}`), ann);
        await routers[(round + 1) % 2]!.send(message(`bob-${round}`), bob);
        await clock.advance(10 * MINUTE);
      }
      for (const router of routers) {
        const plan = await router.plan(message('dry'), bob);
        expect(plan.steps.map((s) => s.channel)).toEqual(['sms']);
        expect(plan.skipped.map((s) => [s.channel, s.reason])).toEqual([['push', 'unlikely']]);
        expect((await router.plan(message('dry'), ann)).steps.map((s) => s.channel)).toEqual(['push', 'sms']);
      }
      const [a, b] = await Promise.all(routers.map((r) => r.report()));
      expect(a).toEqual(b);
      const smsSent = a!.channels['sms']!.sent;
      expect(smsSent).toBe(8); // every one of bob's messages ended on SMS, none of ann's
      expect(a).toMatchObject({ messages: 16, delivered: 16, spend: `${(smsSent * 0.05).toFixed(2)}`, smsOnly: '0.80', doubleSpend: '0.00' });
      expect(a!.channels['push']!.delivered).toBe(8);
      expect(a!.micros.spendMicros).toBe(smsSent * 50_000);
    } finally {
      for (const router of routers) await router.close();
      for (const store of stores) await store.dispose();
    }
  });
});
