import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  InvalidConfigError,
  planCascade,
  startCascade,
  StoreUnavailableError,
  transition,
  type Cascade,
  type CascadeInput,
  type CascadeStore,
  type ChannelConfig,
  type Message,
  type Recipient,
} from 'cascade-router';
import { postgresMigrations, postgresStore, SCHEMA_VERSION, type PostgresPool, type PostgresStore, type PostgresStoreOptions } from 'cascade-router/postgres';
import type { Observation } from '../src/core/learning.js';
import { loadPg } from '../src/postgres/connection.js';
import { bootstrapSql } from '../src/postgres/schema.js';
import { changingPart, fixedPart } from '../src/store/codec.js';
import { storeContract } from './store.contract.js';
import { dropSchema, PG_URL, requirePostgres, uniqueSchema } from './postgres/helpers.js';
import { waitFor } from './redis/helpers.js';

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

describe.skipIf(skip)('postgresStore: backend cases', () => {
  let admin: pg.Pool;
  const schemas: string[] = [];
  const stores: CascadeStore[] = [];
  beforeAll(() => {
    admin = new pg.Pool({ connectionString: PG_URL, max: 2 });
  });
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((store) => store.dispose()));
  });
  afterAll(async () => {
    for (const schema of schemas) await dropSchema(admin, schema);
    await admin.end();
  });

  /** A migrated store on its own schema (or a given one, to share it), closed after the test; the schema dropped at the end. */
  async function make(options: Partial<PostgresStoreOptions> = {}): Promise<PostgresStore> {
    const schema = options.schema ?? uniqueSchema();
    if (!schemas.includes(schema)) schemas.push(schema);
    const store = postgresStore({ connectionString: PG_URL, pollMs: 0, poolSize: 4, ...options, schema } as PostgresStoreOptions);
    stores.push(store);
    await store.migrate();
    return store;
  }

  const T0 = Date.UTC(2026, 0, 8, 10, 0);
  const send = async (): Promise<string> => 'unused';
  const CHANNELS = {
    push: { kind: 'push', send, confirm: { timeout: '2m' } },
    email: { kind: 'email', send, confirm: { timeout: '30m' } },
  } satisfies Record<string, ChannelConfig>;
  const RECIPIENT: Recipient = { id: 'r1', addresses: { push: 'token', email: 'a@example.com' } };
  let serial = 0;

  function cascade(options: { key?: string; id?: string; by?: string } = {}): Cascade {
    const key = options.key ?? `key-${++serial}-${Math.random().toString(36).slice(2)}`;
    const message: Message = { key, category: 'transactional', content: { text: 'Hi' } };
    const plan = planCascade({ channels: CHANNELS, message, recipient: RECIPIENT, now: T0 });
    return startCascade({ id: options.id ?? key, key, message, recipient: RECIPIENT, plan, now: T0, by: options.by }).cascade;
  }
  const next = (c: Cascade, input: CascadeInput): Cascade => {
    const t = transition(c, input);
    expect(t.verdict).toBe('applied');
    return t.cascade;
  };
  const row = async (schema: string, sql: string, values: unknown[] = []): Promise<Record<string, unknown> | undefined> =>
    (await admin.query(sql.replaceAll('S.', `${schema}.`), values)).rows[0] as Record<string, unknown> | undefined;

  describe('two instances on one schema', () => {
    it('lets exactly one of two commits based on the same version win, and never starts two cascades for one key', async () => {
      const schema = uniqueSchema('cas');
      const [a, b] = [await make({ schema }), await make({ schema })];
      const c = cascade();
      await a.create(c);
      const base = (await b.get(c.id))!;
      const viaSent = next(base, { type: 'sent', now: T0 + 1, step: 0, providerMessageId: `p-${c.id}` });
      const viaCancel = next(base, { type: 'cancel', now: T0 + 1 });
      const results = await Promise.all([a.commit(viaSent, [`p-${c.id}`]), b.commit(viaCancel, [])]);
      expect(results.filter((r) => r.ok).length).toBe(1);
      expect(await a.get(c.id)).toEqual(results[0]!.ok ? viaSent : viaCancel);
      // One key created on both at once, under the key as id and under another id.
      const key = `key-${++serial}`;
      const made = await Promise.all([a.create(cascade({ key })), b.create(cascade({ key, id: `other-${key}` }))]);
      expect(made.map((r) => r.created).sort()).toEqual([false, true]);
      expect(made[0]!.cascade.id).toBe(made[1]!.cascade.id);
    });

    it('hands out each due timer to exactly one of two instances claiming concurrently', async () => {
      const schema = uniqueSchema('claim');
      const [a, b] = [await make({ schema }), await make({ schema })];
      const cascades = Array.from({ length: 200 }, () => cascade());
      await Promise.all(cascades.map((c) => a.create(c)));
      const claimed: string[][] = [[], []];
      await Promise.all(
        [a, b].map(async (store, i) => {
          for (let ids = await store.claimDue(T0 + 2 * 60_000, 7); ids.length > 0; ids = await store.claimDue(T0 + 2 * 60_000, 7)) claimed[i]!.push(...ids);
        }),
      );
      const all = [...claimed[0]!, ...claimed[1]!];
      expect(all.length).toBe(cascades.length);
      expect(new Set(all).size).toBe(cascades.length);
      expect(claimed[0]!.length).toBeGreaterThan(0);
      expect(claimed[1]!.length).toBeGreaterThan(0);
    });

    it('gives a claimed timer to another instance once the lease lapses (database time), and keeps the claim through a commit that leaves the timer', async () => {
      const schema = uniqueSchema('lease');
      const [dying, survivor] = [await make({ schema, claimLeaseMs: 300 }), await make({ schema, claimLeaseMs: 300 })];
      const c = cascade();
      await dying.create(c);
      expect(await dying.claimDue(T0 + 2 * 60_000, 10)).toEqual([c.id]);
      const pid = `p-${c.id}`;
      const sent = next(c, { type: 'sent', now: T0 + 1, step: 0, providerMessageId: pid });
      expect((await dying.commit(sent, [pid])).ok).toBe(true);
      expect(await survivor.claimDue(T0 + 2 * 60_000, 10)).toEqual([]);
      let reclaimed: string[] = [];
      await waitFor('the lapsed claim', async () => (reclaimed = await survivor.claimDue(T0 + 2 * 60_000, 10)).length > 0, 5000);
      expect(reclaimed).toEqual([c.id]);
    });

    it('ends the claim with the commit that moves the timer', async () => {
      const schema = uniqueSchema('lease_end');
      const store = await make({ schema, claimLeaseMs: 60_000 });
      const c = cascade();
      await store.create(c);
      expect(await store.claimDue(T0 + 2 * 60_000, 10)).toEqual([c.id]);
      expect((await row(schema, 'SELECT lease_until FROM S.cascades WHERE id = $1', [c.id]))!.lease_until).not.toBe(null);
      const timedOut = next(c, { type: 'tick', now: T0 + 2 * 60_000 });
      await store.commit(timedOut, []);
      expect((await row(schema, 'SELECT lease_until FROM S.cascades WHERE id = $1', [c.id]))!.lease_until).toBe(null);
      expect(await store.claimDue(timedOut.timerAt! - 1, 10)).toEqual([]);
      expect(await store.claimDue(timedOut.timerAt!, 10)).toEqual([c.id]);
    });

    it('never loses a receipt routed while a commit indexes its provider id: it is routed, or the commit is refused with it', async () => {
      const schema = uniqueSchema('race');
      const [a, b] = [await make({ schema, poolSize: 8 }), await make({ schema, poolSize: 8 })];
      const rounds = 60;
      const cascades = Array.from({ length: rounds }, () => cascade());
      await Promise.all(cascades.map((c) => a.create(c)));
      let routed = 0;
      let refused = 0;
      await Promise.all(
        cascades.map(async (c) => {
          const pid = `p-${c.id}`;
          const sent = next(c, { type: 'sent', now: T0 + 1, step: 0, providerMessageId: pid });
          const [found, result] = await Promise.all([b.route({ providerMessageId: pid, status: 'delivered' }, T0 + 1, T0 + 60_000), a.commit(sent, [pid])]);
          if (found !== undefined) {
            expect(found).toBe(c.id);
            expect(result.ok).toBe(true);
            routed++;
            return;
          }
          // Held: the commit either came after the hold (refused with it) or must now be.
          const final = result.ok ? undefined : result;
          expect(final?.held.map((h) => h.receipt.providerMessageId)).toEqual([pid]);
          expect((await a.commit(sent, [pid], undefined, final!.held[0]!.seq)).ok).toBe(true);
          refused++;
        }),
      );
      expect(routed + refused).toBe(rounds);
      expect(await a.heldCounts()).toEqual({ held: 0, expired: 0, evicted: 0 });
    });
  });

  describe('statistics under concurrent changes', () => {
    it('applies every outcome of changes that touch the same channels in opposite orders, at once from two instances, without deadlock', async () => {
      const schema = uniqueSchema('stats');
      const [a, b] = [await make({ schema, batchSize: 4, poolSize: 6 }), await make({ schema, batchSize: 4, poolSize: 6 })];
      const halfLifeMs = 7 * 86_400_000;
      const outcome = (channel: string, recipientId: string): Observation => ({ channel, recipientId, outcome: 'delivered', at: T0, weight: 1 });
      const n = 80;
      const cascades = Array.from({ length: n }, () => cascade());
      await Promise.all(cascades.map((c) => a.create(c)));
      const results = await Promise.all(
        cascades.map((c, i) => {
          const channels = i % 2 === 0 ? ['push', 'email'] : ['email', 'push'];
          const store = i % 3 === 0 ? b : a;
          return Promise.resolve(store.get(c.id)).then((read) =>
            store.commit(next(read!, { type: 'cancel', now: T0 }), [], { observations: channels.map((ch) => outcome(ch, `r${i % 5}`)), halfLifeMs }),
          );
        }),
      );
      expect(results.every((r) => r.ok)).toBe(true);
      const learned = await a.learned('r0', ['push', 'email']);
      // Every change was at T0 with weight 1: nothing decays, so the counts are exact.
      expect([learned.channels.get('push')!.delivered, learned.channels.get('email')!.delivered]).toEqual([n, n]);
      expect(learned.recipient.get('push')!.delivered).toBe(n / 5);
    });
  });

  describe('held receipts', () => {
    it('holds at most maxHeldReceipts in all and maxHeldPerId per id, dropping the oldest first, counted as evicted', async () => {
      const store = await make({ maxHeldReceipts: 5, maxHeldPerId: 2 });
      for (let i = 0; i < 3; i++) await store.route({ providerMessageId: 'chatty', status: 'sent' }, T0 + i, T0 + 60_000 + i);
      expect(await store.heldCounts()).toEqual({ held: 2, expired: 0, evicted: 1 });
      for (let i = 0; i < 5; i++) await store.route({ providerMessageId: `p${i}`, status: 'delivered' }, T0 + 10 + i, T0 + 60_010 + i);
      // 7 held, 5 kept: chatty's two (the oldest) go.
      expect(await store.heldCounts()).toEqual({ held: 5, expired: 0, evicted: 3 });
      const c = cascade();
      await store.create(c);
      const refused = await store.commit({ ...c, version: c.version + 1 }, ['chatty', 'p0', 'p4']);
      expect(refused.held.map((h) => h.receipt.providerMessageId)).toEqual(['p0', 'p4']);
    });

    it('drops receipts whose hold ended on a later route, in the router clock, counted as expired (at `until` exactly)', async () => {
      const store = await make();
      await store.route({ providerMessageId: 'gone', status: 'delivered' }, T0, T0 + 150);
      await store.route({ providerMessageId: 'kept', status: 'delivered' }, T0 + 149, T0 + 10_000);
      expect(await store.heldCounts()).toEqual({ held: 2, expired: 0, evicted: 0 });
      await store.route({ providerMessageId: 'next', status: 'delivered' }, T0 + 150, T0 + 10_000);
      expect(await store.heldCounts()).toEqual({ held: 2, expired: 1, evicted: 0 });
    });
  });

  describe('liveness in database time', () => {
    it('takes an instance for dead once its heartbeat lapses, whatever the router clock says', async () => {
      const schema = uniqueSchema('live');
      const [a, b] = [await make({ schema }), await make({ schema })];
      await a.create(cascade({ by: 'A' }));
      await a.heartbeat('A', 200, T0);
      const owners = async (now: number): Promise<(string | undefined)[]> => {
        const found: (string | undefined)[] = [];
        for await (const orphan of b.orphans(now)) found.push(orphan.owner);
        return found;
      };
      expect(await owners(T0 + 86_400_000)).toEqual([]);
      await waitFor("A's heartbeat to lapse", async () => (await owners(T0)).length === 1, 3000);
      expect(await owners(T0)).toEqual(['A']);
      expect(await a.heartbeat('A', 60_000, T0)).toBe(false); // it had lapsed
      expect(await owners(T0)).toEqual([]);
    });
  });

  describe('retention', () => {
    const finish = async (store: CascadeStore, c: Cascade): Promise<Cascade> => {
      const sent = next(c, { type: 'sent', now: T0 + 1, step: 0, providerMessageId: `p-${c.id}` });
      await store.commit(sent, [`p-${c.id}`]);
      const delivered = next(sent, { type: 'receipt', now: T0 + 2, step: 0, status: 'delivered' });
      expect((await store.commit(delivered, [])).ok).toBe(true);
      return delivered;
    };

    it('deletes a finished cascade and its provider ids at once with retention 0, and keeps open ones', async () => {
      const store = await make({ retentionMs: 0 });
      const [open, done] = [cascade(), cascade()];
      await store.create(open);
      await store.create(done);
      await finish(store, done);
      expect(await store.get(done.id)).toBe(undefined);
      expect(await store.route({ providerMessageId: `p-${done.id}`, status: 'read' }, T0 + 3, T0 + 1000)).toBe(undefined);
      expect(await store.get(open.id)).toEqual(open);
    });

    it('deletes finished cascades past retentionMs (database time) on housekeeping, with their provider ids', async () => {
      const schema = uniqueSchema('retain');
      const store = await make({ schema, retentionMs: 200, maintenanceMs: 0 });
      const [open, done] = [cascade(), cascade()];
      await store.create(open);
      await store.create(done);
      const finished = await finish(store, done);
      expect(await store.get(done.id)).toEqual(finished);
      await waitFor('housekeeping to delete the finished cascade', async () => (await store.nextDueAt(), (await row(schema, 'SELECT count(*)::int AS n FROM S.cascades'))!.n === 1), 5000, 50);
      expect((await row(schema, 'SELECT count(*)::int AS n FROM S.provider_ids'))!.n).toBe(0);
      expect(await store.get(open.id)).toEqual(open);
    });
  });

  describe('migrations and configuration', () => {
    it('migrates idempotently, also from several instances at once, recording each version once', async () => {
      const schema = uniqueSchema('migrate');
      const stores = await Promise.all([make({ schema }), make({ schema }), make({ schema })]);
      await stores[0]!.migrate();
      const { rows } = await admin.query(`SELECT version FROM ${schema}.migrations`);
      expect(rows).toEqual(postgresMigrations().map((m) => ({ version: m.version })));
      expect(rows.at(-1)).toEqual({ version: SCHEMA_VERSION });
    });

    it('upgrades a version 1 schema with its cascades in place: refused before migrate(), sharing rates and caps after', async () => {
      const schema = uniqueSchema('upgrade');
      schemas.push(schema);
      // Version 1 as a team that runs its own migrations applied it.
      const [v1] = postgresMigrations({ schema });
      await admin.query(`${bootstrapSql(schema)}\n${v1!.sql}\nINSERT INTO ${schema}.migrations (version, description) VALUES (1, 'v1');`);
      const old = postgresStore({ connectionString: PG_URL, schema, pollMs: 0, poolSize: 2 });
      stores.push(old);
      await expect(Promise.resolve(old.get('x'))).rejects.toMatchObject({ code: 'INVALID_CONFIG', message: expect.stringMatching(new RegExp(`version 1; this release needs ${SCHEMA_VERSION}`)) });
      // A cascade written by the version 1 functions (as an earlier release did) survives the upgrade.
      const c = cascade();
      await admin.query(`SELECT * FROM ${schema}.create_cascade($1, NULL, $2, 'n1', $3, $4, NULL, NULL, false, -1, NULL, false)`, [
        c.id,
        c.version,
        JSON.stringify(fixedPart(c)),
        JSON.stringify(changingPart(c)),
      ]);
      await old.migrate();
      expect((await admin.query(`SELECT version FROM ${schema}.migrations ORDER BY version`)).rows).toEqual(postgresMigrations().map((m) => ({ version: m.version })));
      expect((await old.get(c.id))?.id).toBe(c.id);
      expect(await old.pace!({ provider: 'sms', limit: 1, windowMs: 1000, reserve: 0, urgent: false, now: T0 })).toEqual({ go: true });
      expect(await old.admit!({ recipientId: 'r1', category: 'marketing', key: 'k1', max: 1, windowMs: 1000, now: T0 })).toBe(true);
      // Housekeeping (replaced by version 2) drops a cap once its last message left the window, in the router's clock.
      await admin.query(`SELECT ${schema}.maintain(-1, $1)`, [T0 + 999]);
      expect((await admin.query(`SELECT count(*)::int AS n FROM ${schema}.frequency_caps`)).rows).toEqual([{ n: 1 }]);
      await admin.query(`SELECT ${schema}.maintain(-1, $1)`, [T0 + 1000]);
      expect((await admin.query(`SELECT count(*)::int AS n FROM ${schema}.frequency_caps`)).rows).toEqual([{ n: 0 }]);
    });

    it('refuses to run on a schema that was not migrated, with a typed config error naming migrate()', async () => {
      const store = postgresStore({ connectionString: PG_URL, schema: uniqueSchema('bare') });
      stores.push(store);
      await expect(Promise.resolve(store.get('x'))).rejects.toMatchObject({ code: 'INVALID_CONFIG', message: expect.stringMatching(/migrate\(\)/) });
    });

    it('says how to install pg when it is missing, as a typed config error', () => {
      const missing = (): never => {
        throw Object.assign(new Error("Cannot find module 'pg'"), { code: 'MODULE_NOT_FOUND' });
      };
      expect(() => loadPg(missing)).toThrow(InvalidConfigError);
      expect(() => loadPg(missing)).toThrow(/npm install pg/);
    });

    it('asks for exactly one of pool or connectionString, and a plain schema name', () => {
      expect(() => postgresStore({} as PostgresStoreOptions)).toThrow(/exactly one of `pool` or `connectionString`/);
      expect(() => postgresStore({ connectionString: PG_URL, schema: 'Drop Table' })).toThrow(/lower-case SQL identifier/);
      expect(() => postgresStore({ connectionString: PG_URL, maxHeldReceipts: 0 })).toThrow(/maxHeldReceipts/);
    });

    it('fails fast with StoreUnavailableError when PostgreSQL is unreachable', async () => {
      const store = postgresStore({ connectionString: 'postgres://postgres@127.0.0.1:1/test', commandTimeoutMs: 500 });
      stores.push(store);
      const started = Date.now();
      const error = await Promise.resolve(store.get('x')).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StoreUnavailableError);
      expect(Date.now() - started).toBeLessThan(3000);
    });

    it('leaves a pool it was given open on dispose', async () => {
      const pool = new pg.Pool({ connectionString: PG_URL, max: 2 });
      const schema = uniqueSchema('pool');
      schemas.push(schema);
      const store = postgresStore({ pool, schema });
      await store.migrate();
      await store.get('x');
      await store.dispose();
      expect((await pool.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
      await pool.end();
    });
  });
});

