/**
 * Pacing (issue #15): provider rate limits over the store, urgent messages first, and frequency caps per
 * recipient and category. Simulated time; the provider log is the oracle (when each send reached it).
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { busiestWindow } from './support/windows.js';
import { createRouter, memoryStore, SimulatedClock, type CascadeStore, type ChannelConfig, type Message, type Recipient, type Router, type SendRequest } from 'cascade-router';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const DAY = 24 * 60 * MINUTE;
const T0 = Date.UTC(2026, 0, 8, 10, 0);
const RECIPIENT: Recipient = { id: 'olena', addresses: { sms: '+380671234567' }, consent: { marketing: true } };

const routers: Router[] = [];
afterEach(async () => {
  for (const router of routers.splice(0)) await router.close();
});

function setUp(options: { limit: number; per?: string; store?: CascadeStore; clock?: SimulatedClock; name?: string; caps?: Record<string, { max: number; per: string }> }) {
  const clock = options.clock ?? new SimulatedClock(T0);
  const sends: { at: number; category: string; key: string }[] = [];
  const channels: Record<string, ChannelConfig> = {
    sms: {
      kind: 'sms',
      cost: '0.05',
      retry: false,
      confirm: { by: 'acceptance', timeout: '1h' },
      rate: { limit: options.limit, ...(options.per ? { per: options.per } : {}) },
      send: async (request: SendRequest) => {
        sends.push({ at: clock.now(), category: request.message.category, key: request.message.key });
        return `sms:${request.idempotencyKey}`;
      },
    },
  };
  const router = createRouter({
    channels,
    clock,
    store: options.store ?? memoryStore(),
    ...(options.name ? { instanceId: options.name } : {}),
    ...(options.caps ? { frequencyCaps: options.caps } : {}),
  });
  routers.push(router);
  const message = (key: string, category = 'marketing', extra: Partial<Message> = {}): Message => ({ key, category, content: { text: 'Friday sushi: 20% off' }, ...extra });
  return { clock, router, sends, message };
}

describe('a provider rate limit', () => {
  it('paces a blast of 1,000 messages through the store: never more than the limit in any second, every one sent', async () => {
    const { clock, router, sends, message } = setUp({ limit: 10 });
    const paced: number[] = [];
    router.on('paced', (e) => void paced.push(e.until));
    await Promise.all(Array.from({ length: 1000 }, (_, i) => router.send(message(`blast-${i}`), { ...RECIPIENT, id: `r${i}` })));
    await clock.advance(10 * MINUTE);
    expect(sends).toHaveLength(1000);
    expect(busiestWindow(sends.map((s) => s.at), SECOND)).toBeLessThanOrEqual(10);
    // Marketing takes 8 of the 10 a second (2 kept for urgent messages): 1,000 take about 125 s.
    const last = Math.max(...sends.map((s) => s.at)) - T0;
    expect(last).toBeGreaterThan(120 * SECOND);
    expect(last).toBeLessThan(135 * SECOND);
    expect(paced.length).toBeGreaterThanOrEqual(1000 - 8);
  });

  it('lets an OTP sent in the middle of a blast go within a second: urgent messages have their share', async () => {
    const { clock, router, sends, message } = setUp({ limit: 10 });
    await Promise.all(Array.from({ length: 500 }, (_, i) => router.send(message(`blast-${i}`), { ...RECIPIENT, id: `r${i}` })));
    await clock.advance(20 * SECOND);
    const sentAt = clock.now();
    await router.send(message('otp-1', 'otp', { deadline: '2m' }), RECIPIENT);
    await clock.advance(SECOND);
    const otp = sends.find((s) => s.key === 'otp-1');
    expect(otp).toBeDefined();
    expect(otp!.at - sentAt).toBeLessThanOrEqual(SECOND);
    await clock.advance(5 * MINUTE);
    expect(busiestWindow(sends.map((s) => s.at), SECOND)).toBeLessThanOrEqual(10);
  });

  it('no provider receives more than its rate in any window, whatever the mix of urgent and other messages', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 12 }),
        fc.constantFrom('1s', '2s', '500ms'),
        fc.array(fc.record({ urgent: fc.boolean(), gapMs: fc.integer({ min: 0, max: 400 }) }), { minLength: 1, maxLength: 120 }),
        async (limit, per, arrivals) => {
          const { clock, router, sends, message } = setUp({ limit, per });
          let i = 0;
          for (const { urgent, gapMs } of arrivals) {
            await router.send(message(`m${i}`, urgent ? 'otp' : 'marketing'), { ...RECIPIENT, id: `r${i++}` });
            await clock.advance(gapMs);
          }
          await clock.advance(30 * MINUTE);
          expect(sends).toHaveLength(arrivals.length);
          const windowMs = per === '2s' ? 2 * SECOND : per === '500ms' ? 500 : SECOND;
          expect(busiestWindow(sends.map((s) => s.at), windowMs)).toBeLessThanOrEqual(limit);
        },
      ),
      { numRuns: Number(process.env.FC_NUM_RUNS ?? 60) },
    );
  });
});

describe('a provider rate limit with retries', () => {
  it('counts each retry of a transient error against the rate too: no window of the provider log holds more than the limit', async () => {
    const clock = new SimulatedClock(T0);
    const calls: number[] = [];
    const router = createRouter({
      clock,
      channels: {
        sms: {
          kind: 'sms',
          cost: '0.05',
          retry: { retries: 3, minDelay: '1s' },
          confirm: { by: 'acceptance', timeout: '1h' },
          rate: { limit: 10 },
          send: async (request: SendRequest) => {
            calls.push(clock.now());
            // Every third message's first try meets a 503: its retry comes a second later, into the next slots.
            if (request.try === 1 && Number(request.message.key.slice(1)) % 3 === 0) throw Object.assign(new Error('503 Service Unavailable'), { status: 503 });
            return `sms:${request.idempotencyKey}`;
          },
        },
      },
    });
    routers.push(router);
    const delivered: string[] = [];
    router.on('delivered', (e) => void delivered.push(e.key));
    // Urgent messages may take the whole rate, so nothing but the retries themselves can exceed it.
    await Promise.all(Array.from({ length: 60 }, (_, i) => router.send({ key: `m${i}`, category: 'otp', content: { text: 'Your code is 4821' } }, { ...RECIPIENT, id: `r${i}` })));
    await clock.advance(5 * MINUTE);
    expect(delivered).toHaveLength(60);
    expect(calls).toHaveLength(80);
    expect(busiestWindow(calls, SECOND)).toBeLessThanOrEqual(10);
  });
});

describe('a frequency cap', () => {
  it('lets at most max messages of a category through per recipient and window; a repeat of one counts once', async () => {
    const { clock, router, sends, message } = setUp({ limit: 100, caps: { marketing: { max: 2, per: '1d' } } });
    for (const key of ['a', 'b', 'c']) await router.send(message(key), RECIPIENT);
    await clock.advance(SECOND);
    expect(sends.map((s) => s.key)).toEqual(['a', 'b']);
    const capped = await router.get('c');
    expect([capped?.status, capped?.attempts.length, capped?.plan.skipped.map((s) => s.reason)]).toEqual(['exhausted', 0, ['frequency-capped']]);
    // The same message again: it was let through once, it is still the same cascade.
    expect((await router.send(message('a'), RECIPIENT)).created).toBe(false);
    // Another recipient, another category: not capped.
    await router.send(message('d'), { ...RECIPIENT, id: 'taras' });
    await router.send(message('e', 'transactional'), RECIPIENT);
    await clock.advance(SECOND);
    expect(sends.map((s) => s.key)).toEqual(['a', 'b', 'd', 'e']);
    // A day after the first, one more is let through.
    await clock.advance(DAY);
    await router.send(message('f'), RECIPIENT);
    await clock.advance(SECOND);
    expect(sends.map((s) => s.key)).toContain('f');
  });

  it('refuses a cap that is not a count over a positive duration', () => {
    const send = async () => 'id';
    expect(() => createRouter({ channels: { sms: { kind: 'sms', send } }, frequencyCaps: { marketing: { max: -1, per: '1d' } } })).toThrow(/frequencyCaps\.marketing\.max/);
    expect(() => createRouter({ channels: { sms: { kind: 'sms', send } }, frequencyCaps: { marketing: { max: 1, per: 0 } } })).toThrow(/frequencyCaps\.marketing\.per/);
  });
});
