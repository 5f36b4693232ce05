/**
 * `redisStore({ replicas })`: a write the store answered has reached that many replicas (Redis `WAIT`), so a
 * failover that promotes one keeps it. Each case runs a private primary and replica on their own ports and
 * freezes the replica (SIGSTOP) to open the window that asynchronous replication leaves.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { createRouter, InvalidConfigError, type Router } from 'cascade-router';
import { redisStore } from 'cascade-router/redis';
import { dropPrefix, requireRedis, uniquePrefix, waitFor } from './redis/helpers.js';
import { storeContract } from './store.contract.js';
import { PrivateRedis } from './redis/server.js';

const skip = await requireRedis('test/redis.replicas.test.ts');

const message = (key: string) => ({ key, category: 'transactional', content: { text: 'Your code is 1234' } });
const recipient = { id: 'r1', addresses: { sms: '+15555550100' } };

/** What a redis-server says of its replication, as `field → value`. */
async function replication(url: string): Promise<Map<string, string>> {
  const client = new Redis(url, { lazyConnect: true, connectTimeout: 1000, maxRetriesPerRequest: 0 });
  client.on('error', () => {});
  try {
    await client.connect();
    const info = await client.info('replication');
    return new Map(info.split('\r\n').filter((line) => line.includes(':')).map((line) => line.split(':', 2) as [string, string]));
  } finally {
    client.disconnect();
  }
}

/** Closes the primary's connections to its replicas. */
async function dropReplicas(primary: PrivateRedis): Promise<void> {
  const client = new Redis(primary.url);
  try {
    await client.client('KILL', 'TYPE', 'replica');
  } finally {
    client.disconnect();
  }
}

