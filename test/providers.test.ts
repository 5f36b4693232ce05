/**
 * Several providers per channel (issue #15): a provider-side failure moves the step to the channel's next
 * provider, a recipient-side one to the next channel; each try its own idempotency key, its receipts
 * matched to it, its cost and spend per provider. Simulated time, fake providers logging every call.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createRouter,
  planCascade,
  SendError,
  SimulatedClock,
  type ChannelConfig,
  type Message,
  type ReceiptStatus,
  type Recipient,
  type Router,
  type RouterEvents,
  type SendRequest,
} from 'cascade-router';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const T0 = Date.UTC(2026, 0, 8, 10, 0);
const RECIPIENT: Recipient = { id: 'olena', addresses: { email: 'olena@example.com', sms: '+380671234567' } };
const message = (key: string, extra: Partial<Message> = {}): Message => ({
  key,
  category: 'transactional',
  content: { text: 'Your order is ready' },
  channels: ['sms', 'email'],
  policy: { order: 'message' },
  ...extra,
});

type Script = Error | 'ok' | ((request: SendRequest) => Promise<string>);

/** Fake providers: each call logged as `provider:key:try`; what a call does comes from a per-provider script. */
class Providers {
  readonly calls: { provider: string; channel: string; key: string; try: number; at: number }[] = [];
  readonly scripts = new Map<string, Script[]>();
  constructor(readonly clock: SimulatedClock) {}

  send(provider: string) {
    return async (request: SendRequest): Promise<string> => {
      this.calls.push({ provider, channel: request.channel, key: request.idempotencyKey, try: request.try, at: this.clock.now() });
      expect(request.provider).toBe(provider);
      const next = this.scripts.get(provider)?.shift() ?? 'ok';
      if (next instanceof Error) throw next;
      if (typeof next === 'function') return next(request);
      return `${provider}:${request.idempotencyKey}`;
    };
  }

  log(): string[] {
    return this.calls.map((c) => `${c.provider} ${c.key} #${c.try}`);
  }
}

const routers: Router[] = [];
afterEach(async () => {
  for (const router of routers.splice(0)) await router.close();
});

function setUp(channels: (p: Providers) => Record<string, ChannelConfig>) {
  const clock = new SimulatedClock(T0);
  const providers = new Providers(clock);
  const router = createRouter({ channels: channels(providers), clock });
  routers.push(router);
  const events: [keyof RouterEvents, unknown][] = [];
  for (const name of ['attempt', 'failover', 'fallback', 'delivered', 'late-receipt'] as const) router.on(name, (e: unknown) => void events.push([name, e]));
  return { clock, providers, router, events };
}

/** SMS through twilio (0.05) or vonage (0.06), cheapest first; email through one provider. */
const twoSms = (p: Providers, retry: ChannelConfig['retry'] = false): Record<string, ChannelConfig> => ({
  sms: {
    kind: 'sms',
    confirm: { timeout: '5m' },
    retry,
    providers: [
      { name: 'vonage', cost: '0.06', send: p.send('vonage') },
      { name: 'twilio', cost: '0.05', send: p.send('twilio') },
    ],
  },
  email: { kind: 'email', cost: '0.001', send: p.send('sendgrid'), provider: 'sendgrid', retry: false, confirm: { timeout: '30m' } },
});

