/**
 * The router's runtime semantics (DESIGN.md "Semantics that must hold") with a SimulatedClock and fake
 * adapters: no wall clock, no sleeps. Each adapter call is recorded with the simulated time it happened at.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  classifySendError,
  createRouter,
  InvalidConfigError,
  InvalidInputError,
  InvalidReceiptError,
  isCascadeRouterError,
  memoryStore,
  planCascade,
  RouterClosedError,
  SendError,
  SimulatedClock,
  type Cascade,
  type CascadeStore,
  type ChannelConfig,
  type Message,
  type Receipt,
  type Recipient,
  type Router,
  type RouterEvents,
  type SendFunction,
  type SendReceipt,
  type SendRequest,
  type SendResult,
} from 'cascade-router';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const T0 = Date.UTC(2026, 0, 8, 10, 0);

type EventName = keyof RouterEvents;
type EventOf<K extends EventName> = Parameters<RouterEvents[K]>[0];
const EVENT_NAMES: readonly EventName[] = ['planned', 'skipped', 'attempt', 'resumed', 'sent', 'receipt', 'fallback', 'delivered', 'late-receipt', 'exhausted', 'cancelled', 'expired', 'error'];

/** What the fake provider does with one call; the default resolves with `<channel>-<n>`. */
type Script = (request: SendRequest) => Promise<SendResult> | SendResult;

interface Call {
  readonly channel: string;
  readonly at: number;
  readonly key: string;
  readonly try: number;
  readonly address: string;
  readonly text: string;
  readonly request: SendRequest;
}

interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const RECIPIENT: Recipient = {
  id: 'olena',
  addresses: { push: 'device-token', email: 'olena@example.com', viber: '+380671234567', sms: '+380671234567' },
};

const MESSAGE: Message = { key: 'order-1', category: 'transactional', content: { text: 'Your order is ready' } };

type ChannelsFor = (adapter: (name: string) => SendFunction) => Record<string, ChannelConfig>;

const defaultChannels: ChannelsFor = (adapter) => ({
  push: { kind: 'push', cost: 0, send: adapter('push'), confirm: { timeout: '2m' } },
  email: { kind: 'email', cost: 0.001, send: adapter('email'), confirm: { timeout: '30m' } },
  viber: { kind: 'messenger', cost: 0.02, billing: 'delivered', send: adapter('viber'), confirm: { timeout: '10m' } },
  sms: { kind: 'sms', cost: 0.05, send: adapter('sms'), confirm: { timeout: '5m' }, retry: { retries: 3, minDelay: '1s', factor: 3, maxDelay: '1m' } },
});

class Harness {
  readonly clock: SimulatedClock;
  readonly store: CascadeStore;
  readonly calls: Call[] = [];
  readonly events: [EventName, unknown][] = [];
  readonly router: Router;
  readonly channels: Record<string, ChannelConfig>;
  readonly #scripts = new Map<string, Script[]>();
  readonly #counts = new Map<string, number>();

  constructor(
    options: { channels?: ChannelsFor; store?: CascadeStore; clock?: SimulatedClock; holdUnknownReceipts?: string; listen?: boolean; instanceId?: string; instanceTtl?: string } = {},
  ) {
    this.clock = options.clock ?? new SimulatedClock(T0);
    this.store = options.store ?? memoryStore();
    this.channels = (options.channels ?? defaultChannels)((name) => this.adapter(name));
    this.router = createRouter({
      channels: this.channels,
      store: this.store,
      clock: this.clock,
      ...(options.holdUnknownReceipts === undefined ? {} : { holdUnknownReceipts: options.holdUnknownReceipts }),
      ...(options.instanceId === undefined ? {} : { instanceId: options.instanceId }),
      ...(options.instanceTtl === undefined ? {} : { instanceTtl: options.instanceTtl }),
    });
    if (options.listen !== false) {
      for (const name of EVENT_NAMES) this.router.on(name, (event: unknown) => void this.events.push([name, event]));
    }
    harnesses.push(this);
  }

