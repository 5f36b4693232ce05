import { describe, expect, it } from 'vitest';
import {
  createRouter,
  memoryStore,
  planCascade,
  SendError,
  SimulatedClock,
  startCascade,
  transition,
  type Cascade,
  type CascadeInput,
  type ChannelConfig,
  type Message,
  type Recipient,
} from 'cascade-router';
import { memoryStoreKeeping } from '../src/store/memory.js';
import { storeContract } from './store.contract.js';

storeContract('memoryStore', () => memoryStore());
// Every cascade kept in its packed form (./src/store/packed.ts) from its first write: what a busy store does
// with cascades that wait for minutes.
storeContract('memoryStore, cascades packed at once', () => memoryStoreKeeping({}, 0));

const T0 = Date.UTC(2026, 0, 8, 10, 0);
const send = async (): Promise<string> => 'unused';
const CHANNELS = { push: { kind: 'push', send, confirm: { timeout: '2m' } } } satisfies Record<string, ChannelConfig>;
const RECIPIENT: Recipient = { id: 'r1', addresses: { push: 'token' } };

function cascade(name: string): Cascade {
  const message: Message = { key: `key-${name}`, category: 'transactional', content: { text: 'Hi' } };
  const plan = planCascade({ channels: CHANNELS, message, recipient: RECIPIENT, now: T0 });
  return startCascade({ id: name, key: message.key, message, recipient: RECIPIENT, plan, now: T0 }).cascade;
}

const next = (c: Cascade, input: CascadeInput): Cascade => transition(c, input).cascade;

/** Creates `name`, sends it as `p-<name>` and delivers it at `at`: a finished cascade with an indexed provider id. */
async function finish(store: ReturnType<typeof memoryStore>, name: string, at: number): Promise<Cascade> {
  const c = cascade(name);
  await store.create(c);
  const sent = next(c, { type: 'sent', now: at - 1, step: 0, providerMessageId: `p-${name}` });
  await store.commit(sent, [`p-${name}`]);
  const delivered = next(sent, { type: 'receipt', now: at, step: 0, status: 'delivered' });
  expect(delivered.status).toBe('delivered');
  await store.commit(delivered, []);
  return delivered;
}

describe('memoryStore: retention of finished cascades', () => {
  it('evicts a finished cascade, its key and its provider ids once its retention has passed', async () => {
    const store = memoryStore({ retentionMs: 1000 });
    await finish(store, 'a', T0 + 10);
    const b = await finish(store, 'b', T0 + 1009);
    expect((await store.get('a'))?.status).toBe('delivered');

    await finish(store, 'c', T0 + 1010); // a finished at T0+10: 1000 ms ago
    expect(await store.get('a')).toBe(undefined);
    expect(await store.get('b')).toEqual(b);
    expect(await store.route({ providerMessageId: 'p-a', status: 'read' }, T0 + 1011, T0 + 2000)).toBe(undefined);
    expect(await store.route({ providerMessageId: 'p-b', status: 'read' }, T0 + 1011, T0 + 2000)).toBe('b');
    // The idempotency key is free again.
    const again = cascade('a-again');
    expect(await store.create({ ...again, key: 'key-a' })).toEqual({ created: true, cascade: { ...again, key: 'key-a' } });
  });

  it('with retention 0, a commit that both indexes a provider id and finishes leaves no index behind', async () => {
    const store = memoryStore({ retentionMs: 0 });
    const c = cascade('z');
    await store.create(c);
    // A channel confirmed by acceptance finishes in the same commit that indexes its provider id.
    const done = { ...next(c, { type: 'sent', now: T0 + 1, step: 0, providerMessageId: 'p-z' }), status: 'delivered' as const, timerAt: undefined };
    expect(await store.commit(done, ['p-z'])).toEqual({ ok: true, held: [] });
    expect(await store.get('z')).toBe(undefined);
    expect(await store.route({ providerMessageId: 'p-z', status: 'read' }, T0 + 2, T0 + 1000)).toBe(undefined);
  });

  it('keeps open cascades whatever their age', async () => {
    const store = memoryStore({ retentionMs: 1000 });
    const open = cascade('open');
    await store.create(open);
    await finish(store, 'x', T0 + 10 * 86_400_000);
    expect(await store.get('open')).toEqual(open);
  });

  it('keeps finished cascades for 24 hours by default, and forever with retentionMs Infinity', async () => {
    const defaults = memoryStore();
    await finish(defaults, 'a', T0);
    await finish(defaults, 'b', T0 + 86_400_000 - 1);
    expect((await defaults.get('a'))?.id).toBe('a');
    await finish(defaults, 'c', T0 + 86_400_000);
    expect(await defaults.get('a')).toBe(undefined);

    const forever = memoryStore({ retentionMs: Infinity });
    await finish(forever, 'a', T0);
    await finish(forever, 'b', T0 + 365 * 86_400_000);
    expect((await forever.get('a'))?.id).toBe('a');
  });
});

