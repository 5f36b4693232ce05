import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  expectedCost,
  planCascade,
  startCascade,
  transition,
  type Cascade,
  type ChannelConfig,
  type ChannelEstimate,
  type Message,
  type Plan,
  type PlanStep,
  type Recipient,
} from 'cascade-router';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const NOW = Date.UTC(2026, 0, 8, 10, 0);
const send = async (): Promise<string> => 'unused';

interface Scenario {
  readonly channels: Record<string, ChannelConfig>;
  readonly estimates: Map<string, ChannelEstimate>;
  readonly message: Message;
  readonly recipient: Recipient;
}

const NAMES = ['a', 'b', 'c', 'd', 'e'];
const KINDS = ['push', 'email', 'messenger', 'sms', 'custom'] as const;

/** Channels with random kinds, prices, billing, timeouts and delays; estimates (no arrival curves) for some; a deadline. */
const scenarioArb: fc.Arbitrary<Scenario> = fc
  .record({
    count: fc.integer({ min: 1, max: 5 }),
    specs: fc.array(
      fc.record({
        kind: fc.constantFrom(...KINDS),
        costMicros: fc.integer({ min: 0, max: 80_000 }),
        delivered: fc.boolean(),
        timeoutMs: fc.integer({ min: 1, max: 40 * MINUTE }),
        delayMs: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 3 * MINUTE })),
        estimate: fc.option(
          fc.record({
            probability: fc.double({ min: 0, max: 1, noNaN: true }),
            latencyMs: fc.integer({ min: 0, max: 5 * MINUTE }),
            failure: fc.double({ min: 0, max: 1, noNaN: true }),
          }),
          { nil: undefined },
        ),
      }),
      { minLength: 5, maxLength: 5 },
    ),
    deadlineMs: fc.integer({ min: 1, max: 15 * MINUTE }),
    order: fc.constantFrom('cost' as const, 'message' as const),
    policy: fc.constantFrom('shorten' as const, 'skip' as const),
    valueOfTime: fc.constantFrom(undefined, '0.0001', '0.001'),
  })
  .map(({ count, specs, deadlineMs, order, policy, valueOfTime }) => {
    const channels: Record<string, ChannelConfig> = {};
    const estimates = new Map<string, ChannelEstimate>();
    const addresses: Record<string, string> = {};
    const delays: Record<string, number> = {};
    for (let i = 0; i < count; i++) {
      const s = specs[i]!;
      const name = NAMES[i]!;
      channels[name] = { kind: s.kind, cost: (s.costMicros / 1e6).toFixed(6), billing: s.delivered ? 'delivered' : 'sent', send, confirm: { timeout: s.timeoutMs } };
      addresses[name] = `addr-${name}`;
      if (s.delayMs > 0) delays[name] = s.delayMs;
      if (s.estimate) estimates.set(name, { ...s.estimate, failure: Math.min(s.estimate.failure, 1 - s.estimate.probability) });
    }
    const message: Message = {
      key: 'm',
      category: 'otp',
      content: { text: 'code 123456' },
      deadline: deadlineMs,
      delays,
      policy: { order, deadline: policy, ...(valueOfTime === undefined ? {} : { valueOfTime }) },
      ...(order === 'message' ? { channels: [...NAMES.slice(0, count)].reverse() } : {}),
    };
    return { channels, estimates, message, recipient: { id: 'r', addresses } };
  });

const planOf = (s: Scenario): Plan => planCascade({ channels: s.channels, message: s.message, recipient: s.recipient, now: NOW, estimates: s.estimates });

/** Channels that could deliver before the deadline were they tried first: a second of wait after their delay. */
function fitting(s: Scenario, p: Plan): string[] {
  const skip = s.message.policy?.deadline === 'skip';
  return Object.keys(s.channels).filter((name) => {
    const timeout = s.channels[name]!.confirm!.timeout as number;
    // With 'skip' a step is never shortened: it fits only whole; otherwise a second is enough (or its whole wait, if shorter).
    const needs = skip ? timeout : Math.min(SECOND, timeout);
    return NOW + ((s.message.delays?.[name] as number | undefined) ?? 0) + needs <= p.deadlineAt!;
  });
}
const likelihood = (s: Scenario, name: string): number => s.estimates.get(name)?.probability ?? 1;

