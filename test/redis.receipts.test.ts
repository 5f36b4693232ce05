/**
 * Receipts on the Redis store: a receipt for a cascade this router sent is committed against the copy it
 * holds (`routeHint`), one round trip instead of route + commit; a copy another router made stale is refused
 * by the compare-and-set and read again, so the answer is the one the route would have given.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { createRouter, SimulatedClock, type ChannelConfig, type Router } from 'cascade-router';
import { redisStore } from 'cascade-router/redis';
import { dropPrefix, REDIS_URL, requireRedis, uniquePrefix } from './redis/helpers.js';

const skip = await requireRedis('test/redis.receipts.test.ts');

const T0 = Date.UTC(2026, 0, 8, 10, 0);
const message = (key: string) => ({ key, category: 'transactional', content: { text: 'Your parcel is on its way' } });
const recipient = { id: 'r1', addresses: { push: 'token', sms: '+15555550100' } };
const channels = {
  push: { kind: 'push', cost: 0, confirm: { timeout: '2m' }, send: async ({ cascadeId }) => `push:${cascadeId}` },
  sms: { kind: 'sms', cost: '0.05', confirm: { timeout: '10m' }, send: async ({ cascadeId }) => `sms:${cascadeId}` },
} satisfies Record<string, ChannelConfig>;

describe.skipIf(skip)('Redis store: receipts for cascades this router sent', () => {
  let admin: Redis;
  const prefixes: string[] = [];
  const routers: Router[] = [];
  const clients: Redis[] = [];

  beforeAll(() => {
    admin = new Redis(REDIS_URL);
  });
  afterAll(async () => {
    await Promise.all(routers.map((r) => r.close()));
    for (const client of clients) client.disconnect();
    for (const prefix of prefixes) await dropPrefix(admin, prefix);
    await admin.quit();
  });

  /** A router on its own connection, with the commands that connection sends counted; `cacheSize: 0` holds no copies. */
  function router(prefix: string, clock: SimulatedClock, cacheSize?: number): { router: Router; commands: () => string[] } {
    const client = new Redis(REDIS_URL);
    clients.push(client);
    const sent: string[] = [];
    const sendCommand = client.sendCommand.bind(client);
    client.sendCommand = (command, ...rest) => (sent.push(command.name), sendCommand(command, ...rest));
    const made = createRouter({ store: redisStore({ client, prefix, clock, poll: 0, ...(cacheSize === undefined ? {} : { cacheSize }) }), clock, channels });
    routers.push(made);
    return { router: made, commands: () => sent.splice(0) };
  }

  it('applies a receipt for its own cascade with one round trip (a commit), where a router without the copy routes first', async () => {
    const prefix = uniquePrefix('hint');
    prefixes.push(prefix);
    const clock = new SimulatedClock(T0);
    const { router: a, commands } = router(prefix, clock);
    await a.send(message('one'), recipient);
    await a.settled();
    commands();
    await expect(a.handleReceipt({ providerMessageId: 'push:one', status: 'delivered' })).resolves.toMatchObject({ outcome: 'applied', status: 'delivered' });
    expect(commands()).toEqual(['evalsha']);

    const { router: b, commands: commandsOfB } = router(prefix, clock, 0);
    await b.send(message('two'), recipient);
    await b.settled();
    commandsOfB();
    await expect(b.handleReceipt({ providerMessageId: 'push:two', status: 'delivered' })).resolves.toMatchObject({ outcome: 'applied', status: 'delivered' });
    expect(commandsOfB()).toEqual(['evalsha', 'evalsha', 'evalsha']); // route, read, commit
  });

  /** Router `a` sends; router `b` changes the cascade (`interfere`); then `a` gets `receipt`. Its answer and the cascade after. */
  async function staleCopy(cacheSize: number | undefined, interfere: (b: Router, key: string) => Promise<unknown>, status: 'delivered' | 'sent' | 'failed') {
    const prefix = uniquePrefix('stale');
    prefixes.push(prefix);
    const clock = new SimulatedClock(T0);
    const { router: a } = router(prefix, clock, cacheSize);
    const { router: b } = router(prefix, clock, 0);
    const key = `k-${status}`;
    await a.send(message(key), recipient);
    await a.settled();
    await interfere(b, key);
    clock.advance(1000);
    const answer = await a.handleReceipt({ providerMessageId: `push:${key}`, status });
    const cascade = (await a.get(key))!;
    return { answer, status: cascade.status, version: cascade.version, attempts: cascade.attempts.map((x) => [x.channel, x.state, x.status]) };
  }

  const interferences: Record<string, (b: Router, key: string) => Promise<unknown>> = {
    'a sent receipt': (b, key) => b.handleReceipt({ providerMessageId: `push:${key}`, status: 'sent' }),
    'a cancel': (b, key) => b.cancel(key),
    'a delivered receipt': (b, key) => b.handleReceipt({ providerMessageId: `push:${key}`, status: 'delivered' }),
  };

  for (const [what, interfere] of Object.entries(interferences)) {
    for (const status of ['delivered', 'sent', 'failed'] as const) {
      it(`answers a "${status}" receipt on a copy made stale by another router's ${what} as a router that routes it does`, async () => {
        const withCopy = await staleCopy(undefined, interfere, status);
        const routed = await staleCopy(0, interfere, status);
        expect(withCopy).toEqual(routed);
      });
    }
  }
});
