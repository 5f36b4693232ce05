/**
 * The router with `learning` on, in simulated time: what it learns from outcomes changes the next plans
 * (order, skips, waits), and `report()` adds up the money. Providers here answer per recipient: a
 * receipt after a set latency, a failure receipt, or nothing at all.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createRouter, InvalidConfigError, memoryStore, SimulatedClock, type ChannelConfig, type Message, type Recipient, type Router, type SendFunction } from 'cascade-router';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const DAY = 86_400_000;
const T0 = Date.UTC(2026, 0, 8, 10, 0);

/** How a provider treats one recipient: a delivery receipt after `ms`, a failure receipt, or silence. */
type Behaviour = { readonly deliverAfter: number } | 'fail' | 'silent';

class World {
  readonly clock = new SimulatedClock(T0);
  readonly router: Router;
  readonly sends: { channel: string; recipient: string; at: number }[] = [];
  readonly behaviour = new Map<string, Behaviour>(); // `${channel}/${recipient}`
  #seq = 0;

  constructor(extra: { channels?: (send: (channel: string) => SendFunction) => Record<string, ChannelConfig>; learning?: boolean | object; valueOfTime?: string } = {}) {
    const send = (channel: string): SendFunction => async (request) => {
      this.sends.push({ channel, recipient: request.recipient.id, at: this.clock.now() });
      const id = `${channel}-${++this.#seq}`;
      const b = this.behaviour.get(`${channel}/${request.recipient.id}`) ?? { deliverAfter: 2 * SECOND };
      if (b !== 'silent') {
        const at = this.clock.now() + (b === 'fail' ? 3 * SECOND : b.deliverAfter);
        this.clock.setTimer(at, () => void this.router.handleReceipt({ providerMessageId: id, status: b === 'fail' ? 'failed' : 'delivered' }));
      }
      return id;
    };
    const channels = extra.channels?.(send) ?? {
      push: { kind: 'push', cost: 0, send: send('push'), confirm: { timeout: '2m' } },
      sms: { kind: 'sms', cost: '0.05', send: send('sms'), confirm: { timeout: '5m' } },
    };
    this.router = createRouter({ channels, clock: this.clock, store: memoryStore(), learning: extra.learning ?? true, valueOfTime: extra.valueOfTime });
    worlds.push(this);
  }

  /** Sends one message to `recipient` and runs simulated time until its cascade has ended. */
  async deliver(recipient: Recipient, message: Partial<Message> = {}): Promise<void> {
    const key = `m${++this.#seq}`;
    await this.router.send({ key, category: 'transactional', content: { text: 'Hi' }, ...message }, recipient);
    for (let i = 0; i < 100; i++) {
      const c = await this.router.get(key);
      if (c && c.endedAt !== undefined) return;
      await this.clock.advance(MINUTE);
    }
    throw new Error(`cascade ${key} did not end`);
  }
}

const worlds: World[] = [];
afterEach(async () => {
  for (const w of worlds.splice(0)) await w.router.close();
});

const person = (id: string): Recipient => ({ id, addresses: { push: `tok-${id}`, sms: '+380671234567' } });

