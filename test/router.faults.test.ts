/**
 * What the customer receives when the store fails under the router (issue #12), in simulated time with a
 * store whose answers can be refused (`down`) or lost after the write was applied (`lose`), and with two
 * routers on one store. Each test states what a provider log would show: which adapters were called,
 * with which idempotency keys, and how the cascade ended.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  createRouter,
  memoryStore,
  SendError,
  SimulatedClock,
  sleep,
  type CascadeStore,
  type ChannelConfig,
  type Message,
  type Recipient,
  type Router,
  type RouterEvents,
  type SendRequest,
} from 'cascade-router';
import { faultyStore } from './support/faulty-store.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const T0 = Date.UTC(2026, 0, 8, 10, 0);

const RECIPIENT: Recipient = { id: 'olena', addresses: { push: 'token', wa: '+380671234567', sms: '+380671234567' } };
const message = (key: string): Message => ({ key, category: 'transactional', content: { text: 'Your order is ready' }, policy: { order: 'message' } });

interface Call {
  readonly router: string;
  readonly channel: string;
  readonly key: string;
  readonly try: number;
  readonly at: number;
}

/** A provider log shared by every router of a test: what the customer would receive. */
class Provider {
  readonly calls: Call[] = [];
  /** Per channel, what each call does: `ok` answers `<channel>:<key>`, an Error is thrown. */
  readonly scripts = new Map<string, (Error | 'ok' | ((request: SendRequest) => Promise<string>))[]>();

  constructor(readonly clock: SimulatedClock) {}

  adapter(router: string, channel: string) {
    return async (request: SendRequest): Promise<string> => {
      this.calls.push({ router, channel, key: request.idempotencyKey, try: request.try, at: this.clock.now() });
      const next = this.scripts.get(channel)?.shift() ?? 'ok';
      if (next instanceof Error) throw next;
      if (typeof next === 'function') return next(request);
      return `${channel}:${request.idempotencyKey}`;
    };
  }

  channels(): string[] {
    return this.calls.map((c) => c.channel);
  }
}

const routers: Router[] = [];
afterEach(async () => {
  for (const router of routers.splice(0)) await router.close();
});

function makeRouter(
  provider: Provider,
  store: CascadeStore,
  name: string,
  channels: (adapter: (channel: string) => (request: SendRequest) => Promise<string>) => Record<string, ChannelConfig>,
): { router: Router; events: [keyof RouterEvents, unknown][] } {
  const events: [keyof RouterEvents, unknown][] = [];
  const router = createRouter({ channels: channels((channel) => provider.adapter(name, channel)), store, clock: provider.clock, instanceId: name });
  for (const event of ['attempt', 'sent', 'receipt', 'fallback', 'delivered', 'late-receipt', 'exhausted', 'cancelled', 'resumed', 'error'] as const) {
    router.on(event, (e: unknown) => void events.push([event, e]));
  }
  routers.push(router);
  return { router, events };
}

const pushThenSms = (adapter: (channel: string) => (request: SendRequest) => Promise<string>): Record<string, ChannelConfig> => ({
  push: { kind: 'push', cost: 0, send: adapter('push'), retry: false, confirm: { timeout: '2m' } },
  sms: { kind: 'sms', cost: 0.05, send: adapter('sms'), retry: false, confirm: { timeout: '5m' } },
});