describe('a provider-side failure', () => {
  it('moves the step to the next provider at once: a send error after its retries', async () => {
    const { clock, providers, router, events } = setUp((p) => twoSms(p, { retries: 1, minDelay: '1s' }));
    providers.scripts.set('twilio', [new SendError('503 Service Unavailable'), new SendError('503 Service Unavailable')]);
    const { cascadeId, plan } = await router.send(message('m1'), RECIPIENT);
    expect(plan.steps[0]!.providers).toEqual([
      { name: 'twilio', costMicros: 50_000 },
      { name: 'vonage', costMicros: 60_000 },
    ]);
    expect(plan.steps[0]!.costMicros).toBe(50_000);
    expect(plan.maxSpendMicros).toBe(50_000 + 60_000 + 1_000);
    await clock.advance(2 * SECOND);
    expect(providers.log()).toEqual(['twilio m1:0 #1', 'twilio m1:0 #2', 'vonage m1:0:1 #1']);
    expect(await router.handleReceipt({ providerMessageId: 'vonage:m1:0:1', status: 'delivered', provider: 'vonage' })).toMatchObject({ outcome: 'applied', status: 'delivered' });
    const c = (await router.get(cascadeId))!;
    const a = c.attempts[0]!;
    expect([a.provider, a.outcome, a.costMicros, c.spendMicros]).toEqual(['vonage', 'delivered', 60_000, 60_000]);
    expect(a.failovers).toEqual([
      expect.objectContaining({ provider: 'twilio', reason: 'send-error', startedAt: T0, endedAt: T0 + SECOND, billed: false, costMicros: 0, error: expect.objectContaining({ fault: 'provider' }) }),
    ]);
    expect(events.filter(([name]) => name === 'failover').map(([, e]) => e)).toEqual([
      expect.objectContaining({ step: 0, channel: 'sms', from: 'twilio', to: 'vonage', provider: 'vonage', reason: 'send-error' }),
    ]);
    expect(events.some(([name]) => name === 'fallback')).toBe(false);
    const report = await router.report();
    expect(report.channels.sms).toEqual({
      sent: 1,
      delivered: 1,
      spend: '0.06',
      // twilio accepted nothing and cost nothing: no line of its own.
      providers: { vonage: { sent: 1, delivered: 1, spend: '0.06' } },
    });
  });

  it('moves on after a provider-side failure receipt, and both providers bill what they accepted', async () => {
    const { clock, providers, router } = setUp((p) => twoSms(p));
    const { cascadeId } = await router.send(message('m2'), RECIPIENT);
    await clock.settle();
    // Queue overflow at the provider: not about the recipient.
    expect(await router.handleReceipt({ providerMessageId: 'twilio:m2:0', status: 'failed', provider: 'twilio', error: { code: '30001', fault: 'provider' } })).toMatchObject({ outcome: 'applied' });
    await clock.settle();
    expect(providers.log()).toEqual(['twilio m2:0 #1', 'vonage m2:0:1 #1']);
    await router.handleReceipt({ providerMessageId: 'vonage:m2:0:1', status: 'delivered', provider: 'vonage' });
    const c = (await router.get(cascadeId))!;
    expect([c.status, c.spendMicros, c.attempts[0]!.costMicros, c.attempts[0]!.failovers![0]!.costMicros]).toEqual(['delivered', 110_000, 110_000, 50_000]);
    expect((await router.report()).channels.sms!.providers).toEqual({ twilio: { sent: 1, delivered: 0, spend: '0.05' }, vonage: { sent: 1, delivered: 1, spend: '0.06' } });
  });

  it('falls back to the next channel once the channel has no provider left', async () => {
    const { clock, providers, router, events } = setUp((p) => twoSms(p));
    providers.scripts.set('twilio', [new SendError('503')]);
    providers.scripts.set('vonage', [new SendError('429 Too Many Requests')]);
    await router.send(message('m3'), RECIPIENT);
    await clock.settle();
    expect(providers.log()).toEqual(['twilio m3:0 #1', 'vonage m3:0:1 #1', 'sendgrid m3:1 #1']);
    expect(events.filter(([name]) => name === 'fallback').map(([, e]) => (e as { reason: string }).reason)).toEqual(['send-error']);
  });
});

describe('a recipient-side failure', () => {
  it('moves to the next channel at once, without the channel\'s other providers: a permanent send error', async () => {
    const { clock, providers, router } = setUp((p) => twoSms(p));
    providers.scripts.set('twilio', [new SendError('Invalid phone number', { permanent: true })]);
    const { cascadeId } = await router.send(message('m4'), RECIPIENT);
    await clock.settle();
    expect(providers.log()).toEqual(['twilio m4:0 #1', 'sendgrid m4:1 #1']);
    expect((await router.get(cascadeId))!.attempts[0]).toMatchObject({ provider: 'twilio', outcome: 'send-error', failovers: undefined });
  });

  it('moves to the next channel on a failure receipt about the recipient, or one that does not say', async () => {
    for (const fault of ['recipient', undefined] as const) {
      const { clock, providers, router } = setUp((p) => twoSms(p));
      const key = `m5-${fault}`;
      await router.send(message(key), RECIPIENT);
      await clock.settle();
      await router.handleReceipt({ providerMessageId: `twilio:${key}:0`, status: 'failed', provider: 'twilio', error: { code: '30003', ...(fault ? { fault } : {}) } });
      await clock.settle();
      expect(providers.log()).toEqual([`twilio ${key}:0 #1`, `sendgrid ${key}:1 #1`]);
    }
  });
});