describe('learning: reachability per recipient', () => {
  it('skips a channel that keeps failing for one recipient as unlikely, while others still get it', async () => {
    const w = new World();
    w.behaviour.set('push/silent', 'silent');
    const silent = person('silent');
    const fine = person('fine');
    const next = { key: 'next', category: 'transactional', content: { text: 'Hi' } };
    let failures = 0;
    while ((await w.router.plan(next, silent)).steps[0]!.channel === 'push' && failures < 30) {
      await w.deliver(silent);
      await w.deliver(fine);
      failures++;
    }
    // Push works for half the customers: after n rounds it has reached (n + 1) / (2n + 1) channel-wide (one
    // optimistic pseudo-outcome), so a run of n misses is a loss once (n / (2n + 1))^n <= 0.05:
    // (3/7)^3 = 0.079, (4/9)^4 = 0.039. (Without the run test, 0.5 / (n + 1) < 0.05 took ten timeouts.)
    expect(failures).toBe(4);
    const plan = await w.router.plan(next, silent);
    expect(plan.steps.map((s) => s.channel)).toEqual(['sms']);
    expect(plan.skipped).toEqual([expect.objectContaining({ channel: 'push', reason: 'unlikely' })]);
    expect((await w.router.plan(next, fine)).steps.map((s) => s.channel)).toEqual(['push', 'sms']);
    const before = w.sends.length;
    await w.deliver(silent);
    expect(w.sends.slice(before).map((s) => s.channel)).toEqual(['sms']);
  });

  it('tries a skipped channel again once the failures have aged, and recovers when it works again', async () => {
    // A free push costs nothing to try: with money alone it is never skipped while it can still deliver. Waiting
    // on it is worth a little here (0.02 micro-units a millisecond): 2 minutes on a push that almost never
    // delivers then cost more than the SMS it may save.
    const w = new World({ learning: { halfLife: '1d' }, valueOfTime: '0.00002' });
    w.behaviour.set('push/r', 'silent');
    const r = person('r');
    for (let i = 0; i < 12; i++) await w.deliver(r);
    const next = { key: 'next', category: 'transactional', content: { text: 'Hi' } };
    expect((await w.router.plan(next, r)).steps.map((s) => s.channel)).toEqual(['sms']);
    await w.clock.advance(5 * DAY);
    expect((await w.router.plan(next, r)).steps.map((s) => s.channel)).toEqual(['push', 'sms']);
    w.behaviour.delete('push/r'); // the customer turned notifications back on
    const before = w.sends.length;
    await w.deliver(r);
    expect(w.sends.slice(before).map((s) => s.channel)).toEqual(['push']);
    expect((await w.router.plan(next, r)).steps.map((s) => s.channel)).toEqual(['push', 'sms']);
  });

  it('orders a cheap channel that rarely delivers behind a dearer one when time is worth enough', async () => {
    const w = new World({
      channels: (send) => ({
        viber: { kind: 'messenger', cost: '0.01', billing: 'delivered', send: send('viber'), confirm: { timeout: '10m' } },
        sms: { kind: 'sms', cost: '0.05', send: send('sms'), confirm: { timeout: '5m' } },
      }),
      learning: { priorWeight: 50, minProbability: 0 },
    });
    const r = (id: string): Recipient => ({ id, addresses: { viber: '+380671234567', sms: '+380671234567' } });
    // Viber rarely answers for these customers: the step waits out its 10 minutes.
    for (let i = 0; i < 30; i++) {
      if (i % 10 !== 0) w.behaviour.set(`viber/c${i}`, 'silent');
      await w.deliver(r(`c${i}`));
    }
    const message = { key: 'next', category: 'transactional', content: { text: 'Hi' } };
    expect((await w.router.plan(message, r('new'))).steps.map((s) => s.channel)).toEqual(['viber', 'sms']);
    const hurried = await w.router.plan({ ...message, policy: { valueOfTime: '0.001' } }, r('new'));
    expect(hurried.steps.map((s) => s.channel)).toEqual(['sms', 'viber']);
    // The router's own default does the same for messages that do not say; a message's own value wins.
    const urgent = new World({ channels: (send) => ({
      viber: { kind: 'messenger', cost: '0.01', billing: 'delivered', send: send('viber'), confirm: { timeout: '10m' } },
      sms: { kind: 'sms', cost: '0.05', send: send('sms'), confirm: { timeout: '5m' } },
    }), learning: { priorWeight: 50, minProbability: 0 }, valueOfTime: '0.001' });
    for (let i = 0; i < 30; i++) {
      if (i % 10 !== 0) urgent.behaviour.set(`viber/c${i}`, 'silent');
      await urgent.deliver(r(`c${i}`));
    }
    expect((await urgent.router.plan(message, r('new'))).steps.map((s) => s.channel)).toEqual(['sms', 'viber']);
    expect((await urgent.router.plan({ ...message, policy: { valueOfTime: 0 } }, r('new'))).steps.map((s) => s.channel)).toEqual(['viber', 'sms']);
    expect(() => createRouter({ channels: { sms: { kind: 'sms', send: async () => 'x' } }, valueOfTime: -1 })).toThrow(InvalidConfigError);
    // Had it failed at once instead, waiting would cost nothing: the cheap channel stays first.
    const fast = new World({ channels: (send) => ({
      viber: { kind: 'messenger', cost: '0.01', billing: 'delivered', send: send('viber'), confirm: { timeout: '10m' } },
      sms: { kind: 'sms', cost: '0.05', send: send('sms'), confirm: { timeout: '5m' } },
    }), learning: { priorWeight: 50, minProbability: 0 } });
    for (let i = 0; i < 30; i++) {
      if (i % 10 !== 0) fast.behaviour.set(`viber/c${i}`, 'fail');
      await fast.deliver(r(`c${i}`));
    }
    expect((await fast.router.plan({ ...message, policy: { valueOfTime: '0.001' } }, r('new'))).steps.map((s) => s.channel)).toEqual(['viber', 'sms']);
  });
});