  adapter(name: string): SendFunction {
    return async (request) => {
      const n = (this.#counts.get(name) ?? 0) + 1;
      this.#counts.set(name, n);
      this.calls.push({ channel: name, at: this.clock.now(), key: request.idempotencyKey, try: request.try, address: request.address, text: request.content.text, request });
      const script = this.#scripts.get(name)?.shift();
      return script ? script(request) : `${name}-${n}`;
    };
  }

  /** Queues what the next calls to `channel` do, in order. */
  script(channel: string, ...scripts: Script[]): void {
    this.#scripts.set(channel, [...(this.#scripts.get(channel) ?? []), ...scripts]);
  }

  async send(message: Partial<Message> = {}, recipient: Partial<Recipient> = {}): Promise<SendReceipt> {
    const result = await this.router.send({ ...MESSAGE, ...message }, { ...RECIPIENT, ...recipient });
    await this.clock.settle();
    return result;
  }

  async receipt(providerMessageId: string, status: Receipt['status'], extra: Partial<Receipt> = {}): ReturnType<Router['handleReceipt']> {
    const result = await this.router.handleReceipt({ providerMessageId, status, ...extra });
    await this.clock.settle();
    return result;
  }

  async cascade(id: string): Promise<Cascade> {
    const c = await this.router.get(id);
    if (!c) throw new Error(`no cascade ${id}`);
    return c;
  }

  channelsCalled(): string[] {
    return this.calls.map((c) => c.channel);
  }

  eventsOf<K extends EventName>(name: K): EventOf<K>[] {
    return this.events.filter(([n]) => n === name).map(([, e]) => e as EventOf<K>);
  }

  eventTypes(): string[] {
    return this.events.map(([n]) => n);
  }
}

const harnesses: Harness[] = [];
afterEach(async () => {
  for (const h of harnesses.splice(0)) await h.router.close();
});

const throwing = (error: unknown): Script => () => {
  throw error;
};

describe('a positive receipt ends the cascade', () => {
  it('ends it as delivered and sends nothing after it', async () => {
    const h = new Harness();
    const { cascadeId, created, status, plan } = await h.send();
    expect([created, status, plan.steps.map((s) => s.channel)]).toEqual([true, 'active', ['push', 'email', 'viber', 'sms']]);
    expect(h.calls.map((c) => [c.channel, c.at, c.key, c.try, c.address, c.text])).toEqual([
      ['push', T0, `${cascadeId}:0`, 1, 'device-token', 'Your order is ready'],
    ]);

    await h.clock.advance(30 * SECOND);
    expect(await h.receipt('push-1', 'delivered')).toEqual({ outcome: 'applied', cascadeId, channel: 'push', status: 'delivered', late: false });

    await h.clock.advance(DAY);
    expect(h.channelsCalled()).toEqual(['push']);
    const c = await h.cascade(cascadeId);
    expect([c.status, c.endedAt, c.attempts.length, c.spendMicros, c.timerAt]).toEqual(['delivered', T0 + 30 * SECOND, 1, 0, undefined]);
    expect(h.eventTypes()).toEqual(['planned', 'attempt', 'sent', 'receipt', 'delivered']);
  });

  it('falls back on the step timeout, exactly when it is due', async () => {
    const h = new Harness();
    const { cascadeId } = await h.send();
    await h.clock.advance(2 * MINUTE - 1);
    expect(h.channelsCalled()).toEqual(['push']);
    await h.clock.advance(1);
    expect(h.calls.map((c) => [c.channel, c.at])).toEqual([
      ['push', T0],
      ['email', T0 + 2 * MINUTE],
    ]);
    expect(h.eventsOf('fallback').map((e) => [e.channel, e.reason, e.next])).toEqual([['push', 'timeout', 'email']]);
    expect((await h.cascade(cascadeId)).attempts.map((a) => a.outcome)).toEqual(['timeout', undefined]);
  });

  it('starts at sendAt and not before', async () => {
    const h = new Harness();
    const { status } = await h.send({ sendAt: T0 + HOUR });
    expect(status).toBe('scheduled');
    await h.clock.advance(HOUR - 1);
    expect(h.calls).toEqual([]);
    await h.clock.advance(1);
    expect(h.calls.map((c) => [c.channel, c.at])).toEqual([['push', T0 + HOUR]]);
  });

  it('expires at the deadline and sends nothing after it', async () => {
    const h = new Harness();
    const { cascadeId, plan } = await h.send({ channels: ['email', 'sms'], deadline: '2m', policy: { order: 'message' } });
    // SMS, the last resort, keeps half the deadline (its receipts' latency unknown); email waits the rest.
    expect(plan.steps.map((s) => [s.channel, s.waitMs])).toEqual([['email', MINUTE], ['sms', MINUTE]]);
    await h.clock.advance(DAY);
    expect(h.channelsCalled()).toEqual(['email', 'sms']);
    const c = await h.cascade(cascadeId);
    expect([c.status, c.endedAt, c.attempts.map((a) => a.outcome)]).toEqual(['expired', T0 + 2 * MINUTE, ['timeout', 'timeout']]);
    expect(h.eventsOf('expired').map((e) => [e.cascadeId, e.at])).toEqual([[cascadeId, T0 + 2 * MINUTE]]);
  });

  it("counts the provider's acceptance as delivery for a channel confirming by acceptance", async () => {
    const h = new Harness({
      channels: (adapter) => ({
        telegram: { kind: 'messenger', cost: 0.001, send: adapter('telegram'), confirm: { by: 'acceptance' } },
        sms: { kind: 'sms', cost: 0.05, send: adapter('sms') },
      }),
    });
    const { cascadeId } = await h.send({}, { addresses: { telegram: '42', sms: '+1' } });
    const c = await h.cascade(cascadeId);
    expect([c.status, c.spendMicros, c.attempts.map((a) => a.outcome)]).toEqual(['delivered', 1_000, ['delivered']]);
    await h.clock.advance(DAY);
    expect(h.channelsCalled()).toEqual(['telegram']);
  });
});

describe('duplicate, late and out-of-order receipts', () => {
  it('never cause a second fallback or a second send', async () => {
    const h = new Harness();
    const { cascadeId } = await h.send();
    expect(await h.receipt('push-1', 'failed')).toEqual({ outcome: 'applied', cascadeId, channel: 'push', status: 'active', late: false });
    expect(h.channelsCalled()).toEqual(['push', 'email']);

    expect(await h.receipt('push-1', 'failed')).toEqual({ outcome: 'duplicate', cascadeId, channel: 'push', status: 'active' });
    expect(await h.receipt('push-1', 'delivered')).toEqual({ outcome: 'stale', cascadeId, channel: 'push', status: 'active' });
    expect(await h.receipt('push-1', 'sent')).toEqual({ outcome: 'stale', cascadeId, channel: 'push', status: 'active' });

    expect(await h.receipt('email-1', 'delivered')).toEqual({ outcome: 'applied', cascadeId, channel: 'email', status: 'delivered', late: false });
    expect(await h.receipt('email-1', 'delivered')).toEqual({ outcome: 'duplicate', cascadeId, channel: 'email', status: 'delivered' });
    expect(await h.receipt('email-1', 'sent')).toEqual({ outcome: 'stale', cascadeId, channel: 'email', status: 'delivered' });
    expect(await h.receipt('email-1', 'failed')).toEqual({ outcome: 'stale', cascadeId, channel: 'email', status: 'delivered' });

    await h.clock.advance(DAY);
    expect(h.channelsCalled()).toEqual(['push', 'email']);
    expect(h.eventsOf('fallback').length).toBe(1);
    expect(h.eventsOf('delivered').length).toBe(1);
    const c = await h.cascade(cascadeId);
    expect(c.attempts.map((a) => [a.channel, a.status, a.outcome])).toEqual([
      ['push', 'failed', 'failed'],
      ['email', 'delivered', 'delivered'],
    ]);
  });

  it('records a failed receipt for a step that already timed out without falling back again', async () => {
    const h = new Harness();
    const { cascadeId } = await h.send();
    await h.clock.advance(2 * MINUTE);
    expect(h.channelsCalled()).toEqual(['push', 'email']);
    expect(await h.receipt('push-1', 'failed')).toEqual({ outcome: 'applied', cascadeId, channel: 'push', status: 'active', late: false });
    await h.clock.advance(MINUTE);
    expect(h.channelsCalled()).toEqual(['push', 'email']);
    expect(h.eventsOf('fallback').map((e) => e.reason)).toEqual(['timeout']);
    const c = await h.cascade(cascadeId);
    expect([c.step, c.attempts[0]!.status, c.attempts[0]!.outcome]).toEqual([1, 'failed', 'timeout']);
  });

  it('takes a delivered receipt before a sent one, and the sent one as stale', async () => {
    const h = new Harness();
    const { cascadeId } = await h.send();
    expect((await h.receipt('push-1', 'delivered')).outcome).toBe('applied');
    expect(await h.receipt('push-1', 'sent')).toEqual({ outcome: 'stale', cascadeId, channel: 'push', status: 'delivered' });
    expect((await h.cascade(cascadeId)).attempts[0]!.status).toBe('delivered');
  });

  it('records a read after the delivered that ended the cascade, without calling it late', async () => {
    const h = new Harness();
    const { cascadeId } = await h.send();
    await h.receipt('push-1', 'delivered');
    expect(await h.receipt('push-1', 'read')).toEqual({ outcome: 'applied', cascadeId, channel: 'push', status: 'delivered', late: false });
    expect(h.eventsOf('late-receipt')).toEqual([]);
  });
});

describe('a receipt that arrives before send() returned its id', () => {
  it('is held and applied once the id is known', async () => {
    const h = new Harness();
    const pending = deferred<SendResult>();
    h.script('push', () => pending.promise);
    const { cascadeId } = await h.send();
    expect(h.channelsCalled()).toEqual(['push']);

    await h.clock.advance(5 * SECOND);
    expect(await h.receipt('push-early', 'sent', { at: T0 + 4 * SECOND })).toEqual({
      outcome: 'held',
      providerMessageId: 'push-early',
      heldUntil: T0 + 5 * SECOND + 10 * MINUTE,
    });
    expect(await h.receipt('push-early', 'delivered', { at: T0 + 6 * SECOND })).toEqual({
      outcome: 'held',
      providerMessageId: 'push-early',
      heldUntil: T0 + 5 * SECOND + 10 * MINUTE,
    });
    expect((await h.cascade(cascadeId)).attempts[0]!.phase).toBe('sending');

    await h.clock.advance(5 * SECOND);
    pending.resolve('push-early');
    await h.clock.settle();

    const c = await h.cascade(cascadeId);
    expect(c.status).toBe('delivered');
    expect(c.attempts[0]!.providerMessageId).toBe('push-early');
    expect(c.attempts[0]!.history).toEqual([
      { status: 'accepted', at: T0 + 10 * SECOND, source: 'send' },
      { status: 'sent', at: T0 + 4 * SECOND, source: 'receipt' },
      { status: 'delivered', at: T0 + 6 * SECOND, source: 'receipt' },
    ]);
    expect(h.eventsOf('receipt').map((e) => e.status)).toEqual(['sent', 'delivered']);
    await h.clock.advance(DAY);
    expect(h.channelsCalled()).toEqual(['push']);
  });

  it('holds it for as long as holdUnknownReceipts says', async () => {
    const h = new Harness({ holdUnknownReceipts: '1m' });
    await h.send();
    expect(await h.receipt('whose', 'delivered')).toEqual({ outcome: 'held', providerMessageId: 'whose', heldUntil: T0 + MINUTE });
  });
});

describe('unknown and malformed receipts', () => {
  it("answers an unknown id with outcome 'held' and changes nothing", async () => {
    const h = new Harness();
    const { cascadeId } = await h.send();
    const before = await h.cascade(cascadeId);
    expect(await h.receipt('nobody-sent-this', 'delivered')).toEqual({ outcome: 'held', providerMessageId: 'nobody-sent-this', heldUntil: T0 + 10 * MINUTE });
    expect(await h.cascade(cascadeId)).toEqual(before);
    expect(h.eventTypes()).toEqual(['planned', 'attempt', 'sent']);
  });

  it('throws InvalidReceiptError (code INVALID_RECEIPT) for a malformed receipt and changes nothing', async () => {
    const h = new Harness();
    const { cascadeId } = await h.send();
    const before = await h.cascade(cascadeId);
    const bad: unknown[] = [
      { providerMessageId: 'push-1', status: 'bounced' },
      { providerMessageId: '', status: 'delivered' },
      { status: 'delivered' },
      { providerMessageId: 42, status: 'delivered' },
      { providerMessageId: 'push-1', status: 'delivered', at: 'yesterday' },
      { providerMessageId: 'push-1', status: 'delivered', price: '-0.01' },
      { providerMessageId: 'push-1', status: 'delivered', price: 'cheap' },
      null,
      'push-1 delivered',
    ];
    for (const receipt of bad) {
      const error = await h.router.handleReceipt(receipt as Receipt).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error, JSON.stringify(receipt)).toBeInstanceOf(InvalidReceiptError);
      expect((error as InvalidReceiptError).code).toBe('INVALID_RECEIPT');
      expect(isCascadeRouterError(error)).toBe(true);
    }
    await expect(h.router.handleReceipt({ providerMessageId: 'push-1', status: 'bounced' } as unknown as Receipt)).rejects.toThrow(/`status`/);
    await expect(h.router.handleReceipt({ providerMessageId: 'push-1', status: 'delivered', price: '-1' })).rejects.toThrow(/price/);
    await h.clock.settle();
    expect(await h.cascade(cascadeId)).toEqual(before);
    expect(h.eventTypes()).toEqual(['planned', 'attempt', 'sent']);
  });
});

