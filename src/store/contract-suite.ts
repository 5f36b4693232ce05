/**
 * The conformance suite every `CascadeStore` must pass (the memory and Redis stores run it too). Framework-free:
 * `storeContractCases()` returns named async cases, and `storeContract()` registers them with the
 * `describe`/`it` of vitest, jest or node:test, whichever you pass. Assertions are node:assert's.
 *
 * One file over the ~250 lines the house aims at, on purpose: it is a list of cases, one per behaviour a store
 * must have, grouped by topic (`describe`) in the order of the `CascadeStore` interface, so a store's author
 * reads the whole contract in one place. The cases share one kit (the store of the case running now, ids with
 * the run's prefix, cascade builders) that a split by topic would hand to every file for no reader's gain.
 */
import { planCascade } from '../core/planner.js';
import { latencyBucket, type Observation } from '../core/learning.js';
import type { Ledger } from '../core/ledger.js';
import type { CascadeStore, MaybePromise } from './types.js';
import { startCascade, transition, type CascadeInput } from '../core/transition.js';
import type { Cascade, ChannelConfig, Message, Receipt, Recipient } from '../core/types.js';
import { expect } from '../testing/expect.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const T0 = Date.UTC(2026, 0, 8, 10, 0);

const send = async (): Promise<string> => 'unused';

const CHANNELS = {
  push: { kind: 'push', cost: 0, send, confirm: { timeout: '2m' } },
  email: { kind: 'email', cost: 0.001, send, confirm: { timeout: '30m' } },
  sms: { kind: 'sms', cost: 0.05, send, confirm: { timeout: '5m' } },
} satisfies Record<string, ChannelConfig>;

const RECIPIENT: Recipient = { id: 'r1', addresses: { push: 'token', email: 'a@example.com', sms: '+380671234567' } };

/** Makes the store under test, empty: no cascades, timers or held receipts (`nextDueAt()` and `claimDue()` see the whole store). */
export type StoreFactory = () => MaybePromise<CascadeStore>;
/** Runs after each case, after `dispose()`: drop what the case left behind (a key prefix, a temporary database). */
export type StoreCleanup = (store: CascadeStore) => MaybePromise<void>;

export interface StoreContractOptions {
  readonly make: StoreFactory;
  readonly cleanup?: StoreCleanup | undefined;
  /**
   * True when the store shares provider health, provider rates and frequency caps between routers: it must then
   * implement `health`/`reportHealth`, `pace` and `admit`, and those cases fail without them. By default a
   * store that lacks one of these optional methods passes its cases unchecked.
   */
  readonly sharing?: boolean | undefined;
}

/** One case of the contract: `run()` makes a store, checks one behaviour, disposes and cleans up; it throws an AssertionError when the store is wrong. */
export interface StoreContractCase {
  /** The behaviour group, e.g. "due timers". */
  readonly group: string;
  readonly name: string;
  run(): Promise<void>;
}

/** `describe` and `it` of your test runner: vitest, jest and node:test all fit. */
export interface TestRunner {
  describe(name: string, body: () => void): unknown;
  it(name: string, body: () => Promise<void>): unknown;
}

/**
 * Registers the contract's cases with your runner: `storeContract('my store', { make }, { describe, it })`.
 * Run the cases one at a time (every runner's default): each makes its own store, but a shared backend is
 * one database.
 */
export function storeContract(name: string, options: StoreContractOptions, runner: TestRunner): void {
  const groups = new Map<string, StoreContractCase[]>();
  for (const c of storeContractCases(options)) groups.set(c.group, [...(groups.get(c.group) ?? []), c]);
  runner.describe(`${name}: CascadeStore contract`, () => {
    for (const [group, cases] of groups) runner.describe(group, () => {
      for (const c of cases) runner.it(c.name, () => c.run());
    });
  });
}

/**
 * The contract as a list of named async cases, for runners that take no `describe`/`it` or for a script:
 * `for (const c of storeContractCases({ make })) await c.run();`. Ids, keys and provider ids carry a random
 * run prefix, so a shared backend does not see two runs collide.
 */
