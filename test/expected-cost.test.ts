import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { expectedCost, orderKey, type CostedStep } from 'cascade-router';

const MINUTE = 60_000;

// The worked example of docs/cost-model.md, in micro-units.
const push: CostedStep = { costMicros: 0, billing: 'sent', probability: 0.6, latencyMs: 5_000, waitMs: 2 * MINUTE };
const viber: CostedStep = { costMicros: 12_000, billing: 'delivered', probability: 0.7, latencyMs: 30_000, waitMs: 10 * MINUTE };
const whatsapp: CostedStep = { costMicros: 30_000, billing: 'sent', probability: 0.35, latencyMs: 20_000, waitMs: 10 * MINUTE };
const sms: CostedStep = { costMicros: 50_000, billing: 'sent', probability: 0.97, latencyMs: 10_000, waitMs: 5 * MINUTE };

/** 0.0001 per second, in micro-units per millisecond. */
const TENTH_OF_A_MILLI_PER_SECOND = 100 / 1000;

describe('orderKey', () => {
  it('is the price over the probability when billed on submission, the price itself when billed on delivery', () => {
    expect(orderKey(push)).toBe(0);
    expect(orderKey(viber)).toBe(12_000);
    expect(orderKey(sms)).toBeCloseTo(51_546.39, 2);
    expect(orderKey(whatsapp)).toBeCloseTo(85_714.29, 2);
  });

  it('is exactly the price with probability 1 or none, and +Infinity with probability 0', () => {
    expect(orderKey({ costMicros: 7_777, billing: 'sent', waitMs: MINUTE })).toBe(7_777);
    expect(orderKey({ costMicros: 7_777, billing: 'sent', probability: 1, latencyMs: 123, waitMs: MINUTE })).toBe(7_777);
    expect(orderKey({ costMicros: 0, billing: 'sent', probability: 0, waitMs: MINUTE })).toBe(Infinity);
    expect(orderKey({ costMicros: 5, billing: 'delivered', probability: 0, waitMs: MINUTE }, 1)).toBe(Infinity);
  });

  it('adds the value of the expected waiting, over the probability', () => {
    // push waits 0.6·5s + 0.4·120s = 51s on average: 51,000 ms · 0.1 µ/ms = 5,100 µ, over 0.6.
    expect(orderKey(push, TENTH_OF_A_MILLI_PER_SECOND)).toBeCloseTo(8_500, 6);
    // viber: 12,000 + (0.7·30s + 0.3·600s = 201s → 20,100 µ) / 0.7.
    expect(orderKey(viber, TENTH_OF_A_MILLI_PER_SECOND)).toBeCloseTo(12_000 + 20_100 / 0.7, 6);
    // With probability 1 the waiting is the latency.
    expect(orderKey({ costMicros: 1_000, billing: 'sent', probability: 1, latencyMs: 2_000, waitMs: MINUTE }, 0.5)).toBe(2_000);
  });
});

describe('expectedCost', () => {
  it('sums each step’s spend weighted by the chance that every step before it failed', () => {
    expect(expectedCost([])).toBe(0);
    // 0 + 0.4·(0.7·12,000) + 0.4·0.3·50,000
    expect(expectedCost([push, viber, sms])).toBeCloseTo(3_360 + 6_000, 6);
    // Cheapest first against the expected-cost order (docs/cost-model.md).
    expect(expectedCost([push, viber, whatsapp, sms])).toBeCloseTo(10_860, 6);
    expect(expectedCost([push, viber, sms, whatsapp])).toBeCloseTo(9_468, 6);
    // At 0.001 a second (1 micro-unit a millisecond), SMS first: more spend, far less waiting.
    expect(expectedCost([sms, push, viber, whatsapp])).toBeCloseTo(50_209, 0);
    expect(expectedCost([sms, push, viber, whatsapp], 1)).toBeCloseTo(74_280, 0);
    expect(expectedCost([push, viber, sms, whatsapp], 1)).toBeCloseTo(144_541, 0);
    expect(orderKey(sms, 1)).toBeLessThan(orderKey(push, 1));
  });

  it('takes a step with no probability as certain, so plan steps give the first step’s cost', () => {
    expect(expectedCost([{ costMicros: 5, billing: 'sent', waitMs: 1 }, { costMicros: 7, billing: 'sent', waitMs: 1 }])).toBe(5);
  });

  it('adds λ times the expected waiting', () => {
    const step: CostedStep = { costMicros: 0, billing: 'sent', probability: 0.5, latencyMs: 1_000, waitMs: 3_000 };
    // The first step waits 0.5·1s + 0.5·3s = 2s; the second is reached half the time and waits 2s too.
    expect(expectedCost([step], 0.1)).toBe(200);
    expect(expectedCost([step, step], 0.1)).toBe(300);
  });

  it('gets no worse by swapping an adjacent pair whose keys are out of order', () => {
    const step = fc.record({
      costMicros: fc.integer({ min: 0, max: 100_000 }),
      billing: fc.constantFrom('sent' as const, 'delivered' as const),
      probability: fc.double({ min: 0, max: 1, noNaN: true }),
      latencyMs: fc.integer({ min: 0, max: 60_000 }),
      waitMs: fc.integer({ min: 1_000, max: 3_600_000 }),
    });
    fc.assert(
      fc.property(fc.array(step, { minLength: 2, maxLength: 6 }), fc.nat({ max: 4 }), fc.constantFrom(0, 0.001, 0.1, 5), (steps, at, lambda) => {
        const i = at % (steps.length - 1);
        const swapped = [...steps];
        [swapped[i], swapped[i + 1]] = [swapped[i + 1]!, swapped[i]!];
        const [first, second] = orderKey(steps[i]!, lambda) <= orderKey(steps[i + 1]!, lambda) ? [steps, swapped] : [swapped, steps];
        const a = expectedCost(first, lambda);
        const b = expectedCost(second, lambda);
        expect(a).toBeLessThanOrEqual(b + 1e-9 * Math.max(1, Math.abs(b)));
      }),
      { numRuns: 500 },
    );
  });
});