describe('a late positive receipt', () => {
  it("is recorded and reported with a 'late-receipt' event carrying the exact double spend", async () => {
    const h = new Harness();
    const { cascadeId } = await h.send({ channels: ['push', 'email', 'sms'] });
    await h.clock.advance(2 * MINUTE); // push timed out → email (0.001, billed on send)
    await h.receipt('email-1', 'failed'); // bounced → sms (0.05, billed on send)
    expect(h.channelsCalled()).toEqual(['push', 'email', 'sms']);
    await h.clock.advance(MINUTE);

    expect(await h.receipt('push-1', 'delivered')).toEqual({ outcome: 'applied', cascadeId, channel: 'push', status: 'delivered', late: true });
    const [late] = h.eventsOf('late-receipt');
    // The email bounced and the SMS has not reached the phone: nothing paid twice yet.
    expect(late).toMatchObject({ cascadeId, step: 0, channel: 'push', status: 'delivered', doubleSpend: '0.00', spend: '0.051', at: T0 + 3 * MINUTE });
    expect(h.eventsOf('late-receipt').length).toBe(1);
    expect(h.eventsOf('delivered').map((e) => [e.channel, e.late])).toEqual([['push', true]]);
    const c = await h.cascade(cascadeId);
    expect([c.status, c.deliveredStep, c.spendMicros, c.doubleSpendMicros]).toEqual(['delivered', 0, 51_000, 0]);
    expect(c.attempts.map((a) => [a.channel, a.outcome, a.late])).toEqual([
      ['push', 'timeout', true],
      ['email', 'failed', undefined],
      ['sms', 'superseded', undefined],
    ]);
    // The SMS reaches the phone after the push did: that SMS was paid for nothing.
    await h.clock.advance(10_000);
    await h.receipt('sms-1', 'delivered');
    expect(h.eventsOf('late-receipt').map((e) => [e.channel, e.doubleSpend])).toEqual([['push', '0.00'], ['sms', '0.05']]);
    expect((await h.cascade(cascadeId)).doubleSpendMicros).toBe(50_000);
    await h.clock.advance(DAY);
    expect(h.channelsCalled()).toEqual(['push', 'email', 'sms']);
  });

  it('is reported on an exhausted cascade, whose status stays exhausted', async () => {
    const h = new Harness();
    const { cascadeId } = await h.send({ channels: ['push', 'sms'] });
    await h.clock.advance(2 * MINUTE + 5 * MINUTE);
    expect((await h.cascade(cascadeId)).status).toBe('exhausted');
    expect(await h.receipt('push-1', 'delivered')).toEqual({ outcome: 'applied', cascadeId, channel: 'push', status: 'exhausted', late: true });
    // The SMS never reached the phone: it was wasted, but not paid twice.
    expect(h.eventsOf('late-receipt').map((e) => [e.channel, e.doubleSpend])).toEqual([['push', '0.00']]);
    expect(h.eventsOf('delivered')).toEqual([]);
    const c = await h.cascade(cascadeId);
    expect([c.status, c.deliveredStep, c.doubleSpendMicros]).toEqual(['exhausted', 0, 0]);
  });
});

