/**
 * Receipts on the PostgreSQL store: a receipt for a cascade this router sent is committed against the copy it
 * holds (`routeHint`), one round trip instead of route + commit; a copy another router made stale is refused
 * by the compare-and-set and read again, so the answer is the one the route would have given. (The Redis
 * store's test/redis.receipts.test.ts, on PostgreSQL.)
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRouter, SimulatedClock, type ChannelConfig, type Router } from 'cascade-router';
import { postgresStore, type PostgresPool } from 'cascade-router/postgres';
import { PG_URL, requirePostgres, uniqueSchema } from './postgres/helpers.js';

const skip = await requirePostgres('test/postgres.receipts.test.ts');

const T0 = Date.UTC(2026, 0, 8, 10, 0);
const message = (key: string) => ({ key, category: 'transactional', content: { text: 'Your parcel is on its way' } });
const recipient = { id: 'r1', addresses: { push: 'token', sms: '+15555550100' } };
const channels = {
  push: { kind: 'push', cost: 0, confirm: { timeout: '2m' }, send: async ({ cascadeId }) => `push:${cascadeId}` },
  sms: { kind: 'sms', cost: '0.05', confirm: { timeout: '10m' }, send: async ({ cascadeId }) => `sms:${cascadeId}` },
} satisfies Record<string, ChannelConfig>;

describe.skipIf(skip)('PostgreSQL store: receipts for cascades this router sent', () => {
  let admin: pg.Pool;
  const schemas: string[] = [];
  const routers: Router[] = [];
  const pools: pg.Pool[] = [];

  beforeAll(() => {
    admin = new pg.Pool({ connectionString: PG_URL, max: 2 });
  });
  afterAll(async () => {
    await Promise.all(routers.map((r) => r.close()));
    for (const pool of pools) await pool.end();
    for (const schema of schemas) await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
  });

  async function migrated(label: string): Promise<string> {
    const schema = uniqueSchema(label);
    schemas.push(schema);
    const store = postgresStore({ connectionString: PG_URL, schema, poolSize: 1 });
    await store.migrate();
    await store.dispose();
    return schema;
  }

  /** A router on its own pool, with the statements that pool sends counted; `cacheSize: 0` holds no copies. */
  function router(schema: string, clock: SimulatedClock, cacheSize?: number): { router: Router; statements: () => string[]; close: () => Promise<void> } {
    const pool = new pg.Pool({ connectionString: PG_URL, max: 2 });
    pools.push(pool);
    const sent: string[] = [];
    const query = pool.query.bind(pool) as (config: { name?: string; text: string }) => Promise<unknown>;
    (pool as unknown as { query: typeof query }).query = (config) => (sent.push((config.name ?? config.text).replace(`${schema}_`, '')), query(config));
    const store = postgresStore({ pool: pool as unknown as PostgresPool, schema, clock, pollMs: 0, ...(cacheSize === undefined ? {} : { cacheSize }) });
    const made = createRouter({ store, clock, channels });
    routers.push(made);
    // The shared server's connections are few: a test closes what it opened.
    const close = async (): Promise<void> => {
      await made.close();
      await store.dispose();
      routers.splice(routers.indexOf(made), 1);
      pools.splice(pools.indexOf(pool), 1);
      await pool.end();
    };
    return { router: made, statements: () => sent.splice(0), close };
  }

  it('applies a receipt for its own cascade with one round trip (a commit), where a router without the copy routes first', async () => {
    const schema = await migrated('hint');
    const clock = new SimulatedClock(T0);
    const { router: a, statements, close: closeA } = router(schema, clock);
    await a.send(message('one'), recipient);
    await a.settled();
    statements();
    await expect(a.handleReceipt({ providerMessageId: 'push:one', status: 'delivered' })).resolves.toMatchObject({ outcome: 'applied', status: 'delivered' });
    expect(statements()).toEqual(['commit']);

    await closeA();
    const { router: b, statements: statementsOfB, close: closeB } = router(schema, clock, 0);
    await b.send(message('two'), recipient);
    await b.settled();
    statementsOfB();
    await expect(b.handleReceipt({ providerMessageId: 'push:two', status: 'delivered' })).resolves.toMatchObject({ outcome: 'applied', status: 'delivered' });
    expect(statementsOfB()).toEqual(['route', 'commit']); // the route brings the cascade with it
    await closeB();
  });

  /** Router `a` sends; router `b` changes the cascade (`interfere`); then `a` gets `receipt`. Its answer and the cascade after. */
  async function staleCopy(cacheSize: number | undefined, interfere: (b: Router, key: string) => Promise<unknown>, status: 'delivered' | 'sent' | 'failed') {
    const schema = await migrated('stale');
    const clock = new SimulatedClock(T0);
    const { router: a, close: closeA } = router(schema, clock, cacheSize);
    const { router: b, close: closeB } = router(schema, clock, 0);
    const key = `k-${status}`;
    await a.send(message(key), recipient);
    await a.settled();
    await interfere(b, key);
    clock.advance(1000);
    const answer = await a.handleReceipt({ providerMessageId: `push:${key}`, status });
    const cascade = (await a.get(key))!;
    await closeA();
    await closeB();
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