describe("a send's result the store could not take at once", () => {
  it('is stored once the store is back, so the delivered receipt matches it and nothing further is sent', async () => {
    const clock = new SimulatedClock(T0);
    const provider = new Provider(clock);
    const store = faultyStore();
    const { router, events } = makeRouter(provider, store, 'a', pushThenSms);
    // The store goes down while the provider accepts the push.
    provider.scripts.set('push', [async (request) => ((store.mode = 'down'), `push:${request.idempotencyKey}`)]);
    const { cascadeId } = await router.send(message('k1'), RECIPIENT);
    await clock.advance(3 * SECOND);
    // The provider's delivered callback meets the outage: refused, so the provider retries it later.
    await expect(router.handleReceipt({ providerMessageId: `push:${cascadeId}:0`, status: 'delivered' })).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    expect((await memoryView(store, cascadeId)).attempts[0]!.phase).toBe('sending');
    store.mode = 'up';
    await clock.advance(3 * SECOND);
    expect((await router.get(cascadeId))!.attempts[0]!.providerMessageId).toBe(`push:${cascadeId}:0`);
    expect(await router.handleReceipt({ providerMessageId: `push:${cascadeId}:0`, status: 'delivered' })).toMatchObject({ outcome: 'applied', status: 'delivered', late: false });
    await clock.advance(10 * MINUTE);
    expect(provider.channels()).toEqual(['push']);
    // Storing the send's result failed: reported once, not once per retry.
    expect(events.filter(([name, e]) => name === 'error' && (e as { during: string }).during === 'send')).toHaveLength(1);
  });

  it('is stored, and its step timed out only then, when the step timed out during the outage', async () => {
    const clock = new SimulatedClock(T0);
    const provider = new Provider(clock);
    const store = faultyStore();
    const { router } = makeRouter(provider, store, 'a', pushThenSms);
    provider.scripts.set('push', [async (request) => ((store.mode = 'down'), `push:${request.idempotencyKey}`)]);
    const { cascadeId } = await router.send(message('k2'), RECIPIENT);
    await clock.advance(3 * MINUTE); // past push's 2 minutes, store down all along
    expect(provider.channels()).toEqual(['push']);
    store.mode = 'up';
    await clock.advance(5 * SECOND);
    const c = (await router.get(cascadeId))!;
    expect([c.attempts[0]!.providerMessageId, c.attempts[0]!.outcome, c.step]).toEqual([`push:${cascadeId}:0`, 'timeout', 1]);
    expect(provider.channels()).toEqual(['push', 'sms']);
  });

  it('is recognised when the store applied it but its answer was lost: events once, no second write', async () => {
    const clock = new SimulatedClock(T0);
    const provider = new Provider(clock);
    const store = faultyStore();
    const { router, events } = makeRouter(provider, store, 'a', pushThenSms);
    provider.scripts.set('push', [async (request) => ((store.mode = 'lose'), (store.only = new Set(['commit'])), `push:${request.idempotencyKey}`)]);
    const { cascadeId } = await router.send(message('k3'), RECIPIENT);
    await clock.advance(SECOND);
    store.mode = 'up';
    await clock.advance(5 * SECOND);
    expect(events.filter(([name]) => name === 'sent')).toHaveLength(1);
    expect(store.writes.filter(([, id]) => id === cascadeId)).toEqual([
      ['create', cascadeId, 1],
      ['commit', cascadeId, 2],
    ]);
    expect((await router.get(cascadeId))!.attempts[0]!.phase).toBe('waiting');
  });
});

