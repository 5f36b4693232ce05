/**
 * The PostgreSQL store: a cascade's create (also inside your transaction), read, commit and route, each one SQL
 * function call, and the batches that send those made in one turn of the event loop together; `migrate`, `open`,
 * `heldCounts`, `listen`. Its pieces: options.ts (the options and their checks), calls.ts (the pool, the schema
 * version checked, each query's failure made a store error), known.ts (what this instance holds of each
 * cascade), tick-cache.ts, shared.ts (what routers coordinate by besides cascades), schema.ts and the *-sql.ts
 * migrations, stats.ts, listener.ts, batch.ts.
 * Over 250 lines because each change's arguments and its batched form stay side by side: the batches pick
 * columns by their position in `createArgs` and in `commit`'s call (`column(calls, 10)`), and the batched
 * functions take them in that order, so splitting them would put a positional contract across two files.
 */
import { InvalidInputError, StoreConflictError } from '../core/errors.js';
import { sentByIndex } from '../store/sent-by.js';
import { changingPart, fixedPart, nonceMaker, parseHeld, sameFixed, withFixed, type Fixed } from '../store/codec.js';
import { sendingAttempt, type CascadeStore, type CommitResult, type MaybePromise, type StatsUpdate } from '../store/types.js';
import { TERMINAL, type Cascade, type Receipt } from '../core/types.js';
import { readStoredCascade } from '../core/stored.js';
import { toStoreError, type PostgresQuery } from './connection.js';
import { Batch, column } from './batch.js';
import { postgresCalls } from './calls.js';
import { knownCascades, type Row } from './known.js';
import { Listener } from './listener.js';
import { resolvePostgresOptions, type PostgresStoreOptions } from './options.js';
import { bootstrapSql, postgresMigrations } from './schema.js';
import { sharedCalls } from './shared.js';
import { statsColumns, statsJson, type StatsAt } from './stats.js';
import { TickCache } from './tick-cache.js';

export type { PostgresStoreOptions } from './options.js';

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

/** A `CascadeStore` in PostgreSQL, shared by every router instance that uses the same schema. */
export function postgresStore(options: PostgresStoreOptions): PostgresStore {
  const resolved = resolvePostgresOptions(options);
  const { schema, retention, maxHeldPerId, maxHeld, batchSize, cacheSize } = resolved;
  const calls = postgresCalls(options, resolved);
  const { pool, query, checkSchema } = calls;
  const listener = new Listener(pool, schema);
  const s = schema;

  const nonces = nonceMaker();
  const tick = new TickCache();
  const { known, remember, decode } = knownCascades(cacheSize, tick);
  // The provider ids this instance indexed, for `routeHint`.
  const sentBy = sentByIndex(cacheSize);

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
        calls.recheck();
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

    ...sharedCalls(query, resolved, (id) => tick.block(id)),

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

    listen(wake) {
      return listener.add(wake);
    },

    async dispose() {
      await listener.close();
      await calls.dispose();
    },
  };
  if (options.listen === false) store.listen = () => () => {};
  return store;
}
