import { systemClock, type Clock } from '../runtime/clock.js';
import { InvalidConfigError, InvalidInputError, StoreConflictError } from '../core/errors.js';
import { sentByIndex } from '../store/sent-by.js';
import { heldLimits } from '../store/options.js';
import { changingPart, fixedPart, nonceMaker, parseHeld, sameFixed, withFixed, type Fixed } from '../redis/codec.js';
import { sendingAttempt, type CascadeStore, type CommitResult, type MaybePromise, type Orphan, type SharedHealth, type StatsUpdate } from '../store/types.js';
import { TERMINAL, type Cascade, type Receipt } from '../core/types.js';
import { readStoredCascade } from '../core/stored.js';
import { openPool, toStoreError, type PostgresConnectionOptions, type PostgresPool, type PostgresQuery } from './connection.js';
import { Batch, column } from './batch.js';
import { Listener } from './listener.js';
import { bootstrapSql, postgresMigrations, schemaName, SCHEMA_VERSION } from './schema.js';
import { LEARNED_SQL, LEDGER_SQL } from './stats-sql.js';
import { parseLearned, parseLedger, statsColumns, statsJson, type StatsAt } from './stats.js';
import { TickCache } from './tick-cache.js';

export interface PostgresStoreOptions extends PostgresConnectionOptions {
  /** Your node-postgres `Pool`. Not closed by `dispose()`; the store keeps one of its connections to listen on. */
  readonly pool?: PostgresPool | undefined;
  /** Or a connection string (`postgres://user@host/db`): the store opens (and on `dispose()` closes) a pool of its own. */
  readonly connectionString?: string | undefined;
  /** The schema its tables live in (created by `migrate()`). Default `cascade_router`. */
  readonly schema?: string | undefined;
  /** How long finished cascades stay readable (ms, database time). Default 24 hours. `Infinity` keeps them; `0` deletes at once. */
  readonly retentionMs?: number | undefined;
  /** Most receipts held per unknown provider id; its oldest go first. Default 32. */
  readonly maxHeldPerId?: number | undefined;
  /** Most receipts held for unknown provider ids in all; the oldest go first. Default 100,000. */
  readonly maxHeldTotal?: number | undefined;
  /** @deprecated The same as `maxHeldTotal`. */
  readonly maxHeldReceipts?: number | undefined;
  /** How long a claimed timer is reserved for the instance that claimed it; if it dies, another fires it after this (ms). Default 30,000. */
  readonly claimLeaseMs?: number | undefined;
  /**
   * `nextDueAt()` answers at most this far ahead, so every router looks again this often (ms) for timers set by
   * other instances whose wake-up it missed, and for sends left by dead instances. Default 1000; 0 reports only real timers.
   */
  readonly pollMs?: number | undefined;
  /** LISTEN for wake-ups (a transactional start that committed): the first step goes out at once rather than at the next poll. Default true. */
  readonly listen?: boolean | undefined;
  /**
   * Notify listeners from a transactional start, so its first step goes out as soon as the transaction commits.
   * PostgreSQL commits notifying transactions one at a time (a lock held through the WAL flush), which bounds how
   * many such starts commit per second; `false` leaves them to the routers' next poll (`pollMs`). Default true.
   */
  readonly notify?: boolean | undefined;
  /** How often housekeeping runs (retention, expired held receipts, statistics expiry, ledger folding), ms. Default 10,000. */
  readonly maintenanceMs?: number | undefined;
  /** The clock the polling hint counts from: pass the router's clock when it is not the system clock. */
  readonly clock?: Clock | undefined;
  /**
   * Most creates, commits or routes sent in one call (those made in one turn of the event loop go together:
   * one round trip, one commit). Larger batches share more but run on one connection one after another. Default 256; 1 sends each alone.
   */
  readonly batchSize?: number | undefined;
  /** Cascades whose parsed form this instance keeps, so a read of one it holds gets back a few bytes. Default 10,000; 0 keeps none. */
  readonly cacheSize?: number | undefined;
}

