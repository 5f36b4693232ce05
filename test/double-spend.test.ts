import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { planCascade, startCascade, transition, type Cascade, type ChannelConfig, type Message, type Recipient } from 'cascade-router';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const NOW = Date.UTC(2026, 0, 8, 10, 0);
const send = async (): Promise<string> => 'unused';

// Four steps, each started by the previous one's timeout: push 2 m, email 30 m, viber 10 m, SMS 5 m.
const CHANNELS = {
  push: { kind: 'push', cost: 0.0001, send, confirm: { timeout: '2m' } },
  email: { kind: 'email', cost: 0.001, send, confirm: { timeout: '30m' } },
  viber: { kind: 'messenger', cost: 0.02, billing: 'delivered', send, confirm: { timeout: '10m' } },
  sms: { kind: 'sms', cost: 0.05, send, confirm: { timeout: '5m' } },
} satisfies Record<string, ChannelConfig>;
const COST = [100, 1_000, 20_000, 50_000];
const RECIPIENT: Recipient = { id: 'r1', addresses: { push: 't', email: 'a@example.com', viber: '+380671234567', sms: '+380671234567' } };
const MESSAGE: Message = { key: 'm1', category: 'transactional', content: { text: 'Hello' } };

/** A cascade whose four steps have all been sent; the SMS step is current. */
function allSent(): Cascade {
  const plan = planCascade({ channels: CHANNELS, message: MESSAGE, recipient: RECIPIENT, now: NOW });
  let c = startCascade({ id: 'c1', key: 'm1', message: MESSAGE, recipient: RECIPIENT, plan, now: NOW }).cascade;
  for (let step = 0; step < 4; step++) {
    if (step > 0) c = transition(c, { type: 'tick', now: c.timerAt! }).cascade;
    c = transition(c, { type: 'sent', now: c.updatedAt + 1, step, providerMessageId: `p${step}` }).cascade;
  }
  expect([c.status, c.step]).toEqual(['active', 3]);
  return c;
}

type Outcome = { readonly kind: 'none' } | { readonly kind: 'failed' } | { readonly kind: 'delivered'; readonly at: number };

function permutations<T>(list: readonly T[]): T[][] {
  if (list.length <= 1) return [[...list]];
  return list.flatMap((x, i) => permutations([...list.slice(0, i), ...list.slice(i + 1)]).map((rest) => [x, ...rest]));
}

/**
 * The oracle: over every ordering of the delivered attempts, the one a customer lives through is the one
 * sorted by delivery time (equal times: the earlier step first). Everything after its first is paid twice.
 */
function oracle(outcomes: readonly Outcome[]): number {
  const delivered = outcomes.flatMap((o, step) => (o.kind === 'delivered' ? [{ step, at: o.at }] : []));
  for (const ordering of permutations(delivered)) {
    const lived = ordering.every((d, i) => i === 0 || ordering[i - 1]!.at < d.at || (ordering[i - 1]!.at === d.at && ordering[i - 1]!.step < d.step));
    if (lived) return ordering.slice(1).reduce((sum, d) => sum + COST[d.step]!, 0);
  }
  return 0;
}

describe('double spend by receipt times', () => {
  // Times on a coarse grid, so that equal times (the boundary) come up often.
  const outcome = fc.oneof(
    fc.constant<Outcome>({ kind: 'none' }),
    fc.constant<Outcome>({ kind: 'failed' }),
    fc.integer({ min: 0, max: 8 }).map<Outcome>((k) => ({ kind: 'delivered', at: NOW + k * 6 * MINUTE })),
  );

  it('double spend is the spend on attempts that reached the customer after the first delivery in time, whatever order the receipts arrive in', () => {
    const base = allSent();
    fc.assert(
      fc.property(fc.array(outcome, { minLength: 4, maxLength: 4 }), (outcomes) => {
        const receipts = outcomes.flatMap((o, step) => (o.kind === 'none' ? [] : [{ step, o }]));
        const want = oracle(outcomes);
        for (const arrival of permutations(receipts)) {
          let c = base;
          let now = NOW + 43 * MINUTE; // after every send, before the SMS's wait runs out
          for (const { step, o } of arrival) {
            c = transition(c, o.kind === 'failed' ? { type: 'receipt', now: ++now, step, status: 'failed' } : { type: 'receipt', now: ++now, step, status: 'delivered', at: (o as { at: number }).at }).cascade;
          }
          expect(c.doubleSpendMicros).toBe(want);
          expect(c.doubleSpendMicros).toBeLessThanOrEqual(c.spendMicros);
        }
      }),
      { numRuns: 150 },
    );
  });

  it('pins the boundary: at the same instant the later step is the redundant one; a millisecond either way decides', () => {
    const base = allSent();
    const T = NOW + 20 * MINUTE;
    const both = (viberAt: number, smsAt: number): number => {
      let c = transition(base, { type: 'receipt', now: NOW + 43 * MINUTE, step: 2, status: 'delivered', at: viberAt }).cascade;
      c = transition(c, { type: 'receipt', now: NOW + 44 * MINUTE, step: 3, status: 'delivered', at: smsAt }).cascade;
      return c.doubleSpendMicros;
    };
    expect(both(T, T)).toBe(50_000); // equal: the SMS (later step) was paid twice
    expect(both(T, T - 1)).toBe(20_000); // the SMS a millisecond first: Viber was
    expect(both(T, T + 1)).toBe(50_000);
    // One delivery alone is never double spend, whatever else was billed.
    expect(transition(base, { type: 'receipt', now: NOW + 43 * MINUTE, step: 0, status: 'delivered' }).cascade.doubleSpendMicros).toBe(0);
  });
});
