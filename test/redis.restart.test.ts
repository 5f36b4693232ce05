/** Redis killed and restarted under a running router: typed errors during the outage, nothing lost after it. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRouter, TERMINAL, type Router } from 'cascade-router';
import { redisStore, StoreUnavailableError } from 'cascade-router/redis';
import { requireRedis, waitFor } from './redis/helpers.js';
import { PrivateRedis } from './redis/server.js';

const skip = await requireRedis('test/redis.restart.test.ts');

describe.skipIf(skip)('Redis restarted mid-run', () => {
  const server = new PrivateRedis();
  let router: Router;
  const sent: string[] = [];
  const errors: Error[] = [];

  beforeAll(async () => {
    await server.start();
    const store = redisStore({ url: server.url, prefix: 'restart:', commandTimeoutMs: 500 });
    router = createRouter({
      store,
      channels: {
        email: { kind: 'email', cost: 0.001, confirm: { timeout: '1m' }, send: async ({ cascadeId }) => (sent.push(cascadeId), `email:${cascadeId}`) },
      },
    });
    router.on('error', ({ error }) => errors.push(error));
  }, 20_000);

  afterAll(async () => {
    await router?.close();
    await server.remove();
  });

  const message = (key: string) => ({ key, category: 'transactional', content: { text: 'Your results are ready' } });
  const recipient = { id: 'patient', addresses: { email: 'p@example.com' } };

  it('fails fast with STORE_UNAVAILABLE during the outage and loses nothing it had acknowledged', async () => {
    const before = ['a', 'b', 'c', 'd', 'e'];
    for (const key of before) await router.send(message(key), recipient);
    await waitFor('every email to be recorded', async () => {
      const cascades = await Promise.all(before.map((key) => router.get(key)));
      return cascades.every((c) => c?.attempts[0]?.phase === 'waiting');
    });

    await server.kill();
    const started = Date.now();
    const during = await router.send(message('during'), recipient).catch((error: unknown) => error);
    expect(during).toBeInstanceOf(StoreUnavailableError);
    expect(during).toMatchObject({ code: 'STORE_UNAVAILABLE' });
    await expect(router.handleReceipt({ providerMessageId: 'email:a', status: 'delivered' })).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    await expect(router.get('a')).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    expect(Date.now() - started).toBeLessThan(5000);

    await server.start();
    await waitFor('the store to reconnect', () => router.get('a').then(() => true, () => false), 15_000, 100);

    // Everything acknowledged before the outage is there; the send that failed left nothing behind.
    for (const key of before) expect((await router.get(key))?.attempts[0]?.providerMessageId).toBe(`email:${key}`);
    expect(await router.get('during')).toBe(undefined);

    // And work goes on: receipts end the cascades, the failed message can be sent again.
    for (const key of before) {
      await expect(router.handleReceipt({ providerMessageId: `email:${key}`, status: 'delivered' })).resolves.toMatchObject({ outcome: 'applied', status: 'delivered' });
    }
    await expect(router.send(message('during'), recipient)).resolves.toMatchObject({ created: true });
    await waitFor('the retried message to be sent', () => sent.includes('during'), 5000);
    for (const key of before) expect(TERMINAL.has((await router.get(key))!.status)).toBe(true);
    expect(sent.sort()).toEqual([...before, 'during'].sort());
  }, 40_000);
});