describe('send errors', () => {
  const smsOnly = { channels: ['sms', 'email'], policy: { order: 'message' } } as const satisfies Partial<Message>;

  it('retries a transient error with exponential backoff on the simulated clock (minDelay 1s, factor 3)', async () => {
    const h = new Harness();
    h.script('sms', throwing(new SendError('busy')), throwing(new SendError('busy')), throwing(new SendError('busy')));
    const { cascadeId } = await h.send(smsOnly);
    await h.clock.advance(MINUTE);
    expect(h.calls.map((c) => [c.channel, c.at - T0, c.try, c.key])).toEqual([
      ['sms', 0, 1, `${cascadeId}:0`],
      ['sms', 1 * SECOND, 2, `${cascadeId}:0`],
      ['sms', 4 * SECOND, 3, `${cascadeId}:0`],
      ['sms', 13 * SECOND, 4, `${cascadeId}:0`],
    ]);
    const c = await h.cascade(cascadeId);
    expect([c.status, c.attempts[0]!.providerMessageId, c.attempts[0]!.phase, c.spendMicros]).toEqual(['active', 'sms-4', 'waiting', 50_000]);
    expect(h.eventsOf('fallback')).toEqual([]);
  });

  it('caps the backoff at maxDelay', async () => {
    const h = new Harness({
      channels: (adapter) => ({
        sms: { kind: 'sms', cost: 0.05, send: adapter('sms'), retry: { retries: 4, minDelay: '1s', factor: 3, maxDelay: '5s' } },
      }),
    });
    h.script('sms', ...Array.from({ length: 4 }, () => throwing(new SendError('busy'))));
    await h.send({}, { addresses: { sms: '+1' } });
    await h.clock.advance(MINUTE);
    expect(h.calls.map((c) => c.at - T0)).toEqual([0, 1 * SECOND, 4 * SECOND, 9 * SECOND, 14 * SECOND]);
  });

  it('falls back once the retries are used up', async () => {
    const h = new Harness();
    h.script('sms', ...Array.from({ length: 4 }, () => throwing(new SendError('busy', { providerCode: 'THROTTLED' }))));
    const { cascadeId } = await h.send(smsOnly);
    await h.clock.advance(MINUTE);
    expect(h.calls.map((c) => [c.channel, c.at - T0])).toEqual([
      ['sms', 0],
      ['sms', 1 * SECOND],
      ['sms', 4 * SECOND],
      ['sms', 13 * SECOND],
      ['email', 13 * SECOND],
    ]);
    expect(h.eventsOf('fallback').map((e) => [e.channel, e.reason, e.next])).toEqual([['sms', 'send-error', 'email']]);
    const c = await h.cascade(cascadeId);
    expect(c.attempts[0]).toMatchObject({ outcome: 'send-error', error: { message: 'busy', code: 'THROTTLED' }, billed: false, costMicros: 0 });
  });

  it('waits at least the Retry-After of a SendError, and the backoff when it is longer', async () => {
    const h = new Harness();
    h.script('sms', throwing(new SendError('slow down', { retryAfterMs: 30_000 })), throwing(new SendError('slow down', { retryAfterMs: 500 })));
    await h.send(smsOnly);
    await h.clock.advance(MINUTE);
    expect(h.calls.map((c) => [c.at - T0, c.try])).toEqual([
      [0, 1],
      [30 * SECOND, 2],
      [33 * SECOND, 3],
    ]);
  });

  it('retries an error carrying HTTP status 429 (honouring retryAfterMs) or statusCode 503', async () => {
    const h = new Harness();
    h.script(
      'sms',
      throwing(Object.assign(new Error('Too Many Requests'), { status: 429, retryAfterMs: 7_000 })),
      throwing(Object.assign(new Error('Service Unavailable'), { statusCode: 503 })),
    );
    const { cascadeId } = await h.send(smsOnly);
    await h.clock.advance(MINUTE);
    expect(h.calls.map((c) => [c.channel, c.at - T0, c.try])).toEqual([
      ['sms', 0, 1],
      ['sms', 7 * SECOND, 2],
      ['sms', 10 * SECOND, 3],
    ]);
    expect((await h.cascade(cascadeId)).attempts[0]!.providerMessageId).toBe('sms-3');
  });

  it('retries a plain (non-Error) object with status 429 or statusCode 503 the same way', async () => {
    const h = new Harness();
    h.script('sms', throwing({ status: 429, retryAfterMs: 2_000, message: 'Too Many Requests' }), throwing({ statusCode: 503, message: 'Service Unavailable' }));
    const { cascadeId } = await h.send(smsOnly);
    await h.clock.advance(MINUTE);
    expect(h.calls.map((c) => [c.channel, c.at - T0, c.try])).toEqual([
      ['sms', 0, 1],
      ['sms', 2 * SECOND, 2],
      ['sms', 5 * SECOND, 3],
    ]);
    expect((await h.cascade(cascadeId)).attempts[0]!.providerMessageId).toBe('sms-3');
  });

  it('retries a network error: a Node error code, and the TypeError that fetch() throws when the connection fails', async () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:443'), { code: 'ECONNREFUSED' });
    const h = new Harness();
    h.script('sms', throwing(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })), throwing(new TypeError('fetch failed', { cause: refused })));
    const { cascadeId } = await h.send(smsOnly);
    await h.clock.advance(MINUTE);
    expect(h.calls.map((c) => [c.channel, c.at - T0, c.try])).toEqual([
      ['sms', 0, 1],
      ['sms', 1 * SECOND, 2],
      ['sms', 4 * SECOND, 3],
    ]);
    expect((await h.cascade(cascadeId)).attempts[0]!.providerMessageId).toBe('sms-3');
  });

  it('falls back at once on a plain error object with status 400, recording its message', async () => {
    const h = new Harness();
    h.script('sms', throwing({ status: 400, message: 'Invalid phone number', code: '21211' }));
    const { cascadeId } = await h.send(smsOnly);
    expect(h.channelsCalled()).toEqual(['sms', 'email']);
    expect((await h.cascade(cascadeId)).attempts[0]!.error).toEqual({ message: 'Invalid phone number', code: '21211', fault: 'recipient' });
  });

  it('falls back at once on a permanent SendError', async () => {
    const h = new Harness();
    h.script('sms', throwing(new SendError('invalid number', { permanent: true, providerCode: '21211' })));
    const { cascadeId } = await h.send(smsOnly);
    expect(h.calls.map((c) => [c.channel, c.at])).toEqual([
      ['sms', T0],
      ['email', T0],
    ]);
    const c = await h.cascade(cascadeId);
    expect(c.attempts[0]).toMatchObject({ outcome: 'send-error', error: { message: 'invalid number', code: '21211' } });
    expect(h.eventsOf('fallback').map((e) => [e.channel, e.reason, e.next, e.at])).toEqual([['sms', 'send-error', 'email', T0]]);
  });

  it('falls back at once on an error with HTTP status 400, and on a permanent error during retries', async () => {
    const h = new Harness();
    h.script('sms', throwing(Object.assign(new Error('Bad Request'), { status: 400 })));
    await h.send(smsOnly);
    expect(h.calls.map((c) => [c.channel, c.at])).toEqual([
      ['sms', T0],
      ['email', T0],
    ]);

    const h2 = new Harness();
    h2.script('sms', throwing(new SendError('busy')), throwing(new SendError('unsubscribed', { permanent: true })));
    await h2.send(smsOnly);
    await h2.clock.advance(MINUTE);
    expect(h2.calls.map((c) => [c.channel, c.at - T0])).toEqual([
      ['sms', 0],
      ['sms', SECOND],
      ['email', SECOND],
    ]);
  });
});