describe('planner: the deadline is a budget for the whole cascade', () => {
  it('a plan under a deadline always keeps a step that can still deliver before it when one exists', () => {
    fc.assert(
      fc.property(scenarioArb, (s) => {
        const p = planOf(s);
        const fits = fitting(s, p);
        for (const step of p.steps) {
          expect(step.startAt + step.waitMs).toBeLessThanOrEqual(p.deadlineAt!);
          expect(step.waitMs).toBeGreaterThanOrEqual(Math.min(SECOND, step.timeoutMs));
        }
        if (fits.length === 0) return;
        expect(p.steps.length).toBeGreaterThan(0);
        // The likeliest of them is planned: the last resort is never dropped for the steps before it.
        const best = Math.max(...fits.map((name) => likelihood(s, name)));
        expect(p.steps.some((step) => fits.includes(step.channel) && likelihood(s, step.channel) === best)).toBe(true);
      }),
      { numRuns: 400 },
    );
  });

  it('a fast failure never ends a cascade that has time and steps left', () => {
    fc.assert(
      fc.property(scenarioArb, (s) => {
        const p = planOf(s);
        if (p.steps.length === 0) return;
        // Every step fails at once (a failure receipt right after the send): the next one starts at that very instant.
        let c: Cascade = startCascade({ id: 'c', key: 'm', message: s.message, recipient: s.recipient, plan: p, now: NOW }).cascade;
        let now = NOW;
        const tried: string[] = [];
        for (let guard = 0; guard < 20 && c.status !== 'exhausted'; guard++) {
          if (c.status === 'scheduled') {
            now = c.timerAt!;
            c = transition(c, { type: 'tick', now }).cascade;
            continue;
          }
          expect(c.status).toBe('active');
          const step = c.step;
          tried.push(c.plan.steps[step]!.channel);
          c = transition(c, { type: 'sent', now, step, providerMessageId: `id-${step}` }).cascade;
          c = transition(c, { type: 'receipt', now, step, status: 'failed', error: { message: 'not a user', fault: 'recipient' } }).cascade;
          if (step < p.steps.length - 1) expect(c.status === 'active' || c.status === 'scheduled').toBe(true);
        }
        // It ended only when no step was left: every planned step was tried, in time.
        expect(c.status).toBe('exhausted');
        expect(tried).toEqual(p.steps.map((step) => step.channel));
        expect(now).toBeLessThan(p.deadlineAt!);
      }),
      { numRuns: 300 },
    );
  });

  it('the likeliest last resort stays when a slow first step would have taken the whole deadline (WhatsApp, then SMS)', () => {
    const channels = {
      whatsapp: { kind: 'messenger', cost: 0.009, billing: 'delivered', send, confirm: { timeout: '10m' } },
      sms: { kind: 'sms', cost: 0.05, send, confirm: { timeout: '5m' } },
    } satisfies Record<string, ChannelConfig>;
    const message: Message = { key: 'otp', category: 'otp', content: { text: 'code' }, deadline: '2m' };
    const recipient = { id: 'r', addresses: { whatsapp: '+1', sms: '+1' } };
    const p = planCascade({ channels, message, recipient, now: NOW });
    expect(p.steps.map((s) => [s.channel, s.startAt - NOW, s.waitMs])).toEqual([
      ['whatsapp', 0, MINUTE],
      ['sms', MINUTE, MINUTE],
    ]);
    // WhatsApp fails at once (not a WhatsApp user): SMS goes out at 0 s and may wait until the deadline.
    let c = startCascade({ id: 'c', key: 'otp', message, recipient, plan: p, now: NOW }).cascade;
    c = transition(c, { type: 'sent', now: NOW, step: 0, providerMessageId: 'w' }).cascade;
    c = transition(c, { type: 'receipt', now: NOW, step: 0, status: 'failed', error: { message: 'not on WhatsApp', fault: 'recipient' } }).cascade;
    expect([c.status, c.step, c.attempts[1]?.startedAt, c.timerAt]).toEqual(['active', 1, NOW, NOW + 2 * MINUTE]);
  });

  it('keeps the last resort whose plan is likeliest to deliver in time: a likely email alone loses to email then SMS', () => {
    const channels = {
      email: { kind: 'email', cost: 0.001, send, confirm: { timeout: '30m' } },
      sms: { kind: 'sms', cost: 0.05, send, confirm: { timeout: '5m' } },
    } satisfies Record<string, ChannelConfig>;
    const message: Message = { key: 'otp', category: 'otp', content: { text: 'code' }, deadline: '2m' };
    const recipient = { id: 'r', addresses: { email: 'r@example.com', sms: '+1' } };
    const timing = (sms: number): [string, number, number][] =>
      planCascade({
        channels,
        message,
        recipient,
        now: NOW,
        estimates: new Map([
          ['email', { probability: 0.98, latencyMs: 10 * SECOND }],
          ['sms', { probability: sms, latencyMs: 8 * SECOND }],
        ]),
      }).steps.map((s) => [s.channel, s.startAt - NOW, s.waitMs]);
    // Email is the likelier channel alone (0.98 against SMS's 0.87), but email alone delivers 0.98 of the time,
    // email then SMS 1 - 0.02 × 0.13 = 0.9974: SMS is the last resort, with the 3 × 8 s its receipts need.
    expect(timing(0.87)).toEqual([
      ['email', 0, 96 * SECOND],
      ['sms', 96 * SECOND, 24 * SECOND],
    ]);
    // An SMS that never delivers adds nothing (1 - 0.02 × 1 = 0.98, a tie): the likeliest alone is kept.
    expect(timing(0)).toEqual([['email', 0, 2 * MINUTE]]);
    // The smallest gain is taken: SMS at 0.000001 still makes email then SMS likelier than email alone.
    expect(timing(0.000001).map(([channel]) => channel)).toEqual(['email', 'sms']);
  });

  it('skips an earlier step not worth its share: it costs more than it is expected to save on the last resort', () => {
    const channels = {
      viber: { kind: 'messenger', cost: 0.02, send, confirm: { timeout: '10m' } }, // billed on send here
      sms: { kind: 'sms', cost: 0.05, send, confirm: { timeout: '5m' } },
    } satisfies Record<string, ChannelConfig>;
    const message: Message = { key: 'otp', category: 'otp', content: { text: 'code' }, deadline: '2m', policy: { order: 'message' }, channels: ['viber', 'sms'] };
    const recipient = { id: 'r', addresses: { viber: '+1', sms: '+1' } };
    const plan = (p: number): Plan =>
      planCascade({ channels, message, recipient, now: NOW, estimates: new Map([['viber', { probability: p, latencyMs: 5 * SECOND }], ['sms', { probability: 1, latencyMs: 5 * SECOND }]]) });
    // 0.02 against p × 0.05: worth it above p = 0.4, not below; at exactly 0.4 it is kept (no gain, no loss).
    expect(plan(0.41).steps.map((s) => s.channel)).toEqual(['viber', 'sms']);
    expect(plan(0.4).steps.map((s) => s.channel)).toEqual(['viber', 'sms']);
    expect(plan(0.39).steps.map((s) => s.channel)).toEqual(['sms']);
    expect(plan(0.39).skipped).toEqual([expect.objectContaining({ channel: 'viber', reason: 'deadline' })]);
  });
});