export function storeContractCases(options: StoreContractOptions): StoreContractCase[] {
  const { make, cleanup, sharing = false } = options;
  const cases: StoreContractCase[] = [];
  // The store of the case running now: cases run one at a time.
  let store = undefined as unknown as CascadeStore;
  let disposed = false;
  let group = '';
  const describe = (name: string, body: () => void): void => {
    const outer = group;
    group = name;
    body();
    group = outer;
  };
  const it = (name: string, body: () => Promise<void>): void => {
    cases.push({
      group,
      name,
      async run() {
        store = await make();
        disposed = false;
        try {
          await body();
        } finally {
          if (!disposed) await store.dispose();
          await cleanup?.(store);
        }
      },
    });
  };
  {
    const run = Math.random().toString(36).slice(2, 10);
    let serial = 0;

    const id = (label: string): string => `${run}-${label}-${++serial}`;

    /** A new cascade (version 1): active on push with its timeout due at T0+2m (claimed by `by`), or scheduled at `sendAt`. */
    const cascade = (options: { key?: string; sendAt?: number; by?: string } = {}): Cascade => {
      const message: Message = {
        key: options.key ?? id('key'),
        category: 'transactional',
        content: { text: 'Hello' },
        ...(options.sendAt === undefined ? {} : { sendAt: options.sendAt }),
      };
      const plan = planCascade({ channels: CHANNELS, message, recipient: RECIPIENT, now: T0 });
      return startCascade({ id: id('cascade'), key: message.key, message, recipient: RECIPIENT, plan, now: T0, by: options.by }).cascade;
    };

    const next = (c: Cascade, input: CascadeInput): Cascade => {
      const t = transition(c, input);
      expect(t.verdict).toBe('applied');
      return t.cascade;
    };

    const receiptFor = (providerMessageId: string, status: Receipt['status'] = 'delivered'): Receipt => ({ providerMessageId, status });

    /** Whether the store has these optional methods; with `sharing`, missing one fails the case. */
    const implemented = (...methods: ('health' | 'reportHealth' | 'pace' | 'admit')[]): boolean => {
      const missing = methods.filter((m) => typeof store[m] !== 'function');
      if (sharing) expect(missing).toEqual([]);
      return missing.length === 0;
    };

    async function openIds(): Promise<string[]> {
      const ids: string[] = [];
      for await (const c of store.open()) if (c.id.startsWith(`${run}-`)) ids.push(c.id);
      return ids.sort();
    }

    describe('create and get', () => {
      it('creates a cascade and reads it back', async () => {
        const a = cascade();
        expect(await store.create(a)).toEqual({ created: true, cascade: a });
        expect(await store.get(a.id)).toEqual(a);
      });

      it('returns undefined for an unknown id', async () => {
        expect(await store.get(id('missing'))).toBe(undefined);
      });

      it('never creates a second cascade for the same idempotency key', async () => {
        const key = id('key');
        const first = cascade({ key });
        const second = cascade({ key });
        expect(second.id).not.toBe(first.id);
        await store.create(first);
        const again = await store.create(second);
        expect(again.created).toBe(false);
        expect(again.cascade.id).toBe(first.id);
        expect(again.cascade).toEqual(first);
        expect(await store.get(second.id)).toBe(undefined);
      });

      it('creates cascades with different keys independently', async () => {
        const a = cascade();
        const b = cascade();
        expect((await store.create(a)).created).toBe(true);
        expect((await store.create(b)).created).toBe(true);
        expect([(await store.get(a.id))?.id, (await store.get(b.id))?.id]).toEqual([a.id, b.id]);
      });
    });

    describe('commit', () => {
      it('replaces the cascade when based on the stored version', async () => {
        const a = cascade();
        await store.create(a);
        const a2 = next(a, { type: 'sent', now: T0 + 1, step: 0, providerMessageId: id('p') });
        expect(a2.version).toBe(a.version + 1);
        const result = await store.commit(a2, []);
        expect(result.ok).toBe(true);
        expect(result.held).toEqual([]);
        expect(await store.get(a.id)).toEqual(a2);
      });

      it('rejects a stale version and keeps what is stored (compare-and-set)', async () => {
        const a = cascade();
        await store.create(a);
        const pid = id('p');
        const viaSent = next(a, { type: 'sent', now: T0 + 1, step: 0, providerMessageId: pid });
        const viaCancel = next(a, { type: 'cancel', now: T0 + 2 });
        expect(viaSent.version).toBe(viaCancel.version);
        expect((await store.commit(viaSent, [pid])).ok).toBe(true);
        // Based on the same version as the one just written: a lost race.
        expect(await store.commit(viaCancel, [])).toEqual({ ok: false, held: [] });
        expect(await store.get(a.id)).toEqual(viaSent);
        // The same write again, and a write that skips a version, are rejected too.
        expect((await store.commit(viaSent, [])).ok).toBe(false);
        expect((await store.commit({ ...viaSent, version: viaSent.version + 2 }, [])).ok).toBe(false);
        expect(await store.get(a.id)).toEqual(viaSent);
      });

      it('rejects a commit for a cascade it does not have', async () => {
        const a = cascade();
        expect((await store.commit({ ...a, version: a.version + 1 }, [])).ok).toBe(false);
        expect(await store.get(a.id)).toBe(undefined);
      });

      it('applies a chain of commits, each based on the last', async () => {
        const a = cascade();
        await store.create(a);
        const pid = id('p');
        const a2 = next(a, { type: 'sent', now: T0 + 1, step: 0, providerMessageId: pid });
        const a3 = next(a2, { type: 'receipt', now: T0 + 2, step: 0, status: 'sent' });
        const a4 = next(a3, { type: 'receipt', now: T0 + 3, step: 0, status: 'delivered' });
        for (const c of [a2, a3, a4]) expect((await store.commit(c, c === a2 ? [pid] : [])).ok).toBe(true);
        expect(await store.get(a.id)).toEqual(a4);
      });
    });

    describe('provider-id index and held receipts', () => {
      it('routes a receipt to the cascade that indexed its provider id', async () => {
        const a = cascade();
        await store.create(a);
        const pid = id('p');
        await store.commit(next(a, { type: 'sent', now: T0 + 1, step: 0, providerMessageId: pid }), [pid]);
        expect(await store.route(receiptFor(pid), T0 + 2, T0 + 2 + 10 * MINUTE)).toBe(a.id);
        expect(await store.route(receiptFor(pid, 'read'), T0 + 3, T0 + 3 + 10 * MINUTE)).toBe(a.id);
      });

      it('refuses a commit indexing a provider id while receipts it did not take in are held for it, and hands them over', async () => {
        const a = cascade();
        await store.create(a);
        const pid = id('p');
        const early = receiptFor(pid, 'delivered');
        expect(await store.route(early, T0 + 1, T0 + 1 + 10 * MINUTE)).toBe(undefined);

        const a2 = next(a, { type: 'sent', now: T0 + 2, step: 0, providerMessageId: pid });
        const refused = await store.commit(a2, [pid]);
        expect(refused.ok).toBe(false);
        expect(refused.held.map(({ receipt, receivedAt, until }) => ({ receipt, receivedAt, until }))).toEqual([{ receipt: early, receivedAt: T0 + 1, until: T0 + 1 + 10 * MINUTE }]);
        // Nothing was written: not the cascade, not the index.
        expect(await store.get(a.id)).toEqual(a);
        expect(await store.route(receiptFor(pid, 'sent'), T0 + 2, T0 + 2 + 10 * MINUTE)).toBe(undefined);
        const again = await store.commit(a2, [pid]);
        expect(again.held.map((h) => h.receipt.status)).toEqual(['delivered', 'sent']);
        expect(again.held[0]!.seq).toBe(refused.held[0]!.seq);
        expect(again.held[1]!.seq).toBeGreaterThan(again.held[0]!.seq);
      });

      it('writes a commit that took in every held receipt (heldThrough), removes them, and hands them to nothing after', async () => {
        const a = cascade();
        await store.create(a);
        const pid = id('p');
        await store.route(receiptFor(pid, 'sent'), T0 + 1, T0 + HOUR);
        await store.route(receiptFor(pid, 'delivered'), T0 + 2, T0 + HOUR);
        const a2 = next(a, { type: 'sent', now: T0 + 3, step: 0, providerMessageId: pid });
        const { held } = await store.commit(a2, [pid]);
        const last = held[held.length - 1]!.seq;
        // One below the last seen: the last receipt was not taken in.
        expect(await store.commit(a2, [pid], undefined, last - 1)).toEqual({ ok: false, held });
        expect(await store.commit(a2, [pid], undefined, last)).toEqual({ ok: true, held: [] });
        expect(await store.get(a.id)).toEqual(a2);
        expect(await store.heldCounts()).toMatchObject({ held: 0 });
        // Now indexed: a new receipt is routed, not held; a later commit indexing nothing new is not refused.
        expect(await store.route(receiptFor(pid, 'read'), T0 + 4, T0 + 4 + 10 * MINUTE)).toBe(a.id);
        const a3 = next(a2, { type: 'receipt', now: T0 + 5, step: 0, status: 'read' });
        expect(await store.commit(a3, [])).toEqual({ ok: true, held: [] });
      });

      it('refuses again when a receipt came after the last one the commit took in', async () => {
        const a = cascade();
        await store.create(a);
        const pid = id('p');
        await store.route(receiptFor(pid, 'sent'), T0 + 1, T0 + HOUR);
        const a2 = next(a, { type: 'sent', now: T0 + 3, step: 0, providerMessageId: pid });
        const first = await store.commit(a2, [pid]);
        await store.route(receiptFor(pid, 'failed'), T0 + 2, T0 + HOUR);
        const second = await store.commit(a2, [pid], undefined, first.held[0]!.seq);
        expect([second.ok, second.held.map((h) => h.receipt.status)]).toEqual([false, ['sent', 'failed']]);
      });

      it('hands over every receipt held for the ids it indexes, in arrival order, and none held for other ids', async () => {
        const a = cascade();
        await store.create(a);
        const pid = id('p');
        const other = id('p');
        const r1 = receiptFor(pid, 'sent');
        const r2 = receiptFor(pid, 'delivered');
        const r3 = receiptFor(other, 'failed');
        expect(await store.route(r1, T0 + 1, T0 + HOUR)).toBe(undefined);
        expect(await store.route(r3, T0 + 2, T0 + HOUR)).toBe(undefined);
        expect(await store.route(r2, T0 + 3, T0 + HOUR)).toBe(undefined);
        const result = await store.commit(next(a, { type: 'sent', now: T0 + 4, step: 0, providerMessageId: pid }), [pid]);
        expect(result.held.map((h) => [h.receipt, h.receivedAt])).toEqual([
          [r1, T0 + 1],
          [r2, T0 + 3],
        ]);
        expect(await store.heldCounts()).toMatchObject({ held: 3 });
      });

      it('answers a stale version as a conflict before looking at held receipts', async () => {
        const a = cascade();
        await store.create(a);
        const pid = id('p');
        const r = receiptFor(pid);
        await store.route(r, T0 + 1, T0 + HOUR);
        const stale = await store.commit({ ...next(a, { type: 'sent', now: T0 + 2, step: 0, providerMessageId: pid }), version: a.version + 5 }, [pid]);
        expect(stale).toEqual({ ok: false, held: [] });
        const good = await store.commit(next(a, { type: 'sent', now: T0 + 2, step: 0, providerMessageId: pid }), [pid]);
        expect(good.held.map((h) => h.receipt)).toEqual([r]);
      });

      it('drops a held receipt whose hold ended by the commit\'s time (at `until` exactly), counted as expired, and is not refused for it', async () => {
        const a = cascade();
        await store.create(a);
        const [pid, other] = [id('p'), id('p')];
        await store.route(receiptFor(pid, 'delivered'), T0 + 1, T0 + 10 * SECOND);
        await store.route(receiptFor(other, 'delivered'), T0 + 1, T0 + 10 * SECOND + 1);
        const b = cascade();
        await store.create(b);
        // `other`'s hold ends one millisecond after the commit: still held, so that commit is refused.
        expect((await store.commit(next(b, { type: 'sent', now: T0 + 10 * SECOND, step: 0, providerMessageId: other }), [other])).held).toHaveLength(1);
        const a2 = next(a, { type: 'sent', now: T0 + 10 * SECOND, step: 0, providerMessageId: pid });
        expect(await store.commit(a2, [pid])).toEqual({ ok: true, held: [] });
        expect(await store.heldCounts()).toEqual({ held: 1, expired: 1, evicted: 0 });
      });
    });

    describe('due timers', () => {
      it('claims a due cascade once, and not before it is due', async () => {
        const a = cascade(); // timerAt T0 + 2m
        await store.create(a);
        expect(a.timerAt).toBe(T0 + 2 * MINUTE);
        expect(await store.claimDue(T0 + 2 * MINUTE - 1, 10)).toEqual([]);
        expect(await store.claimDue(T0 + 2 * MINUTE, 10)).toEqual([a.id]);
        expect(await store.claimDue(T0 + 2 * MINUTE, 10)).toEqual([]);
        expect(await store.claimDue(T0 + HOUR, 10)).toEqual([]);
      });

      it('claims in due order across cascades, including scheduled starts', async () => {
        const a = cascade();
        const b = cascade({ sendAt: T0 + HOUR });
        expect([b.status, b.timerAt]).toEqual(['scheduled', T0 + HOUR]);
        await store.create(b);
        await store.create(a);
        expect(await store.claimDue(T0 + 30 * MINUTE, 10)).toEqual([a.id]);
        expect(await store.claimDue(T0 + HOUR, 10)).toEqual([b.id]);
      });

      it('claims a cascade once even after commits that keep its timer', async () => {
        const a = cascade();
        await store.create(a);
        const pid = id('p');
        const a2 = next(a, { type: 'sent', now: T0 + 1, step: 0, providerMessageId: pid });
        const a3 = next(a2, { type: 'receipt', now: T0 + 2, step: 0, status: 'sent' });
        expect([a2.timerAt, a3.timerAt]).toEqual([a.timerAt, a.timerAt]);
        await store.commit(a2, [pid]);
        await store.commit(a3, []);
        expect(await store.claimDue(T0 + 2 * MINUTE, 10)).toEqual([a.id]);
        expect(await store.claimDue(T0 + 2 * MINUTE, 10)).toEqual([]);
      });

      it('follows a timer moved later by a commit', async () => {
        const a = cascade();
        await store.create(a);
        // A failed receipt falls back to email: the timer moves to T0+30s+30m.
        const a2 = next(a, { type: 'receipt', now: T0 + 30 * SECOND, step: 0, status: 'failed' });
        expect(a2.timerAt).toBe(T0 + 30 * SECOND + 30 * MINUTE);
        await store.commit(a2, []);
        expect(await store.claimDue(T0 + 2 * MINUTE, 10)).toEqual([]);
        expect(await store.claimDue(T0 + 30 * SECOND + 30 * MINUTE, 10)).toEqual([a.id]);
      });

      it('follows a timer moved earlier by a commit', async () => {
        const a = cascade({ sendAt: T0 + HOUR });
        await store.create(a);
        await store.commit({ ...a, version: a.version + 1, timerAt: T0 + 10 * SECOND }, []);
        expect(await store.claimDue(T0 + 10 * SECOND, 10)).toEqual([a.id]);
        expect(await store.claimDue(T0 + HOUR, 10)).toEqual([]);
      });

      it('never claims a cascade whose timer a commit cleared', async () => {
        const a = cascade();
        await store.create(a);
        const cancelled = next(a, { type: 'cancel', now: T0 + 1 });
        expect(cancelled.timerAt).toBe(undefined);
        await store.commit(cancelled, []);
        expect(await store.claimDue(T0 + HOUR, 10)).toEqual([]);
      });

      it('claims again once a commit after the claim re-arms the timer', async () => {
        const a = cascade();
        await store.create(a);
        expect(await store.claimDue(T0 + 2 * MINUTE, 10)).toEqual([a.id]);
        const a2 = next(a, { type: 'tick', now: T0 + 2 * MINUTE }); // push timed out: email until +30m
        expect(a2.timerAt).toBe(T0 + 32 * MINUTE);
        await store.commit(a2, []);
        expect(await store.claimDue(T0 + 31 * MINUTE, 10)).toEqual([]);
        expect(await store.claimDue(T0 + 32 * MINUTE, 10)).toEqual([a.id]);
      });

      it('claims at most `limit` ids per call, and the rest on the next', async () => {
        const cascades = [cascade(), cascade(), cascade()];
        for (const c of cascades) await store.create(c);
        const first = await store.claimDue(T0 + 2 * MINUTE, 2);
        expect(first.length).toBe(2);
        const second = await store.claimDue(T0 + 2 * MINUTE, 2);
        expect(second.length).toBe(1);
        expect([...first, ...second].sort()).toEqual(cascades.map((c) => c.id).sort());
        expect(await store.claimDue(T0 + 2 * MINUTE, 2)).toEqual([]);
      });

      it('reports the earliest due time with nextDueAt', async () => {
        expect(await store.nextDueAt()).toBe(undefined);
        await store.create(cascade({ sendAt: T0 + HOUR }));
        expect(await store.nextDueAt()).toBe(T0 + HOUR);
        await store.create(cascade());
        expect(await store.nextDueAt()).toBe(T0 + 2 * MINUTE);
        await store.claimDue(T0 + 2 * MINUTE, 10);
        expect(await store.nextDueAt()).toBe(T0 + HOUR);
        await store.claimDue(T0 + HOUR, 10);
        expect(await store.nextDueAt()).toBe(undefined);
      });
    });

    describe('spend ledger and learned statistics', () => {
      const HALF_LIFE = 7 * 24 * HOUR;
      const ledger = (spendMicros: number, channel = 'sms'): Ledger => ({
        messages: 1,
        delivered: 0,
        spendMicros,
        doubleSpendMicros: 0,
        smsOnlyMicros: 50_000,
        withoutSms: 0,
        channels: { [channel]: { sent: 1, delivered: 0, spendMicros } },
      });
      const observation = (recipientId: string, outcome: Observation['outcome'], extra: Partial<Observation> = {}): Observation => ({
        channel: 'push',
        recipientId,
        outcome,
        at: T0,
        weight: 1,
        ...extra,
      });

      it('adds the ledger of every accepted create and commit, and none of a refused one', async () => {
        expect(await store.ledger()).toEqual({ messages: 0, delivered: 0, spendMicros: 0, doubleSpendMicros: 0, smsOnlyMicros: 0, withoutSms: 0, channels: {} });
        const a = cascade();
        await store.create(a, { ledger: ledger(50_000) });
        await store.create({ ...cascade({ key: a.key }) }, { ledger: ledger(7) }); // the key is taken
        const a2 = next(a, { type: 'cancel', now: T0 + 1 });
        expect((await store.commit(a2, [], { ledger: ledger(1_000, 'email') })).ok).toBe(true);
        expect((await store.commit(a2, [], { ledger: ledger(9, 'email') })).ok).toBe(false);
        expect(await store.ledger()).toEqual({
          messages: 2,
          delivered: 0,
          spendMicros: 51_000,
          doubleSpendMicros: 0,
          smsOnlyMicros: 100_000,
          withoutSms: 0,
          channels: { sms: { sent: 1, delivered: 0, spendMicros: 50_000 }, email: { sent: 1, delivered: 0, spendMicros: 1_000 } },
        });
      });

      it("keeps a channel's figures per provider, from single and concurrent changes alike", async () => {
        const twoProviders = (sent: number, spendA: number, spendB: number): Ledger => ({
          ...ledger(spendA + spendB),
          channels: {
            sms: {
              sent,
              delivered: 1,
              spendMicros: spendA + spendB,
              providers: { 'sms-a': { sent: 1, delivered: 0, spendMicros: spendA }, 'sms-b': { sent: sent - 1, delivered: 1, spendMicros: spendB } },
            },
          },
        });
        await store.create(cascade(), { ledger: twoProviders(2, 30_000, 40_000) });
        // Changes made at once: a store that batches them must keep the providers too.
        await Promise.all([store.create(cascade(), { ledger: twoProviders(2, 1, 2) }), store.create(cascade(), { ledger: twoProviders(3, 10, 20) })]);
        const sms = (await store.ledger()).channels['sms'];
        expect(sms).toEqual({
          sent: 7,
          delivered: 3,
          spendMicros: 70_033,
          providers: { 'sms-a': { sent: 3, delivered: 0, spendMicros: 30_011 }, 'sms-b': { sent: 4, delivered: 3, spendMicros: 40_022 } },
        });
      });

      it('keeps counts per recipient and channel-wide, with latencies, aged by the half-life', async () => {
        const alice = id('alice');
        const bob = id('bob');
        const a = cascade();
        await store.create(a, {
          observations: [observation(alice, 'delivered', { latencyMs: 1500 }), observation(alice, 'timeout'), observation(bob, 'failed')],
          halfLifeMs: HALF_LIFE,
        });
        const learned = await store.learned(alice, ['push', 'sms']);
        expect(learned.recipient.get('push')).toEqual({ at: T0, delivered: 1, failed: 0, timeout: 1, skipped: 0 });
        expect(learned.recipient.get('sms')).toBeUndefined();
        const push = learned.channels.get('push')!;
        expect([push.delivered, push.failed, push.timeout, push.skipped]).toEqual([1, 1, 1, 0]);
        expect(push.latency).toEqual({ [latencyBucket(1500)]: 1 });
        expect((await store.learned(id('nobody'), ['push'])).recipient.size).toBe(0);

        // A week later the old counts weigh half; a timeout taken back leaves none.
        const a2 = next(a, { type: 'cancel', now: T0 + HALF_LIFE });
        await store.commit(a2, [], {
          observations: [observation(alice, 'delivered', { at: T0 + HALF_LIFE, latencyMs: 1500 }), observation(alice, 'timeout', { weight: -1 })],
          halfLifeMs: HALF_LIFE,
        });
        const later = (await store.learned(alice, ['push', 'sms'])).recipient.get('push')!;
        expect(later.at).toBe(T0 + HALF_LIFE);
        expect(later.delivered).toBeCloseTo(1.5, 9);
        expect(later.timeout).toBeCloseTo(0, 9);
        expect((await store.learned(alice, ['push', 'sms'])).channels.get('push')!.latency[latencyBucket(1500)]).toBeCloseTo(1.5, 9);
      });

      it('applies one update\'s observations in order, a count never below 0: a run of misses reset by a delivery (<key>#since)', async () => {
        const carol = id('carol');
        const run = 'push#since';
        const miss = (outcome: Observation['outcome'], weight = 1): Observation => observation(carol, outcome, { channel: run, weight });
        const a = cascade();
        await store.create(a, { observations: [miss('timeout'), miss('failed'), miss('timeout'), miss('skipped')], halfLifeMs: HALF_LIFE });
        expect((await store.learned(carol, [run])).recipient.get(run)).toEqual({ at: T0, delivered: 0, failed: 1, timeout: 2, skipped: 1 });
        // A delivery resets the run (and the plans without the channel), then a miss starts a new one: in this
        // order within one update, the reset to 0 comes before the 1.
        const a2 = next(a, { type: 'cancel', now: T0 + 1 });
        await store.commit(a2, [], {
          observations: [miss('timeout', -1e12), miss('failed', -1e12), miss('skipped', -1e12), miss('timeout')],
          halfLifeMs: HALF_LIFE,
        });
        const after = (await store.learned(carol, [run])).recipient.get(run)!;
        expect([after.delivered, after.failed, after.skipped]).toEqual([0, 0, 0]);
        expect(after.timeout).toBeCloseTo(1, 6);
      });
    });

    describe('liveness and orphaned sends', () => {
      async function orphans(self?: string): Promise<[string, string | undefined][]> {
        const found: [string, string | undefined][] = [];
        for await (const o of store.orphans(T0, self)) if (o.cascadeId.startsWith(`${run}-`)) found.push([o.cascadeId, o.owner]);
        return found.sort(([a], [b]) => a.localeCompare(b));
      }

      it('lists a step sending for an instance that never heartbeat, or for no instance, as orphaned', async () => {
        const a = id('instance');
        const owned = cascade({ by: a });
        const ownerless = cascade();
        await store.create(owned);
        await store.create(ownerless);
        expect(await orphans()).toEqual([
          [owned.id, a],
          [ownerless.id, undefined],
        ].sort(([x], [y]) => String(x).localeCompare(String(y))));
      });

      it('lists the steps of the asking instance itself, alive or not, when it names itself', async () => {
        const [a, b] = [id('instance'), id('instance')];
        const byA = cascade({ by: a });
        const byB = cascade({ by: b });
        await store.create(byA);
        await store.create(byB);
        await store.heartbeat(a, 60 * SECOND, T0);
        await store.heartbeat(b, 60 * SECOND, T0);
        expect(await orphans(a)).toEqual([[byA.id, a]]);
        expect(await orphans()).toEqual([]);
      });

      it('says whether an instance was alive until its heartbeat: not at its first, nor after it left', async () => {
        const a = id('instance');
        expect(await store.heartbeat(a, 60 * SECOND, T0)).toBe(false);
        expect(await store.heartbeat(a, 60 * SECOND, T0 + SECOND)).toBe(true);
        await store.leave(a);
        expect(await store.heartbeat(a, 60 * SECOND, T0 + 2 * SECOND)).toBe(false);
      });

      it('leaves out the steps of an instance while it is alive, and lists them once it leaves', async () => {
        const [a, b] = [id('instance'), id('instance')];
        const byA = cascade({ by: a });
        const byB = cascade({ by: b });
        await store.create(byA);
        await store.create(byB);
        await store.heartbeat(a, 60 * SECOND, T0);
        expect(await orphans()).toEqual([[byB.id, b]]);
        await store.heartbeat(b, 60 * SECOND, T0);
        expect(await orphans()).toEqual([]);
        await store.leave(a);
        expect(await orphans()).toEqual([[byA.id, a]]);
      });

      it('lists only steps still sending: not once the send is recorded, the step ended, or before the cascade starts', async () => {
        const a = id('instance'); // never heartbeats: every step it claims is orphaned while sending
        const sent = cascade({ by: a });
        const cancelled = cascade({ by: a });
        const scheduled = cascade({ by: a, sendAt: T0 + HOUR });
        const timedOut = cascade({ by: a });
        for (const c of [sent, cancelled, scheduled, timedOut]) await store.create(c);
        const pid = id('p');
        await store.commit(next(sent, { type: 'sent', now: T0 + 1, step: 0, providerMessageId: pid }), [pid]);
        await store.commit(next(cancelled, { type: 'cancel', now: T0 + 1 }), []);
        // `b` takes push over once its timer is due: push times out and falls back to email, sending in b's name.
        const b = id('instance');
        const fellBack = next(timedOut, { type: 'resume', now: T0 + 2 * MINUTE, by: b, step: 0, previousOwner: a });
        expect(fellBack.step).toBe(1);
        await store.commit(fellBack, []);
        expect(await orphans()).toEqual([[timedOut.id, b]]);
      });

      it('follows a take-over: the step is sending in the new owner\'s name, orphaned again only once that one leaves', async () => {
        const [a, b] = [id('instance'), id('instance')];
        const c = cascade({ by: a });
        await store.create(c);
        await store.heartbeat(b, 60 * SECOND, T0);
        expect(await orphans()).toEqual([[c.id, a]]);
        const taken = next(c, { type: 'resume', now: T0 + 1, by: b, step: 0, previousOwner: a });
        expect((await store.commit(taken, [])).ok).toBe(true);
        expect(await orphans()).toEqual([]);
        await store.leave(b);
        expect(await orphans()).toEqual([[c.id, b]]);
      });
    });

    describe('shared provider health (optional)', () => {
      it('keeps the latest report per provider, whatever order reports arrive in', async () => {
        if (!implemented('health', 'reportHealth')) return; // a store that does not share health
        const provider = id('provider');
        const other = id('provider');
        await store.reportHealth!({ provider, state: 'open', reason: 'errors', until: T0 + MINUTE, at: T0 + 10 });
        await store.reportHealth!({ provider, state: 'closed', reason: 'errors', until: undefined, at: T0 + 5 }); // older: ignored
        await store.reportHealth!({ provider: other, state: 'open', reason: 'silence', until: T0 + HOUR, at: T0 });
        const mine = (await store.health!()).filter((h) => h.provider === provider || h.provider === other).sort((a, b) => a.at - b.at);
        expect(mine.map((h) => [h.provider, h.state, h.reason, h.until, h.at])).toEqual([
          [other, 'open', 'silence', T0 + HOUR, T0],
          [provider, 'open', 'errors', T0 + MINUTE, T0 + 10],
        ]);
        await store.reportHealth!({ provider, state: 'closed', reason: 'errors', until: undefined, at: T0 + 10 }); // the same time: kept
        expect((await store.health!()).find((h) => h.provider === provider)?.state).toBe('closed');
      });
    });

    describe('shared provider rates (optional)', () => {
      const pace = async (provider: string, limit: number, reserve: number, urgent: boolean, now: number): Promise<number | 'go'> => {
        const answer = await store.pace!({ provider, limit, windowMs: SECOND, reserve, urgent, now });
        return answer.go ? 'go' : answer.retryAt;
      };

      it('lets a send go while fewer than its share went in the window (after now − window, up to now); tells an urgent one when the oldest leaves', async () => {
        if (!implemented('pace')) return;
        const p = id('provider');
        // limit 3, 1 kept for urgent sends: the others share 2.
        expect(await pace(p, 3, 1, false, T0)).toBe('go');
        expect(await pace(p, 3, 1, false, T0 + 1)).toBe('go');
        expect(await pace(p, 3, 1, false, T0 + 2)).toBe(T0 + 2 + SECOND / 2);
        expect(await pace(p, 3, 1, true, T0 + 3)).toBe('go');
        // Sends at T0, T0+1, T0+3: the one at T0 leaves the window at T0 + 1s exactly.
        expect(await pace(p, 3, 1, true, T0 + 4)).toBe(T0 + SECOND);
        expect(await pace(p, 3, 1, true, T0 + SECOND - 1)).toBe(T0 + SECOND);
        expect(await pace(p, 3, 1, true, T0 + SECOND)).toBe('go');
        // The send at T0+1 leaves at T0+1+1s: then T0+3 and T0+1000 are in the window, and one more fits.
        expect(await pace(p, 3, 1, true, T0 + SECOND + 1)).toBe('go');
        expect(await pace(p, 3, 1, true, T0 + SECOND + 2)).toBe(T0 + 3 + SECOND);
      });

      it('spreads the sends told to wait one after another, the window over their share apart, from the last one told', async () => {
        if (!implemented('pace')) return;
        const p = id('provider');
        for (let i = 0; i < 4; i++) expect(await pace(p, 4, 0, false, T0)).toBe('go');
        expect([await pace(p, 4, 0, false, T0), await pace(p, 4, 0, false, T0), await pace(p, 4, 0, false, T0 + 10)]).toEqual([T0 + 250, T0 + 500, T0 + 750]);
        // Once the wait has passed, the next one counts from its own time.
        for (let i = 0; i < 4; i++) expect(await pace(p, 4, 0, false, T0 + 3 * SECOND)).toBe('go');
        expect(await pace(p, 4, 0, false, T0 + 3 * SECOND)).toBe(T0 + 3 * SECOND + 250);
      });

      it('counts each provider apart, and leaves sends with no share (reserve = limit) to the urgent ones', async () => {
        if (!implemented('pace')) return;
        const [a, b] = [id('provider'), id('provider')];
        expect(await pace(a, 1, 0, false, T0)).toBe('go');
        expect(await pace(a, 1, 0, false, T0)).toBe(T0 + SECOND);
        expect(await pace(b, 1, 0, false, T0)).toBe('go');
        // The router keeps at least one slot for every send; a store asked for none answers a window from now.
        const c = id('provider');
        expect(await pace(c, 2, 2, false, T0)).toBe(T0 + SECOND);
        expect(await pace(c, 2, 2, true, T0)).toBe('go');
        expect(await pace(c, 2, 2, false, T0 + 5)).toBe(T0 + 5 + SECOND);
      });

      it('never lets more than limit sends (not urgent: limit − reserve) into any window, and lets each go that fits (checked against a log of every send)', async () => {
        if (!implemented('pace')) return;
        const p = id('provider');
        const [limit, reserve] = [5, 2];
        let seed = 7;
        const random = (): number => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
        const went: number[] = [];
        let now = T0;
        for (let i = 0; i < 300; i++) {
          now += Math.floor(random() * 120);
          const urgent = random() < 0.3;
          const inWindow = went.filter((at) => at > now - SECOND).length;
          const answer = await pace(p, limit, reserve, urgent, now);
          expect([i, answer === 'go']).toEqual([i, inWindow < (urgent ? limit : limit - reserve)]);
          if (answer === 'go') went.push(now);
          else expect(answer).toBeGreaterThan(now);
          // An urgent send is told the first time its slot is free, if nothing else goes meanwhile.
          if (answer !== 'go' && urgent) {
            expect(went.filter((at) => at > answer - SECOND).length < limit).toBe(true);
            expect(went.filter((at) => at > answer - 1 - SECOND).length).toBe(limit);
          }
        }
        expect(went.length).toBeGreaterThan(50); // both answers were exercised
      });
    });

    describe('frequency caps (optional)', () => {
      const admit = async (recipientId: string, category: string, key: string, now: number): Promise<boolean> =>
        store.admit!({ recipientId, category, key, max: 2, windowMs: 24 * HOUR, now });

      it('lets at most max messages of a category per recipient into any window (after now − window, up to now); the same message again counts once', async () => {
        if (!implemented('admit')) return;
        const [olena, ivan] = [id('recipient'), id('recipient')];
        expect([await admit(olena, 'marketing', 'k1', T0), await admit(olena, 'marketing', 'k2', T0 + 1), await admit(olena, 'marketing', 'k3', T0 + 2)]).toEqual([true, true, false]);
        expect(await admit(olena, 'marketing', 'k1', T0 + 3)).toBe(true);
        expect(await admit(olena, 'news', 'k3', T0 + 3)).toBe(true);
        expect(await admit(ivan, 'marketing', 'k3', T0 + 3)).toBe(true);
        // k1 (at T0) leaves the window at T0 + 24h exactly; k2 a millisecond later.
        expect(await admit(olena, 'marketing', 'k3', T0 + 24 * HOUR - 1)).toBe(false);
        expect(await admit(olena, 'marketing', 'k3', T0 + 24 * HOUR)).toBe(true);
        expect(await admit(olena, 'marketing', 'k4', T0 + 24 * HOUR)).toBe(false);
        expect(await admit(olena, 'marketing', 'k4', T0 + 24 * HOUR + 1)).toBe(true);
        // k1 left the window: asking again is a new message, and the cap (k3, k4) is full.
        expect(await admit(olena, 'marketing', 'k1', T0 + 24 * HOUR + 2)).toBe(false);
      });
    });

    describe('open and dispose', () => {
      it('lists the cascades that have not ended', async () => {
        const active = cascade();
        const scheduled = cascade({ sendAt: T0 + HOUR });
        const ended = cascade();
        for (const c of [active, scheduled, ended]) await store.create(c);
        await store.commit(next(ended, { type: 'cancel', now: T0 + 1 }), []);
        expect(await openIds()).toEqual([active.id, scheduled.id].sort());
        const pid = id('p');
        const a2 = next(active, { type: 'sent', now: T0 + 2, step: 0, providerMessageId: pid });
        await store.commit(a2, [pid]);
        const listed: Cascade[] = [];
        for await (const c of store.open()) if (c.id === active.id) listed.push(c);
        expect(listed).toEqual([a2]);
      });

      it('lists nothing when every cascade has ended', async () => {
        const a = cascade();
        await store.create(a);
        await store.commit(next(a, { type: 'cancel', now: T0 + 1 }), []);
        expect(await openIds()).toEqual([]);
      });

      it('disposes', async () => {
        await store.create(cascade());
        disposed = true;
        await expect(store.dispose()).resolves.toBe(undefined);
      });
    });
  }
  return cases;
}
