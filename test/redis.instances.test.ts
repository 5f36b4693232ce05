/**
 * Two router instances in two processes on one Redis, the way a backend runs behind a load balancer.
 * Conditions are polled with bounded timeouts; nothing sleeps a fixed time.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Cascade, SendReceipt } from 'cascade-router';
import { redisStore } from 'cascade-router/redis';
import { dropPrefix, REDIS_URL, requireRedis, uniquePrefix, waitFor } from './redis/helpers.js';
import { Instance } from './redis/instances.js';

const skip = await requireRedis('test/redis.instances.test.ts');

interface SendRecord {
  instance: string;
  cascadeId: string;
  channel: string;
  idempotencyKey: string;
}

describe.skipIf(skip)('two router instances in two processes on one Redis', () => {
  const prefix = uniquePrefix('instances');
  let admin: Redis;
  let a: Instance;
  let b: Instance;
  const store = redisStore({ url: REDIS_URL, prefix, pollMs: 0 });

  beforeAll(async () => {
    admin = new Redis(REDIS_URL);
    const env = { REDIS_URL, PREFIX: prefix, PUSH_TIMEOUT: '600ms', POLL_MS: '100', LEASE_MS: '1000' };
    a = new Instance('A', env);
    b = new Instance('B', env);
    await Promise.all([a.ready, b.ready]);
  }, 30_000);

  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await store.dispose();
    await dropPrefix(admin, prefix);
    await admin.quit();
  });

  const sends = async (key: string): Promise<SendRecord[]> =>
    (await admin.lrange(`${prefix}test:sends`, 0, -1)).map((line) => JSON.parse(line) as SendRecord).filter((s) => s.cascadeId === key);

  const cascade = async (id: string): Promise<Cascade> => (await store.get(id))!;

  it('applies on B a receipt for a cascade that A started', async () => {
    const key = `receipt-${Date.now()}`;
    // Email waits a minute: no timer ends the step first, the receipt decides.
    const started = await a.request<SendReceipt>('send', { key, channels: ['email'] });
    expect(started.created).toBe(true);
    await waitFor('A to record the push provider id', async () => (await cascade(key)).attempts[0]?.providerMessageId !== undefined, 5000);
    const providerMessageId = (await cascade(key)).attempts[0]!.providerMessageId!;
    const result = await b.request<{ outcome: string; status: string }>('receipt', { providerMessageId, status: 'delivered' });
    expect(result).toMatchObject({ outcome: 'applied', status: 'delivered' });
    expect((await cascade(key)).status).toBe('delivered');
    expect((await sends(key)).map((s) => [s.instance, s.channel])).toEqual([['A', 'email']]);
  });

  it('starts one cascade when both get the same idempotency key at once', async () => {
    const key = `same-key-${Date.now()}`;
    const channels = ['email'];
    const results = await Promise.all([a.request<SendReceipt>('send', { key, channels }), b.request<SendReceipt>('send', { key, channels })]);
    expect(results.map((r) => r.created).sort()).toEqual([false, true]);
    expect(results[0]!.cascadeId).toBe(results[1]!.cascadeId);
    await waitFor('the email to be recorded', async () => (await cascade(key)).attempts[0]?.state === 'waiting', 5000);
    const result = await b.request('receipt', { providerMessageId: (await cascade(key)).attempts[0]!.providerMessageId!, status: 'delivered' });
    expect(result).toMatchObject({ outcome: 'applied', status: 'delivered' });
    expect((await sends(key)).length).toBe(1);
  });

  it('fires on B the timeout that A set, after A was killed', async () => {
    const key = `timeout-${Date.now()}`;
    await a.request<SendReceipt>('send', { key });
    await waitFor('A to record the push provider id', async () => (await cascade(key)).attempts[0]?.state === 'waiting', 5000);
    await a.kill();
    // The push step times out 600 ms after it started; only B is left to notice and move on to SMS.
    await waitFor('the SMS step', async () => (await sends(key)).some((s) => s.channel === 'sms'), 10_000);
    const records = await sends(key);
    expect(records.map((s) => [s.instance, s.channel])).toEqual([
      ['A', 'push'],
      ['B', 'sms'],
    ]);
    const after = await cascade(key);
    expect(after.attempts.map((attempt) => [attempt.channel, attempt.outcome])).toEqual([
      ['push', 'timeout'],
      ['sms', undefined],
    ]);
  });
});