describe('memoryStore: held receipts', () => {
  it('holds at most maxHeldReceipts, dropping the oldest first', async () => {
    const store = memoryStore({ maxHeldReceipts: 2 });
    const r1 = { providerMessageId: 'p1', status: 'delivered' } as const;
    const r2 = { providerMessageId: 'p2', status: 'delivered' } as const;
    const r3 = { providerMessageId: 'p3', status: 'delivered' } as const;
    for (const [i, r] of [r1, r2, r3].entries()) expect(await store.route(r, T0 + i, T0 + 600_000)).toBe(undefined);
    const c = cascade('c');
    await store.create(c);
    const result = await store.commit({ ...c, version: c.version + 1 }, ['p1', 'p2', 'p3']);
    expect(result.held.map((h) => h.receipt)).toEqual([r2, r3]);
  });

  it('drops a held receipt once its hold has passed', async () => {
    const store = memoryStore();
    const r1 = { providerMessageId: 'p1', status: 'delivered' } as const;
    const r2 = { providerMessageId: 'p2', status: 'delivered' } as const;
    await store.route(r1, T0, T0 + 100);
    await store.route(r2, T0 + 100, T0 + 200);
    const c = cascade('c');
    await store.create(c);
    const result = await store.commit({ ...c, version: c.version + 1 }, ['p1', 'p2']);
    expect(result.held.map((h) => h.receipt)).toEqual([r2]);
  });
});

describe('memoryStore: dispose', () => {
  it('forgets everything', async () => {
    const store = memoryStore();
    const c = cascade('c');
    await store.create(c);
    await store.route({ providerMessageId: 'p9', status: 'sent' }, T0, T0 + 1000);
    await store.dispose();
    expect(await store.get('c')).toBe(undefined);
    const ids: string[] = [];
    for await (const open of store.open()) ids.push(open.id);
    expect(ids).toEqual([]);
    const fresh = cascade('c2');
    expect((await store.create({ ...fresh, key: c.key })).created).toBe(true);
    expect((await store.commit({ ...fresh, key: c.key, version: fresh.version + 1 }, ['p9'])).held).toEqual([]);
  });
});

describe('memoryStore learned statistics', () => {
  it('keeps at most maxRecipients recipients, dropping the least recently updated, and keeps channel-wide figures for all', async () => {
    const store = memoryStore({ maxRecipients: 2 });
    const update = (recipientId: string, name: string) =>
      store.create(cascade(name), {
        observations: [{ channel: 'push', recipientId, outcome: 'delivered', at: T0, weight: 1, latencyMs: 1000 }],
        halfLifeMs: 86_400_000,
      });
    await update('a', 'c1');
    await update('b', 'c2');
    await update('a', 'c3'); // a is now the most recently updated
    await update('c', 'c4'); // over the cap: b goes
    const known = await Promise.all(['a', 'b', 'c'].map(async (r) => (await store.learned(r, ['push'])).recipient.size));
    expect(known).toEqual([1, 0, 1]);
    expect((await store.learned('b', ['push'])).channels.get('push')!.delivered).toBe(4);
  });
});

