import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  planCascade,
  startCascade,
  transition,
  type Cascade,
  type CascadeInput,
  type CascadeStore,
  type ChannelConfig,
  type Message,
  type Recipient,
} from 'cascade-router';
import { redisStore, StoreUnavailableError, type RedisStoreOptions } from 'cascade-router/redis';
import { storeContract } from './store.contract.js';
import { dropPrefix, REDIS_URL, requireRedis, uniquePrefix, waitFor } from './redis/helpers.js';

const skip = await requireRedis('test/store.redis.test.ts');

describe.skipIf(skip)('redisStore', () => {
  let admin: Redis;
  const prefixes: string[] = [];
  const stores: CascadeStore[] = [];

  beforeAll(() => {
    admin = new Redis(REDIS_URL);
  });
  afterAll(async () => {
    for (const prefix of prefixes) await dropPrefix(admin, prefix);
    await admin.quit();
  });
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((store) => store.dispose()));
  });

  /** A store on its own prefix (or a given one, to share it), closed after the test; its keys are dropped at the end. */
  function make(options: Partial<RedisStoreOptions> = {}): CascadeStore {
    const prefix = options.prefix ?? uniquePrefix();
    prefixes.push(prefix);
    const store = redisStore({ url: REDIS_URL, pollMs: 0, ...options, prefix });
    stores.push(store);
    return store;
  }

  // pollMs 0: the contract checks nextDueAt() against real timers, not the polling hint.
  const contractPrefixes = new Map<CascadeStore, string>();
  storeContract(
    'redisStore',
    () => {
      const prefix = uniquePrefix('contract');
      const store = redisStore({ url: REDIS_URL, prefix, pollMs: 0 });
      contractPrefixes.set(store, prefix);
      return store;
    },
    async (store) => {
      await dropPrefix(admin, contractPrefixes.get(store)!);
      contractPrefixes.delete(store);
    },
  );

  const T0 = Date.UTC(2026, 0, 8, 10, 0);
  const send = async (): Promise<string> => 'unused';
  const CHANNELS = {
    push: { kind: 'push', send, confirm: { timeout: '2m' } },
    email: { kind: 'email', send, confirm: { timeout: '30m' } },
  } satisfies Record<string, ChannelConfig>;
  const RECIPIENT: Recipient = { id: 'r1', addresses: { push: 'token', email: 'a@example.com' } };
  let serial = 0;

  function cascade(options: { key?: string; sendAt?: number | Date } = {}): Cascade {
    const key = options.key ?? `key-${++serial}-${Math.random().toString(36).slice(2)}`;
    const message: Message = { key, category: 'transactional', content: { text: 'Hi' }, ...(options.sendAt === undefined ? {} : { sendAt: options.sendAt }) };
    const plan = planCascade({ channels: CHANNELS, message, recipient: RECIPIENT, now: T0 });
    return startCascade({ id: key, key, message, recipient: RECIPIENT, plan, now: T0 }).cascade;
  }
  const next = (c: Cascade, input: CascadeInput): Cascade => {
    const t = transition(c, input);
    expect(t.verdict).toBe('applied');
    return t.cascade;
  };

  describe('two instances on one prefix', () => {
    it('lets exactly one of two commits based on the same version win (compare-and-set across instances)', async () => {
      const prefix = uniquePrefix('cas');
      const [a, b] = [make({ prefix }), make({ prefix })];
      const c = cascade();
      await a.create(c);
      const base = (await b.get(c.id))!;
      const viaSent = next(base, { type: 'sent', now: T0 + 1, step: 0, providerMessageId: `p-${c.id}` });
      const viaCancel = next(base, { type: 'cancel', now: T0 + 1 });
      const results = await Promise.all([a.commit(viaSent, [`p-${c.id}`]), b.commit(viaCancel, [])]);
      expect(results.filter((r) => r.ok).length).toBe(1);
      const stored = await a.get(c.id);
      expect(stored).toEqual(results[0]!.ok ? viaSent : viaCancel);
    });

    it('keeps the sending set to the cascades whose step is sending, whichever instance commits', async () => {
      const prefix = uniquePrefix('sending');
      const [a, b] = [make({ prefix }), make({ prefix })];
      const c = cascade();
      await a.create(c);
      expect(await admin.hgetall(`${prefix}sending`)).toEqual({ [c.id]: '' });
      // b records the send on a copy it read; a, still holding the version it created, then ends it.
      const sent = next((await b.get(c.id))!, { type: 'sent', now: T0 + 1, step: 0, providerMessageId: `p-${c.id}` });
      expect((await b.commit(sent, [`p-${c.id}`])).ok).toBe(true);
      expect(await admin.hlen(`${prefix}sending`)).toBe(0);
      const timedOut = next((await a.get(c.id))!, { type: 'tick', now: T0 + 2 * 60_000, by: 'a' }); // push timed out: email claimed by a
      expect((await a.commit(timedOut, [])).ok).toBe(true);
      expect(await admin.hgetall(`${prefix}sending`)).toEqual({ [c.id]: 'a' });
      const cancelled = next(timedOut, { type: 'cancel', now: T0 + 3 * 60_000 });
      expect((await a.commit(cancelled, [])).ok).toBe(true);
      expect(await admin.hlen(`${prefix}sending`)).toBe(0);
    });

    it('reads what the other instance committed, though it holds the cascade it wrote itself', async () => {
      const prefix = uniquePrefix('cache');
      const [a, b] = [make({ prefix }), make({ prefix })];
      const c = cascade();
      await a.create(c);
      const held = (await a.get(c.id))!; // a now holds version 1 in its cache
      const pid = `p-${c.id}`;
      const viaB = next((await b.get(c.id))!, { type: 'sent', now: T0 + 1, step: 0, providerMessageId: pid });
      expect((await b.commit(viaB, [pid])).ok).toBe(true);
      expect(await a.get(c.id)).toEqual(viaB);
      // A change based on what a held before loses, and one based on a fresh read wins.
      expect((await a.commit(next(held, { type: 'cancel', now: T0 + 2 }), [])).ok).toBe(false);
      const fresh = (await a.get(c.id))!;
      const cancelled = next(fresh, { type: 'cancel', now: T0 + 2 });
      expect((await a.commit(cancelled, [])).ok).toBe(true);
      expect(await b.get(c.id)).toEqual(cancelled);
      expect(await a.get(c.id)).toEqual(cancelled);
    });

    it('neither reads nor writes over a cascade created again under an id it held (the first one deleted)', async () => {
      const prefix = uniquePrefix('recreate');
      const [a, b] = [make({ prefix, retentionMs: 0 }), make({ prefix, retentionMs: 0 })];
      const first = cascade();
      await a.create(first);
      const held = (await a.get(first.id))!; // a holds version 1 of the first cascade
      expect((await b.commit(next((await b.get(first.id))!, { type: 'cancel', now: T0 + 1 }), [])).ok).toBe(true);
      const again = { ...cascade({ key: first.key }), message: { ...first.message, content: { text: 'Again' } } };
      expect((await b.create(again)).created).toBe(true); // version 1 again, another fixed part
      // Based on version 1 of the first cascade: the version matches, the fixed part does not.
      const sent = next(held, { type: 'sent', now: T0 + 2, step: 0, providerMessageId: `p-${first.id}` });
      expect((await a.commit(sent, [])).ok).toBe(false);
      expect(await a.get(first.id)).toEqual(again);
      expect(await b.get(first.id)).toEqual(again);
    });

    it('reads after route what is current, whichever instance committed it last', async () => {
      const prefix = uniquePrefix('route-read');
      const [a, b] = [make({ prefix }), make({ prefix })];
      const c = cascade();
      await a.create(c);
      const pid = `p-${c.id}`;
      const sent = next(c, { type: 'sent', now: T0 + 1, step: 0, providerMessageId: pid });
      expect((await a.commit(sent, [pid])).ok).toBe(true);
      const receipt = { providerMessageId: pid, status: 'sent' } as const;
      // a wrote the current version: route confirms it, and the read right after needs no round trip.
      expect(await a.route(receipt, T0 + 2, T0 + 60_000)).toBe(c.id);
      expect(await a.get(c.id)).toEqual(sent);
      // b moves it on: route on a sees another version, and the read asks Redis.
      const viaB = next((await b.get(c.id))!, { type: 'receipt', now: T0 + 3, step: 0, status: 'sent' });
      expect((await b.commit(viaB, [])).ok).toBe(true);
      expect(await a.route(receipt, T0 + 4, T0 + 60_000)).toBe(c.id);
      expect(await a.get(c.id)).toEqual(viaB);
      // What route confirmed holds for the rest of that tick only: after b's next change, a reads it.
      expect(await a.route(receipt, T0 + 5, T0 + 60_000)).toBe(c.id);
      const cancelled = next(viaB, { type: 'cancel', now: T0 + 6 });
      expect((await b.commit(cancelled, [])).ok).toBe(true);
      expect(await a.get(c.id)).toEqual(cancelled);
    });

    it('writes the fixed part again when a commit carries one it did not read', async () => {
      const prefix = uniquePrefix('fixed');
      const [a, b] = [make({ prefix }), make({ prefix })];
      const c = cascade();
      await a.create(c);
      const read = (await a.get(c.id))!;
      const changed = { ...next(read, { type: 'cancel', now: T0 + 1 }), message: { ...read.message, metadata: { order: '42' } } };
      expect((await a.commit(changed, [])).ok).toBe(true);
      expect(await b.get(c.id)).toEqual(changed);
    });

    it('never starts two cascades for one idempotency key created on both at once', async () => {
      const prefix = uniquePrefix('key');
      const [a, b] = [make({ prefix }), make({ prefix })];
      const key = `key-${++serial}`;
      const results = await Promise.all([a.create(cascade({ key })), b.create(cascade({ key }))]);
      expect(results.map((r) => r.created).sort()).toEqual([false, true]);
    });

    it('hands out each due timer to exactly one of two instances claiming concurrently', async () => {
      const prefix = uniquePrefix('claim');
      const [a, b] = [make({ prefix }), make({ prefix })];
      const cascades = Array.from({ length: 200 }, () => cascade());
      await Promise.all(cascades.map((c) => a.create(c)));
      const claimed: string[][] = [[], []];
      await Promise.all(
        [a, b].map(async (store, i) => {
          for (let ids = await store.claimDue(T0 + 2 * 60_000, 7); ids.length > 0; ids = await store.claimDue(T0 + 2 * 60_000, 7)) {
            claimed[i]!.push(...ids);
          }
        }),
      );
      const all = [...claimed[0]!, ...claimed[1]!];
      expect(all.length).toBe(cascades.length);
      expect(new Set(all).size).toBe(cascades.length);
      expect(claimed[0]!.length).toBeGreaterThan(0);
      expect(claimed[1]!.length).toBeGreaterThan(0);
    });

    it('gives a claimed timer to another instance once the claimer let its lease lapse (it died)', async () => {
      const prefix = uniquePrefix('lease');
      const [dying, survivor] = [make({ prefix, claimLeaseMs: 200 }), make({ prefix, claimLeaseMs: 200 })];
      const c = cascade();
      await dying.create(c);
      expect(await dying.claimDue(T0 + 2 * 60_000, 10)).toEqual([c.id]);
      expect(await survivor.claimDue(T0 + 2 * 60_000, 10)).toEqual([]);
      let reclaimed: string[] = [];
      await waitFor('the lapsed claim', async () => (reclaimed = await survivor.claimDue(T0 + 2 * 60_000, 10)).length > 0, 5000);
      expect(reclaimed).toEqual([c.id]);
    });

    it('ends the claim lease with the commit that moves the timer', async () => {
      const prefix = uniquePrefix('lease-end');
      const store = make({ prefix, claimLeaseMs: 100 });
      const c = cascade();
      await store.create(c);
      expect(await store.claimDue(T0 + 2 * 60_000, 10)).toEqual([c.id]);
      expect(await admin.zscore(`${prefix}leases`, c.id)).not.toBe(null);
      const timedOut = next(c, { type: 'tick', now: T0 + 2 * 60_000 });
      await store.commit(timedOut, []);
      // No lease left to lapse and put the old time back: nothing comes back but the new timer.
      expect([await admin.zscore(`${prefix}leases`, c.id), await admin.hget(`${prefix}leased-at`, c.id)]).toEqual([null, null]);
      expect(await store.claimDue(T0 + 2 * 60_000 + 1, 10)).toEqual([]);
      expect(await store.claimDue(timedOut.timerAt!, 10)).toEqual([c.id]);
    });

    it('keeps the claim of a timer a commit leaves where it was, so it comes back if the claimer dies', async () => {
      const prefix = uniquePrefix('lease-keep');
      const [dying, survivor] = [make({ prefix, claimLeaseMs: 200 }), make({ prefix, claimLeaseMs: 200 })];
      const c = cascade();
      await dying.create(c);
      expect(await dying.claimDue(T0 + 2 * 60_000, 10)).toEqual([c.id]);
      const pid = `p-${c.id}`;
      const sent = next(c, { type: 'sent', now: T0 + 1, step: 0, providerMessageId: pid });
      expect(sent.timerAt).toBe(c.timerAt);
      expect((await dying.commit(sent, [pid])).ok).toBe(true);
      expect(await admin.hget(`${prefix}leased-at`, c.id)).toBe(String(c.timerAt));
      expect(await survivor.claimDue(T0 + 2 * 60_000, 10)).toEqual([]);
      let reclaimed: string[] = [];
      await waitFor('the lapsed claim', async () => (reclaimed = await survivor.claimDue(T0 + 2 * 60_000, 10)).length > 0, 5000);
      expect(reclaimed).toEqual([c.id]);
    });
  });

  describe('answers confirmed within one tick', () => {
    /** A store on a client that counts the commands sent. */
    function counted(): { store: CascadeStore; commands: () => number } {
      const client = new Redis(REDIS_URL);
      let sent = 0;
      const sendCommand = client.sendCommand.bind(client);
      client.sendCommand = (...args) => (sent++, sendCommand(...args));
      const prefix = uniquePrefix('tick');
      prefixes.push(prefix);
      const store = redisStore({ client, prefix, pollMs: 0 });
      const dispose = store.dispose.bind(store);
      store.dispose = async () => (await dispose(), void (await client.quit()));
      stores.push(store);
      return { store, commands: () => sent };
    }
    const nextTick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

    it('reads and routes what its own commit confirmed in the same tick without a round trip, and asks Redis after it', async () => {
      const { store, commands } = counted();
      const c = cascade();
      await store.create(c);
      await nextTick();
      const pid = `p-${c.id}`;
      const sent = next(c, { type: 'sent', now: T0 + 1, step: 0, providerMessageId: pid });
      await store.commit(sent, [pid]);
      const before = commands();
      expect(store.get(c.id)).toEqual(sent); // a value, not a promise
      expect(store.route({ providerMessageId: pid, status: 'delivered' }, T0 + 2, T0 + 60_000)).toBe(c.id);
      expect(commands()).toBe(before);
      await nextTick();
      expect(await store.get(c.id)).toEqual(sent);
      expect(await store.route({ providerMessageId: pid, status: 'delivered' }, T0 + 3, T0 + 60_000)).toBe(c.id);
      expect(commands()).toBe(before + 2);
    });

    it("routes with the open cascade's version (from the open set, a declared key), so the read after it needs no round trip; an ended one is read", async () => {
      const { store, commands } = counted();
      const c = cascade();
      await store.create(c);
      const pid = `p-${c.id}`;
      const sent = next(c, { type: 'sent', now: T0 + 1, step: 0, providerMessageId: pid });
      await store.commit(sent, [pid]);
      await nextTick();
      let before = commands();
      expect(await store.route({ providerMessageId: pid, status: 'delivered' }, T0 + 2, T0 + 60_000)).toBe(c.id);
      expect(store.get(c.id)).toEqual(sent); // a value, not a promise
      expect(commands()).toBe(before + 1);
      const delivered = next(sent, { type: 'receipt', now: T0 + 3, step: 0, status: 'delivered' });
      expect((await store.commit(delivered, [])).ok).toBe(true);
      await nextTick();
      // A late receipt: the cascade has left the open set, so route cannot vouch for the copy held.
      before = commands();
      expect(await store.route({ providerMessageId: pid, status: 'read' }, T0 + 4, T0 + 60_000)).toBe(c.id);
      expect(await store.get(c.id)).toEqual(delivered);
      expect(commands()).toBe(before + 2);
    });

    it('asks Redis in the same tick once a reply shows the cascade may have changed: a lost race, a claimed timer', async () => {
      const { store, commands } = counted();
      const c = cascade();
      // A lost compare-and-set, answered in the tick that also confirmed the create.
      await Promise.all([store.create(c), store.commit({ ...c, version: c.version + 5 }, [])]);
      let before = commands();
      expect(await store.get(c.id)).toEqual(c);
      expect(commands()).toBe(before + 1);
      await nextTick();
      const sent = next(c, { type: 'sent', now: T0 + 1, step: 0, providerMessageId: `p-${c.id}` });
      const [, claimed] = await Promise.all([store.commit(sent, [`p-${c.id}`]), store.claimDue(T0 + 2 * 60_000, 10)]);
      expect(claimed).toEqual([c.id]);
      before = commands();
      expect(await store.get(c.id)).toEqual(sent);
      expect(commands()).toBe(before + 1);
    });
  });

  describe('retention and held receipts', () => {
    const finish = async (store: CascadeStore, c: Cascade): Promise<Cascade> => {
      const sent = next(c, { type: 'sent', now: T0 + 1, step: 0, providerMessageId: `p-${c.id}` });
      await store.commit(sent, [`p-${c.id}`]);
      const delivered = next(sent, { type: 'receipt', now: T0 + 2, step: 0, status: 'delivered' });
      expect(delivered.status).toBe('delivered');
      expect((await store.commit(delivered, [])).ok).toBe(true);
      return delivered;
    };

    it('sets the retention TTL on a finished cascade and its provider ids, and none on open ones', async () => {
      const prefix = uniquePrefix('ttl');
      const store = make({ prefix, retentionMs: 60_000 });
      const [open, done] = [cascade(), cascade()];
      await store.create(open);
      await store.create(done);
      await finish(store, done);
      expect(await admin.pttl(`${prefix}c:{${open.id}}`)).toBe(-1);
      for (const key of [`${prefix}c:{${done.id}}`, `${prefix}p:{p-${done.id}}`]) {
        const ttl = await admin.pttl(key);
        expect(ttl).toBeGreaterThan(50_000);
        expect(ttl).toBeLessThanOrEqual(60_000);
      }
      expect(await admin.hexists(`${prefix}open`, done.id)).toBe(0);
      expect(await admin.hget(`${prefix}open`, open.id)).toBe(`${open.version}:${await admin.hget(`${prefix}c:{${open.id}}`, 'n')}`);
    });

    it('deletes a finished cascade at once with retention 0, and keeps it with Infinity', async () => {
      const gone = make({ retentionMs: 0 });
      const c = cascade();
      await gone.create(c);
      await finish(gone, c);
      expect(await gone.get(c.id)).toBe(undefined);
      expect(await gone.route({ providerMessageId: `p-${c.id}`, status: 'read' }, T0 + 3, T0 + 1000)).toBe(undefined);

      const prefix = uniquePrefix('forever');
      const kept = make({ prefix, retentionMs: Infinity });
      const d = cascade();
      await kept.create(d);
      await finish(kept, d);
      expect((await kept.get(d.id))?.status).toBe('delivered');
      expect(await admin.pttl(`${prefix}c:{${d.id}}`)).toBe(-1);
    });

    it('drops held lists whose hold has ended on a later route, in the router clock, counted as expired', async () => {
      const prefix = uniquePrefix('held');
      const store = make({ prefix });
      expect(await store.route({ providerMessageId: 'gone', status: 'delivered' }, T0, T0 + 150)).toBe(undefined);
      expect(await admin.exists(`${prefix}h:{gone}`)).toBe(1);
      // At exactly `until` the hold has ended.
      expect(await store.route({ providerMessageId: 'next', status: 'delivered' }, T0 + 150, T0 + 10_000)).toBe(undefined);
      expect(await admin.exists(`${prefix}h:{gone}`)).toBe(0);
      expect(await store.heldCounts()).toEqual({ held: 1, expired: 1, evicted: 0 });
    });

    it('holds at most maxHeldReceipts in all, dropping the oldest provider ids first, and maxHeldPerId per id', async () => {
      const prefix = uniquePrefix('held-bound');
      const store = make({ prefix, maxHeldReceipts: 5, maxHeldPerId: 2 });
      for (let i = 0; i < 3; i++) await store.route({ providerMessageId: 'chatty', status: 'sent' }, T0 + i, T0 + 60_000 + i);
      expect(await admin.llen(`${prefix}h:{chatty}`)).toBe(2);
      expect(await store.heldCounts()).toEqual({ held: 2, expired: 0, evicted: 1 });
      for (let i = 0; i < 5; i++) await store.route({ providerMessageId: `p${i}`, status: 'delivered' }, T0 + 10 + i, T0 + 60_010 + i);
      // 7 held, 5 kept: `chatty` (its 2, the oldest hold) goes first, then nothing more is needed.
      expect(await store.heldCounts()).toEqual({ held: 5, expired: 0, evicted: 3 });
      expect(await admin.exists(`${prefix}h:{chatty}`)).toBe(0);
      expect(await admin.zcard(`${prefix}held`)).toBe(5);
      await store.route({ providerMessageId: 'p5', status: 'delivered' }, T0 + 20, T0 + 60_020);
      expect(await admin.exists(`${prefix}h:{p0}`)).toBe(0);
      expect(await store.heldCounts()).toEqual({ held: 5, expired: 0, evicted: 4 });
    });

    it('takes the held counts down when a commit takes the receipts in', async () => {
      const prefix = uniquePrefix('held-take');
      const store = make({ prefix });
      const c = cascade();
      await store.create(c);
      const pid = `p-${c.id}`;
      await store.route({ providerMessageId: pid, status: 'sent' }, T0, T0 + 10);
      await store.route({ providerMessageId: pid, status: 'delivered' }, T0, T0 + 60_000);
      const sent = next(c, { type: 'sent', now: T0 + 20, step: 0, providerMessageId: pid });
      const refused = await store.commit(sent, [pid]);
      expect(refused.held.map((h) => h.receipt.status)).toEqual(['delivered']);
      expect(await store.commit(sent, [pid], undefined, refused.held[0]!.seq)).toEqual({ ok: true, held: [] });
      expect(await store.heldCounts()).toEqual({ held: 0, expired: 1, evicted: 0 });
      expect(await admin.zcard(`${prefix}held`)).toBe(0);
    });
  });

  describe('liveness of router instances', () => {
    const orphansOf = async (store: CascadeStore): Promise<(string | undefined)[]> => {
      const owners: (string | undefined)[] = [];
      for await (const orphan of store.orphans(T0)) owners.push(orphan.owner);
      return owners;
    };
    const claimedBy = (by: string): Cascade => {
      const c = cascade();
      return { ...c, attempts: [{ ...c.attempts[0]!, owner: by }] };
    };

    it('takes an instance for dead once its heartbeat lapses, in Redis time, on every store instance of the prefix', async () => {
      const prefix = uniquePrefix('live');
      const [a, b] = [make({ prefix }), make({ prefix })];
      await a.create(claimedBy('A'));
      await a.heartbeat('A', 150, T0);
      expect(await orphansOf(b)).toEqual([]);
      // The router's clock plays no part: the lease is Redis server time.
      for await (const orphan of b.orphans(T0 + 86_400_000)) expect.unreachable(`listed ${orphan.cascadeId} while A is alive`);
      await waitFor("A's heartbeat to lapse", async () => (await orphansOf(b)).length === 1, 3000);
      expect(await orphansOf(b)).toEqual(['A']);
      await a.heartbeat('A', 60_000, T0);
      expect(await orphansOf(b)).toEqual([]);
    });

    it('forgets lapsed instances on the next heartbeat of any, and a left one at once', async () => {
      const prefix = uniquePrefix('live');
      const store = make({ prefix });
      await store.heartbeat('A', 50, T0);
      await store.heartbeat('C', 60_000, T0);
      const serverNow = async (): Promise<number> => {
        const [seconds, micros] = await admin.time();
        return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
      };
      await waitFor("A's heartbeat to lapse", async () => Number(await admin.zscore(`${prefix}instances`, 'A')) <= (await serverNow()), 3000);
      await store.heartbeat('B', 60_000, T0);
      expect((await admin.zrange(`${prefix}instances`, 0, -1)).sort()).toEqual(['B', 'C']);
      await store.leave('C');
      expect(await admin.zrange(`${prefix}instances`, 0, -1)).toEqual(['B']);
    });

    it('pages through many orphaned sends', async () => {
      const store = make();
      const claimed = Array.from({ length: 450 }, (_, i) => claimedBy(`dead-${i % 7}`));
      await Promise.all(claimed.map((c) => store.create(c)));
      await store.heartbeat('alive', 60_000, T0);
      const alive = claimedBy('alive');
      await store.create(alive);
      const listed: string[] = [];
      for await (const orphan of store.orphans(T0)) listed.push(orphan.cascadeId);
      expect(listed.sort()).toEqual(claimed.map((c) => c.id).sort());
    });
  });

  describe('the spend ledger', () => {
    it('keeps per-provider figures of a channel beside the channel\'s, and reads names with any characters back', async () => {
      const store = make();
      const c = cascade();
      const delta = (spendMicros: number) => ({
        messages: 0, delivered: 0, spendMicros, doubleSpendMicros: 0, smsOnlyMicros: 0, withoutSms: 0,
        channels: { 'sms:eu/1': { sent: 1, delivered: 0, spendMicros, providers: { 'twilio:a/b': { sent: 1, delivered: 0, spendMicros } } } },
      });
      await store.create(c, { ledger: delta(50_000) });
      const sent = next(c, { type: 'sent', now: T0 + 1, step: 0, providerMessageId: `p-${c.id}` });
      await store.commit(sent, [`p-${c.id}`], { ledger: delta(10_000) });
      expect((await store.ledger()).channels).toEqual({
        'sms:eu/1': { sent: 2, delivered: 0, spendMicros: 60_000, providers: { 'twilio:a/b': { sent: 2, delivered: 0, spendMicros: 60_000 } } },
      });
    });
  });

  describe('nextDueAt and polling', () => {
    it('answers at most pollMs ahead of the clock, so a router looks again for timers set elsewhere', async () => {
      let now = T0;
      const clock = { now: () => now, setTimer: () => ({ at: 0 }), clearTimer: () => {} };
      const store = make({ pollMs: 500, clock });
      expect(await store.nextDueAt()).toBe(T0 + 500);
      await store.create(cascade()); // due at T0 + 2m
      now = T0 + 2 * 60_000 - 100;
      expect(await store.nextDueAt()).toBe(T0 + 2 * 60_000);
    });
  });

  describe('faults and configuration', () => {
    it('fails fast with StoreUnavailableError when Redis is unreachable', async () => {
      const store = make({ url: 'redis://127.0.0.1:1', commandTimeoutMs: 500 });
      const started = Date.now();
      const error = await Promise.resolve(store.get('x')).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StoreUnavailableError);
      expect((error as StoreUnavailableError).code).toBe('STORE_UNAVAILABLE');
      expect(Date.now() - started).toBeLessThan(3000);
      await expect(Promise.resolve(store.claimDue(T0, 10))).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    });

    it('asks for exactly one of client or url, and a hash-tagged prefix on Cluster', () => {
      expect(() => redisStore({})).toThrow(/exactly one of `client` or `url`/);
      const cluster = { isCluster: true } as unknown as Redis;
      expect(() => redisStore({ client: cluster, prefix: 'cr:' })).toThrow(/hash tag/);
      expect(() => redisStore({ client: cluster, prefix: '{cr}:' })).not.toThrow();
    });

    it('stores a Date sendAt as epoch ms', async () => {
      const store = make();
      const c = cascade({ sendAt: new Date(T0 + 3_600_000) });
      await store.create(c);
      expect((await store.get(c.id))?.message.sendAt).toBe(T0 + 3_600_000);
    });

    it('records the layout version under a new prefix, and under one written before it was recorded', async () => {
      const fresh = uniquePrefix('format');
      await make({ prefix: fresh }).get('x');
      expect(await admin.get(`${fresh}format`)).toBe('1');

      // Data of a release that wrote no version: the same layout as format 1, stamped and read as it is.
      const older = uniquePrefix('format');
      const writer = make({ prefix: older });
      const c = cascade();
      await writer.create(c);
      await admin.del(`${older}format`);
      const reader = make({ prefix: older });
      expect((await reader.get(c.id))?.id).toBe(c.id);
      expect(await admin.get(`${older}format`)).toBe('1');
    });

    it('refuses data of a later layout version with INVALID_CONFIG before reading or writing any of it', async () => {
      const prefix = uniquePrefix('format');
      await admin.set(`${prefix}format`, '2');
      const store = make({ prefix });
      const error = await Promise.resolve(store.create(cascade())).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'INVALID_CONFIG', message: expect.stringContaining('in format 2; this release reads format 1') });
      await expect(Promise.resolve(store.get('x'))).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
      const keys = await admin.keys(`${prefix}*`);
      expect(keys).toEqual([`${prefix}format`]);
    });

    it('leaves a user-supplied client open on dispose', async () => {
      const client = new Redis(REDIS_URL);
      const store = redisStore({ client, prefix: uniquePrefix() });
      await store.get('x');
      await store.dispose();
      expect(await client.ping()).toBe('PONG');
      await client.quit();
    });
  });
});
