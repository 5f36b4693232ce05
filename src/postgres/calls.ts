/**
 * The store's way to PostgreSQL: its pool (yours, or one opened from `connectionString`), the schema's version
 * checked before the first call, and each query with a failure made a store error.
 */
import { InvalidConfigError } from '../core/errors.js';
import { openPool, toStoreError, type PostgresPool, type PostgresQuery } from './connection.js';
import type { PostgresStoreOptions, ResolvedPostgresOptions } from './options.js';
import { SCHEMA_VERSION } from './schema.js';

/** One query of the store on its pool, rows as arrays: `operation` names it in the error a failure gives. */
export type StoreQuery = (operation: string, q: PostgresQuery) => Promise<unknown[][]>;

export interface PostgresCalls {
  readonly pool: PostgresPool;
  readonly query: StoreQuery;
  /** Settles once the schema is known to be at this release's version (asked once, again after a failure). */
  checkSchema(): Promise<void>;
  /** After a migration: the next call asks the version again. */
  recheck(): void;
  /** Closes the pool the store opened (`connectionString`); a pool passed in is left open. */
  dispose(): Promise<void>;
}

export function postgresCalls(options: PostgresStoreOptions, { schema, timeoutMs }: ResolvedPostgresOptions): PostgresCalls {
  const ownsPool = options.pool === undefined;
  const pool = options.pool ?? openPool(options.connectionString!, options);
  const s = schema;

  /** Checked once: the schema must be migrated to this release's version. */
  let checked: Promise<void> | undefined;
  const checkSchema = (): Promise<void> => {
    checked ??= pool.query({ text: `SELECT coalesce(max(version), 0) FROM ${s}.migrations`, rowMode: 'array', query_timeout: timeoutMs }).then(
      ({ rows }) => {
        const version = Number((rows[0] as unknown[])[0]);
        if (version < SCHEMA_VERSION) {
          throw new InvalidConfigError(`The PostgreSQL schema "${schema}" is at version ${version}; this release needs ${SCHEMA_VERSION}: call \`store.migrate()\` once, or apply postgresMigrations()`);
        }
      },
      (error: unknown) => {
        checked = undefined;
        throw toStoreError('connect', error, schema);
      },
    );
    return checked;
  };

  /** One query on the pool; rows as arrays. */
  async function query(operation: string, q: PostgresQuery): Promise<unknown[][]> {
    await checkSchema();
    try {
      const { rows } = await pool.query({ ...q, rowMode: 'array', query_timeout: timeoutMs });
      return rows as unknown[][];
    } catch (error) {
      throw toStoreError(operation, error, schema);
    }
  }

  return {
    pool,
    query,
    checkSchema,
    recheck() {
      checked = undefined;
    },
    async dispose() {
      if (ownsPool) await pool.end().catch(() => {});
    },
  };
}
