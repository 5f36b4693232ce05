/**
 * A cascade started in the caller's own PostgreSQL transaction (issue #18): written with the order, sent only
 * once that transaction commits, by whichever router listens; a rollback leaves no trace and sends nothing.
 * Routers and stores in this process on the shared PostgreSQL, each test on a schema of its own. Waits are on
 * conditions with bounds.
 */
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRouter, memoryStore, type ChannelConfig, type Message, type Recipient, type Router, type SendRequest } from 'cascade-router';
import { postgresStore, type PostgresStore, type PostgresTransaction } from 'cascade-router/postgres';
import { dropSchema, PG_URL, requirePostgres, uniqueSchema } from './postgres/helpers.js';
import { waitFor } from './redis/helpers.js';

const skip = await requirePostgres('test/router.postgres.test.ts');

// A node-postgres client is a transaction as it is (checked by the compiler): no adapter needed.
export const asTransaction = (client: pg.PoolClient | pg.Client): PostgresTransaction => client;

describe.skipIf(skip)('send() inside the caller\'s PostgreSQL transaction', () => {
  let admin: pg.Pool;
  const schemas: string[] = [];
  const closing: (() => Promise<void>)[] = [];
  beforeAll(() => {
    admin = new pg.Pool({ connectionString: PG_URL, max: 4 });
  });
  afterEach(async () => {
    for (const close of closing.splice(0).reverse()) await close();
  });
  afterAll(async () => {
    for (const schema of schemas) await dropSchema(admin, schema);
    await admin.end();
  });

  interface Setup {
    readonly schema: string;
    readonly calls: { key: string; router: string; at: number }[];
    router(name: string, options?: { listen?: boolean }): Promise<{ router: Router; store: PostgresStore }>;
  }

  /** Routers on one schema whose push adapter logs each call; polling is a minute, so only a wake-up starts a step soon. */
  async function setup(): Promise<Setup> {
    const schema = uniqueSchema('tx');
    schemas.push(schema);
    const calls: Setup['calls'] = [];
    await admin.query(`CREATE TABLE IF NOT EXISTS ${schema}_orders (id text PRIMARY KEY, total numeric NOT NULL)`).catch(() => {});
    return {
      schema,
      calls,
      async router(name, options = {}) {
        const store = postgresStore({ connectionString: PG_URL, schema, pollMs: 60_000, poolSize: 3, listen: options.listen ?? true });
        await store.migrate();
        const send = async (request: SendRequest): Promise<string> => {
          calls.push({ key: request.cascadeId, router: name, at: Date.now() });
          return `push-${request.idempotencyKey}`;
        };
        const channels = { push: { kind: 'push', cost: 0, send, confirm: { timeout: '10m' } } } satisfies Record<string, ChannelConfig>;
        const router = createRouter({ channels, store, instanceId: name });
        closing.push(async () => {
          await router.close();
          await store.dispose();
        });
        return { router, store };
      },
    };
  }

  const recipient: Recipient = { id: 'customer-1', addresses: { push: 'device-token' } };
  const message = (key: string): Message => ({ key, category: 'transactional', content: { text: 'Your order has shipped' } });

  /** Runs `work` in a transaction on a connection of its own, committing or rolling back. */
  async function inTransaction<T>(end: 'COMMIT' | 'ROLLBACK', work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await admin.connect();
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query(end);
      return result;
    } catch (error) {
      await client.query('ROLLBACK');
      throw error;
    } finally {
      client.release();
    }
  }

  it('writes the cascade with the order, sends nothing before the commit, and the first step once it commits, on the router that listens', async () => {
    const s = await setup();
    // The router the caller uses does not listen: the send must come from the other one, woken by the commit.
    const caller = await s.router('caller', { listen: false });
    const listening = await s.router('listener');
    const key = `order-1-${s.schema}`;
    let committedAt = 0;
    const client = await admin.connect();
    try {
      await client.query('BEGIN');
      await client.query(`INSERT INTO ${s.schema}_orders (id, total) VALUES ($1, 42.5)`, [key]);
      const receipt = await caller.router.send(message(key), recipient, { transaction: client });
      expect(receipt).toMatchObject({ cascadeId: key, created: true, status: 'scheduled' });
      // In the open transaction: invisible to every other connection, and nothing sent.
      expect(await listening.router.get(key)).toBe(undefined);
      await listening.router.settled();
      expect(s.calls).toEqual([]);
      await client.query('COMMIT');
      committedAt = Date.now();
    } finally {
      client.release();
    }
    await waitFor('the first step to be sent after the commit', () => s.calls.length === 1, 5000, 2);
    expect(s.calls[0]).toMatchObject({ key, router: 'listener' });
    // Far sooner than the minute-long poll: the commit's notification woke it.
    expect(s.calls[0]!.at - committedAt).toBeLessThan(2000);
    await waitFor('the send to be recorded', async () => (await listening.router.get(key))?.attempts[0]?.providerMessageId !== undefined, 5000);
    const stored = (await caller.router.get(key))!;
    expect([stored.status, stored.attempts[0]!.owner, stored.attempts[0]!.providerMessageId]).toEqual(['active', 'listener', `push-${key}:0`]);
    expect((await caller.router.report()).messages).toBe(1);
  });

  it('leaves no trace and sends nothing when the transaction rolls back; the key is free again', async () => {
    const s = await setup();
    const { router } = await s.router('only');
    const key = `order-2-${s.schema}`;
    await inTransaction('ROLLBACK', async (client) => {
      await client.query(`INSERT INTO ${s.schema}_orders (id, total) VALUES ($1, 10)`, [key]);
      return router.send(message(key), recipient, { transaction: client });
    });
    expect(await router.get(key)).toBe(undefined);
    expect((await admin.query(`SELECT count(*)::int AS n FROM ${s.schema}_orders`)).rows[0]).toEqual({ n: 0 });
    // A later committed start: once it is sent, the rolled-back one had every chance to be, and was not.
    const later = `order-3-${s.schema}`;
    await inTransaction('COMMIT', (client) => router.send(message(later), recipient, { transaction: client }));
    await waitFor('the committed one to be sent', () => s.calls.length >= 1, 5000, 2);
    expect(s.calls.map((c) => c.key)).toEqual([later]);
    expect((await router.report()).messages).toBe(1);
    // The rolled-back key never started a cascade: it starts one now.
    const again = await inTransaction('COMMIT', (client) => router.send(message(key), recipient, { transaction: client }));
    expect(again.created).toBe(true);
    await waitFor('the retried one to be sent', () => s.calls.length === 2, 5000, 2);
  });

  it('never starts a second cascade for one key, in one transaction or after it committed', async () => {
    const s = await setup();
    const { router } = await s.router('only');
    const key = `order-4-${s.schema}`;
    const [first, second] = await inTransaction('COMMIT', async (client) => [
      await router.send(message(key), recipient, { transaction: client }),
      await router.send(message(key), recipient, { transaction: client }),
    ]);
    expect([first.created, second.created]).toEqual([true, false]);
    const third = await router.send(message(key), recipient);
    expect(third.created).toBe(false);
    await waitFor('the one cascade to be sent', () => s.calls.length === 1, 5000, 2);
    await router.settled();
    expect(s.calls.map((c) => c.key)).toEqual([key]);
  });

  it('notifies on commit only from a store with notify on (notify: false leaves the start to the poll)', async () => {
    const s = await setup();
    const listener = await admin.connect();
    const heard: string[] = [];
    listener.on('notification', (message) => heard.push(message.channel));
    try {
      await listener.query(`LISTEN ${s.schema}_wake`);
      const quiet = postgresStore({ connectionString: PG_URL, schema: s.schema, notify: false, listen: false, poolSize: 1 });
      const loud = postgresStore({ connectionString: PG_URL, schema: s.schema, listen: false, poolSize: 1 });
      closing.push(() => quiet.dispose(), () => loud.dispose());
      await quiet.migrate();
      const router = (store: PostgresStore): Router => {
        const r = createRouter({ channels: { push: { kind: 'push', send: async () => 'id', confirm: { timeout: '1m' } } }, store, instanceId: `r-${Math.random()}` });
        closing.push(() => r.close());
        return r;
      };
      const [a, b] = [router(quiet), router(loud)];
      await inTransaction('COMMIT', (client) => a.send(message(`quiet-${s.schema}`), recipient, { transaction: client }));
      await inTransaction('COMMIT', (client) => b.send(message(`loud-${s.schema}`), recipient, { transaction: client }));
      // Notifications committed before this query are delivered to the listening session before its answer.
      await listener.query('SELECT 1');
      expect(heard).toEqual([`${s.schema}_wake`]);
    } finally {
      listener.release();
    }
  });

  it('refuses a transaction with a typed error: a store that cannot write in one, and a value that is no connection', async () => {
    const router = createRouter({ channels: { push: { kind: 'push', send: async () => 'id', confirm: { timeout: '1m' } } }, store: memoryStore() });
    closing.push(() => router.close());
    await expect(router.send(message('k'), recipient, { transaction: {} })).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
    const s = await setup();
    const { router: pgRouter } = await s.router('only');
    await expect(pgRouter.send(message('k2'), recipient, { transaction: 42 })).rejects.toMatchObject({ code: 'INVALID_INPUT' });
  });
});