describe('send timing against the step', () => {
  const smsOnly = { channels: ['sms', 'email'], policy: { order: 'message' } } as const satisfies Partial<Message>;

  it('stops retrying when the step times out during a backoff, and falls back', async () => {
    const h = new Harness();
    h.script('sms', throwing(new SendError('slow down', { retryAfterMs: 10 * MINUTE })));
    const { cascadeId } = await h.send(smsOnly);
    await h.clock.advance(20 * MINUTE);
    expect(h.calls.map((c) => [c.channel, c.at - T0])).toEqual([
      ['sms', 0],
      ['email', 5 * MINUTE],
    ]);
    expect((await h.cascade(cascadeId)).attempts[0]!.outcome).toBe('timeout');
    expect(h.eventsOf('fallback').map((e) => [e.channel, e.reason])).toEqual([['sms', 'timeout']]);
  });

  it('stops retrying when the cascade is cancelled during a backoff', async () => {
    const h = new Harness();
    h.script('sms', throwing(new SendError('busy')));
    const { cascadeId } = await h.send(smsOnly);
    await h.clock.advance(500);
    await h.router.cancel(cascadeId);
    await h.clock.advance(HOUR);
    expect(h.channelsCalled()).toEqual(['sms']);
    expect((await h.cascade(cascadeId)).status).toBe('cancelled');
  });

  it('keeps the id of a send that returned after its step timed out, so its late receipt still counts', async () => {
    const h = new Harness();
    const slow = deferred<SendResult>();
    h.script('push', () => slow.promise);
    const { cascadeId } = await h.send({ channels: ['push', 'sms'] });
    await h.clock.advance(2 * MINUTE);
    expect(h.channelsCalled()).toEqual(['push', 'sms']);
    await h.clock.advance(MINUTE);
    slow.resolve('push-slow');
    await h.clock.settle();
    expect((await h.cascade(cascadeId)).attempts[0]!.providerMessageId).toBe('push-slow');
    expect(await h.receipt('push-slow', 'delivered')).toEqual({ outcome: 'applied', cascadeId, channel: 'push', status: 'delivered', late: true });
    expect(h.eventsOf('late-receipt').map((e) => e.doubleSpend)).toEqual(['0.00']);
    await h.receipt('sms-1', 'delivered'); // the SMS reached the phone after the push: paid twice
    expect(h.eventsOf('late-receipt').map((e) => e.doubleSpend)).toEqual(['0.00', '0.05']);
  });

  it("bills the provider's reported price, from send() or from the receipt", async () => {
    const h = new Harness();
    h.script('sms', () => ({ providerMessageId: 'sms-priced', price: '0.045' }));
    const { cascadeId } = await h.send({ channels: ['sms'] });
    expect((await h.cascade(cascadeId)).spendMicros).toBe(45_000);
    await h.receipt('sms-priced', 'delivered', { price: 0.0425 });
    expect((await h.cascade(cascadeId)).spendMicros).toBe(42_500);
    expect(h.eventsOf('delivered').map((e) => e.spend)).toEqual(['0.0425']);
  });

  it('falls back when send() resolves without a provider id', async () => {
    const h = new Harness();
    h.script('sms', () => '');
    const { cascadeId } = await h.send(smsOnly);
    expect(h.channelsCalled()).toEqual(['sms', 'email']);
    expect((await h.cascade(cascadeId)).attempts[0]).toMatchObject({ outcome: 'send-error', error: { code: 'INVALID_SEND_RESULT' } });
  });
});

describe('classifySendError', () => {
  it('reads SendError, HTTP status fields, network codes and Retry-After hints, and whose fault each is', () => {
    expect(classifySendError(new SendError('x'))).toEqual({ permanent: false, retryAfterMs: undefined, fault: 'provider' });
    expect(classifySendError(new SendError('x', { permanent: true }))).toEqual({ permanent: true, retryAfterMs: undefined, fault: 'recipient' });
    expect(classifySendError(new SendError('x', { permanent: true, fault: 'provider' }))).toEqual({ permanent: true, retryAfterMs: undefined, fault: 'provider' });
    expect(classifySendError(new SendError('x', { fault: 'recipient' }))).toEqual({ permanent: false, retryAfterMs: undefined, fault: 'recipient' });
    expect(classifySendError(new SendError('x', { retryAfterMs: 1500 }))).toEqual({ permanent: false, retryAfterMs: 1500, fault: 'provider' });
    expect(classifySendError({ status: 429, retryAfterMs: 7000 })).toEqual({ permanent: false, retryAfterMs: 7000, fault: 'provider' });
    expect(classifySendError({ statusCode: 503 })).toEqual({ permanent: false, retryAfterMs: undefined, fault: 'provider' });
    for (const status of [408, 425, 429, 500, 502, 503, 504]) expect(classifySendError({ status }), String(status)).toMatchObject({ permanent: false, fault: 'provider' });
    // The account, not the message: another provider may take it.
    for (const status of [401, 402, 403, 407]) expect(classifySendError({ status }), String(status)).toMatchObject({ permanent: true, fault: 'provider' });
    for (const status of [400, 404, 410, 422]) expect(classifySendError({ status }), String(status)).toMatchObject({ permanent: true, fault: 'recipient' });
    expect(classifySendError(Object.assign(new Error('reset'), { code: 'ECONNRESET' }))).toEqual({ permanent: false, retryAfterMs: undefined, fault: 'provider' });
    expect(classifySendError(new Error('something odd'))).toEqual({ permanent: false, retryAfterMs: undefined, fault: 'provider' });
    expect(classifySendError(new TypeError("Cannot read properties of undefined (reading 'id')"))).toEqual({ permanent: true, retryAfterMs: undefined, fault: 'provider' });
  });

  it('takes the TypeError of a failed fetch() connection as transient', () => {
    const cause = Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:443'), { code: 'ECONNREFUSED' });
    expect(classifySendError(new TypeError('fetch failed', { cause }))).toEqual({ permanent: false, retryAfterMs: undefined, fault: 'provider' });
  });
});

describe('skipped channels', () => {
  it('records a missing address and an opt-out as skipped, not failed, with events', async () => {
    const h = new Harness();
    const { cascadeId, plan } = await h.send({}, { addresses: { email: 'olena@example.com', viber: '+380671234567', sms: '+380671234567' }, optedOut: ['viber'] });
    expect(plan.skipped).toEqual([
      { channel: 'push', reason: 'no-address', detail: 'the recipient has no address for this channel' },
      { channel: 'viber', reason: 'opted-out', detail: 'the recipient opted out of this channel' },
    ]);
    expect(h.eventsOf('skipped').map((e) => [e.cascadeId, e.channel, e.reason, e.detail])).toEqual([
      [cascadeId, 'push', 'no-address', 'the recipient has no address for this channel'],
      [cascadeId, 'viber', 'opted-out', 'the recipient opted out of this channel'],
    ]);
    const c = await h.cascade(cascadeId);
    expect(c.plan.steps.map((s) => s.channel)).toEqual(['email', 'sms']);
    expect(c.attempts.map((a) => a.channel)).toEqual(['email']);
    expect(h.eventsOf('fallback')).toEqual([]);
    expect(h.eventTypes().slice(0, 3)).toEqual(['planned', 'skipped', 'skipped']);
  });
});

