import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  addToChannel,
  addToChannelRecord,
  addToCounts,
  addToCountsRecord,
  bucketUpperMs,
  decay,
  estimateChannel,
  latencyBucket,
  newChannelRecord,
  newCountsRecord,
  observe,
  resolveLearning,
  type ChannelStats,
  type Observation,
  type OutcomeCounts,
  streakObservations,
} from '../src/core/learning.js';
import { planCascade, startCascade, transition, InvalidConfigError, type Cascade, type ChannelConfig, type Message, type Recipient } from 'cascade-router';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const DAY = 86_400_000;
const WEEK = 7 * DAY;
const NOW = Date.UTC(2026, 0, 8, 10, 0);
const LEARNING = resolveLearning(true)!;
const WAIT = { timeoutMs: 2 * MINUTE, minMs: SECOND, maxMs: 2 * MINUTE };

const obs = (outcome: Observation['outcome'], at = NOW, extra: Partial<Observation> = {}): Observation => ({
  channel: 'push',
  recipientId: 'r1',
  outcome,
  at,
  weight: 1,
  ...extra,
});

function channelOf(observations: readonly Observation[], now = NOW): ChannelStats | undefined {
  let stats: ChannelStats | undefined;
  for (const o of observations) stats = addToChannel(stats, o, now, LEARNING.halfLifeMs);
  return stats;
}

function countsOf(observations: readonly Observation[], now = NOW): OutcomeCounts | undefined {
  let counts: OutcomeCounts | undefined;
  for (const o of observations) counts = addToCounts(counts, o, now, LEARNING.halfLifeMs);
  return counts;
}

describe('latency buckets', () => {
  it('property: a latency lies at or below its bucket upper bound and above the previous bucket’s', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 30 * DAY }), (ms) => {
        const bucket = latencyBucket(ms);
        expect(ms).toBeLessThanOrEqual(bucketUpperMs(bucket));
        if (bucket > 0) expect(ms).toBeGreaterThanOrEqual(bucketUpperMs(bucket - 1) - 1);
      }),
    );
  });

  it('puts zero and one millisecond in bucket 0', () => {
    expect([latencyBucket(0), latencyBucket(1), latencyBucket(-5)]).toEqual([0, 0, 0]);
  });
});

describe('decay', () => {
  it('halves a count every half-life and never grows one', () => {
    expect(decay(NOW, NOW + WEEK, WEEK)).toBe(0.5);
    expect(decay(NOW, NOW + 2 * WEEK, WEEK)).toBe(0.25);
    expect(decay(NOW, NOW - DAY, WEEK)).toBe(1);
  });

  it('ages stored counts to the time of the update, and an old observation counts less', () => {
    const counts = countsOf([obs('delivered', NOW)], NOW);
    const later = addToCounts(counts, obs('failed', NOW), NOW + WEEK, WEEK);
    expect(later).toEqual({ at: NOW + WEEK, delivered: 0.5, failed: 0.5, timeout: 0, skipped: 0 });
  });

  it('takes back a timeout with weight -1 and never goes below zero', () => {
    const counts = countsOf([obs('timeout'), obs('timeout', NOW, { weight: -1 }), obs('timeout', NOW, { weight: -1 })]);
    expect(counts!.timeout).toBe(0);
  });
});

