/**
 * The planner with the router's own learned estimates (`PlanContext.learned`): a learned order replaces the
 * price order only for a margin, and a channel below `minProbability` that can still deliver is skipped only
 * when trying it costs more than it may save. Expected costs come from a Monte Carlo run of the plan (a seeded
 * generator), not from `expectedCost`, which shares its maths with the planner.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { resolveChannels } from '../src/core/channels.js';
import { buildPlan, REORDER_MARGIN } from '../src/core/planner.js';
import type { ChannelConfig, ChannelEstimate, Plan } from '../src/core/types.js';
import { validateMessage, validateRecipient } from '../src/core/validate.js';

const NOW = Date.UTC(2026, 0, 8, 10, 0);
const send = async (): Promise<string> => 'unused';
const message = { key: 'k', category: 'transactional', content: { text: 'x' } };

function plan(channels: Record<string, ChannelConfig>, estimates: Map<string, ChannelEstimate>, options: { minProbability?: number; learned?: boolean } = {}): Plan {
  const resolved = resolveChannels(channels);
  const addresses = Object.fromEntries(Object.keys(channels).map((name) => [name, `addr-${name}`]));
  return buildPlan(
    { channels: resolved, consentRequired: new Set(), now: NOW, estimates, minProbability: options.minProbability ?? 0.05, learned: options.learned ?? true },
    validateMessage(message, resolved),
    validateRecipient({ id: 'r', addresses }),
  );
}

/** A small seeded generator (mulberry32): the oracle's draws are the same on every run. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Tried {
  readonly cost: number;
  readonly billing: 'sent' | 'delivered';
  readonly p: number;
}

/** Mean spend of trying the steps in order until one delivers (each independently with its p), by simulation. */
function monteCarlo(steps: readonly Tried[], runs = 200_000, seed = 7): number {
  const next = random(seed);
  let total = 0;
  for (let i = 0; i < runs; i++) {
    for (const s of steps) {
      const delivered = next() < s.p;
      if (s.billing === 'sent' || delivered) total += s.cost;
      if (delivered) break;
    }
  }
  return total / runs;
}

describe('planner with learned estimates: unlikely channels', () => {
  it('skips a paid channel below minProbability exactly when its price is more than it may save on the steps after it (Monte Carlo)', () => {
    // Email at 0.01 delivers for this recipient 1% of the time; SMS after it at 0.05 always: trying email saves
    // 0.01 · 0.05 = 0.0005 of SMS on average.
    for (const emailCost of [0.0004, 0.0006]) {
      const channels = {
        email: { kind: 'email', cost: emailCost, send },
        sms: { kind: 'sms', cost: 0.05, send },
      } satisfies Record<string, ChannelConfig>;
      const estimates = new Map<string, ChannelEstimate>([
        ['email', { probability: 0.01, latencyMs: 0 }],
        ['sms', { probability: 1, latencyMs: 0 }],
      ]);
      const withEmail = monteCarlo([{ cost: emailCost, billing: 'sent', p: 0.01 }, { cost: 0.05, billing: 'sent', p: 1 }]);
      const without = monteCarlo([{ cost: 0.05, billing: 'sent', p: 1 }]);
      const p = plan(channels, estimates);
      expect(p.steps.map((s) => s.channel)).toEqual(withEmail < without ? ['email', 'sms'] : ['sms']);
      expect(p.skipped.map((s) => s.reason)).toEqual(withEmail < without ? [] : ['unlikely']);
    }
    // Planned by hand (`planCascade`, no `learned`), the threshold alone decides: email is skipped at either price.
    const handPlanned = plan({ email: { kind: 'email', cost: 0.0004, send }, sms: { kind: 'sms', cost: 0.05, send } }, new Map([['email', { probability: 0.01, latencyMs: 0 }]]), { learned: false });
    expect(handPlanned.steps.map((s) => s.channel)).toEqual(['sms']);
  });

  it('a channel learned to be unable to deliver (probability 0) is always skipped below minProbability', () => {
    const p = plan({ push: { kind: 'push', cost: 0, send }, sms: { kind: 'sms', cost: 0.05, send } }, new Map([['push', { probability: 0, latencyMs: 0 }]]));
    expect(p.steps.map((s) => s.channel)).toEqual(['sms']);
    expect(p.skipped).toEqual([expect.objectContaining({ channel: 'push', reason: 'unlikely' })]);
  });

  it('without a value of time, a free channel that can still deliver is never skipped as unlikely', () => {
    const spec = fc.record({ cost: fc.constantFrom(0, 0, 0.001, 0.02, 0.05), delivered: fc.boolean(), p: fc.double({ min: 0, max: 1, noNaN: true }) });
    fc.assert(
      fc.property(fc.array(spec, { minLength: 1, maxLength: 5 }), fc.double({ min: 0, max: 1, noNaN: true }), (specs, minProbability) => {
        const channels: Record<string, ChannelConfig> = {};
        const estimates = new Map<string, ChannelEstimate>();
        specs.forEach((s, i) => {
          channels[`c${i}`] = { kind: 'custom', cost: s.cost, billing: s.delivered ? 'delivered' : 'sent', send };
          estimates.set(`c${i}`, { probability: s.p, latencyMs: 0 });
        });
        const p = plan(channels, estimates, { minProbability });
        const planned = new Set(p.steps.map((s) => s.channel));
        specs.forEach((s, i) => {
          if (s.cost === 0 && s.p > 0) expect(planned.has(`c${i}`)).toBe(true);
        });
        expect(p.steps.length + p.skipped.length).toBe(specs.length);
      }),
      { numRuns: 300 },
    );
  });
});

