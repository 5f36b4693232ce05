/** Receipts on the PostgreSQL store committed against the copy a router holds: the cases of test/support/receipt-copies.ts. */
import { afterAll, beforeAll, describe } from 'vitest';
import pg from 'pg';
import { createRouter } from 'cascade-router';
import { postgresStore, type PostgresPool } from 'cascade-router/postgres';
import { PG_URL, requirePostgres, uniqueSchema } from './postgres/helpers.js';
import { channels, receiptCopyCases } from './support/receipt-copies.js';

const skip = await requirePostgres('test/postgres.receipts.test.ts');

describe.skipIf(skip)('PostgreSQL store: receipts for cascades this router sent', () => {
  let admin: pg.Pool;
  const schemas: string[] = [];

  beforeAll(() => {
    admin = new pg.Pool({ connectionString: PG_URL, max: 2 });
  });
  afterAll(async () => {
    for (const schema of schemas) await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
  });

  receiptCopyCases(
    {
      async space(label) {
        const schema = uniqueSchema(label);
        schemas.push(schema);
        const store = postgresStore({ connectionString: PG_URL, schema, poolSize: 1 });
        await store.migrate();
        await store.dispose();
        return schema;
      },
      router(schema, clock, cacheSize) {
        // The shared server's connections are few: each router has a small pool, ended when it closes.
        const pool = new pg.Pool({ connectionString: PG_URL, max: 2 });
        const sent: string[] = [];
        const query = pool.query.bind(pool) as (config: { name?: string; text: string }) => Promise<unknown>;
        (pool as unknown as { query: typeof query }).query = (config) => (sent.push((config.name ?? config.text).replace(`${schema}_`, '')), query(config));
        const store = postgresStore({ pool: pool as unknown as PostgresPool, schema, clock, pollMs: 0, ...(cacheSize === undefined ? {} : { cacheSize }) });
        const router = createRouter({ store, clock, channels });
        return { router, calls: () => sent.splice(0), close: async () => (await router.close(), await store.dispose(), await pool.end()) };
      },
    },
    // Routed: the route brings the cascade with it.
    { withCopy: ['commit'], routed: ['route', 'commit'] },
  );
});