describe('planner: deadline boundaries', () => {
  const one = (timeout: number, deadline: number, policy: 'shorten' | 'skip' = 'shorten'): Plan =>
    planCascade({
      channels: { sms: { kind: 'sms', cost: 0.05, send, confirm: { timeout } } },
      message: { key: 'k', category: 'otp', content: { text: 'x' }, deadline, policy: { deadline: policy } },
      recipient: { id: 'r', addresses: { sms: '+1' } },
      now: NOW,
    });

  it('a wait that ends exactly at the deadline fits; a millisecond more does not', () => {
    expect(one(MINUTE, MINUTE, 'skip').steps.map((s) => [s.waitMs, s.timeoutMs])).toEqual([[MINUTE, MINUTE]]);
    expect(one(MINUTE + 1, MINUTE, 'skip').steps).toEqual([]);
    expect(one(MINUTE + 1, MINUTE).steps.map((s) => [s.waitMs, s.timeoutMs])).toEqual([[MINUTE, MINUTE + 1]]);
  });

  it('a second is the shortest wait: a step with exactly 1000 ms left is planned, 999 ms is skipped', () => {
    const channels = {
      sms: { kind: 'sms', cost: 0.05, send, confirm: { timeout: '1m' } },
    } satisfies Record<string, ChannelConfig>;
    const at = (delay: number): Plan =>
      planCascade({ channels, message: { key: 'k', category: 'otp', content: { text: 'x' }, deadline: 10 * SECOND, delays: { sms: delay } }, recipient: { id: 'r', addresses: { sms: '+1' } }, now: NOW });
    expect(at(9 * SECOND).steps.map((s) => s.waitMs)).toEqual([SECOND]);
    expect(at(9 * SECOND + 1).steps).toEqual([]);
    expect(at(9 * SECOND + 1).skipped).toEqual([expect.objectContaining({ channel: 'sms', reason: 'deadline' })]);
    // An earlier step's share: exactly a second is kept, a millisecond less is skipped.
    const two = (deadline: number): string[] =>
      planCascade({
        channels: { push: { kind: 'push', send, confirm: { timeout: '1m' } }, sms: { kind: 'sms', cost: 0.05, send, confirm: { timeout: '1m' } } },
        message: { key: 'k', category: 'otp', content: { text: 'x' }, deadline },
        recipient: { id: 'r', addresses: { push: 't', sms: '+1' } },
        now: NOW,
        estimates: new Map([['sms', { probability: 1, latencyMs: 3 * SECOND }]]), // SMS needs 9 s
      }).steps.map((s) => `${s.channel} ${s.waitMs}`);
    expect(two(10 * SECOND)).toEqual(['push 1000', 'sms 9000']);
    expect(two(10 * SECOND - 1)).toEqual(['sms 9999']);
  });

  it('a delivery stamped exactly at the deadline delivers the message; a millisecond later does not', () => {
    const plan = one(5 * MINUTE, 2 * MINUTE);
    const base = (): Cascade => {
      const c = startCascade({ id: 'c', key: 'k', message: { key: 'k', category: 'otp', content: { text: 'x' }, deadline: 2 * MINUTE }, recipient: { id: 'r', addresses: { sms: '+1' } }, plan, now: NOW }).cascade;
      return transition(c, { type: 'sent', now: NOW, step: 0, providerMessageId: 's' }).cascade;
    };
    const atDeadline = transition(base(), { type: 'receipt', now: NOW + 2 * MINUTE - 1, step: 0, status: 'delivered', at: NOW + 2 * MINUTE }).cascade;
    expect([atDeadline.status, atDeadline.deliveredStep]).toEqual(['delivered', 0]);
    const after = transition(base(), { type: 'receipt', now: NOW + 2 * MINUTE - 1, step: 0, status: 'delivered', at: NOW + 2 * MINUTE + 1 }).cascade;
    expect([after.status, after.deliveredStep, after.attempts[0]!.late]).toEqual(['active', undefined, true]);
  });

  it("a shortened step started early by a fast failure may use the slack up to its planned end, no further", () => {
    const channels = {
      push: { kind: 'push', send, confirm: { timeout: '30s' } },
      email: { kind: 'email', cost: 0.001, send, confirm: { timeout: '30m' } },
      sms: { kind: 'sms', cost: 0.05, send, confirm: { timeout: '1m' } },
    } satisfies Record<string, ChannelConfig>;
    const message: Message = { key: 'k', category: 'otp', content: { text: 'x' }, deadline: '2m' };
    const recipient = { id: 'r', addresses: { push: 't', email: 'e@x', sms: '+1' } };
    const plan = planCascade({ channels, message, recipient, now: NOW });
    expect(plan.steps.map((s) => [s.channel, s.startAt - NOW, s.waitMs])).toEqual([
      ['push', 0, 30 * SECOND],
      ['email', 30 * SECOND, 30 * SECOND],
      ['sms', MINUTE, MINUTE],
    ]);
    const failAt = (c: Cascade, step: number, now: number): Cascade => {
      c = transition(c, { type: 'sent', now, step, providerMessageId: `id${step}` }).cascade;
      return transition(c, { type: 'receipt', now, step, status: 'failed', error: { message: 'gone', fault: 'recipient' } }).cascade;
    };
    const start = startCascade({ id: 'c', key: 'k', message, recipient, plan, now: NOW }).cascade;
    // Push fails at 5 s: email starts then and may wait until its planned end (60 s), not just its 30 s.
    const early = failAt(start, 0, NOW + 5 * SECOND);
    expect([early.step, early.timerAt]).toEqual([1, NOW + MINUTE]);
    // Push fails at 40 s (later than planned is not possible here; at 29 s): email waits its 30 s, past its planned end.
    const late = failAt(start, 0, NOW + 29 * SECOND);
    expect([late.step, late.timerAt]).toEqual([1, NOW + MINUTE]);
    // Email fails at once too: SMS, the last step, may wait until the deadline.
    const both = failAt(early, 1, NOW + 6 * SECOND);
    expect([both.step, both.timerAt]).toEqual([2, NOW + MINUTE + 6 * SECOND]);
  });
});