describe('a create or claim the store applied although its answer was lost', () => {
  it("is sent when the caller retries send(): created, once, with the step's idempotency key", async () => {
    const clock = new SimulatedClock(T0);
    const provider = new Provider(clock);
    const store = faultyStore();
    const { router, events } = makeRouter(provider, store, 'a', pushThenSms);
    await clock.advance(SECOND); // past the router's first look for sends to take over
    store.mode = 'lose';
    store.only = new Set(['create']);
    await expect(router.send(message('k4'), RECIPIENT)).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    expect(provider.calls).toEqual([]);
    store.mode = 'up';
    const again = await router.send(message('k4'), RECIPIENT);
    expect([again.created, again.status]).toEqual([true, 'active']);
    await clock.advance(SECOND);
    expect(provider.calls.map((c) => [c.channel, c.key])).toEqual([['push', 'k4:0']]);
    expect(events.filter(([name]) => name === 'attempt')).toHaveLength(1);
    // A third call is an ordinary repeat.
    expect((await router.send(message('k4'), RECIPIENT)).created).toBe(false);
  });

  it('is sent by its own router within seconds when the caller does not retry', async () => {
    const clock = new SimulatedClock(T0);
    const provider = new Provider(clock);
    const store = faultyStore();
    const { router } = makeRouter(provider, store, 'a', pushThenSms);
    await clock.advance(SECOND);
    store.mode = 'lose';
    store.only = new Set(['create']);
    await expect(router.send(message('k5'), RECIPIENT)).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    store.only = new Set(['create', 'get', 'orphans']); // reads fail too: nothing is sent blind
    store.mode = 'down';
    await clock.advance(3 * SECOND);
    expect(provider.calls).toEqual([]);
    store.mode = 'up';
    await clock.advance(2 * SECOND);
    expect(provider.calls.map((c) => [c.channel, c.key])).toEqual([['push', 'k5:0']]);
    expect(provider.calls[0]!.at - T0).toBeLessThanOrEqual(6 * SECOND);
  });

  it('is sent with a fresh wait, not timed out unsent, when the store answers again only after its timer passed', async () => {
    const clock = new SimulatedClock(T0);
    const provider = new Provider(clock);
    const store = faultyStore();
    const { router, events } = makeRouter(provider, store, 'a', pushThenSms);
    await clock.advance(SECOND);
    store.mode = 'lose';
    store.only = new Set(['create']);
    await expect(router.send(message('k10'), RECIPIENT)).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    store.only = undefined;
    store.mode = 'down';
    await clock.advance(3 * MINUTE); // push's 2-minute timer passes while the store is away
    store.mode = 'up';
    await clock.advance(5 * SECOND);
    expect(provider.calls.map((c) => [c.channel, c.key])).toEqual([['push', 'k10:0']]);
    const c = (await router.get('k10'))!;
    const resentAt = provider.calls[0]!.at;
    expect([c.step, c.attempts[0]!.phase, c.attempts[0]!.outcome, c.timerAt]).toEqual([0, 'waiting', undefined, resentAt + 2 * MINUTE]);
    expect(events.filter(([name]) => name === 'resumed')).toHaveLength(1);
  });

  it('is sent when a timer claimed the next step in a write whose answer was lost', async () => {
    const clock = new SimulatedClock(T0);
    const provider = new Provider(clock);
    const store = faultyStore();
    const { router } = makeRouter(provider, store, 'a', pushThenSms);
    const { cascadeId } = await router.send(message('k6'), RECIPIENT);
    await clock.advance(2 * MINUTE - SECOND);
    store.mode = 'lose';
    store.only = new Set(['commit']);
    await clock.advance(SECOND); // push times out: sms claimed in a write whose answer is lost
    store.mode = 'up';
    await clock.advance(15 * SECOND);
    expect(provider.calls.map((c) => [c.channel, c.key])).toEqual([
      ['push', `${cascadeId}:0`],
      ['sms', `${cascadeId}:1`],
    ]);
  });
});

describe('receipts that came before the send returned', () => {
  it('are taken into the same change as the send result: no version in between shows the send without them', async () => {
    const clock = new SimulatedClock(T0);
    const provider = new Provider(clock);
    const store = faultyStore();
    const { router, events } = makeRouter(provider, store, 'a', pushThenSms);
    let answer!: () => void;
    provider.scripts.set('push', [(request) => new Promise((resolve) => (answer = () => resolve(`push:${request.idempotencyKey}`)))]);
    const { cascadeId } = await router.send(message('k7'), RECIPIENT);
    const pid = `push:${cascadeId}:0`;
    expect(await router.handleReceipt({ providerMessageId: pid, status: 'sent' })).toMatchObject({ outcome: 'held' });
    expect(await router.handleReceipt({ providerMessageId: pid, status: 'delivered' })).toMatchObject({ outcome: 'held' });
    answer();
    await clock.advance(SECOND);
    const c = (await router.get(cascadeId))!;
    expect([c.status, c.version, c.attempts[0]!.history.map((h) => h.status)]).toEqual(['delivered', 2, ['accepted', 'sent', 'delivered']]);
    expect(store.writes.filter(([, id]) => id === cascadeId).map(([, , v]) => v)).toEqual([1, 2]);
    expect(events.map(([name]) => name)).toEqual(['attempt', 'sent', 'receipt', 'receipt', 'delivered']);
    expect(await router.heldReceipts()).toEqual({ held: 0, expired: 0, evicted: 0 });
  });
});