describe('receipts for an earlier try', () => {
  it('are matched to that try: its failure again is a duplicate, and one naming another provider is misrouted', async () => {
    const { clock, router, events } = setUp((p) => twoSms(p));
    const { cascadeId } = await router.send(message('m6'), RECIPIENT);
    await clock.settle();
    await router.handleReceipt({ providerMessageId: 'twilio:m6:0', status: 'failed', provider: 'twilio', error: { fault: 'provider' } });
    await clock.settle();
    expect(await router.handleReceipt({ providerMessageId: 'twilio:m6:0', status: 'failed', provider: 'twilio' })).toMatchObject({ outcome: 'duplicate' });
    const c0 = (await router.get(cascadeId))!;
    expect(c0.attempts[0]!.provider).toBe('vonage');
    // A receipt for twilio's try names twilio; one naming vonage for it is refused.
    expect(await router.handleReceipt({ providerMessageId: 'twilio:m6:0', status: 'delivered', provider: 'vonage' })).toMatchObject({ outcome: 'misrouted', expected: 'twilio' });
  });

  it('are the same failure again or behind it: a try is left only once it failed, so nothing for it changes the step', async () => {
    const { clock, router } = setUp((p) => ({
      wa: {
        kind: 'messenger',
        billing: 'delivered',
        confirm: { timeout: '10m' },
        retry: false,
        providers: [
          { name: 'meta', cost: '0.01', send: p.send('meta') },
          { name: 'infobip', cost: '0.012', send: p.send('infobip') },
        ],
      },
      sms: { kind: 'sms', cost: '0.05', send: p.send('twilio'), provider: 'twilio', retry: false, confirm: { timeout: '5m' } },
    }));
    const { cascadeId } = await router.send({ ...message('m7'), channels: ['wa', 'sms'] }, { id: 'r', addresses: { wa: '+380671234567', sms: '+380671234567' } });
    await clock.settle();
    await router.handleReceipt({ providerMessageId: 'meta:m7:0', status: 'failed', provider: 'meta', error: { code: '131000', fault: 'provider' } });
    await clock.advance(MINUTE);
    expect(await router.handleReceipt({ providerMessageId: 'meta:m7:0', status: 'delivered', provider: 'meta' })).toMatchObject({ outcome: 'stale' });
    expect(await router.handleReceipt({ providerMessageId: 'meta:m7:0', status: 'failed', provider: 'meta' })).toMatchObject({ outcome: 'duplicate' });
    const c = (await router.get(cascadeId))!;
    expect([c.status, c.attempts[0]!.provider, c.attempts[0]!.failovers![0]!.status]).toEqual(['active', 'infobip', 'failed']);
  });
});

describe('provider order', () => {
  const weighted = (p: Providers): Record<string, ChannelConfig> => ({
    sms: {
      kind: 'sms',
      providerOrder: 'weight',
      providers: [
        { name: 'a', cost: '0.05', weight: 3, send: p.send('a') },
        { name: 'b', cost: '0.04', weight: 1, send: p.send('b') },
      ],
    },
  });

  it('by weight: the same message always gets the same order, and first tries split as the weights do', () => {
    const plan = (key: string) => planCascade({ channels: weighted(new Providers(new SimulatedClock(T0))), message: { ...message(key), channels: ['sms'] }, recipient: RECIPIENT, now: T0 });
    expect(plan('k1').steps[0]!.providers).toEqual(plan('k1').steps[0]!.providers);
    let a = 0;
    const n = 4000;
    for (let i = 0; i < n; i++) if (plan(`key-${i}`).steps[0]!.providers![0]!.name === 'a') a++;
    // 3:1 weights: three quarters first through a (binomial sd ≈ 0.007 at n = 4000: 0.72–0.78 is > 4 sd wide).
    expect(a / n).toBeGreaterThan(0.72);
    expect(a / n).toBeLessThan(0.78);
  });

  it('by price: cheapest first, ties in declared order; a failover provider beyond maxCost is left out', () => {
    const p = new Providers(new SimulatedClock(T0));
    const channels: Record<string, ChannelConfig> = {
      sms: {
        kind: 'sms',
        providers: [
          { name: 'x', cost: '0.05', send: p.send('x') },
          { name: 'y', cost: '0.03', send: p.send('y') },
          { name: 'z', cost: '0.05', send: p.send('z') },
        ],
      },
    };
    const order = (maxCost?: string) =>
      planCascade({ channels, message: { ...message('k'), channels: ['sms'], ...(maxCost ? { maxCost } : {}) }, recipient: RECIPIENT, now: T0 }).steps[0]!.providers!.map((q) => q.name);
    expect(order()).toEqual(['y', 'x', 'z']);
    expect(order('0.05')).toEqual(['y', 'x', 'z']);
    expect(order('0.049999')).toEqual(['y']);
  });
});

