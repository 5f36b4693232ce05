/** Shared by the PostgreSQL tests: is a server there, a schema of its own per test, and dropping it afterwards. */
import { randomUUID } from 'node:crypto';
import pg from 'pg';

export const PG_URL = process.env.PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** True when PostgreSQL answers `SELECT 1` at `url` within two seconds. */
export async function pingPostgres(url = PG_URL): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * In CI a missing PostgreSQL is a failure; locally the PostgreSQL tests are skipped with a notice.
 * Call at the top of a test file: `const skip = await requirePostgres('file name')`.
 */
export async function requirePostgres(what: string): Promise<boolean> {
  if (await pingPostgres()) return false;
  const message = `${what}: no PostgreSQL answers at ${PG_URL}`;
  if (process.env.CI) throw new Error(`${message}; CI must run one (see .ci/run)`);
  console.warn(`\n  ⚠ SKIPPED ${message}. Start one to run these tests.\n`);
  return true;
}

/** A fresh schema name: each test gets its own. */
export const uniqueSchema = (label = 't'): string => `cr_test_${label}_${randomUUID().replaceAll('-', '').slice(0, 10)}`;

/** Drops a schema and everything in it. */
export async function dropSchema(admin: pg.Pool | pg.Client, schema: string): Promise<void> {
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
}