describe('idempotency', () => {
  it('never starts a second cascade for the same key', async () => {
    const h = new Harness();
    const first = await h.send();
    const second = await h.send({ content: { text: 'Another text' } });
    expect(second).toEqual({ cascadeId: first.cascadeId, plan: first.plan, created: false, status: 'active' });
    expect(h.channelsCalled()).toEqual(['push']);
    expect(h.eventsOf('planned').length).toBe(1);
  });

  it('starts one cascade for two concurrent sends with the same key', async () => {
    const h = new Harness();
    const results = await Promise.all([h.router.send(MESSAGE, RECIPIENT), h.router.send(MESSAGE, RECIPIENT)]);
    await h.clock.settle();
    expect(results.map((r) => r.created).sort()).toEqual([false, true]);
    expect(results[0]!.cascadeId).toBe(results[1]!.cascadeId);
    expect(h.channelsCalled()).toEqual(['push']);
  });

  it('persists the cascade before send() resolves', async () => {
    const h = new Harness();
    const { cascadeId } = await h.router.send(MESSAGE, RECIPIENT);
    const stored = await h.store.get(cascadeId);
    expect([stored?.id, stored?.key, stored?.status]).toEqual([cascadeId, 'order-1', 'active']);
    await h.clock.settle();
  });
});

describe('cancel', () => {
  it('stops the cascade: nothing more is sent', async () => {
    const h = new Harness();
    const { cascadeId } = await h.send();
    await h.clock.advance(MINUTE);
    expect(await h.router.cancel(cascadeId)).toEqual({ outcome: 'cancelled', cascadeId, status: 'cancelled' });
    await h.clock.advance(DAY);
    expect(h.channelsCalled()).toEqual(['push']);
    const c = await h.cascade(cascadeId);
    expect([c.status, c.endedAt, c.attempts[0]!.outcome]).toEqual(['cancelled', T0 + MINUTE, 'cancelled']);
    expect(h.eventsOf('cancelled').map((e) => [e.cascadeId, e.at])).toEqual([[cascadeId, T0 + MINUTE]]);
  });

  it("answers 'already-ended' for an ended cascade and 'not-found' for an unknown id", async () => {
    const h = new Harness();
    const { cascadeId } = await h.send();
    await h.router.cancel(cascadeId);
    expect(await h.router.cancel(cascadeId)).toEqual({ outcome: 'already-ended', cascadeId, status: 'cancelled' });
    expect(await h.router.cancel('no-such-cascade')).toEqual({ outcome: 'not-found', cascadeId: 'no-such-cascade' });

    const other = await h.send({ key: 'order-2' });
    await h.receipt('push-2', 'delivered');
    expect(await h.router.cancel(other.cascadeId)).toEqual({ outcome: 'already-ended', cascadeId: other.cascadeId, status: 'delivered' });
  });

  it('aborts a send in flight, and sends nothing after it', async () => {
    const h = new Harness();
    h.script('push', (request) => new Promise<SendResult>((_, reject) => request.signal.addEventListener('abort', () => reject(request.signal.reason))));
    const { cascadeId } = await h.send();
    const { request } = h.calls[0]!;
    expect(request.signal.aborted).toBe(false);
    await h.router.cancel(cascadeId);
    await h.clock.settle();
    expect(request.signal.aborted).toBe(true);
    await h.clock.advance(DAY);
    expect(h.channelsCalled()).toEqual(['push']);
    expect((await h.cascade(cascadeId)).status).toBe('cancelled');
  });

  it('cancels a scheduled cascade before it sends anything', async () => {
    const h = new Harness();
    const { cascadeId } = await h.send({ sendAt: T0 + HOUR });
    expect((await h.router.cancel(cascadeId)).outcome).toBe('cancelled');
    await h.clock.advance(DAY);
    expect(h.calls).toEqual([]);
  });
});

describe('events', () => {
  it('are emitted after the change is persisted: a listener reading the cascade sees it', async () => {
    const h = new Harness({ listen: false });
    const seen: [string, number, number, Cascade | undefined][] = [];
    for (const name of ['planned', 'attempt', 'sent', 'receipt', 'fallback', 'delivered'] as const) {
      h.router.on(name, (event) => {
        void h.router.get(event.cascadeId).then((stored) => seen.push([name, event.cascade.version, stored?.version ?? -1, stored]));
      });
    }
    const { cascadeId } = await h.send({ channels: ['viber', 'sms'] });
    await h.receipt('viber-1', 'failed');
    await h.receipt('sms-1', 'delivered');
    expect(seen.map(([name, version, storedVersion]) => [name, version, storedVersion])).toEqual([
      ['planned', 1, 1],
      ['attempt', 1, 1],
      ['sent', 2, 2],
      ['receipt', 3, 3],
      ['fallback', 3, 3],
      ['attempt', 3, 3],
      ['sent', 4, 4],
      ['receipt', 5, 5],
      ['delivered', 5, 5],
    ]);
    const sent = seen.find(([name]) => name === 'sent')![3]!;
    expect(sent.attempts[0]!.providerMessageId).toBe('viber-1');
    expect(seen.at(-1)![3]!.status).toBe('delivered');
    expect((await h.cascade(cascadeId)).version).toBe(5);
  });

  it('carry spend and projected spend as exact decimal strings', async () => {
    const h = new Harness();
    await h.send({ channels: ['viber', 'sms'] });
    await h.receipt('viber-1', 'failed');
    await h.receipt('sms-1', 'delivered');
    const costs = h.events
      .filter(([name]) => name !== 'planned' && name !== 'skipped')
      .map(([name, e]) => {
        const event = e as EventOf<'attempt'>;
        return [name, event.channel, event.spend, event.projectedSpend];
      });
    expect(costs).toEqual([
      ['attempt', 'viber', '0.00', '0.02'],
      ['sent', 'viber', '0.00', '0.02'],
      ['receipt', 'viber', '0.00', '0.05'],
      ['fallback', 'viber', '0.00', '0.05'],
      ['attempt', 'sms', '0.00', '0.05'],
      ['sent', 'sms', '0.05', '0.05'],
      ['receipt', 'sms', '0.05', '0.05'],
      ['delivered', 'sms', '0.05', '0.05'],
    ]);
    expect(h.eventsOf('attempt').map((e) => e.projectedCost)).toEqual(['0.02', '0.05']);
    expect(h.eventsOf('planned').map((e) => [e.spend, e.projectedSpend])).toEqual([['0.00', '0.02']]);
  });

  it("reports a listener that throws as an 'error' event and carries on", async () => {
    const h = new Harness();
    h.router.on('sent', () => {
      throw new Error('listener broke');
    });
    const { cascadeId } = await h.send();
    const errors = h.eventsOf('error');
    expect(errors.map((e) => [e.error.message, e.cascadeId, e.during])).toEqual([['listener broke', cascadeId, 'listener']]);
    expect(await h.receipt('push-1', 'delivered')).toEqual({ outcome: 'applied', cascadeId, channel: 'push', status: 'delivered', late: false });
    expect((await h.cascade(cascadeId)).status).toBe('delivered');
  });
});