describe.skipIf(skip)('Redis store: writes acknowledged by replicas (WAIT)', () => {
  let servers: PrivateRedis[] = [];
  let routers: Router[] = [];
  const calls: string[] = [];

  /** A primary and a replica of it, the replica's link up and caught up. */
  async function pair(): Promise<{ primary: PrivateRedis; replica: PrivateRedis }> {
    const primary = new PrivateRedis();
    servers.push(primary);
    await primary.start();
    const replica = new PrivateRedis(['--replicaof', '127.0.0.1', String(primary.port)]);
    servers.push(replica);
    await replica.start();
    await caughtUp(primary, replica);
    return { primary, replica };
  }

  async function caughtUp(primary: PrivateRedis, replica: PrivateRedis): Promise<void> {
    await waitFor('the replica to catch up', async () => {
      const [p, r] = await Promise.all([replication(primary.url), replication(replica.url)]);
      return r.get('master_link_status') === 'up' && p.get('master_repl_offset') === r.get('slave_repl_offset');
    }, 15_000, 50);
  }

  function router(url: string, replicas: number): Router {
    const created = createRouter({
      store: redisStore({ url, prefix: 'replicas:', replicas, replicaTimeout: '200ms', commandTimeout: '1s' }),
      channels: {
        sms: { kind: 'sms', cost: '0.05', confirm: { timeout: '1m' }, send: async ({ cascadeId }) => (calls.push(cascadeId), `sms:${cascadeId}`) },
      },
    });
    created.on('error', () => {});
    routers.push(created);
    return created;
  }

  afterEach(async () => {
    await Promise.all(routers.map((r) => r.close()));
    await Promise.all(servers.map((s) => s.remove()));
    routers = [];
    servers = [];
    calls.length = 0;
  });

  it('a send answered with replicas: 1 survives the primary\'s death and the replica\'s promotion; one answered with replicas: 0 can be lost', async () => {
    const { primary, replica } = await pair();
    const waiting = router(primary.url, 1);
    const plain = router(primary.url, 0);

    await expect(waiting.send(message('before'), recipient)).resolves.toMatchObject({ created: true });
    await waitFor('the first step to be sent', () => calls.includes('before'));

    // Frozen, and cut off: what the primary writes now reaches no replica (a frozen one would still read
    // it from its socket when it wakes).
    replica.pause();
    await dropReplicas(primary);
    const refused = await waiting.send(message('unacknowledged'), recipient).catch((error: unknown) => error);
    expect(refused).toMatchObject({ code: 'STORE_UNAVAILABLE', message: expect.stringContaining('0 of 1 replicas within 200 ms') });
    await expect(plain.send(message('acknowledged-by-primary'), recipient)).resolves.toMatchObject({ created: true });

    // The primary dies before the replica could take those writes; the replica is promoted.
    await primary.kill();
    replica.resume();
    const promoted = new Redis(replica.url);
    try {
      await promoted.replicaof('NO', 'ONE');
    } finally {
      promoted.disconnect();
    }
    const reader = redisStore({ url: replica.url, prefix: 'replicas:', cacheSize: 0, poll: 0 });
    try {
      expect((await reader.get('before'))?.key).toBe('before');
      // Answered by the primary alone, and gone: what `replicas: 0` cannot promise.
      expect(await reader.get('acknowledged-by-primary')).toBe(undefined);
    } finally {
      await reader.dispose();
    }
  }, 40_000);

  it('a write refused for want of a replica is recognised on retry: the first step goes out once', async () => {
    const { primary, replica } = await pair();
    const waiting = router(primary.url, 1);

    replica.pause();
    await expect(waiting.send(message('retried'), recipient)).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    // A receipt held for an id nobody knows yet is a write too: refused the same way, so the provider retries it.
    await expect(waiting.handleReceipt({ providerMessageId: 'sms:unknown', status: 'delivered' })).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    expect(calls).toEqual([]);

    replica.resume();
    await caughtUp(primary, replica);
    // The primary applied the create (with its claim of the first step) although the caller was refused:
    // the router recognises its own write, on the caller's retry or when it reads the cascade again itself.
    await expect(waiting.send(message('retried'), recipient)).resolves.toMatchObject({ cascadeId: 'retried' });
    await waitFor('the first step to be sent', () => calls.includes('retried'));
    await waitFor('its send to be recorded', async () => (await waiting.get('retried'))?.attempts[0]?.phase === 'waiting');
    await expect(waiting.send(message('retried'), recipient)).resolves.toMatchObject({ created: false });
    await expect(waiting.handleReceipt({ providerMessageId: 'sms:retried', status: 'delivered' })).resolves.toMatchObject({ outcome: 'applied', status: 'delivered' });
    expect(calls).toEqual(['retried']);
  }, 40_000);

  it('refuses a replica count or wait that is not a whole number of replicas and a finite wait', () => {
    const url = 'redis://127.0.0.1:1';
    expect(() => redisStore({ url, replicas: -1 })).toThrow(InvalidConfigError);
    expect(() => redisStore({ url, replicas: 1.5 })).toThrow(InvalidConfigError);
    expect(() => redisStore({ url, replicas: 1, replicaTimeout: 0 })).toThrow(InvalidConfigError);
    expect(() => redisStore({ url, replicas: 1, replicaTimeout: '1ms' })).not.toThrow();
    expect(() => redisStore({ url, replicas: 1, replicaTimeout: Infinity })).toThrow(InvalidConfigError);
  });
});

describe.skipIf(skip)('redisStore({ replicas: 1 }) on a primary with a replica', () => {
  const primary = new PrivateRedis();
  let replica: PrivateRedis;
  let admin: Redis;

  beforeAll(async () => {
    await primary.start();
    replica = new PrivateRedis(['--replicaof', '127.0.0.1', String(primary.port)]);
    await replica.start();
    await waitFor('the replica link', async () => (await replication(replica.url)).get('master_link_status') === 'up', 15_000, 50);
    admin = new Redis(primary.url);
  }, 30_000);
  afterAll(async () => {
    admin?.disconnect();
    await replica?.remove();
    await primary.remove();
  });

  // Every operation through the pipelined script + WAIT path, held to the same contract as without it.
  const prefixes = new Map<object, string>();
  storeContract(
    'redisStore({ replicas: 1 })',
    () => {
      const prefix = uniquePrefix('replicas');
      const store = redisStore({ url: primary.url, prefix, pollMs: 0, replicas: 1 });
      prefixes.set(store, prefix);
      return store;
    },
    async (store) => {
      await dropPrefix(admin, prefixes.get(store)!);
      prefixes.delete(store);
    },
  );
});