describe('memoryStore: packed cascades', () => {
  it('reads every cascade back key for key as it was written, through failovers, failures, prices, timeouts, learning and cancels', async () => {
    const inner = memoryStoreKeeping({ retention: Infinity }, 0);
    const written: Cascade[] = [];
    const check = async (cascade: Cascade): Promise<void> => {
      written.push(cascade);
      expect(await inner.get(cascade.id)).toStrictEqual(cascade);
    };
    const store: typeof inner = Object.assign(Object.create(inner) as typeof inner, {
      async create(cascade: Cascade, update?: Parameters<typeof inner.create>[1]) {
        const result = await inner.create(cascade, update);
        if (result.created) await check(cascade);
        return result;
      },
      async commit(...args: Parameters<typeof inner.commit>) {
        const result = await inner.commit(...args);
        if (result.ok) await check(args[0]);
        return result;
      },
    });
    const clock = new SimulatedClock(T0);
    let seq = 0;
    const ok = async (): Promise<string> => `id-${seq++}`;
    const priced = async () => ({ providerMessageId: `id-${seq++}`, price: '0.0123' });
    const down = async (): Promise<string> => {
      throw new SendError('provider down', { permanent: false, fault: 'provider' });
    };
    const bad = async (): Promise<string> => {
      throw new SendError('no such number', { permanent: true });
    };
    const router = createRouter({
      clock,
      store,
      learning: true,
      channels: {
        push: { kind: 'push', send: ok, confirm: { timeout: '2m' } },
        email: { kind: 'email', cost: '0.001', providers: [{ name: 'a', send: down, retry: false }, { name: 'b', send: priced }], confirm: { timeout: '10m' } },
        sms: { kind: 'sms', cost: '0.05', send: ok, confirm: { timeout: '5m' } },
        viber: { kind: 'messenger', cost: '0.02', billing: 'delivered', send: bad },
      },
    });
    const sent: { cascadeId: string; providerMessageId: string; channel: string }[] = [];
    router.on('sent', (e) => void sent.push({ cascadeId: e.cascadeId, providerMessageId: e.providerMessageId!, channel: e.channel }));
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) {
      const message: Message = { key: `k${i}`, category: 'transactional', content: { text: 'Hi', sms: 'Hi' }, ...(i % 3 === 0 ? { deadline: '30m' } : {}), ...(i % 4 === 1 ? { delays: { sms: '1m' } } : {}), metadata: { n: String(i) } };
      const recipient: Recipient = { id: `r${i % 5}`, addresses: { push: `t${i}`, email: `u${i}@example.com`, sms: '+380501234567', viber: '+380501234567' }, ...(i % 2 ? { preferredOrder: ['viber', 'sms'] } : {}) };
      ids.push((await router.send(message, recipient)).cascadeId);
    }
    await router.settled();
    for (const [i, s] of sent.entries()) {
      if (i % 3 === 0) await router.handleReceipt({ providerMessageId: s.providerMessageId, status: 'failed', error: { code: 'x', message: 'bounced', fault: 'recipient' } });
      else if (i % 3 === 1) await router.handleReceipt({ providerMessageId: s.providerMessageId, status: 'sent', price: '0.002' });
    }
    await router.cancel(ids[5]!);
    await clock.advance(3 * 60_000);
    await router.settled();
    for (const s of sent.slice()) await router.handleReceipt({ providerMessageId: s.providerMessageId, status: 'delivered' });
    await clock.advance(60 * 60_000);
    await router.settled();
    await router.close();
    // Every shape of state the scenario was meant to reach was written, and read back exactly.
    expect(written.some((c) => c.attempts.some((a) => (a.failovers?.length ?? 0) > 0))).toBe(true);
    expect(written.some((c) => c.attempts.some((a) => a.error !== undefined))).toBe(true);
    expect(written.some((c) => c.attempts.some((a) => a.priceMicros !== undefined))).toBe(true);
    expect(written.some((c) => c.attempts.some((a) => a.outcome === 'timeout'))).toBe(true);
    expect(new Set(written.map((c) => c.status))).toEqual(new Set(['scheduled', 'active', 'delivered', 'cancelled', 'exhausted']));
    for (const id of ids) expect(await inner.get(id)).toStrictEqual(written.findLast((c) => c.id === id));
  });
});