describe('close', () => {
  it('rejects work after close() with RouterClosedError', async () => {
    const h = new Harness();
    const { cascadeId } = await h.send();
    await h.router.close();
    await h.router.close();
    const error = await h.router.send({ ...MESSAGE, key: 'order-2' }, RECIPIENT).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(RouterClosedError);
    expect((error as RouterClosedError).code).toBe('ROUTER_CLOSED');
    await expect(h.router.handleReceipt({ providerMessageId: 'push-1', status: 'delivered' })).rejects.toBeInstanceOf(RouterClosedError);
    await expect(h.router.cancel(cascadeId)).rejects.toBeInstanceOf(RouterClosedError);
    expect(h.channelsCalled()).toEqual(['push']);
  });

  it('fires no more timers after close()', async () => {
    const h = new Harness();
    await h.send();
    await h.router.close();
    await h.clock.advance(DAY);
    expect(h.channelsCalled()).toEqual(['push']);
  });
});

describe('several routers on one store: owners, liveness and take-over', () => {
  /** A send that is never answered unless the step is aborted (the router closes, the step times out). */
  const hanging: Script = (request) => new Promise<SendResult>((_, reject) => request.signal.addEventListener('abort', () => reject(request.signal.reason)));

  it("claims each step in the name of the router that began it, and the first step at send()", async () => {
    const store = memoryStore();
    const clock = new SimulatedClock(T0);
    const a = new Harness({ store, clock, instanceId: 'a' });
    const b = new Harness({ store, clock, instanceId: 'b' });
    const { cascadeId } = await a.send();
    await clock.advance(2 * MINUTE); // push times out on whichever router's timer fires; email begins there
    const c = await a.cascade(cascadeId);
    expect(c.attempts[0]!.owner).toBe('a');
    expect(['a', 'b']).toContain(c.attempts[1]!.owner);
    expect([a.router.instanceId, b.router.instanceId]).toEqual(['a', 'b']);
  });

  it("leaves a live router's send in flight alone, however long it takes", async () => {
    const store = memoryStore();
    const clock = new SimulatedClock(T0);
    const first = new Harness({ store, clock });
    const pending = deferred<SendResult>();
    first.script('push', () => pending.promise);
    const { cascadeId } = await first.send();
    await clock.advance(10 * SECOND);
    const second = new Harness({ store, clock }); // starts while the push is in flight
    await clock.advance(MINUTE + 40 * SECOND); // within push's 2m timeout, past several heartbeat intervals
    expect(second.calls).toEqual([]);
    pending.resolve('push-late');
    await clock.settle();
    const c = await first.cascade(cascadeId);
    expect([c.attempts[0]!.phase, c.attempts[0]!.providerMessageId, c.attempts[0]!.owner]).toEqual(['waiting', 'push-late', first.router.instanceId]);
    expect([...first.eventsOf('resumed'), ...second.eventsOf('resumed')]).toEqual([]);
  });

  it("sends again, with the same idempotency key, a step left 'sending' by a router that closed: on start", async () => {
    const store = memoryStore();
    const clock = new SimulatedClock(T0);
    const first = new Harness({ store, clock });
    first.script('push', hanging);
    const { cascadeId } = await first.send();
    await first.router.close();
    expect((await store.get(cascadeId))!.attempts[0]!.phase).toBe('sending');

    await clock.advance(10 * SECOND);
    const second = new Harness({ store, clock });
    await clock.settle();
    expect(second.calls.map((c) => [c.channel, c.key, c.try, c.at])).toEqual([['push', first.calls[0]!.key, 1, T0 + 10 * SECOND]]);
    expect(first.calls[0]!.key).toBe(`${cascadeId}:0`);
    const c = await second.cascade(cascadeId);
    expect([c.attempts[0]!.phase, c.attempts[0]!.providerMessageId, c.attempts[0]!.owner, c.timerAt]).toEqual(['waiting', 'push-1', second.router.instanceId, T0 + 2 * MINUTE]);
    expect(second.eventsOf('resumed').map((e) => [e.channel, e.previousOwner, e.owner, e.at])).toEqual([
      ['push', first.router.instanceId, second.router.instanceId, T0 + 10 * SECOND],
    ]);
    expect(await second.receipt('push-1', 'delivered')).toEqual({ outcome: 'applied', cascadeId, channel: 'push', status: 'delivered', late: false });
  });

  it('sends again a step left sending by a router that closed: by a router already running, when it next wakes', async () => {
    const store = memoryStore();
    const clock = new SimulatedClock(T0);
    const first = new Harness({ store, clock });
    const second = new Harness({ store, clock });
    first.script('push', hanging);
    const { cascadeId } = await first.send();
    await second.send({ key: 'order-2', sendAt: T0 + 15 * SECOND }); // wakes `second` at +15s
    await clock.advance(5 * SECOND);
    await first.router.close();
    await clock.advance(10 * SECOND);
    expect(second.calls.map((c) => [c.channel, c.key, c.at])).toEqual([
      ['push', 'order-2:0', T0 + 15 * SECOND],
      ['push', `${cascadeId}:0`, T0 + 15 * SECOND],
    ]);
    expect((await second.cascade(cascadeId)).attempts[0]!.owner).toBe(second.router.instanceId);
  });

  it('of two routers that find the owner of a step dead, exactly one sends it again', async () => {
    const store = memoryStore();
    const clock = new SimulatedClock(T0);
    const first = new Harness({ store, clock });
    first.script('push', () => new Promise<SendResult>(() => {})); // the process is gone: never answers
    const { cascadeId } = await first.send();
    await store.leave(first.router.instanceId); // as if its heartbeat had lapsed
    const second = new Harness({ store, clock });
    const third = new Harness({ store, clock });
    await clock.settle();
    expect([...second.calls, ...third.calls].map((c) => c.key)).toEqual([`${cascadeId}:0`]);
    expect([...second.eventsOf('resumed'), ...third.eventsOf('resumed')].length).toBe(1);
  });

  it('lets a step whose timeout is already due fall back instead of sending it again', async () => {
    const store = memoryStore();
    const clock = new SimulatedClock(T0);
    const first = new Harness({ store, clock });
    first.script('push', hanging);
    const { cascadeId } = await first.send();
    await first.router.close();
    await clock.advance(3 * MINUTE); // push's 2m timeout passed while no router ran
    const second = new Harness({ store, clock });
    await clock.advance(0);
    expect(second.calls.map((c) => [c.channel, c.at])).toEqual([['email', T0 + 3 * MINUTE]]);
    expect((await second.cascade(cascadeId)).attempts.map((a) => [a.channel, a.outcome])).toEqual([
      ['push', 'timeout'],
      ['email', undefined],
    ]);
    expect(second.eventsOf('resumed')).toEqual([]);
  });

  it('fires a timeout that fell due while no router was running', async () => {
    const store = memoryStore();
    const clock = new SimulatedClock(T0);
    const first = new Harness({ store, clock });
    const { cascadeId } = await first.send();
    await first.router.close();

    await clock.advance(10 * MINUTE);
    const second = new Harness({ store, clock });
    await clock.advance(0);
    expect(second.calls.map((c) => [c.channel, c.at])).toEqual([['email', T0 + 10 * MINUTE]]);
    const c = await second.cascade(cascadeId);
    expect(c.attempts.map((a) => [a.channel, a.outcome, a.endedAt])).toEqual([
      ['push', 'timeout', T0 + 10 * MINUTE],
      ['email', undefined, undefined],
    ]);
    expect(second.eventsOf('fallback').map((e) => [e.channel, e.reason, e.at])).toEqual([['push', 'timeout', T0 + 10 * MINUTE]]);
  });

  it('heartbeats at least every third of instanceTtl while a send is in flight, and before it claims a step after being idle', async () => {
    const inner = memoryStore();
    const clock = new SimulatedClock(T0);
    const log: string[] = [];
    const store: CascadeStore = {
      ...inner,
      heartbeat(instanceId, ttlMs, now) {
        log.push(`beat ${(now - T0) / SECOND}s ttl ${ttlMs / SECOND}s`);
        return inner.heartbeat(instanceId, ttlMs, now);
      },
      create(cascade) {
        log.push(`create ${(clock.now() - T0) / SECOND}s`);
        return inner.create(cascade);
      },
    };
    const h = new Harness({ store, clock, instanceTtl: '30s' });
    const pending = deferred<SendResult>();
    h.script('push', () => pending.promise);
    await h.send();
    await clock.advance(45 * SECOND);
    pending.resolve('push-1');
    await clock.settle();
    await h.receipt('push-1', 'delivered');
    expect(log).toEqual(['beat 0s ttl 30s', 'create 0s', 'beat 10s ttl 30s', 'beat 20s ttl 30s', 'beat 30s ttl 30s', 'beat 40s ttl 30s']);
    // Idle: it heartbeats only when it wakes anyway (the wake-up armed while the push was in flight, the
    // memory store's leftover timer entry at the push timeout), not every 10 s for the hour.
    await clock.advance(HOUR);
    expect(log.slice(6)).toEqual(['beat 50s ttl 30s', 'beat 120s ttl 30s']);
    log.length = 0;
    await h.send({ key: 'order-2' });
    expect(log).toEqual([`beat ${HOUR / SECOND + 45}s ttl 30s`, `create ${HOUR / SECOND + 45}s`]);
  });

  it("does not keep SimulatedClock.runAll() going: it wakes to heartbeat only while a send is in flight and its step open", async () => {
    const store = memoryStore();
    const h = new Harness({ store });
    for (const channel of ['push', 'email', 'viber', 'sms']) h.script(channel, () => new Promise<SendResult>(() => {})); // never answers, ignores abort
    const { cascadeId } = await h.send();
    await h.clock.runAll();
    expect((await h.cascade(cascadeId)).status).toBe('exhausted');
    expect(h.channelsCalled()).toEqual(['push', 'email', 'viber', 'sms']);
    expect(h.clock.pendingTimers).toBe(0);
  });

  it('checks instanceId and instanceTtl', () => {
    const channels = defaultChannels(() => async () => 'x');
    expect(() => createRouter({ channels, instanceId: '' })).toThrow(/Expected `instanceId` to be a non-empty string/);
    expect(() => createRouter({ channels, instanceTtl: 0 })).toThrow(/Expected `instanceTtl` to be a positive duration/);
    expect(() => createRouter({ channels, instanceTtl: '-1s' })).toThrow(InvalidConfigError);
    expect(createRouter({ channels }).instanceId).toMatch(/^[\w-]{12}$/);
  });
});