describe('learning: a lost channel (a run of misses since the last delivery)', () => {
  /** Sends one message to `r`, runs it to its end, then a day passes; returns the channels it was sent on. */
  const sentOn = async (w: World, r: Recipient): Promise<string[]> => {
    const from = w.sends.length;
    await w.deliver(r);
    await w.clock.advance(DAY);
    return w.sends.slice(from).map((s) => s.channel);
  };
  const next = { key: 'next', category: 'transactional', content: { text: 'Hi' } };

  it('skips a lost push by the 3rd message after the loss, probes it after 3 messages without it, and uses it again once it is back', async () => {
    const w = new World();
    const r = person('r');
    for (let i = 0; i < 10; i++) expect(await sentOn(w, r)).toEqual(['push']);
    w.behaviour.set('push/r', 'silent'); // the app uninstalled: the push service still accepts, nothing shows
    // One silent miss is never a loss; two after ten deliveries are (a working push would miss twice in a row
    // at most 0.1^2 = 1% of the time: its miss chance is credited 10% at least).
    expect(await sentOn(w, r)).toEqual(['push', 'sms']);
    expect(await sentOn(w, r)).toEqual(['push', 'sms']);
    const third = await w.router.plan(next, r);
    expect(third.steps.map((s) => s.channel)).toEqual(['sms']);
    expect(third.skipped).toEqual([expect.objectContaining({ channel: 'push', reason: 'unlikely' })]);
    for (let i = 0; i < 3; i++) expect(await sentOn(w, r)).toEqual(['sms']);
    // Three messages went without it: the next one probes it; it misses, and three more go without it.
    expect(await sentOn(w, r)).toEqual(['push', 'sms']);
    expect(await sentOn(w, r)).toEqual(['sms']);
    w.behaviour.delete('push/r'); // reinstalled
    expect(await sentOn(w, r)).toEqual(['sms']);
    expect(await sentOn(w, r)).toEqual(['sms']);
    // The probe delivers: the run is reset and push is first again from the next message on.
    expect(await sentOn(w, r)).toEqual(['push']);
    expect(await sentOn(w, r)).toEqual(['push']);
    expect((await w.router.plan(next, r)).steps.map((s) => s.channel)).toEqual(['push', 'sms']);
  });

  it('takes a channel for lost after one hard failure (a bounce counts as three misses), and moves it last when nothing is skipped', async () => {
    const channels = (send: (channel: string) => SendFunction): Record<string, ChannelConfig> => ({
      email: { kind: 'email', cost: '0.001', send: send('email'), confirm: { timeout: '30m' } },
      sms: { kind: 'sms', cost: '0.05', send: send('sms'), confirm: { timeout: '5m' } },
    });
    const r: Recipient = { id: 'r', addresses: { email: 'r@example.com', sms: '+380671234567' } };
    for (const minProbability of [0.05, 0]) {
      const w = new World({ channels, learning: { minProbability } });
      for (let i = 0; i < 5; i++) expect(await sentOn(w, r)).toEqual(['email']);
      w.behaviour.set('email/r', 'fail'); // 550 mailbox unavailable
      expect(await sentOn(w, r)).toEqual(['email', 'sms']);
      const plan = await w.router.plan(next, r);
      // 0.1^3 = 0.001 <= 0.05: lost. Probability 0: skipped below minProbability, else last (key +Infinity).
      expect(plan.steps.map((s) => s.channel)).toEqual(minProbability > 0 ? ['sms'] : ['sms', 'email']);
      // The run is kept per channel: a message waiting for read (no history at that level) skips it too.
      const read = await w.router.plan({ ...next, success: { email: 'read' } }, r);
      expect(read.steps.map((s) => s.channel)).toEqual(minProbability > 0 ? ['sms'] : ['sms', 'email']);
    }
  });

  it('does not take a channel that misses half the time for lost after two misses in a row: after four', async () => {
    const w = new World();
    const r = person('r');
    for (let i = 0; i < 10; i++) {
      if (i % 2 === 0) w.behaviour.set('push/r', 'silent'); // miss, deliver, …, deliver: no run yet
      else w.behaviour.delete('push/r');
      await w.deliver(r); // minutes apart: ageing is negligible
    }
    w.behaviour.set('push/r', 'silent');
    // Five deliveries and five misses before the run. Push has reached the recipient, so its prior is a working
    // channel's rate (1 - MIN_MISS_CHANCE = 0.9), not the channel-wide 6 / (11 + n): the recipient (5 + 0.9) / 11
    // = 0.536 before the run, and a run of n is a loss once 0.464^n <= 0.05: n = 3 gives 0.0997, n = 4 0.0462.
    for (let n = 1; n <= 5; n++) {
      await w.deliver(r);
      const plan = await w.router.plan(next, r);
      expect([n, plan.steps[0]!.channel]).toEqual([n, n < 4 ? 'push' : 'sms']);
    }
  });

  it('does not take push for lost when it waits for read and its delivery receipts arrive only after the wait', async () => {
    // Every push reaches the device 3 minutes after the send (the wait is 2), and is never opened. Each
    // message: push times out, SMS delivers, then push's `delivered` arrives and ends the run of misses, so
    // the run is never more than one silent miss and push is never taken for lost: it is tried every time.
    // (Before, the run grew 1, 2, ... and push was skipped from the 3rd message on.)
    const w = new World();
    w.behaviour.set('push/r', { deliverAfter: 3 * MINUTE });
    const r = person('r');
    for (let i = 0; i < 4; i++) {
      const before = w.sends.length;
      await w.deliver(r, { success: { push: 'read' } });
      await w.clock.advance(5 * MINUTE); // the late receipt lands before the next message
      expect(w.sends.slice(before).map((s) => s.channel)).toEqual(['push', 'sms']);
    }
  });
});