describe('expected cost against a Monte Carlo run of the plan', () => {
  /** Runs the plan once: each step delivers (after its latency) with its probability, fails at once with its failure chance, or waits out its wait. */
  function runOnce(steps: readonly PlanStep[], microsPerMs: number, random: () => number): number {
    let total = 0;
    for (const step of steps) {
      const p = step.probability ?? 1;
      const f = step.failure ?? 0;
      const u = random();
      if (u < p) {
        total += step.costMicros + microsPerMs * (step.latencyMs ?? 0);
        return total;
      }
      if (step.billing === 'sent') total += step.costMicros;
      if (u >= p + f) total += microsPerMs * step.waitMs; // silent: waits out the wait; a fast failure costs no time
    }
    return total;
  }

  it('expectedCost(plan.steps, λ) is within four standard errors of 40,000 simulated runs of the plan, deadline shares included', () => {
    fc.assert(
      fc.property(scenarioArb, fc.integer({ min: 1, max: 2 ** 31 - 1 }), (s, seed) => {
        const p = planOf(s);
        if (p.steps.length === 0) return;
        const valueOfTime = s.message.policy?.valueOfTime;
        const microsPerMs = valueOfTime === undefined ? 0 : Number(valueOfTime) * 1e6 / 1000;
        let state = seed;
        const random = (): number => {
          // mulberry32
          state = (state + 0x6d2b79f5) | 0;
          let t = Math.imul(state ^ (state >>> 15), 1 | state);
          t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
          return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
        };
        const n = 40_000;
        let sum = 0;
        let squares = 0;
        for (let i = 0; i < n; i++) {
          const x = runOnce(p.steps, microsPerMs, random);
          sum += x;
          squares += x * x;
        }
        const mean = sum / n;
        const sd = Math.sqrt(Math.max(0, squares / n - mean * mean));
        const want = expectedCost(p.steps, microsPerMs);
        // Four standard errors, and for outcomes too rare to show up in n runs (chance below 5/n), 5/n of the
        // most one run can cost.
        const most = p.steps.reduce((sum, step) => sum + step.costMicros + microsPerMs * Math.max(step.waitMs, step.latencyMs ?? 0), 0);
        expect(Math.abs(want - mean)).toBeLessThanOrEqual(4 * sd / Math.sqrt(n) + (5 * most) / n + 1e-9);
      }),
      { numRuns: 60 },
    );
  });
});

describe('planner: cold start', () => {
  it('without a value of time, a channel the recipient has no history on keeps its price as its key (the default order)', () => {
    const channels = {
      email: { kind: 'email', cost: 0.001, send },
      sms: { kind: 'sms', cost: 0.05, send },
    } satisfies Record<string, ChannelConfig>;
    const order = (personal: boolean | undefined, valueOfTime?: string): string[] =>
      planCascade({
        channels,
        message: { key: 'k', category: 'transactional', content: { text: 'x' } },
        recipient: { id: 'r', addresses: { email: 'e@x', sms: '+1' } },
        now: NOW,
        valueOfTime,
        estimates: new Map([['email', { probability: 0.01, latencyMs: SECOND, personal }]]),
      }).steps.map((s) => s.channel);
    // 0.001 / 0.01 = 0.1 > 0.05: by expected cost SMS first, but only on the recipient's own evidence.
    expect(order(true)).toEqual(['sms', 'email']);
    expect(order(undefined)).toEqual(['sms', 'email']);
    expect(order(false)).toEqual(['email', 'sms']);
    expect(order(false, '0.0001')).toEqual(['sms', 'email']);
  });
});