describe('dry run', () => {
  it('router.plan() returns the plan and sends, stores and emits nothing', async () => {
    const h = new Harness();
    await h.clock.advance(HOUR);
    const plan = await h.router.plan(MESSAGE, RECIPIENT);
    expect(plan).toEqual(planCascade({ channels: h.channels, message: MESSAGE, recipient: RECIPIENT, now: T0 + HOUR }));
    expect([plan.createdAt, plan.maxSpendMicros, plan.steps.map((s) => s.channel)]).toEqual([T0 + HOUR, 71_000, ['push', 'email', 'viber', 'sms']]);
    await h.clock.advance(DAY);
    expect(h.calls).toEqual([]);
    expect(h.events).toEqual([]);
    const open: Cascade[] = [];
    for await (const c of h.store.open()) open.push(c);
    expect(open).toEqual([]);
    // The key is still free.
    expect((await h.send()).created).toBe(true);
  });
});

describe('invalid input', () => {
  async function rejection(promise: Promise<unknown>): Promise<InvalidInputError> {
    const error = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as InvalidInputError).code).toBe('INVALID_INPUT');
    return error as InvalidInputError;
  }

  it('rejects an invalid message, naming the field', async () => {
    const h = new Harness();
    const send = (message: unknown) => h.router.send(message as Message, RECIPIENT);
    expect((await rejection(send({ ...MESSAGE, key: '' }))).message).toMatch(/^Invalid message: `key`: /);
    expect((await rejection(send({ ...MESSAGE, content: {} }))).message).toMatch(/^Invalid message: `content\.text`: /);
    expect((await rejection(send({ ...MESSAGE, channels: ['push', 'fax'] }))).message).toBe(
      'Expected `channels` to name declared channels (push, email, viber, sms), got "fax"',
    );
    expect((await rejection(send({ ...MESSAGE, maxCost: 'lots' }))).message).toBe(
      'Expected `maxCost` to be a non-negative decimal with at most 6 decimal places, got "lots"',
    );
    expect((await rejection(send({ ...MESSAGE, deadline: '0s' }))).message).toBe('Expected `deadline` to be a positive duration, got "0s"');
    expect((await rejection(send({ ...MESSAGE, delays: { email: 'later' } }))).message).toMatch(/^Expected `delays\.email` to be a non-negative duration/);
    expect((await rejection(send({ ...MESSAGE, policy: { order: 'random' } }))).message).toMatch(/^Invalid message: `policy\.order`: /);
    expect(h.calls).toEqual([]);
  });

  it('rejects an invalid recipient, naming the field', async () => {
    const h = new Harness();
    const send = (recipient: unknown) => h.router.send(MESSAGE, recipient as Recipient);
    expect((await rejection(send({ addresses: {} }))).message).toMatch(/^Invalid recipient: `id`: /);
    expect((await rejection(send({ id: 'r1', addresses: { push: 42 } }))).message).toMatch(/^Invalid recipient: `addresses\.push`: /);
    expect((await rejection(send({ ...RECIPIENT, timeZone: 'Mars/Base' }))).message).toBe(
      'Expected `timeZone` to be an IANA time zone such as "Europe/Kyiv", got "Mars/Base"',
    );
    expect((await rejection(send({ ...RECIPIENT, quietHours: { start: '25:00', end: '08:00' } }))).message).toBe(
      'Expected `quietHours.start` to be a time "HH:MM" (24-hour), got "25:00"',
    );
    await expect(h.router.plan(MESSAGE, { ...RECIPIENT, quietHours: { start: '21:00', end: '8' } })).rejects.toThrow(
      'Expected `quietHours.end` to be a time "HH:MM" (24-hour), got "8"',
    );
    expect(h.calls).toEqual([]);
    const open: Cascade[] = [];
    for await (const c of h.store.open()) open.push(c);
    expect(open).toEqual([]);
  });
});
