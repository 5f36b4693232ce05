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
  at: number;
}

describe.skipIf(skip)('two router instances in two processes on one Redis', () => {
  const prefix = uniquePrefix('instances');
  let admin: Redis;
  let a: Instance;
  let b: Instance;
  const extra: Instance[] = [];
  const store = redisStore({ url: REDIS_URL, prefix, pollMs: 0 });
  // Email waits a minute: in these tests a receipt, a release or a take-over decides, never its timeout.
  const env = { REDIS_URL, PREFIX: prefix, PUSH_TIMEOUT: '600ms', POLL_MS: '100', LEASE_MS: '1000', INSTANCE_TTL: '900ms' };

  beforeAll(async () => {
    admin = new Redis(REDIS_URL);
    a = new Instance('A', env);
    b = new Instance('B', env);
    await Promise.all([a.ready, b.ready]);
  }, 30_000);

  afterAll(async () => {
    await Promise.all([a?.close(), b?.close(), ...extra.map((instance) => instance.close())]);
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
    await waitFor('the email to be recorded', async () => (await cascade(key)).attempts[0]?.phase === 'waiting', 5000);
    const result = await b.request('receipt', { providerMessageId: (await cascade(key)).attempts[0]!.providerMessageId!, status: 'delivered' });
    expect(result).toMatchObject({ outcome: 'applied', status: 'delivered' });
    expect((await sends(key)).length).toBe(1);
  });

  it("starts a third router beside A's send in flight, and leaves that send to A", async () => {
    const key = `in-flight-${Date.now()}`;
    await a.request<SendReceipt>('send', { key, channels: ['email'], hold: true });
    await waitFor('A to call the email adapter', async () => (await sends(key)).length === 1, 5000);
    const c = new Instance('C', env);
    extra.push(c);
    await c.ready;
    await c.request('settled'); // its start-up look for orphaned sends is done
    // That nothing happens needs a window: longer than a heartbeat lapse (900 ms) plus a look by B and C
    // (every 300 ms). It ends early, and fails, if anyone sends the step again.
    const until = Date.now() + 1500;
    await waitFor('1.5 s of polling by B and C', async () => (await sends(key)).length > 1 || Date.now() > until, 3000);
    expect((await sends(key)).map((s) => s.instance)).toEqual(['A']);
    expect(await a.request('release', { cascadeId: key })).toBe(true);
    await waitFor('A to record the email provider id', async () => (await cascade(key)).attempts[0]?.phase === 'waiting', 5000);
    expect(await c.request('receipt', { providerMessageId: `email:${key}:0`, status: 'delivered' })).toMatchObject({ outcome: 'applied', status: 'delivered' });
    expect((await sends(key)).map((s) => s.instance)).toEqual(['A']);
    expect((await cascade(key)).attempts[0]!.owner).toBe('A');
    await c.close();
  });

  it('sends again on B, with the same idempotency key, the step that a killed router had in flight, once its heartbeat lapses', async () => {
    const key = `taken-over-${Date.now()}`;
    const d = new Instance('D', env);
    extra.push(d);
    await d.ready;
    await d.request<SendReceipt>('send', { key, channels: ['email'], hold: true });
    await waitFor('D to call the email adapter', async () => (await sends(key)).length === 1, 5000);
    const killedAt = Date.now();
    await d.kill();
    await waitFor('another router to send the step again', async () => (await sends(key)).length === 2, 10_000);
    const [first, again] = await sends(key);
    expect([first!.instance, again!.idempotencyKey]).toEqual(['D', first!.idempotencyKey]);
    expect(['A', 'B']).toContain(again!.instance);
    // Not before D's heartbeat (900 ms) could have lapsed.
    expect(again!.at - killedAt).toBeGreaterThanOrEqual(300);
    await waitFor('the re-sent email to be recorded', async () => (await cascade(key)).attempts[0]?.phase === 'waiting', 5000);
    const after = await cascade(key);
    expect([after.attempts[0]!.owner, after.attempts[0]!.providerMessageId]).toEqual([again!.instance, `email:${key}:0`]);
    const resumed = (await admin.lrange(`${prefix}test:resumed`, 0, -1)).map((line) => JSON.parse(line) as { instance: string; cascadeId: string; previousOwner: string });
    expect(resumed.filter((r) => r.cascadeId === key).map((r) => [r.instance, r.previousOwner])).toEqual([[again!.instance, 'D']]);
  });

  it('fires on B the timeout that A set, after A was killed', async () => {
    const key = `timeout-${Date.now()}`;
    await a.request<SendReceipt>('send', { key });
    await waitFor('A to record the push provider id', async () => (await cascade(key)).attempts[0]?.phase === 'waiting', 5000);
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
