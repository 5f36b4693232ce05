import { describe, expect, it } from 'vitest';
import {
  memoryStore,
  planCascade,
  startCascade,
  transition,
  type Cascade,
  type CascadeInput,
  type ChannelConfig,
  type Message,
  type Recipient,
} from 'cascade-router';
import { storeContract } from './store.contract.js';

storeContract('memoryStore', () => memoryStore());

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