/** A `CascadeStore` in PostgreSQL, with the schema's migrations. */
export interface PostgresStore extends CascadeStore {
  /** The schema it uses. */
  readonly schema: string;
  /** Creates or upgrades the schema: idempotent, safe to run from several instances at once (they take turns). */
  migrate(): Promise<void>;
  createInTransaction(transaction: PostgresTransaction, cascade: Cascade, update?: StatsUpdate): Promise<{ readonly created: boolean; readonly cascade: Cascade }>;
  listen(wake: () => void): () => void;
}

/**
 * The connection your transaction is open on: a node-postgres `Client` or `PoolClient` as it is, or an adapter
 * for another library's transaction (docs/stores.md). The store sends one statement, whose placeholders
 * `$1`…`$n` each appear once, in order.
 */
export interface PostgresTransaction {
  query(text: string, values: unknown[]): Promise<{ readonly rows: readonly unknown[] }>;
}

const PAGE = 200;

/**
 * A column of JSON texts (or nulls) as one text: JSON.stringify escapes every control character, so the record
 * separator U+001E never occurs in one, and no JSON text is empty (null).
 */
const joined = (calls: readonly (readonly unknown[])[], j: number): string => calls.map((call) => (call[j] as string | null) ?? '').join('\u001e');
const JOINED = (param: string): string => `string_to_array(${param}, E'\\x1e', '')`;
/** `$from, …` for `count` parameters. */
const params = (from: number, count: number): string => Array.from({ length: count }, (_, i) => `$${from + i}`).join(', ');
const COMMITTED: CommitResult = Object.freeze({ ok: true, held: Object.freeze([]) });
const CONFLICT: CommitResult = Object.freeze({ ok: false, held: Object.freeze([]) });

/** What this instance knows of one stored cascade: its fixed part (by nonce) and, if current when last seen, the whole. */
interface Known {
  readonly nonce: string;
  readonly fixed: Fixed;
  cascade: Cascade | undefined;
}

/** A row as `get`, `open` and `route` answer it: nonce, version, state (null: the copy held is current), fixed (null: the one held). */
type Row = readonly [nonce: string, version: number, state: string | null, fixed: string | null];

const positive = (name: string, value: number): void => {
  if (!Number.isInteger(value) || value < 1) throw new InvalidConfigError(`Expected \`${name}\` to be a positive integer, got ${value}`);
};

