import pg from 'pg';
import { afterAll, beforeAll, describe } from 'vitest';
import type { CascadeStore } from 'cascade-router';
import { postgresStore } from 'cascade-router/postgres';
import { storeContract } from './store.contract.js';
import { dropSchema, PG_URL, requirePostgres, uniqueSchema } from './postgres/helpers.js';

const skip = await requirePostgres('test/store.postgres.test.ts');

describe.skipIf(skip)('postgresStore', () => {
  let admin: pg.Pool;
  beforeAll(() => {
    admin = new pg.Pool({ connectionString: PG_URL, max: 2 });
  });
  afterAll(async () => {
    await admin.end();
  });

  // pollMs 0: the contract checks nextDueAt() against real timers, not the polling hint.
  const schemas = new Map<CascadeStore, string>();
  storeContract(
    'postgresStore',
    async () => {
      const schema = uniqueSchema('contract');
      const store = postgresStore({ connectionString: PG_URL, schema, pollMs: 0, poolSize: 4 });
      await store.migrate();
      schemas.set(store, schema);
      return store;
    },
    async (store) => {
      await dropSchema(admin, schemas.get(store)!);
      schemas.delete(store);
    },
  );
});