describe('estimateChannel', () => {
  it('expects a channel nobody has tried to work, and keeps its configured timeout', () => {
    expect(estimateChannel(undefined, undefined, WAIT, LEARNING, NOW)).toEqual({ probability: 1, latencyMs: 0, waitMs: undefined, failure: 0, arrival: undefined, personal: false });
  });

  it('uses the channel-wide figure for a recipient without history', () => {
    const wide = channelOf([...Array(9).fill(obs('delivered', NOW, { latencyMs: 2 * SECOND })), ...Array(10).fill(obs('timeout'))]);
    expect(estimateChannel(wide, undefined, WAIT, LEARNING, NOW).probability).toBeCloseTo(10 / 20, 10);
  });

  it('moves a recipient whose channel keeps failing below the channel-wide figure, and towards it again as the failures age', () => {
    const wide = channelOf(Array(40).fill(obs('delivered', NOW, { latencyMs: 2 * SECOND })));
    const own = countsOf(Array(8).fill(obs('timeout')));
    const now = estimateChannel(wide, own, WAIT, LEARNING, NOW).probability;
    expect(now).toBeLessThan(LEARNING.minProbability * 3);
    const monthLater = estimateChannel(wide, own, WAIT, LEARNING, NOW + 4 * WEEK).probability;
    expect(monthLater).toBeGreaterThan(now * 3);
    const delivered = addToCounts(own, obs('delivered', NOW + DAY, { latencyMs: SECOND }), NOW + DAY, LEARNING.halfLifeMs);
    expect(estimateChannel(wide, delivered, WAIT, LEARNING, NOW + DAY).probability).toBeGreaterThan(now);
  });

  it('never lets channel-wide figures alone push a recipient without history below minProbability', () => {
    const outage = channelOf(Array(500).fill(obs('failed')));
    expect(estimateChannel(outage, undefined, WAIT, LEARNING, NOW).probability).toBe(LEARNING.minProbability);
    expect(estimateChannel(outage, countsOf([obs('failed')]), WAIT, LEARNING, NOW).probability).toBeLessThan(LEARNING.minProbability);
  });

  it('adapts the wait to the observed latency quantile once enough deliveries are known, within the bounds', () => {
    const fast = Array.from({ length: 100 }, (_, i) => obs('delivered', NOW, { latencyMs: 1000 + 20 * i }));
    const stats = channelOf(fast);
    const estimate = estimateChannel(stats, undefined, WAIT, LEARNING, NOW);
    // By default (every receipt seen) the wait runs to the longest allowed, for the planner to stop it earlier
    // by cost; the chance of success is full from the slowest observed latency on, 2,980 ms (the bucket bound
    // is within 19% above it), and not before it.
    expect(estimate.waitMs).toBe(WAIT.maxMs);
    const full = estimate.arrival!.at(-1)![1];
    const first = estimate.arrival!.find(([, p]) => p === full)![0];
    expect(first).toBeGreaterThanOrEqual(2980);
    expect(first).toBeLessThanOrEqual(2980 * 1.19);
    // With quantile 0.95: the 95th of 1,000, 1,020, … 2,980 ms is 2,880 ms.
    const q95 = estimateChannel(stats, undefined, WAIT, { ...LEARNING, quantile: 0.95 }, NOW).waitMs!;
    expect(q95).toBeGreaterThanOrEqual(2880);
    expect(q95).toBeLessThanOrEqual(2880 * 1.19);
    expect(estimate.latencyMs).toBeGreaterThan(1000);
    expect(estimate.latencyMs).toBeLessThan(3000);
    expect(estimateChannel(stats, undefined, { ...WAIT, minMs: 10 * SECOND }, { ...LEARNING, quantile: 0.95 }, NOW).waitMs).toBe(10 * SECOND);
    const slow = channelOf(Array.from({ length: 100 }, () => obs('delivered', NOW, { latencyMs: 40 * MINUTE })));
    expect(estimateChannel(slow, undefined, WAIT, LEARNING, NOW).waitMs).toBe(2 * MINUTE);
    expect(estimateChannel(slow, undefined, { ...WAIT, maxMs: 2 * 60 * MINUTE }, LEARNING, NOW).waitMs).toBeGreaterThanOrEqual(40 * MINUTE);
  });

  it('keeps the configured timeout until minSamples deliveries are known, or when the channel does not adapt', () => {
    const few = channelOf(Array.from({ length: 19 }, () => obs('delivered', NOW, { latencyMs: SECOND })));
    expect(estimateChannel(few, undefined, WAIT, LEARNING, NOW).waitMs).toBeUndefined();
    const many = channelOf(Array.from({ length: 20 }, () => obs('delivered', NOW, { latencyMs: SECOND })));
    expect(estimateChannel(many, undefined, WAIT, LEARNING, NOW).waitMs).toBeDefined();
    expect(estimateChannel(many, undefined, { timeoutMs: WAIT.timeoutMs, minMs: undefined, maxMs: undefined }, LEARNING, NOW).waitMs).toBeUndefined();
  });

  it('counts only deliveries that come within the wait towards the probability', () => {
    const stats = channelOf([
      ...Array.from({ length: 50 }, () => obs('delivered', NOW, { latencyMs: SECOND })),
      ...Array.from({ length: 50 }, () => obs('delivered', NOW, { latencyMs: 60 * MINUTE })),
    ]);
    const short = estimateChannel(stats, undefined, { timeoutMs: 2 * MINUTE, minMs: undefined, maxMs: undefined }, LEARNING, NOW);
    expect(short.probability).toBeCloseTo((101 / 101) * 0.5, 2);
  });

  it('property: the probability is within [0, 1] and the wait within its bounds, whatever was observed', () => {
    const observation = fc.record({
      outcome: fc.constantFrom('delivered', 'failed', 'timeout', 'skipped' as const),
      at: fc.integer({ min: NOW - 10 * WEEK, max: NOW }),
      weight: fc.constantFrom(1, 1, 1, -1),
      latencyMs: fc.integer({ min: 0, max: 10 * DAY }),
    });
    fc.assert(
      fc.property(fc.array(observation, { maxLength: 60 }), fc.array(observation, { maxLength: 20 }), (wide, own) => {
        const e = estimateChannel(
          channelOf(wide.map((o) => obs(o.outcome, o.at, o))),
          countsOf(own.map((o) => obs(o.outcome, o.at, o))),
          WAIT,
          LEARNING,
          NOW,
        );
        expect(e.probability).toBeGreaterThanOrEqual(0);
        expect(e.probability).toBeLessThanOrEqual(1);
        if (e.waitMs !== undefined) {
          expect(e.waitMs).toBeGreaterThanOrEqual(WAIT.minMs);
          expect(e.waitMs).toBeLessThanOrEqual(WAIT.maxMs);
        }
      }),
    );
  });
});