describe('planner with learned estimates: the margin a reorder needs', () => {
  it(`moves SMS behind a dearer messenger billed on delivery only when that is expected to cost ${REORDER_MARGIN * 100}% less (Monte Carlo)`, () => {
    const channels = {
      whatsapp: { kind: 'messenger', cost: 0.06, billing: 'delivered', send },
      sms: { kind: 'sms', cost: 0.05, send },
    } satisfies Record<string, ChannelConfig>;
    // SMS first is cheaper by price; with SMS at p_s for this recipient, WhatsApp first is cheaper by expected
    // cost once p_s < 0.05 / 0.06, but by the margin only well below that.
    for (const smsP of [0.95, 0.7, 0.45, 0.3]) {
      const estimates = new Map<string, ChannelEstimate>([
        ['whatsapp', { probability: 0.9, latencyMs: 0 }],
        ['sms', { probability: smsP, latencyMs: 0 }],
      ]);
      const smsFirst = monteCarlo([{ cost: 0.05, billing: 'sent', p: smsP }, { cost: 0.06, billing: 'delivered', p: 0.9 }]);
      const whatsappFirst = monteCarlo([{ cost: 0.06, billing: 'delivered', p: 0.9 }, { cost: 0.05, billing: 'sent', p: smsP }]);
      const expected = whatsappFirst <= (1 - REORDER_MARGIN) * smsFirst ? ['whatsapp', 'sms'] : ['sms', 'whatsapp'];
      expect([smsP, plan(channels, estimates).steps.map((s) => s.channel)]).toEqual([smsP, expected]);
      // Taken as given (`planCascade`), the estimates decide by expected cost alone.
      const exact = whatsappFirst < smsFirst ? ['whatsapp', 'sms'] : ['sms', 'whatsapp'];
      expect([smsP, plan(channels, estimates, { learned: false }).steps.map((s) => s.channel)]).toEqual([smsP, exact]);
    }
  });

  it('a learned order differs from the price order only when it costs at least REORDER_MARGIN less by its own estimates, and a channel learned lost still goes last', () => {
    const spec = fc.record({ cost: fc.integer({ min: 0, max: 80 }), delivered: fc.boolean(), p: fc.double({ min: 0.05, max: 1, noNaN: true }) });
    fc.assert(
      // Distinct prices: the price order has no ties for a tie-break to settle otherwise than this test does.
      fc.property(fc.uniqueArray(spec, { selector: (s) => s.cost, minLength: 2, maxLength: 4 }), fc.nat({ max: 3 }), (specs, lostIndex) => {
        const channels: Record<string, ChannelConfig> = {};
        const estimates = new Map<string, ChannelEstimate>();
        specs.forEach((s, i) => {
          channels[`c${i}`] = { kind: 'custom', cost: s.cost / 1000, billing: s.delivered ? 'delivered' : 'sent', send };
          estimates.set(`c${i}`, { probability: i === lostIndex ? 0 : s.p, latencyMs: 0 });
        });
        const p = plan(channels, estimates, { minProbability: 0 });
        const cost = (names: readonly string[]): number => {
          let total = 0;
          let reach = 1;
          for (const n of names) {
            const i = Number(n.slice(1));
            const pr = i === lostIndex ? 0 : specs[i]!.p;
            total += reach * (specs[i]!.delivered ? pr : 1) * specs[i]!.cost;
            reach *= 1 - pr;
          }
          return total;
        };
        const names = p.steps.map((s) => s.channel);
        const byPrice = [...names].sort((a, b) => {
          const ia = Number(a.slice(1));
          const ib = Number(b.slice(1));
          return (ia === lostIndex ? 1 : 0) - (ib === lostIndex ? 1 : 0) || specs[ia]!.cost - specs[ib]!.cost;
        });
        const same = names.every((name, i) => name === byPrice[i]);
        if (!same) expect(cost(names)).toBeLessThanOrEqual((1 - REORDER_MARGIN) * cost(byPrice) + 1e-9);
        if (lostIndex < specs.length) expect(names[names.length - 1]).toBe(`c${lostIndex}`);
      }),
      { numRuns: 300 },
    );
  });
});
