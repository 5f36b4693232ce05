/**
 * Two routers on one PostgreSQL schema (a store instance and pool each, as two processes) share provider health,
 * rate limits and frequency caps (issue #15), as on Redis: the cases are in test/support/two-routers-sharing.ts.
 */
import pg from 'pg';
import { afterAll } from 'vitest';
import { postgresStore } from 'cascade-router/postgres';
import { dropSchema, PG_URL, requirePostgres, uniqueSchema } from './postgres/helpers.js';
import { twoRoutersSharing } from './support/two-routers-sharing.js';

const skip = await requirePostgres('test/providers.postgres.test.ts');
let admin: pg.Pool | undefined;
afterAll(async () => {
  await admin?.end();
});

twoRoutersSharing('two routers on one PostgreSQL schema', skip, () => ({
  async space() {
    const schema = uniqueSchema('providers');
    const store = postgresStore({ connectionString: PG_URL, schema, poolSize: 1 });
    await store.migrate();
    await store.dispose();
    return schema;
  },
  store: (schema, clock) => postgresStore({ connectionString: PG_URL, schema, pollMs: 1000, clock, poolSize: 4 }),
  async drop(schemas) {
    admin ??= new pg.Pool({ connectionString: PG_URL, max: 1 });
    for (const schema of schemas) await dropSchema(admin, schema);
  },
}));
