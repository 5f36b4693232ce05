import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LedgerTotals, ledgerDelta, spendReport } from '../src/core/ledger.js';
import { planCascade, startCascade, transition, type Cascade, type CascadeInput, type ChannelConfig, type Message, type Recipient } from 'cascade-router';

const MINUTE = 60_000;
const NOW = Date.UTC(2026, 0, 8, 10, 0);
const send = async (): Promise<string> => 'x';
const CHANNELS = {
  push: { kind: 'push', cost: 0, send, confirm: { timeout: '2m' } },
  email: { kind: 'email', cost: '0.0001', send, confirm: { timeout: '30m' } },
  viber: { kind: 'messenger', cost: '0.012', billing: 'delivered', send, confirm: { timeout: '10m' } },
  sms: { kind: 'sms', cost: '0.0747', send, confirm: { timeout: '5m' } },
} satisfies Record<string, ChannelConfig>;
const RECIPIENT: Recipient = { id: 'r1', addresses: { push: 't', email: 'a@example.com', viber: '+380671234567', sms: '+380671234567' } };
const MESSAGE: Message = { key: 'm1', category: 'transactional', content: { text: 'Hi' } };

function started(): Cascade {
  const plan = planCascade({ channels: CHANNELS, message: MESSAGE, recipient: RECIPIENT, now: NOW });
  return startCascade({ id: 'c1', key: 'm1', message: MESSAGE, recipient: RECIPIENT, plan, now: NOW }).cascade;
}

/** Random inputs against the current state: sends answered, receipts (also late and out of order), timeouts, cancels. */
const inputArb = fc.record({
  kind: fc.constantFrom('sent', 'sent', 'receipt', 'receipt', 'tick', 'cancel', 'send-failed'),
  step: fc.integer({ min: 0, max: 3 }),
  status: fc.constantFrom('delivered', 'read', 'failed', 'sent' as const),
  priced: fc.option(fc.integer({ min: 0, max: 200_000 }), { nil: undefined }),
  dt: fc.integer({ min: 1, max: 40 * MINUTE }),
});

type Input = typeof inputArb extends fc.Arbitrary<infer T> ? T : never;

function run(inputs: readonly Input[]): { final: Cascade; totals: LedgerTotals } {
  const totals = new LedgerTotals();
  let c = started();
  totals.add(ledgerDelta(undefined, c, 74_700)!);
  let now = NOW;
  for (const i of inputs) {
    now += i.dt;
    let input: CascadeInput;
    if (i.kind === 'sent') input = { type: 'sent', now, step: i.step, providerMessageId: `p${i.step}`, priceMicros: i.priced };
    else if (i.kind === 'receipt') input = { type: 'receipt', now, step: i.step, status: i.status, priceMicros: i.priced };
    else if (i.kind === 'send-failed') input = { type: 'send-failed', now, step: i.step, error: { message: 'no' } };
    else input = { type: i.kind as 'tick' | 'cancel', now };
    const done = transition(c, input);
    if (done.verdict !== 'applied') continue;
    const delta = ledgerDelta(c, done.cascade);
    if (delta) totals.add(delta);
    c = done.cascade;
  }
  return { final: c, totals };
}

describe('ledger', () => {
  it('property: the deltas of every change add up to the cascade’s own spend, double spend and per-channel billing', () => {
    fc.assert(
      fc.property(fc.array(inputArb, { maxLength: 25 }), (inputs) => {
        const { final, totals } = run(inputs);
        const ledger = totals.snapshot();
        expect(ledger.spendMicros).toBe(final.spendMicros);
        expect(ledger.doubleSpendMicros).toBe(final.doubleSpendMicros);
        expect(ledger.messages).toBe(1);
        expect(ledger.delivered).toBe(final.deliveredStep === undefined ? 0 : 1);
        for (const name of Object.keys(CHANNELS)) {
          const attempts = final.attempts.filter((a) => a.channel === name);
          const c = ledger.channels[name] ?? { sent: 0, delivered: 0, spendMicros: 0 };
          expect(c.spendMicros).toBe(attempts.reduce((sum, a) => sum + a.costMicros, 0));
          expect(c.sent).toBe(attempts.filter((a) => a.providerMessageId !== undefined).length);
          expect(c.delivered).toBe(attempts.filter((a) => a.outcome === 'delivered' || a.late === true).length);
        }
      }),
    );
  });

  it('reports exact decimal amounts, the SMS-only counterfactual and the saving', () => {
    const totals = new LedgerTotals();
    for (let i = 0; i < 3; i++) totals.add(ledgerDelta(undefined, started(), 74_700)!);
    totals.add(ledgerDelta(undefined, started(), undefined)!);
    const a = started();
    const b = transition(a, { type: 'sent', now: NOW + 1, step: 0, providerMessageId: 'p' }).cascade;
    const c = transition(b, { type: 'tick', now: NOW + 2 * MINUTE }).cascade;
    const d = transition(c, { type: 'sent', now: NOW + 2 * MINUTE, step: 1, providerMessageId: 'e' }).cascade;
    expect(ledgerDelta(b, c)).toBeUndefined(); // a timeout moves no money
    for (const [x, y] of [[a, b], [c, d]] as const) totals.add(ledgerDelta(x, y)!);
    const report = spendReport(totals.snapshot());
    expect(report).toMatchObject({
      messages: 4,
      spend: '0.0001',
      smsOnly: '0.2241',
      saving: '0.224',
      withoutSms: 1,
      channels: { push: { sent: 1, delivered: 0, spend: '0.00' }, email: { sent: 1, delivered: 0, spend: '0.0001' } },
    });
  });

  it('has nothing to add for a change that moves no money and ends nothing', () => {
    const a = started();
    const b = transition(a, { type: 'sent', now: NOW + 1, step: 0, providerMessageId: 'p' }).cascade;
    const c = transition(b, { type: 'receipt', now: NOW + 2, step: 0, status: 'sent' }).cascade;
    expect(ledgerDelta(b, c)).toBeUndefined();
  });
});
