/**
 * The PostgreSQL store's schema: tables, indexes and one function per atomic change (src/postgres/functions.ts),
 * as numbered migrations. `migrate()` applies the ones a database lacks, each in its own transaction, and
 * records them in `<schema>.migrations`; a later release adds migrations, it never edits an applied one.
 * Teams that run their own migrations take the SQL from `postgresMigrations()` (docs/stores.md).
 */
import { InvalidConfigError } from '../core/errors.js';
import { BATCH_FUNCTIONS, FUNCTIONS } from './functions.js';
import { COMMIT_FUNCTIONS } from './commit-sql.js';
import { BATCH_FUNCTIONS_V4 } from './batch-sql.js';
import { SHARING_FUNCTIONS, SHARING_TABLES } from './sharing-sql.js';
import { STATS_FUNCTIONS } from './stats-sql.js';
import { LEDGER_FUNCTIONS } from './ledger-sql.js';

/** One step of the schema: applied once, in order, recorded by its version. */
export interface PostgresMigration {
  readonly version: number;
  readonly description: string;
  /** The statements, for the schema they were made for. */
  readonly sql: string;
}

/** The schema version this release reads and writes: a store refuses to run on an older one. */
export const SCHEMA_VERSION = 5;

/** Held-receipt counters are spread over this many rows, so receipts for different ids do not queue on one row lock. */
export const HELD_SHARDS = 16;

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,47}$/;

/** The schema name, checked: lower-case letters, digits and `_`, so it needs no quoting anywhere. */
export function schemaName(schema: string | undefined): string {
  const name = schema ?? 'cascade_router';
  if (typeof name !== 'string' || !IDENTIFIER.test(name)) {
    throw new InvalidConfigError(`Expected \`schema\` to be a lower-case SQL identifier (letters, digits, _; at most 48), got ${JSON.stringify(name)}`);
  }
  return name;
}

/** The channel `LISTEN`ed to for wake-ups: a commit that makes work due at once notifies it. */
export function wakeChannel(schema: string): string {
  return `${schema}_wake`;
}