describe.skipIf(skip)('postgresStore: calls of one turn sent as one batch', () => {
  const T0 = Date.UTC(2026, 0, 8, 10, 0);
  const send = async (): Promise<string> => 'unused';
  const channels = { push: { kind: 'push', send, confirm: { timeout: '2m' } } } satisfies Record<string, ChannelConfig>;
  const recipient: Recipient = { id: 'r1', addresses: { push: 'token' } };
  const fresh = (key: string): Cascade => {
    const message: Message = { key, category: 'transactional', content: { text: 'Hi' } };
    return startCascade({ id: key, key, message, recipient, plan: planCascade({ channels, message, recipient, now: T0 }), now: T0 }).cascade;
  };

  it('answers each call of a batch on its own: one of two commits on one version wins, a refused one carries its held receipts, a key is taken once', async () => {
    const schema = uniqueSchema('batch');
    const queries: string[] = [];
    const pool = new pg.Pool({ connectionString: PG_URL, max: 2 });
    const query = pool.query.bind(pool) as (config: { text: string }) => Promise<unknown>;
    (pool as unknown as { query: typeof query }).query = (config) => (queries.push(config.text), query(config));
    const store = postgresStore({ pool: pool as unknown as PostgresPool, schema, pollMs: 0 });
    await store.migrate();
    try {
      const [a, b, c] = [fresh(`a-${schema}`), fresh(`b-${schema}`), fresh(`c-${schema}`)];
      queries.length = 0;
      const made = await Promise.all([store.create(a), store.create(b), store.create(c), store.create({ ...fresh(`a-${schema}`), id: `a2-${schema}` }), store.create(b)]);
      expect(made.map((m) => m.created)).toEqual([true, true, true, false, false]);
      expect([made[3]!.cascade.id, made[4]!.cascade.id]).toEqual([a.id, b.id]);
      expect(queries.filter((q) => q.includes('create_batch'))).toHaveLength(1);
      // A receipt held for c's provider id, then three commits in one turn.
      await store.route({ providerMessageId: `p-${c.id}`, status: 'delivered' }, T0 + 1, T0 + 60_000);
      const viaSent = transition(a, { type: 'sent', now: T0 + 2, step: 0, providerMessageId: `p-${a.id}` }).cascade;
      const viaCancel = transition(a, { type: 'cancel', now: T0 + 2 }).cascade;
      const cSent = transition(c, { type: 'sent', now: T0 + 2, step: 0, providerMessageId: `p-${c.id}` }).cascade;
      queries.length = 0;
      const results = await Promise.all([store.commit(viaSent, [`p-${a.id}`]), store.commit(viaCancel, []), store.commit(cSent, [`p-${c.id}`])]);
      expect(queries.filter((q) => q.includes('commit_batch'))).toHaveLength(1);
      expect(results.map((r) => r.ok)).toEqual([true, false, false]);
      expect(results[1]!.held).toEqual([]);
      expect(results[2]!.held.map((h) => h.receipt.providerMessageId)).toEqual([`p-${c.id}`]);
      expect(await store.get(a.id)).toEqual(viaSent);
      expect(await store.get(c.id)).toEqual(c);
      expect(await store.heldCounts()).toEqual({ held: 1, expired: 0, evicted: 0 });
    } finally {
      await store.dispose();
      await pool.query(`DROP SCHEMA ${schema} CASCADE`);
      await pool.end();
    }
  });

  it('takes a batch\'s ledger deltas as numbers (migration 5): the ledger and learned statistics are those of the same changes sent one at a time, without the refused one', async () => {
    const stores: PostgresStore[] = [];
    const pool = new pg.Pool({ connectionString: PG_URL, max: 2 });
    const open = async (label: string, batchSize: number): Promise<PostgresStore> => {
      const store = postgresStore({ pool: pool as unknown as PostgresPool, schema: uniqueSchema(label), pollMs: 0, batchSize });
      stores.push(store);
      await store.migrate();
      return store;
    };
    try {
      // batchSize 1: every call alone, its update as one jsonb argument (the path of migrations 1 and 4).
      const [batched, alone] = [await open('ledger5', 256), await open('ledger1', 1)];
      const ledger = (messages: number, spend: number, channels: Record<string, { sent: number; delivered: number; spendMicros: number }>) =>
        ({ messages, delivered: 0, spendMicros: spend, doubleSpendMicros: 0, smsOnlyMicros: 7, withoutSms: 1, channels });
      // A channel name with the characters an array literal quotes.
      const ODD = 'sms "eu",{b}\\ NULL';
      const seen = (channel: string, outcome: Observation['outcome'], latencyMs?: number): Observation => ({ channel, recipientId: 'r1', outcome, at: T0 + 1, weight: 1, latencyMs });
      for (const store of [batched, alone]) {
        const [a, b, c] = ['a', 'b', 'c'].map((k) => fresh(`${k}-${store.schema}`)) as [Cascade, Cascade, Cascade];
        await Promise.all([store.create(a, { ledger: ledger(1, 0, {}) }), store.create(b, { ledger: ledger(1, 0, {}) }), store.create(c)]);
        const sent = (x: Cascade) => transition(x, { type: 'sent', now: T0 + 2, step: 0, providerMessageId: `p-${x.id}` }).cascade;
        // c's change is based on a version never stored: refused, its delta not counted.
        const stale = transition(sent(c), { type: 'cancel', now: T0 + 3 }).cascade;
        const results = await Promise.all([
          store.commit(sent(a), [`p-${a.id}`], { ledger: ledger(0, 1500, { push: { sent: 1, delivered: 0, spendMicros: 1000 }, email: { sent: 1, delivered: 1, spendMicros: 500 }, [ODD]: { sent: 1, delivered: 0, spendMicros: 0 } }), observations: [seen('email', 'failed')], halfLifeMs: 3_600_000 }),
          store.commit(sent(b), [`p-${b.id}`]),
          store.commit(stale, [], { ledger: ledger(0, 99_000, { push: { sent: 9, delivered: 9, spendMicros: 99_000 } }), observations: [seen('push', 'timeout')], halfLifeMs: 3_600_000 }),
          store.commit(sent(c), [`p-${c.id}`], { observations: [seen('push', 'delivered', 1500)], halfLifeMs: 3_600_000 }),
        ]);
        expect(results.map((r) => r.ok)).toEqual([true, true, false, true]);
      }
      // By hand: two creates (1 message, 7 SMS-only, 1 without SMS each) and a's send.
      const expected = { messages: 2, delivered: 0, spendMicros: 1500, doubleSpendMicros: 0, smsOnlyMicros: 21, withoutSms: 3, channels: { push: { sent: 1, delivered: 0, spendMicros: 1000 }, email: { sent: 1, delivered: 1, spendMicros: 500 }, [ODD]: { sent: 1, delivered: 0, spendMicros: 0 } } };
      expect(await batched.ledger!()).toEqual(expected);
      expect(await alone.ledger!()).toEqual(expected);
      const learned = await batched.learned!('r1', ['push', 'email']);
      expect(learned).toEqual(await alone.learned!('r1', ['push', 'email']));
      // Observed at T0 + 1, counted at the commit's time T0 + 2: one millisecond of a one-hour half-life.
      const aged = 2 ** (-1 / 3_600_000);
      expect(learned.recipient.get('email')!.failed).toBeCloseTo(aged, 12);
      expect(learned.recipient.get('push')).toMatchObject({ timeout: 0 });
      expect(learned.recipient.get('push')!.delivered).toBeCloseTo(aged, 12);
    } finally {
      for (const store of stores) await store.dispose(), await pool.query(`DROP SCHEMA ${store.schema} CASCADE`);
      await pool.end();
    }
  });

  it('routes a batch of receipts (migration 4): an indexed id answers its cascade, others are held and counted; the ledger deltas of a batch land as one row with the same totals', async () => {
    const schema = uniqueSchema('batch4');
    const queries: string[] = [];
    const pool = new pg.Pool({ connectionString: PG_URL, max: 2 });
    const query = pool.query.bind(pool) as (config: { text: string }) => Promise<unknown>;
    (pool as unknown as { query: typeof query }).query = (config) => (queries.push(config.text), query(config));
    const store = postgresStore({ pool: pool as unknown as PostgresPool, schema, pollMs: 0 });
    await store.migrate();
    try {
      const [a, b, c] = [fresh(`a-${schema}`), fresh(`b-${schema}`), fresh(`c-${schema}`)];
      await Promise.all([a, b, c].map((x) => store.create(x)));
      const ledgerRows = async (): Promise<number> => Number(((await pool.query(`SELECT count(*)::int AS n FROM ${schema}.ledger`)) as { rows: { n: number }[] }).rows[0]!.n);
      const rowsBefore = await ledgerRows();
      const sent = [a, b, c].map((x) => transition(x, { type: 'sent', now: T0 + 2, step: 0, providerMessageId: `p-${x.id}` }).cascade);
      // Three changes in one turn, each with a ledger delta: one commit_batch, one ledger row, the totals of the three.
      const delta = (spendMicros: number) => ({ messages: 0, delivered: 0, spendMicros, doubleSpendMicros: 0, smsOnlyMicros: 0, withoutSms: 0, channels: { push: { sent: 1, delivered: 0, spendMicros } } });
      queries.length = 0;
      const results = await Promise.all(sent.map((x, i) => store.commit(x, [`p-${x.id}`], { ledger: delta(1000 * (i + 1)) })));
      expect(results.map((r) => r.ok)).toEqual([true, true, true]);
      expect(queries.filter((q) => q.includes('commit_batch'))).toHaveLength(1);
      expect((await ledgerRows()) - rowsBefore).toBe(1);
      const ledger = await store.ledger!();
      expect(ledger.spendMicros).toBe(6000);
      expect(ledger.channels.push).toMatchObject({ sent: 3, spendMicros: 6000 });
      await new Promise((resolve) => setImmediate(resolve)); // past the turn that confirmed the commits
      // One turn of routes: two indexed ids (one twice), an unknown id twice (held, in arrival order), in mixed order.
      queries.length = 0;
      const routed = await Promise.all([
        store.route({ providerMessageId: 'p-unknown', status: 'sent' }, T0 + 3, T0 + 60_000),
        store.route({ providerMessageId: `p-${b.id}`, status: 'delivered' }, T0 + 3, T0 + 60_000),
        store.route({ providerMessageId: `p-${a.id}`, status: 'delivered' }, T0 + 3, T0 + 60_000),
        store.route({ providerMessageId: 'p-unknown', status: 'delivered' }, T0 + 3, T0 + 60_000),
        store.route({ providerMessageId: `p-${b.id}`, status: 'read' }, T0 + 3, T0 + 60_000),
      ]);
      expect(queries.filter((q) => q.includes('route_many'))).toHaveLength(1);
      expect(routed).toEqual([undefined, b.id, a.id, undefined, b.id]);
      // The cascade came with the answer: read in the same turn without a round trip, and current.
      expect(await store.get(b.id)).toEqual(sent[1]);
      expect(await store.heldCounts()).toEqual({ held: 2, expired: 0, evicted: 0 });
      const held = ((await pool.query(`SELECT entry FROM ${schema}.held WHERE provider_id = 'p-unknown' ORDER BY seq`)) as { rows: { entry: string }[] }).rows;
      expect(held.map((h) => (JSON.parse(h.entry) as { receipt: { status: string } }).receipt.status)).toEqual(['sent', 'delivered']);
    } finally {
      await store.dispose();
      await pool.query(`DROP SCHEMA ${schema} CASCADE`);
      await pool.end();
    }
  });
});