describe('resolveLearning', () => {
  it('is off unless asked for, takes defaults for true, and rejects bad figures with a typed error', () => {
    expect(resolveLearning(undefined)).toBeUndefined();
    expect(resolveLearning(false)).toBeUndefined();
    expect(resolveLearning({ halfLife: '1d' })!.halfLifeMs).toBe(DAY);
    expect(() => resolveLearning({ quantile: 1.5 })).toThrow(InvalidConfigError);
    expect(() => resolveLearning({ halfLife: 0 })).toThrow('Expected `learning.halfLife` to be a positive duration, got 0');
  });
});

describe('observe', () => {
  const sendFn = async (): Promise<string> => 'x';
  const CHANNELS = {
    push: { kind: 'push', cost: 0, send: sendFn, confirm: { timeout: '2m' } },
    sms: { kind: 'sms', cost: 0.05, send: sendFn, confirm: { timeout: '5m' } },
  } satisfies Record<string, ChannelConfig>;
  const RECIPIENT: Recipient = { id: 'r1', addresses: { push: 'tok', sms: '+380671234567' } };
  const MESSAGE: Message = { key: 'm1', category: 'transactional', content: { text: 'Hi' } };

  function started(message: Partial<Message> = {}): Cascade {
    const full = { ...MESSAGE, ...message };
    const plan = planCascade({ channels: CHANNELS, message: full, recipient: RECIPIENT, now: NOW });
    return startCascade({ id: 'c1', key: 'm1', message: full, recipient: RECIPIENT, plan, now: NOW }).cascade;
  }

  it('counts a delivery with its latency from the send to the receipt’s own time', () => {
    const a = started();
    const b = transition(a, { type: 'sent', now: NOW + 100, step: 0, providerMessageId: 'p1' }).cascade;
    const c = transition(b, { type: 'receipt', now: NOW + 5000, step: 0, status: 'delivered', at: NOW + 3000 }).cascade;
    expect(observe(a, b)).toEqual([]);
    expect(observe(b, c)).toEqual([{ channel: 'push', recipientId: 'r1', outcome: 'delivered', at: NOW + 3000, weight: 1, latencyMs: 3000 }]);
  });

  it('counts a timeout, then takes it back when a late receipt shows the channel did deliver', () => {
    const a = started();
    const b = transition(a, { type: 'sent', now: NOW + 100, step: 0, providerMessageId: 'p1' }).cascade;
    const c = transition(b, { type: 'tick', now: NOW + 2 * MINUTE }).cascade;
    expect(observe(b, c)).toEqual([{ channel: 'push', recipientId: 'r1', outcome: 'timeout', at: NOW + 2 * MINUTE, weight: 1 }]);
    const d = transition(c, { type: 'receipt', now: NOW + 40 * MINUTE, step: 0, status: 'delivered' }).cascade;
    expect(observe(c, d)).toEqual([
      { channel: 'push', recipientId: 'r1', outcome: 'delivered', at: NOW + 40 * MINUTE, weight: 1, latencyMs: 40 * MINUTE },
      { channel: 'push', recipientId: 'r1', outcome: 'timeout', at: NOW + 2 * MINUTE, weight: -1 },
    ]);
  });

  it('counts a failure receipt and a permanent send error as failed, and learns nothing from a cancel', () => {
    const a = started();
    const failed = transition(a, { type: 'send-failed', now: NOW + 100, step: 0, error: { message: 'unregistered' } }).cascade;
    expect(observe(a, failed).map((o) => [o.channel, o.outcome])).toEqual([['push', 'failed']]);
    const b = transition(a, { type: 'sent', now: NOW + 100, step: 0, providerMessageId: 'p1' }).cascade;
    const viaReceipt = transition(b, { type: 'receipt', now: NOW + 200, step: 0, status: 'failed' }).cascade;
    expect(observe(b, viaReceipt).map((o) => [o.channel, o.outcome])).toEqual([['push', 'failed']]);
    expect(observe(b, transition(b, { type: 'cancel', now: NOW + 300 }).cascade)).toEqual([]);
  });

  it('keeps outcomes at read apart from outcomes at delivered', () => {
    const a = started({ success: { push: 'read' } });
    const b = transition(a, { type: 'sent', now: NOW, step: 0, providerMessageId: 'p1' }).cascade;
    const c = transition(b, { type: 'tick', now: NOW + 2 * MINUTE }).cascade;
    expect(observe(b, c).map((o) => o.channel)).toEqual(['push:read']);
  });

  it('keeps the run of misses per channel: a miss adds to it, a delivery (a late one too, or at `delivered` for a step waiting for read) resets it', () => {
    const R = -1e12;
    const run = (before: Cascade | undefined, after: Cascade): [string, string, number][] => streakObservations(before, after).map((o) => [o.channel, o.outcome, o.weight]);
    const a = started();
    const b = transition(a, { type: 'sent', now: NOW + 100, step: 0, providerMessageId: 'p1' }).cascade;
    const c = transition(b, { type: 'tick', now: NOW + 2 * MINUTE }).cascade;
    expect(run(b, c)).toEqual([['push#since', 'timeout', 1], ['push#since', 'skipped', R]]);
    const d = transition(c, { type: 'receipt', now: NOW + 40 * MINUTE, step: 0, status: 'delivered' }).cascade;
    expect(run(c, d)).toEqual([['push#since', 'timeout', R], ['push#since', 'failed', R], ['push#since', 'skipped', R]]);
    const failed = transition(a, { type: 'send-failed', now: NOW + 100, step: 0, error: { message: 'unregistered' } }).cascade;
    expect(run(a, failed)).toEqual([['push#since', 'failed', 1], ['push#since', 'skipped', R]]);
    // Waiting for read: delivered but not read within the wait reaches the customer, so it resets the run.
    const r = started({ success: { push: 'read' } });
    const r1 = transition(r, { type: 'sent', now: NOW, step: 0, providerMessageId: 'p1' }).cascade;
    const r2 = transition(r1, { type: 'receipt', now: NOW + 1000, step: 0, status: 'delivered' }).cascade;
    const r3 = transition(r2, { type: 'tick', now: NOW + 2 * MINUTE }).cascade;
    expect(run(r2, r3)).toEqual([['push#since', 'timeout', R], ['push#since', 'failed', R], ['push#since', 'skipped', R]]);
    expect(run(r1, transition(r1, { type: 'tick', now: NOW + 2 * MINUTE }).cascade)).toEqual([['push#since', 'timeout', 1], ['push#since', 'skipped', R]]);
  });

  it('ends the run of misses when a step waiting for read gets its delivery receipt only after its wait', () => {
    // Hand-computed: three messages to one recipient, push waiting for read (2 min), never read.
    // 1st: silent, times out -> run 1. 2nd: times out, then `delivered` arrives 10 min after the send: the
    // push reached the device, so the run ends -> 0. 3rd: silent, times out -> run 1. (Without the rule: 1, 2, 3.)
    const read = { success: { push: 'read' as const } };
    const all: Observation[] = [];
    const runs: number[] = [];
    const step = (before: Cascade, after: Cascade): Cascade => {
      all.push(...streakObservations(before, after));
      return after;
    };
    const silent = (): void => {
      const a = started(read);
      const b = step(a, transition(a, { type: 'sent', now: NOW, step: 0, providerMessageId: 'p1' }).cascade);
      step(b, transition(b, { type: 'tick', now: NOW + 2 * MINUTE }).cascade);
    };
    const lateDelivery = (): void => {
      const a = started(read);
      const b = step(a, transition(a, { type: 'sent', now: NOW, step: 0, providerMessageId: 'p1' }).cascade);
      const c = step(b, transition(b, { type: 'tick', now: NOW + 2 * MINUTE }).cascade);
      const d = step(c, transition(c, { type: 'receipt', now: NOW + 10 * MINUTE, step: 0, status: 'delivered' }).cascade);
      // The receipt is recorded but, below `read`, is no late delivery of the message.
      expect(d.attempts[0]!.late).toBeUndefined();
    };
    const streak = (): number => countsOf(all.filter((o) => o.channel === 'push#since'), NOW + 10 * MINUTE)?.timeout ?? 0;
    silent();
    runs.push(streak());
    lateDelivery();
    runs.push(streak());
    silent();
    runs.push(streak());
    expect(runs[0]).toBeCloseTo(1, 2); // aged by at most 8 min of a 7-day half-life
    expect(runs[1]).toBeCloseTo(0, 2); // aged by at most 8 min of a 7-day half-life
    expect(runs[2]).toBeCloseTo(1, 2); // aged by at most 8 min of a 7-day half-life
  });
});