describe('learning: adaptive waits', () => {
  it('waits about as long as receipts take once enough are known, within the bounds', async () => {
    const w = new World({
      channels: (send) => ({
        push: { kind: 'push', cost: 0, send: send('push'), confirm: { timeout: '2m', adaptive: { min: '5s', max: '1h' } } },
        sms: { kind: 'sms', cost: '0.05', send: send('sms'), confirm: { timeout: '5m', adaptive: false } },
      }),
    });
    const message = { key: 'next', category: 'transactional', content: { text: 'Hi' } };
    expect((await w.router.plan(message, person('x'))).steps.map((s) => s.waitMs)).toEqual([2 * MINUTE, 5 * MINUTE]);
    for (let i = 0; i < 25; i++) {
      w.behaviour.set(`push/c${i}`, { deliverAfter: 20 * SECOND + i * SECOND });
      await w.deliver(person(`c${i}`));
    }
    // Without a value of time, waiting on costs nothing: the wait stays the longest allowed, so a receipt
    // slower than any seen so far does not pay for SMS as well.
    expect((await w.router.plan(message, person('x'))).steps[0]!.waitMs).toBe(60 * MINUTE);
    const hurried = { ...message, policy: { valueOfTime: '0.000001' } };
    const [push, sms] = (await w.router.plan(hurried, person('x'))).steps;
    // With one: the slowest of 20..44 s is 44 s; the histogram bucket bound is within 19% above it.
    expect(push!.waitMs).toBeGreaterThanOrEqual(44 * SECOND);
    expect(push!.waitMs).toBeLessThanOrEqual(52 * SECOND);
    expect(push!.timeoutMs).toBe(push!.waitMs);
    expect(sms!.waitMs).toBe(5 * MINUTE);

    // Receipts that come after 40 minutes: the wait grows to cover them, up to the 1 h bound.
    for (let i = 0; i < 200; i++) {
      w.behaviour.set(`push/s${i}`, { deliverAfter: 40 * MINUTE });
      await w.deliver(person(`s${i}`));
    }
    const slow = (await w.router.plan(hurried, person('x'))).steps[0]!;
    expect(slow.waitMs).toBeGreaterThanOrEqual(40 * MINUTE);
    expect(slow.waitMs).toBeLessThanOrEqual(60 * MINUTE);
  });
});

describe('report()', () => {
  it('adds up spend per channel, double spend by receipt times and the SMS-only counterfactual, exactly', async () => {
    const w = new World({ learning: false });
    // After the 2-minute push wait, SMS goes out; the push reaches the phone at 10 minutes, after the SMS
    // did: the customer was reached by the SMS, and the late push (free) is the redundant one.
    w.behaviour.set('push/late', { deliverAfter: 10 * MINUTE });
    // Here the SMS reaches the phone at 22 minutes, after the push (10 minutes): that SMS was paid twice.
    w.behaviour.set('push/slow', { deliverAfter: 10 * MINUTE });
    w.behaviour.set('sms/slow', { deliverAfter: 20 * MINUTE });
    w.behaviour.set('push/none', 'silent');
    await w.deliver(person('fine'));
    await w.deliver(person('none'));
    await w.deliver(person('late'));
    await w.deliver(person('slow'));
    for (let i = 0; i < 30; i++) await w.clock.advance(MINUTE); // the late receipts
    await w.deliver({ id: 'nophone', addresses: { push: 'tok' } });
    const report = await w.router.report();
    expect(report).toEqual({
      messages: 5,
      delivered: 5,
      spend: '0.15',
      doubleSpend: '0.05',
      smsOnly: '0.20',
      saving: '0.05',
      withoutSms: 1,
      channels: { push: { sent: 5, delivered: 4, spend: '0.00' }, sms: { sent: 3, delivered: 3, spend: '0.15' } },
      micros: expect.objectContaining({ spendMicros: 150_000, doubleSpendMicros: 50_000, smsOnlyMicros: 200_000 }),
    });
  });
});