/** A `CascadeStore` in PostgreSQL, shared by every router instance that uses the same schema. */
export function postgresStore(options: PostgresStoreOptions): PostgresStore {
  if (typeof options !== 'object' || options === null || (options.pool === undefined) === (options.connectionString === undefined)) {
    throw new InvalidConfigError('Expected exactly one of `pool` or `connectionString` in postgresStore() options');
  }
  const schema = schemaName(options.schema);
  const retentionMs = options.retentionMs ?? 86_400_000;
  if (!(retentionMs >= 0)) throw new InvalidConfigError(`Expected \`retentionMs\` to be 0 or more, got ${retentionMs}`);
  const retention = retentionMs === Infinity ? -1 : Math.round(retentionMs);
  const { perId: maxHeldPerId, total: maxHeld } = heldLimits(options);
  const batchSize = options.batchSize ?? 256;
  positive('batchSize', batchSize);
  const leaseMs = options.claimLeaseMs ?? 30_000;
  const pollMs = options.pollMs ?? 1000;
  const maintenanceMs = options.maintenanceMs ?? 10_000;
  const clock = options.clock ?? systemClock;
  const cacheSize = options.cacheSize ?? 10_000;
  if (!(cacheSize >= 0)) throw new InvalidConfigError(`Expected \`cacheSize\` to be 0 or more, got ${cacheSize}`);
  const timeoutMs = options.commandTimeoutMs ?? 5000;
  const ownsPool = options.pool === undefined;
  const pool = options.pool ?? openPool(options.connectionString!, options);
  const listener = new Listener(pool, schema);
  const s = schema;
  let lastNow: number | undefined;
  let maintainedAt = -Infinity;

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

  const known = new Map<string, Known>();
  const nonces = nonceMaker();
  const remember = (id: string, entry: Known): void => {
    if (cacheSize === 0) return;
    known.delete(id);
    known.set(id, entry);
    if (known.size > cacheSize) known.delete(known.keys().next().value!);
  };
  const tick = new TickCache();
  // The provider ids this instance indexed, for `routeHint`.
  const sentBy = sentByIndex(cacheSize);

  /** The cascade a row shows, remembered; `sent` is what this instance held when it asked (the row is relative to it). */
  const decode = (id: string, row: Row | undefined, sent: Known | undefined): Cascade | undefined => {
    if (row === undefined) {
      known.delete(id);
      tick.block(id);
      return undefined;
    }
    const [nonce, , state, fixedJson] = row;
    if (state === null) {
      tick.confirm(sent!.cascade!);
      return sent!.cascade!;
    }
    const fixed = fixedJson === null ? sent!.fixed : (JSON.parse(fixedJson) as Fixed);
    const cascade = { ...fixed, ...readStoredCascade(JSON.parse(state) as Omit<Cascade, keyof Fixed>) } as Cascade;
    if (TERMINAL.has(cascade.status)) known.delete(id);
    else remember(id, { nonce, fixed, cascade });
    // A fixed part this instance did not hold may be a cascade created again under the id: versions restart.
    if (fixedJson !== null && sent !== undefined && sent.nonce !== nonce) tick.block(id);
    else tick.confirm(cascade);
    return cascade;
  };

  const read = async (id: string, operation: string): Promise<Cascade | undefined> => {
    const entry = known.get(id);
    const held = entry?.cascade;
    const rows = await query(operation, {
      name: `${s}_get`,
      text: `SELECT nonce, version, CASE WHEN nonce = $2 AND version = $3 THEN NULL ELSE state END, CASE WHEN nonce = $2 THEN NULL ELSE fixed END FROM ${s}.cascades WHERE id = $1`,
      values: [id, entry?.nonce ?? null, held?.version ?? null],
    });
    return decode(id, rows[0] as Row | undefined, entry);
  };

  const get = (id: string): MaybePromise<Cascade | undefined> => tick.cascade(id) ?? read(id, 'get');

  /** The arguments create and commit share: the owner of a step sending ('' none; null when not sending), and terminal. */
  const owner = (cascade: Cascade): string | null => {
    const attempt = sendingAttempt(cascade);
    return attempt === undefined ? null : (attempt.owner ?? '');
  };

  const statsAt = (update: StatsUpdate | undefined, now: number): StatsAt | null => (update === undefined ? null : { update, now });
  const CREATE = `SELECT * FROM ${s}.create_cascade($1::text, $2::text, $3::integer, $4::text, $5::text, $6::text, $7::bigint, $8::text, $9::boolean, $10::bigint, $11::jsonb, $12::boolean)`;
  const createArgs = (cascade: Cascade, fixed: Fixed, nonce: string, update: StatsUpdate | undefined, notify: boolean): unknown[] => [
    cascade.id,
    cascade.key === cascade.id ? null : cascade.key,
    cascade.version,
    nonce,
    JSON.stringify(fixed),
    JSON.stringify(changingPart(cascade)),
    cascade.timerAt ?? null,
    owner(cascade),
    TERMINAL.has(cascade.status),
    retention,
    statsAt(update, cascade.updatedAt),
    notify,
  ];

  /** What create answered: created, or the cascade that owns the key (undefined: it was deleted meanwhile). */
  const created = (cascade: Cascade, fixed: Fixed, nonce: string, row: readonly unknown[] | undefined): { created: boolean; cascade: Cascade } | undefined => {
    if (row === undefined) return undefined;
    const [isNew, , ownerFixed, ownerState] = row as [boolean, string | null, string | null, string | null];
    if (isNew) {
      const stored = withFixed(cascade, fixed);
      if (TERMINAL.has(cascade.status)) {
        known.delete(cascade.id);
        if (retention === 0) tick.block(cascade.id);
        else tick.confirm(stored);
      } else {
        remember(cascade.id, { nonce, fixed, cascade: stored });
        tick.confirm(stored);
      }
      return { created: true, cascade };
    }
    const ownerCascade = { ...(JSON.parse(ownerFixed!) as Fixed), ...readStoredCascade(JSON.parse(ownerState!) as Omit<Cascade, keyof Fixed>) } as Cascade;
    tick.block(ownerCascade.id);
    return { created: false, cascade: ownerCascade };
  };

  const maintain = (): void => {
    const now = Date.now();
    if (now - maintainedAt < maintenanceMs) return;
    maintainedAt = now;
    void query('maintain', { text: `SELECT ${s}.maintain($1, $2)`, values: [retention, lastNow ?? clock.now()] }).catch(() => {});
  };

  /**
   * Sends one call alone (a prepared statement), or several as one call of the batched function, rows matched by
   * `idx`. A call's argument `statsAt` is its statistics update, sent alone as one jsonb argument.
   */
  const batched = (operation: string, single: string, statsIndex: number | undefined, many: (calls: readonly (readonly unknown[])[]) => PostgresQuery) =>
    new Batch<readonly unknown[] | undefined>(async (calls) => {
      if (calls.length === 1) {
        const values = [...calls[0]!];
        if (statsIndex !== undefined) values[statsIndex] = statsJson(values[statsIndex] as StatsAt | null);
        const rows = await query(operation, { name: `${s}_${operation}`, text: single, values });
        return [rows[0]];
      }
      const results: (readonly unknown[] | undefined)[] = new Array(calls.length).fill(undefined);
      for (const [idx, ...row] of await query(operation, many(calls))) results[(idx as number) - 1] = row;
      return results;
    }, batchSize);
  // JSON columns go as one text each, split by the server (`JOINED`): node-postgres would escape every quote in them.
  // The statistics updates go as columns of numbers (statsColumns): the server parses JSON only for observations.
  const creates = batched('create', CREATE, 10, (calls) => ({
    name: `${s}_create_batch`,
    text: `SELECT * FROM ${s}.create_batch($1, $2, $3, $4, ${JOINED('$5')}, ${JOINED('$6')}, $7, $8, $9, ${params(10, 11)}, ${JOINED('$21')}::jsonb[], $22)`,
    values: [
      ...[0, 1, 2, 3].map((j) => column(calls, j)),
      joined(calls, 4),
      joined(calls, 5),
      ...[6, 7, 8].map((j) => column(calls, j)),
      ...statsColumns(column(calls, 10) as (StatsAt | null)[]),
      retention,
    ],
  }));
  const commits = batched('commit', `SELECT * FROM ${s}.commit_cascade($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`, 14, (calls) => ({
    name: `${s}_commit_batch`,
    text: `SELECT * FROM ${s}.commit_batch($1, $2, $3, $4, $5, ${JOINED('$6')}, ${JOINED('$7')}, $8, $9, $10, $11, $12, $13, $14, ${params(15, 11)}, ${JOINED('$26')}::jsonb[], $27)`,
    values: [
      ...[0, 1, 2, 3, 4].map((j) => column(calls, j)),
      joined(calls, 5),
      joined(calls, 6),
      ...[7, 8, 9, 11].map((j) => column(calls, j)),
      calls.flatMap((call) => call[12] as string[]),
      calls.map((call) => (call[12] as string[]).length),
      column(calls, 13),
      ...statsColumns(column(calls, 14) as (StatsAt | null)[]),
      retention,
    ],
  }));
  const routes = batched('route', `SELECT * FROM ${s}.route_receipt($1, $2, $3, $4, $5, $6)`, undefined, (calls) => ({
    name: `${s}_route_many`,
    text: `SELECT * FROM ${s}.route_many($1, $2, $3, $4, $5, $6)`,
    values: [...[0, 1, 2, 3].map((j) => column(calls, j)), maxHeldPerId, maxHeld],
  }));

  const store: PostgresStore = {
    schema,

    async migrate() {
      const client = await pool.connect().catch((error: unknown) => {
        throw toStoreError('migrate', error, schema);
      });
      try {
        await client.query({ text: 'BEGIN' });
        // One migrator at a time: the others wait here, then find nothing left to do.
        await client.query({ text: 'SELECT pg_advisory_xact_lock(hashtext($1))', values: [`cascade-router:migrate:${schema}`] });
        await client.query({ text: bootstrapSql(schema) });
        const { rows } = await client.query({ text: `SELECT coalesce(max(version), 0) FROM ${s}.migrations`, rowMode: 'array' });
        const applied = Number((rows[0] as unknown[])[0]);
        for (const migration of postgresMigrations({ schema })) {
          if (migration.version <= applied) continue;
          await client.query({ text: migration.sql });
          await client.query({ text: `INSERT INTO ${s}.migrations (version, description) VALUES ($1, $2)`, values: [migration.version, migration.description] });
        }
        await client.query({ text: 'COMMIT' });
        client.release();
        checked = undefined;
      } catch (error) {
        await client.query({ text: 'ROLLBACK' }).catch(() => {});
        client.release(error instanceof Error ? error : true);
        throw toStoreError('migrate', error, schema);
      }
    },

    async create(cascade, update) {
      const fixed = fixedPart(cascade);
      const nonce = nonces();
      const args = createArgs(cascade, fixed, nonce, update, false);
      // The key's owner may be deleted between the insert and the read: then the key is free, so try once more.
      for (let tries = 0; tries < 2; tries++) {
        const answer = created(cascade, fixed, nonce, await creates.add(args));
        if (answer !== undefined) return answer;
      }
      throw new StoreConflictError(cascade.id, 2);
    },

    async createInTransaction(transaction, cascade, update) {
      if (typeof (transaction as { query?: unknown } | null)?.query !== 'function') {
        throw new InvalidInputError(`Expected \`transaction\` to be a PostgreSQL connection with an open transaction (it has no \`query\` method), got ${transaction === null ? 'null' : typeof transaction}`);
      }
      await checkSchema();
      const fixed = fixedPart(cascade);
      const nonce = nonces();
      // Errors are the caller's transaction's: it is aborted either way, so they are only given their code.
      const args = createArgs(cascade, fixed, nonce, update, options.notify !== false);
      args[10] = statsJson(args[10] as StatsAt | null);
      const { rows } = await transaction.query(CREATE, args).catch((error: unknown) => {
        throw toStoreError('createInTransaction', error, schema);
      });
      const row = rows[0] as Record<string, unknown> | undefined;
      const answer = created(cascade, fixed, nonce, row === undefined ? undefined : [row.created, row.nonce, row.fixed, row.state]);
      if (answer === undefined) throw new StoreConflictError(cascade.id, 1);
      // Not ours to confirm: the caller's transaction may still roll back.
      tick.block(cascade.id);
      known.delete(cascade.id);
      return answer;
    },

    get,

    async commit(next, providerIds, update, heldThrough): Promise<CommitResult> {
      const terminal = TERMINAL.has(next.status);
      const entry = known.get(next.id);
      // The fixed part goes again only when `next` does not carry the one this instance read (by reference).
      const same = entry !== undefined && sameFixed(entry.fixed, next);
      const fixed = same ? entry.fixed : fixedPart(next);
      const nonce = same ? entry.nonce : nonces();
      let reply: readonly unknown[];
      try {
        reply = (await commits.add([
            next.id,
            next.version - 1,
            next.version,
            same ? entry.nonce : null,
            nonce,
            same ? null : JSON.stringify(fixed),
            JSON.stringify(changingPart(next)),
            next.timerAt ?? null,
            owner(next),
            terminal,
            retention,
            next.updatedAt,
            providerIds,
            heldThrough ?? null,
            statsAt(update, next.updatedAt),
        ]))!;
      } catch (error) {
        known.delete(next.id); // it may or may not have been written
        tick.block(next.id);
        throw error;
      }
      const [ok, held] = reply as [number, string[] | null];
      if (ok === 2) return { ok: false, held: held!.map(parseHeld) };
      if (ok !== 1) {
        if (entry) entry.cascade = undefined;
        tick.block(next.id);
        return CONFLICT;
      }
      const stored = withFixed(next, fixed);
      if (terminal) known.delete(next.id);
      else remember(next.id, { nonce, fixed, cascade: stored });
      if (terminal && retention === 0) {
        tick.block(next.id);
        for (const attempt of next.attempts) if (attempt.providerMessageId !== undefined) tick.unindex(attempt.providerMessageId);
      } else {
        tick.confirm(stored);
        for (const providerId of providerIds) {
          tick.index(providerId, next.id);
          if (!terminal) sentBy.remember(providerId, next.id);
        }
      }
      return COMMITTED;
    },

    route(receipt: Receipt, now: number, holdUntil: number): MaybePromise<string | undefined> {
      const id = tick.indexed(receipt.providerMessageId);
      if (id !== undefined) return id;
      return routes.add([receipt.providerMessageId, JSON.stringify({ receipt, receivedAt: now }), holdUntil, now, maxHeldPerId, maxHeld]).then((reply) => {
        const row = reply as [string, string | null, number | null, string | null, string | null] | undefined;
        if (row === undefined) return undefined;
        const [cascadeId, nonce, version, state, fixed] = row;
        if (nonce === null) {
          tick.block(cascadeId);
          return cascadeId;
        }
        // The cascade came with the lookup: the read after it needs no round trip.
        const mine = known.get(cascadeId);
        const current = mine?.nonce === nonce && mine.cascade?.version === version;
        decode(cascadeId, [nonce, version!, current ? null : state, mine?.nonce === nonce ? null : fixed], mine);
        return cascadeId;
      });
    },

    routeHint(providerMessageId: string) {
      return sentBy.hint(providerMessageId, known);
    },

    async heldCounts() {
      const rows = await query('heldCounts', { text: `SELECT sum(held)::text, sum(expired)::text, sum(evicted)::text FROM ${s}.held_counts` });
      const [held, expired, evicted] = rows[0]!;
      return { held: Number(held ?? 0), expired: Number(expired ?? 0), evicted: Number(evicted ?? 0) };
    },

    async claimDue(now, limit) {
      lastNow = now;
      const rows = await query('claimDue', { name: `${s}_claim`, text: `SELECT * FROM ${s}.claim_due($1, $2, $3)`, values: [now, limit, leaseMs] });
      const ids = rows.map((row) => row[0] as string);
      // Their timers may have moved since this tick saw them: the router reads them again.
      for (const id of ids) tick.block(id);
      return ids;
    },

    async nextDueAt() {
      maintain();
      const rows = await query('nextDueAt', {
        name: `${s}_next`,
        text: `SELECT timer_at::float8 FROM ${s}.cascades WHERE timer_at IS NOT NULL AND (lease_until IS NULL OR lease_until <= clock_timestamp()) ORDER BY timer_at LIMIT 1`,
      });
      const due = rows[0] === undefined ? undefined : Number(rows[0][0]);
      if (pollMs <= 0) return due;
      const poll = Math.max(lastNow ?? -Infinity, clock.now()) + pollMs;
      return due === undefined ? poll : Math.min(due, poll);
    },

    async learned(recipientId, channels) {
      const rows = await query('learned', { name: `${s}_learned`, text: LEARNED_SQL(s), values: [channels, recipientId] });
      return parseLearned(rows);
    },

    async ledger() {
      const rows = await query('ledger', { text: LEDGER_SQL(s) });
      return parseLedger(rows[0]!);
    },

    async *open() {
      let after = '';
      for (;;) {
        const rows = await query('open', {
          text: `SELECT id, nonce, version, state, fixed FROM ${s}.cascades WHERE ended_at IS NULL AND id > $1 ORDER BY id LIMIT ${PAGE}`,
          values: [after],
        });
        for (const [id, ...row] of rows) {
          const cascade = decode(id as string, row as unknown as Row, undefined);
          if (cascade !== undefined && !TERMINAL.has(cascade.status)) yield cascade;
        }
        if (rows.length < PAGE) return;
        after = rows[rows.length - 1]![0] as string;
      }
    },

    async heartbeat(instanceId, ttlMs) {
      const rows = await query('heartbeat', { name: `${s}_heartbeat`, text: `SELECT ${s}.heartbeat($1, $2)`, values: [instanceId, Math.max(1, Math.ceil(ttlMs))] });
      return rows[0]![0] === true;
    },

    async leave(instanceId) {
      await query('leave', { text: `DELETE FROM ${s}.instances WHERE id = $1`, values: [instanceId] });
    },

    async *orphans(_now, self) {
      let after = '';
      for (;;) {
        const rows = await query('orphans', {
          name: `${s}_orphans`,
          text: `SELECT c.id, c.owner FROM ${s}.cascades c WHERE c.owner IS NOT NULL AND c.id > $1
            AND (c.owner = '' OR c.owner = $2 OR NOT EXISTS (SELECT 1 FROM ${s}.instances i WHERE i.id = c.owner AND i.alive_until > clock_timestamp()))
            ORDER BY c.id LIMIT ${PAGE}`,
          values: [after, self ?? ''],
        });
        for (const [cascadeId, owner] of rows as [string, string][]) {
          // Its owner is gone: whoever takes it over reads it from the database.
          tick.block(cascadeId);
          const orphan: Orphan = { cascadeId, owner: owner === '' ? undefined : owner };
          yield orphan;
        }
        if (rows.length < PAGE) return;
        after = rows[rows.length - 1]![0] as string;
      }
    },

    async health() {
      const rows = await query('health', { name: `${s}_health`, text: `SELECT report FROM ${s}.provider_health` });
      return rows.map(([report]) => {
        const kept = JSON.parse(report as string) as SharedHealth;
        const shared: SharedHealth = { provider: kept.provider, state: kept.state, reason: kept.reason ?? undefined, until: kept.until ?? undefined, at: kept.at };
        return shared;
      });
    },

    async reportHealth(state) {
      await query('reportHealth', { name: `${s}_report_health`, text: `SELECT ${s}.report_health($1, $2, $3)`, values: [state.provider, state.at, JSON.stringify(state)] });
    },

    async pace({ provider, limit, windowMs, reserve, urgent, now }) {
      // No share at all (reserve ≥ limit, which the router never asks): a window from now, as every store answers.
      if (!urgent && limit - reserve <= 0) return { go: false, retryAt: now + windowMs };
      const rows = await query('pace', { name: `${s}_pace`, text: `SELECT ${s}.pace($1, $2, $3, $4, $5, $6)::float8`, values: [provider, limit, windowMs, reserve, urgent, now] });
      const retryAt = rows[0]![0] as number | null;
      return retryAt === null ? { go: true } : { go: false, retryAt };
    },

    async admit({ recipientId, category, key, max, windowMs, now }) {
      const rows = await query('admit', { name: `${s}_admit`, text: `SELECT ${s}.admit($1, $2, $3, $4, $5, $6)`, values: [recipientId, category, key, max, windowMs, now] });
      return rows[0]![0] === true;
    },

    listen(wake) {
      return listener.add(wake);
    },

    async dispose() {
      await listener.close();
      if (ownsPool) await pool.end().catch(() => {});
    },
  };
  if (options.listen === false) store.listen = () => () => {};
  return store;
}