describe('the recipient posterior: hard failures and cold start', () => {
  const LEARN = resolveLearning(true)!;
  const WAIT2 = { timeoutMs: 2 * MINUTE, minMs: SECOND, maxMs: 2 * MINUTE };
  it('a hard failure counts as three silent misses in the recipient estimate; a recipient with no history is not personal', () => {
    // Channel-wide: 9 delivered of 19 tried, with the optimistic pseudo-outcome (9 + 1) / (19 + 1) = 0.5.
    const wide = channelOf([...Array(9).fill(obs('delivered', NOW, { latencyMs: 2 * SECOND })), ...Array(10).fill(obs('timeout'))]);
    const silent = estimateChannel(wide, countsOf([obs('timeout')]), WAIT2, LEARN, NOW);
    const hard = estimateChannel(wide, countsOf([obs('failed')]), WAIT2, LEARN, NOW);
    // By hand: (0 + 1 · 0.5) / (1 + 1) for a silent miss, (0 + 1 · 0.5) / (3 + 1) for a failure.
    expect(silent.probability).toBeCloseTo(0.25, 10);
    expect(hard.probability).toBeCloseTo(0.125, 10);
    expect([silent.personal, hard.personal, estimateChannel(wide, undefined, WAIT2, LEARN, NOW).personal]).toEqual([true, true, false]);
  });
});