const TABLES = `
CREATE TABLE __S__.cascades (
  id text PRIMARY KEY,
  -- the idempotency key when it is not the id
  key text,
  version integer NOT NULL,
  -- names the fixed part: a reader that holds it is sent only the state
  nonce text NOT NULL,
  -- JSON of what no transition changes: id, key, message, recipient, plan, createdAt
  fixed text NOT NULL,
  -- JSON of the rest: status, step, attempts, times, spend, version
  state text NOT NULL,
  -- due time in the router's clock (ms); NULL when none
  timer_at bigint,
  -- a claimed timer is this instance's until then (database time)
  lease_until timestamptz,
  -- set while the current step is sending (claimed, its send not recorded): its owner, '' for none
  owner text,
  -- when it ended (database time): retention counts from here; NULL while open
  ended_at timestamptz
) WITH (fillfactor = 85);
CREATE UNIQUE INDEX cascades_idempotency ON __S__.cascades ((coalesce(key, id)));
CREATE INDEX cascades_due ON __S__.cascades (timer_at) WHERE timer_at IS NOT NULL;
CREATE INDEX cascades_sending ON __S__.cascades (id) WHERE owner IS NOT NULL;
CREATE INDEX cascades_open ON __S__.cascades (id) WHERE ended_at IS NULL;
CREATE INDEX cascades_ended ON __S__.cascades (ended_at) WHERE ended_at IS NOT NULL;

-- provider message id -> the cascade that sent it; cascade_id NULL while receipts are held for it (the row is
-- what a route holding a receipt and a commit indexing the id both lock, so one sees the other)
CREATE TABLE __S__.provider_ids (
  provider_id text PRIMARY KEY,
  cascade_id text
);

-- receipts for provider ids no cascade had indexed; seq gives arrival order
CREATE SEQUENCE __S__.held_seq;
CREATE TABLE __S__.held (
  seq bigint PRIMARY KEY,
  provider_id text NOT NULL,
  -- the hold ends then (router clock, ms)
  until bigint NOT NULL,
  -- JSON {receipt, receivedAt}
  entry text NOT NULL
);
CREATE INDEX held_provider ON __S__.held (provider_id, seq);
CREATE INDEX held_until ON __S__.held (until);
CREATE TABLE __S__.held_counts (
  shard integer PRIMARY KEY,
  held bigint NOT NULL DEFAULT 0,
  expired bigint NOT NULL DEFAULT 0,
  evicted bigint NOT NULL DEFAULT 0
);
INSERT INTO __S__.held_counts (shard) SELECT generate_series(0, ${HELD_SHARDS - 1});

-- router instances: alive until (database time)
CREATE TABLE __S__.instances (
  id text PRIMARY KEY,
  alive_until timestamptz NOT NULL
);

-- the spend ledger: one row per change that carried a delta (no row lock shared between changes), folded now and then
CREATE TABLE __S__.ledger (
  id bigserial PRIMARY KEY,
  messages bigint NOT NULL,
  delivered bigint NOT NULL,
  spend bigint NOT NULL,
  double_spend bigint NOT NULL,
  sms_only bigint NOT NULL,
  without_sms bigint NOT NULL,
  -- {name: {sent, delivered, spendMicros}}
  channels jsonb NOT NULL
);

-- learned statistics: decayed counts as of at (router clock), per channel and per recipient and channel
CREATE TABLE __S__.channel_stats (
  channel text PRIMARY KEY,
  at double precision NOT NULL,
  delivered double precision NOT NULL,
  failed double precision NOT NULL,
  timeout double precision NOT NULL,
  skipped double precision NOT NULL,
  -- {bucket: weight}
  latency jsonb NOT NULL
);
CREATE TABLE __S__.recipient_stats (
  recipient_id text NOT NULL,
  channel text NOT NULL,
  at double precision NOT NULL,
  delivered double precision NOT NULL,
  failed double precision NOT NULL,
  timeout double precision NOT NULL,
  skipped double precision NOT NULL,
  -- dropped after eight half-lives without an update (database time)
  expires_at timestamptz NOT NULL,
  PRIMARY KEY (recipient_id, channel)
);
CREATE INDEX recipient_stats_expiry ON __S__.recipient_stats (expires_at);
`;

/** Every migration, for `schema`. */
export function postgresMigrations(options: { readonly schema?: string | undefined } = {}): PostgresMigration[] {
  const schema = schemaName(options.schema);
  const sql = (text: string): string => text.replaceAll('__S__.', `${schema}.`).replaceAll('{{WAKE}}', wakeChannel(schema)).trim();
  return [
    { version: 1, description: 'cascades, provider ids, held receipts, timers, instances, ledger, statistics', sql: sql(`${TABLES}\n${FUNCTIONS}\n${STATS_FUNCTIONS}\n${BATCH_FUNCTIONS}`) },
    { version: 2, description: 'provider health, provider rates and frequency caps shared between routers', sql: sql(`${SHARING_TABLES}\n${SHARING_FUNCTIONS}`) },
    { version: 3, description: 'cheaper commits', sql: sql(COMMIT_FUNCTIONS) },
    { version: 4, description: 'lighter batches: indexed receipts routed by one join, the ledger deltas of a batch as one row', sql: sql(BATCH_FUNCTIONS_V4) },
    { version: 5, description: 'batches with their ledger deltas as numbers rather than JSON', sql: sql(LEDGER_FUNCTIONS) },
  ];
}

/** What creates the schema and the table that records applied migrations: idempotent, run before them. */
export function bootstrapSql(schema: string): string {
  return `CREATE SCHEMA IF NOT EXISTS ${schema};\nCREATE TABLE IF NOT EXISTS ${schema}.migrations (version integer PRIMARY KEY, description text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now());`;
}
