import { createRequire } from 'node:module';
import { CascadeRouterError, InvalidConfigError, StoreUnavailableError } from '../core/errors.js';
import { durationOption, type Duration } from '../core/duration.js';

/** A query as node-postgres takes it: `name` prepares it once per connection; `rowMode: 'array'` answers rows as arrays. */
export interface PostgresQuery {
  readonly text: string;
  readonly values?: unknown[] | undefined;
  readonly name?: string | undefined;
  readonly rowMode?: 'array' | undefined;
  readonly query_timeout?: number | undefined;
}

/** What a query answers: its rows (arrays with `rowMode: 'array'`). */
export interface PostgresResult {
  readonly rows: unknown[];
}

/**
 * Anything that runs a query on PostgreSQL: a node-postgres `Client`, `PoolClient` or `Pool`, or an adapter.
 * For a transactional start it must be the connection your transaction is open on.
 */
export interface PostgresQueryable {
  query(query: PostgresQuery): Promise<PostgresResult>;
}

/** A connection of its own, checked out of a pool: the store keeps one to `LISTEN` on. */
export interface PostgresPoolClient extends PostgresQueryable {
  release(error?: Error | boolean): void;
  on(event: 'notification', listener: (message: { channel: string; payload?: string | undefined }) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  on(event: 'end', listener: () => void): unknown;
  removeAllListeners(event?: string): unknown;
}

/** A node-postgres `Pool` (or one shaped like it). */
export interface PostgresPool extends PostgresQueryable {
  connect(): Promise<PostgresPoolClient>;
  end(): Promise<void>;
}

/** Options for the pool the store opens itself from a `connectionString`. */
export interface PostgresConnectionOptions {
  /** A query not answered within this long fails with `StoreUnavailableError`: `'5s'`, or milliseconds. Default 5 seconds. */
  readonly commandTimeout?: Duration | undefined;
  /** @deprecated The same as `commandTimeout`, in milliseconds. */
  readonly commandTimeoutMs?: number | undefined;
  /** Most connections the store's own pool opens (one of them listens for wake-ups). Default 10. */
  readonly poolSize?: number | undefined;
  /** Passed to node-postgres' `Pool` as is, over the store's defaults. */
  readonly poolOptions?: Readonly<Record<string, unknown>> | undefined;
}

type Require = (id: string) => unknown;

/**
 * node-postgres, loaded on the spot (this entry's only use of it: the main entry never loads it). Missing, it is
 * a configuration error with the command that installs it. `load` is for tests.
 */
export function loadPg(load: Require = defaultRequire()): { Pool: new (config: Record<string, unknown>) => PostgresPool } {
  try {
    const pg = load('pg') as { Pool?: unknown; default?: { Pool?: unknown } };
    const Pool = pg.Pool ?? pg.default?.Pool;
    if (typeof Pool !== 'function') throw new Error('the module `pg` has no `Pool`');
    return { Pool: Pool as new (config: Record<string, unknown>) => PostgresPool };
  } catch (error) {
    throw new InvalidConfigError('postgresStore() needs the `pg` package (node-postgres) for `connectionString`: npm install pg', { cause: error });
  }
}

function defaultRequire(): Require {
  // Resolved from this file, as an import would be (the CJS build shims import.meta.url).
  return createRequire(import.meta.url);
}

/** Opens the store's own pool: failing fast (a connect timeout, a query timeout) rather than queueing during an outage. */
export function openPool(connectionString: string, options: PostgresConnectionOptions): PostgresPool {
  const { Pool } = loadPg();
  const timeout = durationOption(options, 'commandTimeout', 5000);
  const pool = new Pool({
    connectionString,
    max: options.poolSize ?? 10,
    connectionTimeoutMillis: timeout,
    query_timeout: timeout,
    application_name: 'cascade-router',
    ...options.poolOptions,
  });
  // An idle connection that breaks (a restart, pg_terminate_backend) is dropped by the pool; the next query opens another.
  (pool as unknown as { on(event: 'error', listener: () => void): void }).on('error', () => {});
  return pool;
}

// SQLSTATE classes that mean "not now": connection exceptions (08), insufficient resources (53), operator
// intervention (57: shutdown, terminated, cannot connect now, query cancelled), system errors (58), and the
// transaction rollbacks a retry fixes (40001 serialization, 40P01 deadlock), lock not available (55P03).
const TRANSIENT_STATE = /^(08|53|57|58|40001|40P01|55P03)/;
// The schema, a table or a function is missing: the database was not migrated.
const NOT_MIGRATED = /^(3F000|42P01|42883)$/;

/** Connection failures and transient SQL states become `StoreUnavailableError`; a missing schema a config error; other errors pass through. */
export function toStoreError(operation: string, error: unknown, schema: string): unknown {
  if (error instanceof CascadeRouterError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && NOT_MIGRATED.test(code)) {
    return new InvalidConfigError(`The PostgreSQL schema "${schema}" is missing or not migrated (${(error as Error).message}): call \`store.migrate()\` once, or apply postgresMigrations()`, { cause: error });
  }
  // A server's error reply carries a severity; a socket's error (EPIPE, ECONNRESET) does not.
  const fromServer = typeof (error as { severity?: unknown } | null)?.severity === 'string';
  if (fromServer && typeof code === 'string' && !TRANSIENT_STATE.test(code)) return error;
  return new StoreUnavailableError(operation, { cause: error, store: 'PostgreSQL store' });
}