describe('properties', () => {
  type Outcome = 'ok' | 'transient' | 'provider-permanent' | 'recipient-permanent';
  const outcome = fc.constantFrom<Outcome>('ok', 'transient', 'provider-permanent', 'recipient-permanent');

  it('a recipient-side failure never tries another provider of the same channel; a provider-side one tries the next, in order, each once', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 3 }),
        fc.array(outcome, { minLength: 1, maxLength: 8 }),
        fc.array(fc.constantFrom<[ReceiptStatus, 'recipient' | 'provider' | undefined]>(['failed', 'provider'], ['failed', 'recipient'], ['failed', undefined], ['delivered', undefined]), { maxLength: 4 }),
        async (count, outcomes, receipts) => {
          const tape = [...outcomes];
          const names = ['p0', 'p1', 'p2'].slice(0, count);
          const { clock, providers, router } = setUp((p) => ({
            sms: {
              kind: 'sms',
              confirm: { timeout: '5m' },
              retry: { retries: 1, minDelay: '1s' },
              providers: names.map((name, i) => ({
                name,
                cost: `0.0${5 + i}`,
                send: async (request: SendRequest) => {
                  const o = tape.shift() ?? 'ok';
                  await p.send(name)(request);
                  if (o === 'transient') throw new SendError('503');
                  if (o === 'provider-permanent') throw new SendError('401 bad credentials', { permanent: true, fault: 'provider' });
                  if (o === 'recipient-permanent') throw new SendError('invalid number', { permanent: true });
                  return `${name}:${request.idempotencyKey}`;
                },
              })),
            },
            email: { kind: 'email', cost: '0.001', send: p.send('mail'), retry: false, confirm: { timeout: '30m' } },
          }));
          const { cascadeId } = await router.send(message('m'), RECIPIENT);
          await clock.advance(10 * SECOND);
          for (const [status, fault] of receipts) {
            const c = (await router.get(cascadeId))!;
            const a = c.attempts[0]!;
            if (a.providerMessageId === undefined) break;
            await router.handleReceipt({ providerMessageId: a.providerMessageId, status, provider: a.provider, ...(status === 'failed' ? { error: { ...(fault ? { fault } : {}) } } : {}) });
            await clock.advance(10 * SECOND);
          }
          const c = (await router.get(cascadeId))!;
          const sms = providers.calls.filter((call) => call.channel === 'sms');
          // Providers in price order, each tried once (first tries), never one after a recipient-side failure.
          const firsts = sms.filter((call) => call.try === 1).map((call) => call.provider);
          expect(firsts).toEqual(names.slice(0, firsts.length));
          const attempt = c.attempts[0]!;
          for (const tried of attempt.failovers ?? []) expect(tried.error?.fault ?? 'provider', `${tried.provider} failed over`).toBe('provider');
          expect(firsts.length).toBe((attempt.failovers?.length ?? 0) + 1);
          expect(attempt.provider).toBe(firsts[firsts.length - 1]);
          // Keys: the step's, then one per failover.
          expect(sms.filter((call) => call.try === 1).map((call) => call.key)).toEqual(firsts.map((_, i) => (i === 0 ? 'm:0' : `m:0:${i}`)));
          expect(c.spendMicros).toBe(c.attempts.reduce((sum, x) => sum + x.costMicros, 0));
        },
      ),
      { numRuns: Number(process.env.FC_NUM_RUNS ?? 150) },
    );
  });
});