describe('retries after another router ended the step (issue #12, D)', () => {
  /** wa (messenger, 2 min) then sms, whose first try fails transiently and is retried once after 20 s. */
  const waThenSms = (adapter: (channel: string) => (request: SendRequest) => Promise<string>): Record<string, ChannelConfig> => ({
    wa: { kind: 'messenger', cost: 0.01, billing: 'delivered', send: adapter('wa'), retry: false, confirm: { timeout: '2m' } },
    sms: { kind: 'sms', cost: 0.05, send: adapter('sms'), retry: { retries: 1, minDelay: '20s' }, confirm: { timeout: '5m' } },
  });

  /** Two routers on one store; the message's sms step is claimed by one (`owner`), its first try failed. */
  const setUp = async () => {
    const clock = new SimulatedClock(T0);
    const provider = new Provider(clock);
    const store = memoryStore();
    const routers = { A: makeRouter(provider, store, 'A', waThenSms).router, B: makeRouter(provider, store, 'B', waThenSms).router };
    provider.scripts.set('sms', [new SendError('503 from the provider')]);
    const { cascadeId } = await routers.B.send(message('k8'), { ...RECIPIENT, addresses: { wa: '+380671234567', sms: '+380671234567' } });
    await clock.advance(2 * MINUTE); // wa times out; a router claims sms; its first try fails
    expect(provider.calls.map((c) => [c.channel, c.try])).toEqual([
      ['wa', 1],
      ['sms', 1],
    ]);
    const owner = provider.calls[1]!.router as 'A' | 'B';
    return { clock, provider, owner, other: routers[owner === 'A' ? 'B' : 'A'], cascadeId };
  };

  it("does not send the retry once the other router applied a late delivered receipt of an earlier step", async () => {
    const { clock, provider, other, cascadeId } = await setUp();
    expect(await other.handleReceipt({ providerMessageId: `wa:${cascadeId}:0`, status: 'delivered' })).toMatchObject({ outcome: 'applied', late: true, status: 'delivered' });
    await clock.advance(MINUTE);
    expect(provider.calls.map((c) => [c.channel, c.try])).toEqual([
      ['wa', 1],
      ['sms', 1],
    ]);
    expect((await other.get(cascadeId))!.spendMicros).toBe(10_000); // the wa message, delivered; no SMS billed
  });

  it('does not send the retry once the other router cancelled the cascade', async () => {
    const { clock, provider, other, cascadeId } = await setUp();
    expect(await other.cancel(cascadeId)).toMatchObject({ outcome: 'cancelled' });
    await clock.advance(MINUTE);
    expect(provider.calls.map((c) => c.channel)).toEqual(['wa', 'sms']);
  });

  it('sends the retry when nothing ended the step, in the name of the router that claimed it', async () => {
    const { clock, provider, owner } = await setUp();
    await clock.advance(MINUTE);
    expect(provider.calls.map((c) => [c.router, c.channel, c.try, c.at - T0])).toEqual([
      ['B', 'wa', 1, 0],
      [owner, 'sms', 1, 2 * MINUTE],
      [owner, 'sms', 2, 2 * MINUTE + 20 * SECOND],
    ]);
  });
});

/** The cascade as the inner store has it, read through the faulty one once it answers. */
async function memoryView(store: ReturnType<typeof faultyStore>, id: string) {
  const mode = store.mode;
  store.mode = 'up';
  const c = await store.get(id);
  store.mode = mode;
  return c!;
}