describe('records updated in place (the memory store)', () => {
  it('hold exactly the figures the copying functions give, after any sequence of observations, and their adaptive wait follows', () => {
    const observation = fc.record({
      outcome: fc.constantFrom<Observation['outcome']>('delivered', 'failed', 'timeout', 'skipped'),
      at: fc.integer({ min: 0, max: 3 * WEEK }),
      weight: fc.constantFrom(1, 1, 1, -1, -1e12),
      latencyMs: fc.option(fc.integer({ min: 0, max: 10 * MINUTE }), { nil: undefined }),
      later: fc.integer({ min: -DAY, max: 2 * WEEK }),
    });
    fc.assert(
      fc.property(fc.array(observation, { minLength: 1, maxLength: 40 }), (steps) => {
        let now = NOW;
        let counts: OutcomeCounts | undefined;
        let stats: ChannelStats | undefined;
        const countsRecord = newCountsRecord(NOW);
        const channelRecord = newChannelRecord(NOW);
        for (const step of steps) {
          now = Math.max(NOW, now + step.later);
          const o = obs(step.outcome, NOW + step.at, { weight: step.weight, latencyMs: step.latencyMs });
          counts = addToCounts(counts, o, now, WEEK);
          stats = addToChannel(stats, o, now, WEEK);
          addToCountsRecord(countsRecord, o, now, WEEK);
          addToChannelRecord(channelRecord, o, now, WEEK);
          expect({ ...countsRecord }).toStrictEqual(counts);
          expect({ ...channelRecord, latency: { ...channelRecord.latency } }).toStrictEqual({ ...stats, latency: { ...stats.latency } });
          // The record is the same object each time: an estimate from it must not keep an earlier histogram.
          expect(estimateChannel(channelRecord, undefined, WAIT, { ...LEARNING, minSamples: 1 }, now)).toStrictEqual(estimateChannel(stats, undefined, WAIT, { ...LEARNING, minSamples: 1 }, now));
        }
      }),
    );
  });
});
