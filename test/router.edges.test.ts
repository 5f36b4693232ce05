/**
 * Bad input and silent failures (issue #12): options, empty text, receipts posted to another provider's
 * endpoint, errors with nobody listening, load beyond `maxPending`, and a timeout that comes due while a
 * receipt for its step is being applied. Simulated time throughout.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  createRouter,
  InvalidConfigError,
  InvalidInputError,
  memoryStore,
  OverloadedError,
  SimulatedClock,
  StoreUnavailableError,
  type ChannelConfig,
  type Logger,
  type Message,
  type Recipient,
  type Router,
  type SendRequest,
} from 'cascade-router';
import { faultyStore } from './support/faulty-store.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const T0 = Date.UTC(2026, 0, 8, 10, 0);
const RECIPIENT: Recipient = { id: 'olena', addresses: { push: 'token', email: 'olena@example.com', sms: '+380671234567' } };
const MESSAGE: Message = { key: 'k', category: 'transactional', content: { text: 'Your order is ready' } };

const routers: Router[] = [];
afterEach(async () => {
  for (const router of routers.splice(0)) await router.close();
  vi.restoreAllMocks();
});

function channels(calls: string[], extra: Partial<Record<'push' | 'email' | 'sms', Partial<ChannelConfig>>> = {}): Record<string, ChannelConfig> {
  const send = (name: string) => async (request: SendRequest) => (calls.push(`${name}:${request.content.text}`), `${name}:${request.idempotencyKey}`);
  return {
    push: { kind: 'push', cost: 0, send: send('push'), confirm: { timeout: '2m' }, ...extra.push },
    email: { kind: 'email', cost: 0.001, send: send('email'), confirm: { timeout: '30m' }, ...extra.email },
    sms: { kind: 'sms', cost: 0.05, send: send('sms'), retry: false, confirm: { timeout: '5m' }, ...extra.sms },
  };
}

const router = (options: Parameters<typeof createRouter>[0]): Router => {
  const r = createRouter(options);
  routers.push(r);
  return r;
};

describe('options', () => {
  it('refuses no options, or no channels, with the typed config error', () => {
    expect(() => (createRouter as (o?: unknown) => Router)()).toThrow(InvalidConfigError);
    expect(() => (createRouter as (o?: unknown) => Router)(null)).toThrow(/Expected router options with `channels`, got null/);
    expect(() => createRouter({} as never)).toThrow(InvalidConfigError);
  });

  it('reports bad durations and amounts in channel declarations and options as config errors', () => {
    const calls: string[] = [];
    expect(() => createRouter({ channels: channels(calls, { push: { confirm: { timeout: '2 min' } } }) })).toThrow(InvalidConfigError);
    expect(() => createRouter({ channels: channels(calls, { push: { cost: 1e-8 } }) })).toThrow(InvalidConfigError);
    expect(() => createRouter({ channels: channels(calls), holdUnknownReceipts: 'soon' })).toThrow(InvalidConfigError);
    expect(() => createRouter({ channels: channels(calls), maxPending: 0 })).toThrow(/`maxPending`/);
  });
});

describe('empty text', () => {
  it('is refused, and nothing is sent, unless an override gives the channels text', async () => {
    const calls: string[] = [];
    const clock = new SimulatedClock(T0);
    const r = router({ channels: channels(calls), clock });
    const empty = { ...MESSAGE, content: { text: '' } };
    await expect(r.send(empty, RECIPIENT)).rejects.toThrow(InvalidInputError);
    await expect(r.send(empty, RECIPIENT)).rejects.toThrow(/`content.text` to be a non-empty string/);
    expect(calls).toEqual([]);
  });

  it('skips, with reason no-content, the channels that an override leaves without text', async () => {
    const calls: string[] = [];
    const clock = new SimulatedClock(T0);
    const r = router({ channels: channels(calls), clock });
    const onlySms = { ...MESSAGE, content: { text: '', sms: 'Code 1234' } };
    const { plan } = await r.send(onlySms, RECIPIENT);
    expect(plan.steps.map((s) => s.channel)).toEqual(['sms']);
    expect(plan.skipped.map((s) => [s.channel, s.reason])).toEqual([
      ['push', 'no-content'],
      ['email', 'no-content'],
    ]);
    await clock.settle();
    expect(calls).toEqual(['sms:Code 1234']);
    const email = await r.plan({ ...MESSAGE, key: 'k2', content: { text: '', channels: { email: { text: 'Hi' } } } }, RECIPIENT);
    expect(email.steps.map((s) => s.channel)).toEqual(['email']);
  });
});

describe('receipts scoped to their provider', () => {
  const scoped = (calls: string[]) => channels(calls, { push: { provider: 'fcm' }, email: { provider: 'sendgrid' }, sms: { provider: 'infobip' } });

  it("settle only an attempt of the channel that declares the receipt's provider", async () => {
    const calls: string[] = [];
    const clock = new SimulatedClock(T0);
    const r = router({ channels: scoped(calls), clock });
    const { cascadeId } = await r.send(MESSAGE, RECIPIENT);
    await clock.advance(2 * MINUTE); // push timed out: email sent
    const emailId = `email:${cascadeId}:1`;
    // An unsigned Infobip endpoint receives SendGrid's id: refused, the email stays open.
    expect(await r.handleReceipt({ providerMessageId: emailId, status: 'delivered', provider: 'infobip' })).toEqual({
      outcome: 'misrouted',
      cascadeId,
      channel: 'email',
      status: 'active',
      provider: 'infobip',
      expected: 'sendgrid',
    });
    expect(await r.handleReceipt({ providerMessageId: emailId, status: 'delivered' })).toMatchObject({ outcome: 'misrouted', provider: undefined, expected: 'sendgrid' });
    expect((await r.get(cascadeId))!.attempts[1]!.status).toBe('accepted');
    expect(await r.handleReceipt({ providerMessageId: emailId, status: 'delivered', provider: 'sendgrid' })).toMatchObject({ outcome: 'applied', status: 'delivered' });
  });

  it('apply, unscoped, to channels that declare no provider, and a scoped one does not', async () => {
    const calls: string[] = [];
    const clock = new SimulatedClock(T0);
    const r = router({ channels: channels(calls), clock });
    const { cascadeId } = await r.send(MESSAGE, RECIPIENT);
    await clock.settle();
    expect(await r.handleReceipt({ providerMessageId: `push:${cascadeId}:0`, status: 'delivered', provider: 'fcm' })).toMatchObject({ outcome: 'misrouted', expected: undefined });
    expect(await r.handleReceipt({ providerMessageId: `push:${cascadeId}:0`, status: 'delivered' })).toMatchObject({ outcome: 'applied' });
  });

  it('are left out of the change when they were held, and the logger is told', async () => {
    const calls: string[] = [];
    const clock = new SimulatedClock(T0);
    const logger = { error: vi.fn(), warn: vi.fn() } satisfies Logger;
    let answer!: () => void;
    const slow = channels(calls, { push: { provider: 'fcm' } });
    const push = slow.push!.send!;
    slow.push = { ...slow.push!, send: (request) => new Promise((resolve) => (answer = () => resolve(push(request)))) };
    const r = router({ channels: slow, clock, logger });
    const { cascadeId } = await r.send(MESSAGE, RECIPIENT);
    const pid = `push:${cascadeId}:0`;
    await r.handleReceipt({ providerMessageId: pid, status: 'delivered', provider: 'infobip' });
    await r.handleReceipt({ providerMessageId: pid, status: 'sent', provider: 'fcm' });
    answer();
    await clock.advance(SECOND);
    const c = (await r.get(cascadeId))!;
    expect([c.status, c.attempts[0]!.history.map((h) => h.status)]).toEqual(['active', ['accepted', 'sent']]);
    expect(logger.warn).toHaveBeenCalledWith(expect.objectContaining({ cascadeId, provider: 'infobip', expected: 'fcm' }), expect.stringContaining('names another provider'));
  });
});

describe('errors no caller is given', () => {
  const outage = async (options: { logger?: Logger; listen?: boolean }) => {
    const calls: string[] = [];
    const clock = new SimulatedClock(T0);
    const store = faultyStore();
    const r = router({ channels: channels(calls), clock, store, ...(options.logger ? { logger: options.logger } : {}) });
    const seen: unknown[] = [];
    if (options.listen) r.on('error', (e) => void seen.push(e));
    await r.send(MESSAGE, RECIPIENT);
    await clock.advance(SECOND);
    store.mode = 'down';
    await clock.advance(2 * MINUTE + 5 * SECOND); // push's timeout comes due: every wake-up fails
    store.mode = 'up';
    return seen;
  };

  it('are written once per code and stage to console.error when nobody listens and there is no logger', async () => {
    const consoleError = vi.spyOn(console, 'error').mockImplementation(() => {});
    await outage({});
    expect(consoleError).toHaveBeenCalledTimes(1);
    expect(String(consoleError.mock.calls[0]![0])).toMatch(/^cascade-router: STORE_UNAVAILABLE during timer: .*listen to 'error' events or pass a `logger`/);
  });

  it('go to the logger, every one, with the error first, and not to the console', async () => {
    const consoleError = vi.spyOn(console, 'error').mockImplementation(() => {});
    const logger = { error: vi.fn(), warn: vi.fn() } satisfies Logger;
    await outage({ logger });
    expect(consoleError).not.toHaveBeenCalled();
    expect(logger.error.mock.calls.length).toBeGreaterThan(1);
    const [fields, message] = logger.error.mock.calls[0]!;
    expect(fields).toMatchObject({ code: 'STORE_UNAVAILABLE', during: 'timer' });
    expect(fields.err).toBeInstanceOf(StoreUnavailableError);
    expect(message).toMatch(/^cascade-router: /);
  });

  it("go to 'error' listeners, and not to the console", async () => {
    const consoleError = vi.spyOn(console, 'error').mockImplementation(() => {});
    const seen = await outage({ listen: true });
    expect(consoleError).not.toHaveBeenCalled();
    expect(seen.length).toBeGreaterThan(1);
    expect(seen[0]).toMatchObject({ during: 'timer', cascadeId: undefined, error: expect.objectContaining({ code: 'STORE_UNAVAILABLE' }) });
  });
});

describe('load beyond maxPending', () => {
  it('is refused with OverloadedError instead of queued, and taken again once work drains', async () => {
    const calls: string[] = [];
    const clock = new SimulatedClock(T0);
    const store = faultyStore(memoryStore());
    const r = router({ channels: channels(calls), clock, store, maxPending: 2 });
    await clock.advance(SECOND);
    const release = store.pause('route');
    const first = r.handleReceipt({ providerMessageId: 'x1', status: 'delivered' });
    const second = r.handleReceipt({ providerMessageId: 'x2', status: 'delivered' });
    const refused = r.handleReceipt({ providerMessageId: 'x3', status: 'delivered' });
    await expect(refused).rejects.toThrow(OverloadedError);
    await expect(refused).rejects.toMatchObject({ code: 'OVERLOADED' });
    await expect(r.send(MESSAGE, RECIPIENT)).rejects.toThrow(OverloadedError);
    release();
    expect(await Promise.all([first, second])).toMatchObject([{ outcome: 'held' }, { outcome: 'held' }]);
    expect(await r.handleReceipt({ providerMessageId: 'x3', status: 'delivered' })).toMatchObject({ outcome: 'held' });
  });
});

describe('a timeout that comes due while a receipt for its step is being applied', () => {
  it('waits for the receipt: it is judged by when the receipt reached the router', async () => {
    const calls: string[] = [];
    const clock = new SimulatedClock(T0);
    const store = faultyStore(memoryStore());
    const r = router({ channels: channels(calls), clock, store });
    const { cascadeId } = await r.send(MESSAGE, RECIPIENT);
    await clock.advance(2 * MINUTE - SECOND);
    const release = store.pause('route');
    // The delivered receipt reaches the router just as push's timer fires (its claim starts), and is slow to apply.
    let receipt: Promise<unknown> | undefined;
    store.onCall = (method) => {
      if (method === 'claimDue' && receipt === undefined) receipt = r.handleReceipt({ providerMessageId: `push:${cascadeId}:0`, status: 'delivered' });
    };
    const advancing = clock.advance(SECOND);
    const claimed = () => store.calls.lastIndexOf('claimDue');
    for (let turns = 0; turns < 1000 && !(claimed() >= 0 && store.calls.lastIndexOf('get') > claimed()); turns++) await new Promise((resolve) => setImmediate(resolve));
    const tickWaiting = store.calls.lastIndexOf('get') > claimed(); // the timer read the cascade and waits
    release();
    await advancing;
    expect(tickWaiting).toBe(true);
    expect(await receipt).toMatchObject({ outcome: 'applied', status: 'delivered', late: false });
    await clock.advance(10 * MINUTE);
    expect(calls).toEqual(['push:Your order is ready']);
  });
});
