export { postgresStore } from './store.js';
export type { PostgresStore, PostgresStoreOptions, PostgresTransaction } from './store.js';
export type { PostgresConnectionOptions, PostgresPool, PostgresPoolClient, PostgresQueryable, PostgresQuery, PostgresResult } from './connection.js';
export { postgresMigrations, SCHEMA_VERSION } from './schema.js';
export type { PostgresMigration } from './schema.js';
export { StoreUnavailableError } from '../core/errors.js';
