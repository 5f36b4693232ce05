/**
 * Provider health (issue #15): the breaker on its own (pure, every call given the time), and in a router
 * routing around a provider that fails every send or goes silent, then recovers. Simulated time.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createRouter,
  memoryStore,
  SendError,
  SimulatedClock,
  type ChannelConfig,
  type HealthOptions,
  type Recipient,
  type Router,
  type RouterEvents,
  type SendRequest,
} from 'cascade-router';
import { Breaker, resolveHealth } from '../src/core/health.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const T0 = Date.UTC(2026, 0, 8, 10, 0);

describe('the breaker', () => {
  const breaker = (options: HealthOptions = {}) => new Breaker('p', resolveHealth(options), T0);

  it('opens at the error rate (at exactly 50%), judged once the window holds minSends (10)', () => {
    const b = breaker();
    for (let i = 0; i < 4; i++) b.sent(T0 + i, `ok${i}`, true, false, false);
    for (let i = 0; i < 5; i++) b.sent(T0 + 10 + i, `x${i}`, false, true, false);
    expect(b.state).toBe('closed'); // 5 of 9 failed, but 9 sends are too few to judge
    b.sent(T0 + 20, 'ok9', true, false, false);
    expect([b.state, b.reason, b.until]).toEqual(['open', 'errors', T0 + 20 + 30 * SECOND]); // 5 of 10: at the rate
    const c = breaker();
    for (let i = 0; i < 6; i++) c.sent(T0 + i, `ok${i}`, true, false, false);
    for (let i = 0; i < 4; i++) c.sent(T0 + 10 + i, `x${i}`, false, true, false);
    expect(c.state).toBe('closed'); // 4 of 10: below it
  });

  it('counts only provider-side failures, and only within the window', () => {
    const b = breaker();
    for (let i = 0; i < 10; i++) b.sent(T0 + i, `r${i}`, false, false, false); // invalid numbers: the recipients' fault
    expect(b.state).toBe('closed');
    for (let i = 0; i < 5; i++) b.sent(T0 + i, `x${i}`, false, true, false);
    for (let i = 0; i < 6; i++) b.sent(T0 + MINUTE + 100 + i, `ok${i}`, true, false, false); // the failures left the window
    expect(b.state).toBe('closed');
  });

  it('lets probes through once the cool-down has passed; an accepted probe closes it, a failed one doubles the cool-down', () => {
    const b = breaker();
    for (let i = 0; i < 10; i++) b.sent(T0, `x${i}`, false, true, false);
    const until = b.until!;
    expect(b.admit(until - 1)).toBe('skip');
    expect([b.admit(until), b.admit(until), b.admit(until), b.admit(until)]).toEqual(['probe', 'probe', 'probe', 'skip']);
    b.sent(until + 1, 'probe1', false, true, true);
    expect([b.state, b.until]).toEqual(['open', until + 1 + 60 * SECOND]);
    expect(b.admit(until + 1 + 60 * SECOND)).toBe('probe');
    b.sent(until + 2 + 60 * SECOND, 'probe2', true, false, true);
    expect(b.state).toBe('closed');
    expect(b.admit(until + 3 + 60 * SECOND)).toBe('send');
  });

  it('opens on silence once it has learned the usual receipt rate, and a probe with a receipt closes it', () => {
    const b = breaker({ silence: { minSends: 20, ratio: 0.25, learnFrom: 50 } });
    let t = T0;
    // 200 sends a second apart, 80% with a receipt a second later: the usual rate.
    for (let i = 0; i < 200; i++, t += SECOND) {
      b.sent(t, `k${i}`, true, false, false);
      if (i % 5 !== 0) b.received(t + SECOND, `k${i}`);
    }
    expect(b.view(t).receiptRate).toBeGreaterThan(0.7);
    // Then receipts stop: within a minute and a half the silence is noticed.
    const stopped = t;
    for (let i = 200; i < 400 && b.state === 'closed'; i++, t += SECOND) b.sent(t, `k${i}`, true, false, false);
    expect(t - stopped).toBeLessThan(90 * SECOND);
    expect([b.state, b.reason]).toEqual(['open', 'silence']);
    expect(b.admit(b.until!)).toBe('probe');
    b.sent(b.until!, 'probe', true, false, true);
    expect(b.state).toBe('half-open'); // accepted is not enough when it went silent
    b.received(b.until! + SECOND, 'probe');
    expect(b.state).toBe('closed');
  });

  it('opens on a run of missing receipts as unlikely as one in a million under the learned rate, and never on fewer than 5', () => {
    /** Sends 10 s apart (each judged at the next, past the 5 s floor); `hit` says which get a receipt a second later. */
    const feed = (b: Breaker, from: number, count: number, hit: (i: number) => boolean): number => {
      for (let i = 0; i < count; i++) {
        const t = T0 + (from + i) * 10 * SECOND;
        b.sent(t, `k${from + i}`, true, false, false);
        if (hit(from + i)) b.received(t + SECOND, `k${from + i}`);
      }
      return from + count;
    };
    /** Silent sends one at a time: how many misses had been judged when it opened. */
    const missesToOpen = (b: Breaker, from: number): number => {
      let n = from;
      while (b.state === 'closed' && n < from + 40) n = feed(b, n, 1, () => false);
      // The send that opened it judged the one before: misses judged = silent sends - 1.
      return n - from - 1;
    };
    const options = { silence: { minSends: 20, ratio: 0.25, learnFrom: 50 } };
    // Oracle: the usual rate is the running share of judged sends with a receipt (misses included), so after
    // m misses it is hits / (judged + m); the run opens at the first m with (1 - that)^m <= 1e-6.
    const firstRun = (hits: number, judged: number): number => {
      let m = 1;
      while ((1 - hits / (judged + m)) ** m > 1e-6) m++;
      return m;
    };
    // 90 of the first 100 with a receipt: 8 misses (the 20-send rule would need 16).
    const nine = breaker(options);
    expect(firstRun(90, 100)).toBe(8);
    expect(missesToOpen(nine, feed(nine, 0, 100, (i) => i % 10 !== 0))).toBe(8);
    expect(nine.reason).toBe('silence');
    // 200 of 200: 4 misses would be unlikely enough, but 5 are the least that opens it.
    const perfect = breaker(options);
    expect(firstRun(200, 200)).toBe(4);
    expect(missesToOpen(perfect, feed(perfect, 0, 200, () => true))).toBe(5);
  });

  it('never judges silence before it has learned the usual rate, nor for a provider that seldom sends receipts', () => {
    const quiet = breaker();
    for (let i = 0; i < 300; i++) quiet.sent(T0 + i * SECOND, `k${i}`, true, false, false); // never a receipt
    expect(quiet.state).toBe('closed');
  });

  it('an open breaker is never sent to except by its probes, at most `probes` each time it half-opens', () => {
    type Op = { kind: 'admit' } | { kind: 'answer'; accepted: boolean; fault: boolean } | { kind: 'receipt' } | { kind: 'wait'; ms: number };
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.constant({ kind: 'admit' as const }),
      fc.record({ kind: fc.constant('answer' as const), accepted: fc.boolean(), fault: fc.boolean() }),
      fc.constant({ kind: 'receipt' as const }),
      fc.record({ kind: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: 90 * SECOND }) }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.array(op, { maxLength: 300 }), (probes, ops) => {
        const b = breaker({ probes, minSends: 3 });
        let now = T0;
        let serial = 0;
        const inFlight: { key: string; probe: boolean }[] = [];
        const sentAt: string[] = [];
        // Per half-open spell: probes let through, less those given back (a recipient-side failure says nothing).
        let outstanding = 0;
        let last = b.state;
        const observe = (): void => {
          if (b.state === 'half-open' && last !== 'half-open') outstanding = 0;
          last = b.state;
        };
        for (const o of ops) {
          if (o.kind === 'wait') now += o.ms;
          else if (o.kind === 'admit') {
            const before = b.view(now).state;
            observe();
            const admission = b.admit(now);
            observe();
            if (admission === 'send') expect(before).toBe('closed');
            else if (admission === 'probe') {
              expect(b.state).toBe('half-open');
              outstanding++;
              expect(outstanding).toBeLessThanOrEqual(probes);
            }
            if (admission !== 'skip') inFlight.push({ key: `k${serial++}`, probe: admission === 'probe' });
          } else if (o.kind === 'answer') {
            const send = inFlight.shift();
            if (send) {
              const halfOpen = b.state === 'half-open';
              b.sent(now, send.key, o.accepted, o.fault, send.probe);
              if (send.probe && halfOpen && b.state === 'half-open' && !o.accepted && !o.fault) outstanding--;
              if (o.accepted) sentAt.push(send.key);
            }
          } else {
            const key = sentAt.shift();
            if (key) b.received(now, key);
          }
          observe();
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('a router routing around an unhealthy provider', () => {
  const routers: Router[] = [];
  afterEach(async () => {
    for (const router of routers.splice(0)) await router.close();
  });

  const RECIPIENT: Recipient = { id: 'olena', addresses: { wa: '+380671234567', sms: '+380671234567' } };

  /** wa through one provider (meta), sms through twilio or vonage; each call logged, each provider's behaviour switchable. */
  function setUp(options: { health?: HealthOptions; store?: ReturnType<typeof memoryStore>; clock?: SimulatedClock; name?: string } = {}) {
    const clock = options.clock ?? new SimulatedClock(T0);
    const calls: string[] = [];
    const behaviour: Record<string, 'ok' | 'failing' | 'silent'> = { meta: 'ok', twilio: 'ok', vonage: 'ok' };
    const delivered: string[] = [];
    const send = (provider: string) => async (request: SendRequest): Promise<string> => {
      calls.push(`${provider}@${(clock.now() - T0) / SECOND}`);
      if (behaviour[provider] === 'failing') throw new SendError('503 Service Unavailable');
      const id = `${provider}:${request.idempotencyKey}`;
      if (behaviour[provider] === 'ok') delivered.push(id);
      return id;
    };
    const channels: Record<string, ChannelConfig> = {
      wa: { kind: 'messenger', cost: '0.01', billing: 'delivered', send: send('meta'), provider: 'meta', retry: false, confirm: { timeout: '1m' } },
      sms: {
        kind: 'sms',
        confirm: { timeout: '5m' },
        retry: false,
        providers: [
          { name: 'twilio', cost: '0.05', send: send('twilio') },
          { name: 'vonage', cost: '0.06', send: send('vonage') },
        ],
      },
    };
    const router = createRouter({ channels, clock, ...(options.store ? { store: options.store } : {}), ...(options.name ? { instanceId: options.name } : {}), ...(options.health ? { health: options.health } : {}) });
    routers.push(router);
    const events: [keyof RouterEvents, unknown][] = [];
    for (const name of ['provider-down', 'provider-up'] as const) router.on(name, (e: unknown) => void events.push([name, e]));
    /** Sends one message and delivers (a second later) whatever a healthy provider accepted. */
    let serial = 0;
    const message = async (): Promise<void> => {
      await router.send({ key: `m${serial++}`, category: 'transactional', content: { text: 'Hi' }, channels: ['wa', 'sms'], policy: { order: 'message' } }, RECIPIENT);
      await clock.advance(SECOND);
      for (const id of delivered.splice(0)) await router.handleReceipt({ providerMessageId: id, status: 'delivered', provider: id.split(':')[0] });
      await clock.advance(SECOND);
    };
    return { clock, router, calls, behaviour, events, message };
  }

  it('skips a provider failing every send once its breaker opens, probes it after the cool-down, and uses it again once it answers', async () => {
    const { router, calls, behaviour, events, message, clock } = setUp();
    behaviour.meta = 'failing';
    for (let i = 0; i < 10; i++) await message();
    expect(calls.filter((c) => c.startsWith('meta')).length).toBe(10);
    expect(events.map(([name, e]) => [name, (e as { provider: string }).provider, (e as { reason?: string }).reason])).toEqual([['provider-down', 'meta', 'errors']]);
    expect(router.health().find((h) => h.provider === 'meta')).toMatchObject({ state: 'open', reason: 'errors' });
    calls.length = 0;
    for (let i = 0; i < 5; i++) await message();
    // Open: no message tries meta; each goes straight to SMS, its plan skipping wa.
    expect(calls.every((c) => c.startsWith('twilio'))).toBe(true);
    const plan = await router.plan({ key: 'dry', category: 'transactional', content: { text: 'Hi' }, channels: ['wa', 'sms'] }, RECIPIENT);
    expect(plan.skipped).toContainEqual(expect.objectContaining({ channel: 'wa', reason: 'provider-unhealthy' }));
    // After the cool-down (30 s), a probe; meta answers again: closed, and used for every message.
    await clock.advance(30 * SECOND);
    behaviour.meta = 'ok';
    calls.length = 0;
    for (let i = 0; i < 3; i++) await message();
    expect(calls).toEqual([expect.stringMatching(/^meta@/), expect.stringMatching(/^meta@/), expect.stringMatching(/^meta@/)]);
    expect(events.map(([name]) => name)).toEqual(['provider-down', 'provider-up']);
  });

  it('moves a step to the channel\'s other provider without calling one whose breaker is open', async () => {
    const { calls, behaviour, message, router } = setUp();
    behaviour.meta = 'failing'; // wa fails fast: every message reaches sms
    behaviour.twilio = 'failing';
    for (let i = 0; i < 12; i++) await message();
    expect(router.health().find((h) => h.provider === 'twilio')).toMatchObject({ state: 'open' });
    calls.length = 0;
    for (let i = 0; i < 5; i++) await message();
    expect(calls.filter((c) => c.startsWith('twilio'))).toEqual([]);
    expect(calls.filter((c) => c.startsWith('vonage'))).toHaveLength(5);
  });

  it('takes a provider that accepts but stopped sending receipts for unhealthy (silence), and back once receipts come', async () => {
    const { calls, behaviour, message, router, events, clock } = setUp({ health: { silence: { minSends: 10, ratio: 0.25, learnFrom: 30 } } });
    for (let i = 0; i < 60; i++) await message(); // meta delivers: the usual receipt rate is learned
    behaviour.meta = 'silent';
    let silentMessages = 0;
    const down = (): boolean => events.some(([name]) => name === 'provider-down');
    while (!down() && silentMessages < 200) {
      await message();
      silentMessages++;
      if (down()) break;
      await clock.advance(MINUTE); // each silent wa step waits out its minute, then sms
    }
    expect(router.health().find((h) => h.provider === 'meta')?.state).toBe('open');
    expect(events.map(([name, e]) => [name, (e as { reason?: string }).reason])).toEqual([['provider-down', 'silence']]);
    expect(silentMessages).toBeLessThanOrEqual(40);
    calls.length = 0;
    await message();
    expect(calls.some((c) => c.startsWith('meta'))).toBe(false);
    behaviour.meta = 'ok';
    await clock.advance(2 * MINUTE);
    for (let i = 0; i < 3; i++) await message();
    expect(events.map(([name]) => name)).toEqual(['provider-down', 'provider-up']);
  });

  it('reports each time a silent provider\'s unanswered probes open its breaker again, with the doubled cool-down, and shares it', async () => {
    const store = memoryStore();
    const { behaviour, message, router, events, clock } = setUp({ store, health: { silence: { minSends: 10, ratio: 0.25, learnFrom: 30 } } });
    for (let i = 0; i < 60; i++) await message();
    behaviour.meta = 'silent';
    for (let i = 0; i < 200 && router.health().find((h) => h.provider === 'meta')?.state !== 'open'; i++) {
      await message();
      await clock.advance(MINUTE);
    }
    const first = events.find(([name]) => name === 'provider-down')![1] as { at: number; until: number };
    expect(first.until - first.at).toBe(30 * SECOND);
    // Past the cool-down: the next messages probe meta (silent still), and are only planned, not answered.
    await clock.advanceTo(first.until);
    for (let i = 0; i < 3; i++) await message();
    // Long after the probes should have had their receipts, a plan (not a send through meta) finds it silent.
    await clock.advance(10 * MINUTE);
    await router.plan({ key: 'dry', category: 'transactional', content: { text: 'Hi' }, channels: ['wa', 'sms'] }, RECIPIENT);
    const downs = events.filter(([name]) => name === 'provider-down').map(([, e]) => e as { at: number; until: number; reason: string });
    expect(downs).toHaveLength(2);
    expect(downs[1]!.reason).toBe('silence');
    expect(downs[1]!.until - downs[1]!.at).toBe(60 * SECOND);
    // Every router on the store sees the second opening, not only the first.
    const shared = (await store.health!()).find((h) => h.provider === 'meta')!;
    expect(shared).toMatchObject({ state: 'open', until: downs[1]!.until });
  });

  it('shares an open breaker with the other routers on the store, which route around it from their next wake-up', async () => {
    const store = memoryStore();
    const clock = new SimulatedClock(T0);
    const a = setUp({ store, clock, name: 'a' });
    const b = setUp({ store, clock, name: 'b' });
    a.behaviour.meta = 'failing';
    for (let i = 0; i < 10; i++) await a.message();
    expect(a.router.health().find((h) => h.provider === 'meta')?.state).toBe('open');
    await b.message(); // b wakes for its timers and adopts what a reported
    await b.message();
    expect(b.router.health().find((h) => h.provider === 'meta')).toMatchObject({ state: 'open', reason: 'errors' });
    b.calls.length = 0;
    await b.message();
    expect(b.calls.some((c) => c.startsWith('meta'))).toBe(false);
  });
});