describe('a receipt held for a step whose timeout comes due around the moment its send returns', () => {
  const stores: [string, () => Promise<{ store: CascadeStore; drop: () => Promise<void> }>][] = [
    ['memory', async () => ({ store: memoryStore(), drop: async () => {} })],
    [
      'Redis',
      async () => {
        const { redisStore } = await import('cascade-router/redis');
        const { REDIS_URL, dropPrefix, uniquePrefix, redisAnswers } = await import('./redis/helpers.js');
        if (!(await redisAnswers())) throw new Error(`no Redis at ${REDIS_URL}`);
        const prefix = uniquePrefix('held-timeout');
        const store = redisStore({ url: REDIS_URL, prefix, pollMs: 0 });
        const { Redis } = await import('ioredis');
        const drop = async (): Promise<void> => {
          const admin = new Redis(REDIS_URL);
          await dropPrefix(admin, prefix);
          await admin.quit();
        };
        return { store, drop };
      },
    ],
  ];

  /** The push API answers `answerMs` after the send; its delivered receipt came at one minute. */
  const run = async (make: (typeof stores)[number][1], answerMs: number) => {
    const { store, drop } = await make();
    try {
      const clock = new SimulatedClock(T0);
      const provider = new Provider(clock);
      const { router } = makeRouter(provider, store, 'a', pushThenSms);
      provider.scripts.set('push', [async (request) => (await sleep(clock, answerMs), `push:${request.idempotencyKey}`)]);
      const { cascadeId } = await router.send(message('k9'), RECIPIENT);
      await clock.advance(MINUTE);
      expect(await router.handleReceipt({ providerMessageId: `push:${cascadeId}:0`, status: 'delivered' })).toMatchObject({ outcome: 'held' });
      await clock.advance(2 * MINUTE);
      const c = (await router.get(cascadeId))!;
      return { push: [c.status, c.attempts[0]!.outcome, c.attempts[0]!.late, c.deliveredStep], sms: c.attempts[1]?.outcome, channels: provider.channels() };
    } finally {
      await drop();
    }
  };

  for (const [name, make] of stores) {
    it(`on ${name}, is delivered in time with the send result stored just before the timeout`, async () => {
      expect(await run(make, 2 * MINUTE - 1)).toEqual({ push: ['delivered', 'delivered', undefined, 0], sms: undefined, channels: ['push'] });
    });

    it(`on ${name}, is late when the timeout was stored first: the cascade had moved on`, async () => {
      expect(await run(make, 2 * MINUTE + 1)).toEqual({ push: ['delivered', 'timeout', true, 0], sms: 'superseded', channels: ['push', 'sms'] });
    });
  }
});

describe('a claim whose answer reaches its router late (a store or event loop that lagged)', () => {
  /**
   * Router A times push out and claims sms; the store applies the claim but its answer reaches A only after
   * `lagMs` of simulated time, and meanwhile router B applies push's late delivered receipt (which supersedes
   * sms). A sees time through a view of the clock that the clock does not wait for (a held answer would
   * otherwise stop `advance`); `a.settled()` then waits for what A started.
   */
  const run = async (lagMs: number, receipt: boolean) => {
    const clock = new SimulatedClock(T0);
    const provider = new Provider(clock);
    const inner = memoryStore();
    let claimed!: () => void;
    const claim = new Promise<void>((resolve) => (claimed = resolve));
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let holding = true;
    // A's view of the store: the commit that claims sms is applied, then its answer waits for `release`.
    const lagging: CascadeStore = {
      ...inner,
      async commit(...args: Parameters<CascadeStore['commit']>) {
        const answer = await inner.commit(...args);
        if (holding && args[0].attempts[1]?.phase === 'sending') {
          holding = false;
          claimed();
          await held;
        }
        return answer;
      },
    };
    const view = { now: () => clock.now(), setTimer: clock.setTimer.bind(clock), clearTimer: clock.clearTimer.bind(clock) };
    const a = createRouter({ channels: pushThenSms((channel) => provider.adapter('A', channel)), store: lagging, clock: view, instanceId: 'A' });
    routers.push(a);
    const { cascadeId } = await a.send(message('k10'), RECIPIENT);
    await a.settled();
    await clock.advance(2 * MINUTE); // push times out on A, which claims sms; the answer is held
    await claim;
    const { router: b } = makeRouter(provider, inner, 'B', pushThenSms);
    if (receipt) expect(await b.handleReceipt({ providerMessageId: `push:${cascadeId}:0`, status: 'delivered' })).toMatchObject({ outcome: 'applied', late: true });
    await clock.advance(lagMs);
    release();
    await a.settled();
    return { channels: provider.channels(), status: (await b.get(cascadeId))!.status };
  };

  it('is asked about again before it is sent when it is more than 100 ms old: a late delivered receipt applied meanwhile wins', async () => {
    expect(await run(101, true)).toEqual({ channels: ['push'], status: 'delivered' });
  });

  it('is sent at once when it is 100 ms old or less (no round trip), and after any lag when nothing ended its step', async () => {
    expect(await run(100, true)).toEqual({ channels: ['push', 'sms'], status: 'delivered' });
    expect(await run(5 * SECOND, false)).toEqual({ channels: ['push', 'sms'], status: 'active' });
  });
});
