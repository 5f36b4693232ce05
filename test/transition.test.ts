import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  planCascade,
  startCascade,
  TERMINAL,
  transition,
  transitionAll,
  type Cascade,
  type CascadeInput,
  type CascadeStatus,
  type ChannelConfig,
  type Message,
  type ReceiptStatus,
  type Recipient,
  type Transition,
} from 'cascade-router';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const NOW = Date.UTC(2026, 0, 8, 10, 0);

const send = async (): Promise<string> => 'unused';

const CHANNELS = {
  push: { kind: 'push', cost: 0, send, confirm: { timeout: '2m' } },
  email: { kind: 'email', cost: 0.001, send, confirm: { timeout: '30m' } },
  viber: { kind: 'messenger', cost: 0.02, billing: 'delivered', send, confirm: { timeout: '10m' } },
  sms: { kind: 'sms', cost: 0.05, send, confirm: { timeout: '5m' } },
} satisfies Record<string, ChannelConfig>;

const RECIPIENT: Recipient = {
  id: 'r1',
  addresses: { push: 'token', email: 'a@example.com', viber: '+380671234567', sms: '+380671234567' },
};

const MESSAGE: Message = { key: 'm1', category: 'transactional', content: { text: 'Hello' } };

function start(message: Partial<Message> = {}, channels: Record<string, ChannelConfig> = CHANNELS): Transition {
  const full = { ...MESSAGE, ...message };
  const plan = planCascade({ channels, message: full, recipient: RECIPIENT, now: NOW });
  return startCascade({ id: 'c1', key: full.key, message: full, recipient: RECIPIENT, plan, now: NOW });
}

const tick = (c: Cascade, now: number): Transition => transition(c, { type: 'tick', now });
const sent = (c: Cascade, step: number, id: string, now: number, priceMicros?: number): Transition =>
  transition(c, { type: 'sent', now, step, providerMessageId: id, priceMicros });
const receipt = (
  c: Cascade,
  step: number,
  status: ReceiptStatus,
  now: number,
  extra: { at?: number; priceMicros?: number; error?: { message: string; code?: string } } = {},
): Transition => transition(c, { type: 'receipt', now, step, status, ...extra });
const cancel = (c: Cascade, now: number): Transition => transition(c, { type: 'cancel', now });

/** Asserts the input changed nothing: the very same object back, no effects, no notes. */
function expectNoChange(before: Cascade, t: Transition, verdict: Transition['verdict']): void {
  expect(t.verdict).toBe(verdict);
  expect(t.cascade).toBe(before);
  expect(t.effects).toEqual([]);
  expect(t.notes).toEqual([]);
}

describe('startCascade', () => {
  it('starts the first step at once when the plan starts now: a send effect and an attempt note', () => {
    const t = start();
    expect(t.verdict).toBe('applied');
    expect(t.effects).toEqual([{ type: 'send', step: 0 }]);
    expect(t.notes).toEqual([{ type: 'attempt', step: 0 }]);
    const c = t.cascade;
    expect([c.id, c.key, c.status, c.step, c.timerAt, c.createdAt, c.updatedAt, c.version, c.spendMicros, c.doubleSpendMicros, c.endedAt, c.deliveredStep]).toEqual([
      'c1', 'm1', 'active', 0, NOW + 2 * MINUTE, NOW, NOW, 1, 0, 0, undefined, undefined,
    ]);
    expect(c.attempts).toEqual([
      {
        step: 0, channel: 'push', phase: 'sending', startedAt: NOW, providerMessageId: undefined, status: undefined, history: [],
        outcome: undefined, endedAt: undefined, billed: false, costMicros: 0, priceMicros: undefined, late: undefined, error: undefined,
      },
    ]);
  });

  it('schedules a later start and begins the step on the tick at that time', () => {
    const t = start({ sendAt: NOW + HOUR });
    expect(t.effects).toEqual([]);
    expect(t.notes).toEqual([]);
    expect([t.cascade.status, t.cascade.step, t.cascade.attempts, t.cascade.timerAt]).toEqual(['scheduled', 0, [], NOW + HOUR]);

    expectNoChange(t.cascade, tick(t.cascade, NOW + HOUR - 1), 'unchanged');

    const begun = tick(t.cascade, NOW + HOUR);
    expect(begun.verdict).toBe('applied');
    expect(begun.effects).toEqual([{ type: 'send', step: 0 }]);
    expect(begun.notes).toEqual([{ type: 'attempt', step: 0 }]);
    expect([begun.cascade.status, begun.cascade.timerAt, begun.cascade.attempts[0]!.startedAt, begun.cascade.version]).toEqual([
      'active', NOW + HOUR + 2 * MINUTE, NOW + HOUR, 2,
    ]);
  });

  it('does not modify the cascade it was given', () => {
    const first = start().cascade;
    const snapshot = structuredClone(first);
    sent(first, 0, 'p1', NOW + 1);
    receipt(first, 0, 'failed', NOW + 2);
    cancel(first, NOW + 3);
    expect(first).toEqual(snapshot);
  });
});

describe('transition: sent', () => {
  it('records the provider id, asks for it to be indexed, and bills at acceptance with billing "sent"', () => {
    const c0 = start({ channels: ['email', 'sms'] }).cascade;
    const t = sent(c0, 0, 'p-email', NOW + 100);
    expect(t.verdict).toBe('applied');
    expect(t.effects).toEqual([{ type: 'index', providerMessageId: 'p-email' }]);
    expect(t.notes).toEqual([{ type: 'sent', step: 0 }]);
    const a = t.cascade.attempts[0]!;
    expect([a.providerMessageId, a.phase, a.status, a.history, a.billed, a.costMicros]).toEqual([
      'p-email', 'waiting', 'accepted', [{ status: 'accepted', at: NOW + 100, source: 'send' }], true, 1_000,
    ]);
    expect([t.cascade.spendMicros, t.cascade.version, t.cascade.updatedAt, t.cascade.status]).toEqual([1_000, 2, NOW + 100, 'active']);
  });

  it('bills billing "delivered" only on a delivered (or read) receipt', () => {
    let c = start({ channels: ['viber', 'sms'] }).cascade;
    c = sent(c, 0, 'p-viber', NOW + 1).cascade;
    expect([c.attempts[0]!.billed, c.attempts[0]!.costMicros, c.spendMicros]).toEqual([false, 0, 0]);
    c = receipt(c, 0, 'sent', NOW + 2).cascade;
    expect([c.attempts[0]!.billed, c.spendMicros]).toEqual([false, 0]);
    c = receipt(c, 0, 'delivered', NOW + 3).cascade;
    expect([c.attempts[0]!.billed, c.attempts[0]!.costMicros, c.spendMicros, c.status]).toEqual([true, 20_000, 20_000, 'delivered']);
  });

  it('bills billing "delivered" on delivery even when the cascade waits for read', () => {
    let c = start({ channels: ['viber', 'sms'], success: 'read' }).cascade;
    c = sent(c, 0, 'p-viber', NOW + 1).cascade;
    c = receipt(c, 0, 'delivered', NOW + 2).cascade;
    expect([c.status, c.attempts[0]!.phase, c.attempts[0]!.billed, c.spendMicros]).toEqual(['active', 'waiting', true, 20_000]);
    const read = receipt(c, 0, 'read', NOW + 3);
    expect([read.cascade.status, read.cascade.spendMicros, read.cascade.attempts[0]!.outcome]).toEqual(['delivered', 20_000, 'delivered']);
  });

  it('never bills a failed attempt with billing "delivered"', () => {
    let c = start({ channels: ['viber', 'sms'] }).cascade;
    c = sent(c, 0, 'p-viber', NOW + 1).cascade;
    c = receipt(c, 0, 'failed', NOW + 2).cascade;
    expect([c.attempts[0]!.billed, c.attempts[0]!.costMicros, c.spendMicros]).toEqual([false, 0, 0]);
  });

  it("replaces the projected cost with the provider's price, at acceptance or on a later receipt", () => {
    const sms = sent(start({ channels: ['sms'] }).cascade, 0, 'p-sms', NOW + 1, 45_000).cascade;
    expect([sms.attempts[0]!.priceMicros, sms.attempts[0]!.costMicros, sms.spendMicros]).toEqual([45_000, 45_000, 45_000]);
    const repriced = receipt(sms, 0, 'delivered', NOW + 2, { priceMicros: 42_000 }).cascade;
    expect([repriced.attempts[0]!.costMicros, repriced.spendMicros]).toEqual([42_000, 42_000]);

    let viber = sent(start({ channels: ['viber'] }).cascade, 0, 'p-viber', NOW + 1, 18_000).cascade;
    expect([viber.attempts[0]!.billed, viber.spendMicros]).toEqual([false, 0]);
    viber = receipt(viber, 0, 'delivered', NOW + 2).cascade;
    expect(viber.spendMicros).toBe(18_000);
    const viber2 = receipt(sent(start({ channels: ['viber'] }).cascade, 0, 'p-viber', NOW + 1).cascade, 0, 'delivered', NOW + 2, { priceMicros: 25_000 }).cascade;
    expect(viber2.spendMicros).toBe(25_000);
  });

  it('treats a second sent for the same step as a duplicate (same object back)', () => {
    const c = sent(start().cascade, 0, 'p1', NOW + 1).cascade;
    expectNoChange(c, sent(c, 0, 'p1', NOW + 2), 'duplicate');
    expectNoChange(c, sent(c, 0, 'p-other', NOW + 2), 'duplicate');
    expectNoChange(c, sent(c, 3, 'p3', NOW + 2), 'duplicate');
  });
});

describe('transition: receipts', () => {
  const waiting = (): Cascade => sent(start().cascade, 0, 'p-push', NOW + 1).cascade;

  it('ends the cascade on a positive receipt: delivered, no timer, nothing more to send', () => {
    const t = receipt(waiting(), 0, 'delivered', NOW + 10 * SECOND, { at: NOW + 9 * SECOND });
    expect(t.verdict).toBe('applied');
    expect(t.effects).toEqual([]);
    expect(t.notes).toEqual([
      { type: 'receipt', step: 0, status: 'delivered' },
      { type: 'delivered', step: 0 },
    ]);
    const c = t.cascade;
    expect([c.status, c.timerAt, c.endedAt, c.deliveredStep, c.attempts.length]).toEqual(['delivered', undefined, NOW + 10 * SECOND, 0, 1]);
    expect(c.attempts[0]).toMatchObject({ phase: 'ended', outcome: 'delivered', status: 'delivered', endedAt: NOW + 10 * SECOND });
    expect(c.attempts[0]!.history).toEqual([
      { status: 'accepted', at: NOW + 1, source: 'send' },
      { status: 'delivered', at: NOW + 9 * SECOND, source: 'receipt' },
    ]);
    // Its timer is gone: a tick much later changes nothing.
    expectNoChange(c, tick(c, NOW + HOUR), 'unchanged');
  });

  it('keeps waiting on a receipt below the success level', () => {
    const before = waiting();
    const t = receipt(before, 0, 'sent', NOW + 5 * SECOND);
    expect(t.effects).toEqual([]);
    expect(t.notes).toEqual([{ type: 'receipt', step: 0, status: 'sent' }]);
    expect([t.cascade.status, t.cascade.timerAt, t.cascade.attempts[0]!.phase, t.cascade.attempts[0]!.status]).toEqual([
      'active', NOW + 2 * MINUTE, 'waiting', 'sent',
    ]);
  });

  it('records the time it was handled when the receipt has none', () => {
    const t = receipt(waiting(), 0, 'sent', NOW + 7 * SECOND);
    expect(t.cascade.attempts[0]!.history.at(-1)).toEqual({ status: 'sent', at: NOW + 7 * SECOND, source: 'receipt' });
  });

  it('falls back to the next step on a failed receipt', () => {
    const t = receipt(waiting(), 0, 'failed', NOW + 20 * SECOND, { error: { message: 'Unregistered', code: 'UNREGISTERED' } });
    expect(t.effects).toEqual([{ type: 'send', step: 1 }]);
    expect(t.notes).toEqual([
      { type: 'receipt', step: 0, status: 'failed' },
      { type: 'fallback', step: 0, reason: 'failed', next: 1 },
      { type: 'attempt', step: 1 },
    ]);
    const c = t.cascade;
    expect(c.attempts[0]).toMatchObject({ phase: 'ended', outcome: 'failed', status: 'failed', endedAt: NOW + 20 * SECOND, error: { message: 'Unregistered', code: 'UNREGISTERED' } });
    expect(c.attempts[1]).toMatchObject({ step: 1, channel: 'email', phase: 'sending', startedAt: NOW + 20 * SECOND });
    expect([c.status, c.step, c.timerAt]).toEqual(['active', 1, NOW + 20 * SECOND + 30 * MINUTE]);
  });

  it('falls back on the timeout tick, not before', () => {
    const c = waiting();
    expectNoChange(c, tick(c, NOW + 2 * MINUTE - 1), 'unchanged');
    const t = tick(c, NOW + 2 * MINUTE);
    expect(t.effects).toEqual([{ type: 'send', step: 1 }]);
    expect(t.notes).toEqual([
      { type: 'fallback', step: 0, reason: 'timeout', next: 1 },
      { type: 'attempt', step: 1 },
    ]);
    expect(t.cascade.attempts.map((a) => [a.channel, a.phase, a.outcome])).toEqual([
      ['push', 'ended', 'timeout'],
      ['email', 'sending', undefined],
    ]);
  });

  it('aborts a send still in flight when its step times out', () => {
    const t = tick(start().cascade, NOW + 2 * MINUTE);
    expect(t.effects).toEqual([
      { type: 'abort', step: 0 },
      { type: 'send', step: 1 },
    ]);
  });

  it('falls back at once on a send error, and ignores one for an attempt no longer sending', () => {
    const t = transition(start().cascade, { type: 'send-failed', now: NOW + 5, step: 0, error: { message: 'invalid token', code: 'BAD_TOKEN' } });
    expect(t.notes).toEqual([
      { type: 'fallback', step: 0, reason: 'send-error', next: 1 },
      { type: 'attempt', step: 1 },
    ]);
    expect(t.cascade.attempts[0]).toMatchObject({ phase: 'ended', outcome: 'send-error', error: { message: 'invalid token', code: 'BAD_TOKEN' } });
    const c = waiting();
    expectNoChange(c, transition(c, { type: 'send-failed', now: NOW + 5, step: 0, error: { message: 'late' } }), 'stale');
  });

  it('is exhausted when the last step falls back', () => {
    let c = start({ channels: ['push', 'email'] }).cascade;
    c = tick(c, NOW + 2 * MINUTE).cascade;
    const t = tick(c, NOW + 32 * MINUTE);
    expect(t.notes).toEqual([
      { type: 'fallback', step: 1, reason: 'timeout', next: undefined },
      { type: 'exhausted' },
    ]);
    expect([t.cascade.status, t.cascade.timerAt, t.cascade.endedAt]).toEqual(['exhausted', undefined, NOW + 32 * MINUTE]);
  });

  it('is exhausted at once when the plan has no steps', () => {
    const t = start({ channels: [] });
    expect([t.cascade.status, t.notes, t.effects]).toEqual(['exhausted', [{ type: 'exhausted' }], []]);
  });
});

describe('transition: late receipts', () => {
  it('ends the cascade as delivered on a late positive receipt after fallback, with the spend after it as double spend', () => {
    let c = start({ channels: ['push', 'email', 'sms'] }).cascade;
    c = sent(c, 0, 'p-push', NOW + 1).cascade;
    c = tick(c, NOW + 2 * MINUTE).cascade; // push timed out
    c = sent(c, 1, 'p-email', NOW + 2 * MINUTE + 1).cascade; // email billed 0.001
    c = receipt(c, 1, 'failed', NOW + 3 * MINUTE).cascade; // email bounced: on to SMS
    c = sent(c, 2, 'p-sms', NOW + 3 * MINUTE + 1).cascade; // sms billed 0.05
    expect(c.spendMicros).toBe(51_000);

    const t = receipt(c, 0, 'delivered', NOW + 4 * MINUTE);
    expect(t.verdict).toBe('applied');
    expect(t.effects).toEqual([]);
    expect(t.notes).toEqual([
      { type: 'receipt', step: 0, status: 'delivered' },
      { type: 'late-receipt', step: 0 },
      { type: 'delivered', step: 0 },
    ]);
    const d = t.cascade;
    // The email bounced and the SMS has not reached anyone: nothing was paid twice (yet).
    expect([d.status, d.deliveredStep, d.spendMicros, d.doubleSpendMicros, d.timerAt, d.endedAt]).toEqual(['delivered', 0, 51_000, 0, undefined, NOW + 4 * MINUTE]);
    expect(d.attempts.map((a) => [a.channel, a.outcome, a.late])).toEqual([
      ['push', 'timeout', true],
      ['email', 'failed', undefined],
      ['sms', 'superseded', undefined],
    ]);
    // The SMS, already sent, reaches the phone after the push did: it was paid for nothing.
    expect(receipt(d, 2, 'delivered', NOW + 5 * MINUTE).cascade.doubleSpendMicros).toBe(50_000);
    // Had it reached the phone first (its receipt stamped before the push's), the push would be the redundant one (free).
    expect(receipt(d, 2, 'delivered', NOW + 5 * MINUTE, { at: NOW + 3 * MINUTE + 30 * SECOND }).cascade.doubleSpendMicros).toBe(0);
  });

  it('counts only the spend after the late step, and aborts a send still in flight', () => {
    let c = start({ channels: ['push', 'email', 'sms'] }).cascade;
    c = sent(c, 0, 'p-push', NOW + 1).cascade;
    c = tick(c, NOW + 2 * MINUTE).cascade;
    c = sent(c, 1, 'p-email', NOW + 2 * MINUTE + 1).cascade;
    c = tick(c, NOW + 32 * MINUTE).cascade; // email timed out; sms is sending
    const t = receipt(c, 1, 'delivered', NOW + 33 * MINUTE);
    expect(t.effects).toEqual([{ type: 'abort', step: 2 }]);
    expect([t.cascade.status, t.cascade.deliveredStep, t.cascade.spendMicros, t.cascade.doubleSpendMicros]).toEqual(['delivered', 1, 1_000, 0]);
    expect(t.cascade.attempts[2]).toMatchObject({ outcome: 'superseded', phase: 'ended', billed: false });
  });

  it('moves deliveredStep to an even earlier step on a later late receipt, keeping the status', () => {
    let c = start({ channels: ['push', 'email', 'sms'] }).cascade;
    c = sent(c, 0, 'p-push', NOW + 1).cascade;
    c = tick(c, NOW + 2 * MINUTE).cascade;
    c = sent(c, 1, 'p-email', NOW + 2 * MINUTE + 1).cascade;
    c = tick(c, NOW + 32 * MINUTE).cascade;
    c = sent(c, 2, 'p-sms', NOW + 32 * MINUTE + 1).cascade;
    c = receipt(c, 1, 'delivered', NOW + 33 * MINUTE).cascade;
    expect([c.status, c.deliveredStep, c.doubleSpendMicros]).toEqual(['delivered', 1, 0]);
    const t = receipt(c, 0, 'delivered', NOW + 34 * MINUTE);
    expect(t.notes).toEqual([
      { type: 'receipt', step: 0, status: 'delivered' },
      { type: 'late-receipt', step: 0 },
    ]);
    // The push came after the email (free, so nothing more paid twice); the SMS reaching the phone last is.
    expect([t.cascade.status, t.cascade.deliveredStep, t.cascade.doubleSpendMicros, t.cascade.endedAt]).toEqual(['delivered', 0, 0, NOW + 33 * MINUTE]);
    expect(receipt(t.cascade, 2, 'delivered', NOW + 35 * MINUTE).cascade.doubleSpendMicros).toBe(50_000);
  });

  it('records deliveredStep on an exhausted cascade and keeps its status', () => {
    let c = start({ channels: ['push', 'email'] }).cascade;
    c = sent(c, 0, 'p-push', NOW + 1).cascade;
    c = tick(c, NOW + 2 * MINUTE).cascade;
    c = sent(c, 1, 'p-email', NOW + 2 * MINUTE + 1).cascade;
    c = tick(c, NOW + 32 * MINUTE).cascade;
    expect(c.status).toBe('exhausted');
    const t = receipt(c, 0, 'delivered', NOW + HOUR);
    expect(t.effects).toEqual([]);
    expect(t.notes).toEqual([
      { type: 'receipt', step: 0, status: 'delivered' },
      { type: 'late-receipt', step: 0 },
    ]);
    expect([t.cascade.status, t.cascade.deliveredStep, t.cascade.doubleSpendMicros, t.cascade.endedAt, t.cascade.attempts[0]!.late]).toEqual([
      'exhausted', 0, 0, NOW + 32 * MINUTE, true,
    ]);
  });

  it('does not call a read after the delivered that ended the cascade late', () => {
    let c = sent(start().cascade, 0, 'p-push', NOW + 1).cascade;
    c = receipt(c, 0, 'delivered', NOW + 2).cascade;
    const t = receipt(c, 0, 'read', NOW + 3);
    expect(t.verdict).toBe('applied');
    expect(t.notes).toEqual([{ type: 'receipt', step: 0, status: 'read' }]);
    expect([t.cascade.status, t.cascade.attempts[0]!.status, t.cascade.attempts[0]!.late, t.cascade.doubleSpendMicros]).toEqual(['delivered', 'read', undefined, 0]);
  });
});

describe('transition: duplicate and stale inputs return the same object', () => {
  const delivered = (): Cascade => receipt(sent(start().cascade, 0, 'p-push', NOW + 1).cascade, 0, 'delivered', NOW + 2).cascade;

  it('a repeated receipt is a duplicate', () => {
    const c = receipt(sent(start().cascade, 0, 'p-push', NOW + 1).cascade, 0, 'sent', NOW + 2).cascade;
    expectNoChange(c, receipt(c, 0, 'sent', NOW + 3), 'duplicate');
    const d = delivered();
    expectNoChange(d, receipt(d, 0, 'delivered', NOW + 3), 'duplicate');
  });

  it('a receipt behind the status reached is stale', () => {
    const c = receipt(sent(start().cascade, 0, 'p-push', NOW + 1).cascade, 0, 'sent', NOW + 2).cascade;
    expectNoChange(c, receipt(c, 0, 'accepted', NOW + 3), 'stale');
    const d = delivered();
    expectNoChange(d, receipt(d, 0, 'sent', NOW + 3), 'stale');
    expectNoChange(d, receipt(d, 0, 'accepted', NOW + 3), 'stale');
  });

  it('a failed receipt after delivered, and anything after failed, is stale', () => {
    const d = delivered();
    expectNoChange(d, receipt(d, 0, 'failed', NOW + 3), 'stale');
    const f = receipt(sent(start().cascade, 0, 'p-push', NOW + 1).cascade, 0, 'failed', NOW + 2).cascade;
    expectNoChange(f, receipt(f, 0, 'failed', NOW + 3), 'duplicate');
    expectNoChange(f, receipt(f, 0, 'delivered', NOW + 3), 'stale');
    expectNoChange(f, receipt(f, 0, 'read', NOW + 3), 'stale');
  });

  it('a send that returns after a failed receipt for its attempt keeps the attempt failed', () => {
    // The core takes receipts by step, so a failed receipt can come before the send returned its id.
    const f = receipt(start().cascade, 0, 'failed', NOW + 1).cascade;
    expect([f.step, f.attempts[0]!.status]).toEqual([1, 'failed']);
    const t = sent(f, 0, 'p-push', NOW + 2);
    expect(t.cascade.attempts[0]!.status).toBe('failed');
    expect(t.cascade.step).toBe(1);
    expect(t.effects.filter((e) => e.type === 'send')).toEqual([]);
  });

  it('a receipt for a step never attempted is stale', () => {
    const c = start().cascade;
    expectNoChange(c, receipt(c, 2, 'delivered', NOW + 1), 'stale');
  });

  it('a tick before the timer, and a cancel of an ended cascade, are unchanged', () => {
    const c = start().cascade;
    expectNoChange(c, tick(c, NOW + MINUTE), 'unchanged');
    const d = delivered();
    expectNoChange(d, cancel(d, NOW + 3), 'unchanged');
    expectNoChange(d, tick(d, NOW + HOUR), 'unchanged');
  });
});

describe('transition: cancel and deadline', () => {
  it('cancels, aborting a send in flight', () => {
    const t = cancel(start().cascade, NOW + SECOND);
    expect(t.effects).toEqual([{ type: 'abort', step: 0 }]);
    expect(t.notes).toEqual([{ type: 'cancelled' }]);
    expect([t.cascade.status, t.cascade.timerAt, t.cascade.endedAt]).toEqual(['cancelled', undefined, NOW + SECOND]);
    expect(t.cascade.attempts[0]).toMatchObject({ phase: 'ended', outcome: 'cancelled', endedAt: NOW + SECOND });
  });

  it('cancels a waiting attempt without an abort, and a scheduled cascade before any attempt', () => {
    const waiting = cancel(sent(start().cascade, 0, 'p', NOW + 1).cascade, NOW + 2);
    expect([waiting.effects, waiting.cascade.status, waiting.cascade.attempts[0]!.outcome]).toEqual([[], 'cancelled', 'cancelled']);
    const scheduled = cancel(start({ sendAt: NOW + HOUR }).cascade, NOW + 2);
    expect([scheduled.effects, scheduled.notes, scheduled.cascade.status, scheduled.cascade.attempts]).toEqual([[], [{ type: 'cancelled' }], 'cancelled', []]);
  });

  it('sends nothing more after a cancel, even when the aborted send completes', () => {
    const c = cancel(start().cascade, NOW + 1).cascade;
    const late = sent(c, 0, 'p-push', NOW + 2);
    expect(late.cascade.status).toBe('cancelled');
    expect(late.effects.filter((e) => e.type === 'send')).toEqual([]);
    expectNoChange(c, tick(c, NOW + HOUR), 'unchanged');
  });

  it('expires on the deadline tick, ending the attempt in flight', () => {
    const t0 = start({ channels: ['email'], deadline: '2m' });
    expect(t0.cascade.timerAt).toBe(NOW + 2 * MINUTE);
    const c = sent(t0.cascade, 0, 'p-email', NOW + 1).cascade;
    expectNoChange(c, tick(c, NOW + 2 * MINUTE - 1), 'unchanged');
    const t = tick(c, NOW + 2 * MINUTE);
    expect(t.notes).toEqual([{ type: 'expired' }]);
    expect(t.effects).toEqual([]);
    expect([t.cascade.status, t.cascade.timerAt, t.cascade.attempts[0]!.outcome]).toEqual(['expired', undefined, 'timeout']);
    expect(tick(t0.cascade, NOW + 2 * MINUTE).effects).toEqual([{ type: 'abort', step: 0 }]);
  });

  it('records a delivery after the deadline, billed, but it does not deliver the message', () => {
    const t0 = start({ channels: ['viber', 'sms'], deadline: '20m' });
    let c = sent(t0.cascade, 0, 'p-viber', NOW + 1).cascade;
    c = tick(c, c.timerAt!).cascade; // viber's 10 minutes run out: SMS
    c = sent(c, 1, 'p-sms', c.updatedAt + 1).cascade;
    c = receipt(c, 1, 'delivered', c.updatedAt + 5 * SECOND).cascade;
    expect([c.status, c.deliveredStep, c.spendMicros]).toEqual(['delivered', 1, 50_000]);
    // Viber reaches the phone an hour later: billed (on delivery), late, and paid for nothing (the SMS was first).
    const late = receipt(c, 0, 'delivered', NOW + HOUR);
    expect(late.notes).toEqual([{ type: 'receipt', step: 0, status: 'delivered' }, { type: 'late-receipt', step: 0 }]);
    expect([late.cascade.status, late.cascade.deliveredStep, late.cascade.spendMicros, late.cascade.doubleSpendMicros]).toEqual(['delivered', 1, 70_000, 20_000]);
    expect(late.cascade.attempts[0]!.late).toBe(true);
    // Within the deadline the same receipt delivers it (deliveredStep), but the SMS still came first: Viber is the double spend.
    const inTime = receipt(c, 0, 'delivered', NOW + HOUR, { at: NOW + 12 * MINUTE });
    expect([inTime.cascade.deliveredStep, inTime.cascade.doubleSpendMicros]).toEqual([0, 20_000]);
    // Stamped before the SMS's delivery, it is the SMS that was paid twice.
    const first = receipt(c, 0, 'delivered', NOW + HOUR, { at: NOW + 10 * MINUTE });
    expect([first.cascade.deliveredStep, first.cascade.doubleSpendMicros]).toEqual([0, 50_000]);
  });
});

describe('transition: owners and resume', () => {
  const startBy = (by: string | undefined, message: Partial<Message> = {}): Transition => {
    const full = { ...MESSAGE, ...message };
    const plan = planCascade({ channels: CHANNELS, message: full, recipient: RECIPIENT, now: NOW });
    return startCascade({ id: 'c1', key: full.key, message: full, recipient: RECIPIENT, plan, now: NOW, by });
  };
  const resume = (c: Cascade, by: string, previousOwner: string | undefined, now = NOW + SECOND): Transition =>
    transition(c, { type: 'resume', now, by, step: c.step, previousOwner });

  it('gives each step to the instance whose input began it, and none when the input names none', () => {
    const c0 = startBy('A').cascade;
    expect(c0.attempts[0]!.owner).toBe('A');
    const sent = transition(c0, { type: 'sent', now: NOW + SECOND, by: 'A', step: 0, providerMessageId: 'p-push' }).cascade;
    const c1 = transition(sent, { type: 'tick', now: NOW + 2 * MINUTE, by: 'B' }).cascade; // push timed out: email
    expect(c1.attempts.map((a) => [a.channel, a.owner])).toEqual([
      ['push', 'A'],
      ['email', 'B'],
    ]);
    const c2 = transition(c1, { type: 'receipt', now: NOW + 3 * MINUTE, by: 'C', step: 1, status: 'failed' }).cascade; // email failed: viber
    expect(c2.attempts.map((a) => a.owner)).toEqual(['A', 'B', 'C']);
    expect(startBy(undefined).cascade.attempts[0]!.owner).toBe(undefined);
    const scheduled = startBy('A', { sendAt: NOW + HOUR }).cascade;
    expect(transition(scheduled, { type: 'tick', now: NOW + HOUR, by: 'B' }).cascade.attempts[0]!.owner).toBe('B');
  });

  it('passes a step still sending from its dead owner to another, which sends it again: same step, same timer', () => {
    const c = startBy('A').cascade;
    const t = resume(c, 'B', 'A');
    expect(t.verdict).toBe('applied');
    expect(t.effects).toEqual([{ type: 'send', step: 0 }]);
    expect(t.notes).toEqual([{ type: 'resumed', step: 0, previousOwner: 'A' }]);
    const a = t.cascade.attempts[0]!;
    expect([a.owner, a.phase, a.startedAt, t.cascade.timerAt, t.cascade.version]).toEqual(['B', 'sending', NOW, c.timerAt, c.version + 1]);
    // A step nobody owns (claimed without an instance id) is taken over the same way.
    expect(resume(startBy(undefined).cascade, 'B', undefined).cascade.attempts[0]!.owner).toBe('B');
  });

  it('takes over only from the owner it names: of two instances that found the owner dead, the second finds another', () => {
    const c = startBy('A').cascade;
    const byB = resume(c, 'B', 'A').cascade;
    expectNoChange(byB, resume(byB, 'C', 'A'), 'stale');
    expectNoChange(c, resume(c, 'C', 'X'), 'stale');
  });

  it('takes over nothing once the send is recorded, the step has ended, or before the cascade starts', () => {
    const c = startBy('A').cascade;
    const waiting = sent(c, 0, 'p1', NOW + 1).cascade;
    expectNoChange(waiting, resume(waiting, 'B', 'A'), 'stale');
    const timedOut = tick(c, NOW + 2 * MINUTE).cascade; // push ended, email begun (no owner)
    expect(timedOut.step).toBe(1);
    expectNoChange(timedOut, transition(timedOut, { type: 'resume', now: NOW + 3 * MINUTE, by: 'B', step: 0, previousOwner: 'A' }), 'stale');
    const cancelled = cancel(c, NOW + 1).cascade;
    expectNoChange(cancelled, resume(cancelled, 'B', 'A'), 'stale');
    const scheduled = startBy('A', { sendAt: NOW + HOUR }).cascade;
    expectNoChange(scheduled, resume(scheduled, 'B', undefined), 'stale');
  });

  it("ignores a send error from an instance the step passed from, but records its send's provider id", () => {
    const byB = resume(startBy('A').cascade, 'B', 'A').cascade;
    expectNoChange(byB, transition(byB, { type: 'send-failed', now: NOW + 2, by: 'A', step: 0, error: { message: 'boom' } }), 'stale');
    const failedByB = transition(byB, { type: 'send-failed', now: NOW + 2, by: 'B', step: 0, error: { message: 'boom' } });
    expect([failedByB.verdict, failedByB.cascade.step]).toEqual(['applied', 1]);
    // The provider accepted A's send after all: that is a fact, whoever reports it, and B's answer is then a duplicate.
    const sentByA = transition(byB, { type: 'sent', now: NOW + 2, by: 'A', step: 0, providerMessageId: 'p-A' });
    expect([sentByA.verdict, sentByA.cascade.attempts[0]!.phase, sentByA.cascade.attempts[0]!.providerMessageId]).toEqual(['applied', 'waiting', 'p-A']);
    expectNoChange(sentByA.cascade, transition(sentByA.cascade, { type: 'sent', now: NOW + 3, by: 'B', step: 0, providerMessageId: 'p-A' }), 'duplicate');
  });
});

describe('transition: a step still sending under another router', () => {
  const startBy = (by: string | undefined): Cascade => {
    const plan = planCascade({ channels: CHANNELS, message: MESSAGE, recipient: RECIPIENT, now: NOW });
    return startCascade({ id: 'c1', key: MESSAGE.key, message: MESSAGE, recipient: RECIPIENT, plan, now: NOW, by }).cascade;
  };
  const due = NOW + 2 * MINUTE;

  it("is not timed out by another router's timer, only by its owner's (which may hold the send's result not yet stored)", () => {
    const c = startBy('A');
    expectNoChange(c, transition(c, { type: 'tick', now: due, by: 'B' }), 'unchanged');
    expectNoChange(c, transition(c, { type: 'tick', now: due + HOUR, by: 'B' }), 'unchanged');
    const byOwner = transition(c, { type: 'tick', now: due, by: 'A' });
    expect([byOwner.verdict, byOwner.cascade.attempts[0]!.outcome, byOwner.cascade.step]).toEqual(['applied', 'timeout', 1]);
    // Not before it is due, even by its owner (the boundary: due at exactly timerAt).
    expectNoChange(c, transition(c, { type: 'tick', now: due - 1, by: 'A' }), 'unchanged');
    // A tick that names no router (the pure core used on its own) fires it as before.
    expect(transition(c, { type: 'tick', now: due }).verdict).toBe('applied');
  });

  it('is timed out by any router once its send is recorded', () => {
    const waiting = sent(startBy('A'), 0, 'p1', NOW + 1).cascade;
    const t = transition(waiting, { type: 'tick', now: due, by: 'B' });
    expect([t.verdict, t.cascade.attempts[0]!.outcome, t.cascade.attempts[1]!.owner]).toEqual(['applied', 'timeout', 'B']);
  });

  it('is fired, not sent again, by the router that takes it over once its timer is due', () => {
    const c = startBy('A');
    const early = transition(c, { type: 'resume', now: due - 1, by: 'B', step: 0, previousOwner: 'A' });
    expect([early.verdict, early.effects]).toEqual(['applied', [{ type: 'send', step: 0 }]]);
    const late = transition(c, { type: 'resume', now: due, by: 'B', step: 0, previousOwner: 'A' });
    expect(late.verdict).toBe('applied');
    expect(late.notes).toEqual([
      { type: 'fallback', step: 0, reason: 'timeout', next: 1 },
      { type: 'attempt', step: 1 },
    ]);
    expect([late.cascade.attempts[0]!.outcome, late.cascade.attempts[1]!.owner]).toEqual(['timeout', 'B']);
    expect(late.effects).toEqual([{ type: 'abort', step: 0 }, { type: 'send', step: 1 }]);
  });

  it('is taken over by its own owner when the owner finds it has no send in flight for it (a claim written although its write seemed to fail)', () => {
    const c = startBy('A');
    const t = transition(c, { type: 'resume', now: NOW + SECOND, by: 'A', step: 0, previousOwner: 'A' });
    expect([t.verdict, t.effects, t.notes]).toEqual(['applied', [{ type: 'send', step: 0 }], [{ type: 'resumed', step: 0, previousOwner: 'A' }]]);
    expect(t.cascade.version).toBe(c.version + 1);
  });

  it('sends an unsent claim of its own owner with a fresh wait even when its timer is due, but not past the deadline', () => {
    const c = startBy('A');
    const late = NOW + 3 * MINUTE; // push's 2-minute timer has passed
    const t = transition(c, { type: 'resume', now: late, by: 'A', step: 0, previousOwner: 'A', unsent: true });
    expect([t.verdict, t.effects, t.cascade.timerAt, t.cascade.attempts[0]!.phase]).toEqual(['applied', [{ type: 'send', step: 0 }], late + 2 * MINUTE, 'sending']);
    // Only its own: another router taking over a dead owner's step fires the due timer instead.
    expect(transition(c, { type: 'resume', now: late, by: 'B', step: 0, previousOwner: 'A', unsent: true }).notes[0]).toMatchObject({ type: 'fallback', reason: 'timeout' });
    // A deadline caps the fresh wait, and once passed the step expires instead.
    const plan = planCascade({ channels: CHANNELS, message: { ...MESSAGE, deadline: '5m' }, recipient: RECIPIENT, now: NOW });
    const d = startCascade({ id: 'c2', key: 'm2', message: { ...MESSAGE, key: 'm2', deadline: '5m' }, recipient: RECIPIENT, plan, now: NOW, by: 'A' }).cascade;
    expect(transition(d, { type: 'resume', now: NOW + 4 * MINUTE, by: 'A', step: 0, previousOwner: 'A', unsent: true }).cascade.timerAt).toBe(NOW + 5 * MINUTE);
    expect(transition(d, { type: 'resume', now: NOW + 5 * MINUTE, by: 'A', step: 0, previousOwner: 'A', unsent: true }).cascade.status).toBe('expired');
  });
});

describe('transitionAll: several inputs as one change', () => {
  it('applies a send result and the receipts held for its id in one version step, as one after another would', () => {
    const c = start().cascade;
    const inputs: CascadeInput[] = [
      { type: 'sent', now: NOW + 5, step: 0, providerMessageId: 'p1' },
      { type: 'receipt', now: NOW + 5, step: 0, status: 'sent', at: NOW + 2 },
      { type: 'receipt', now: NOW + 5, step: 0, status: 'delivered', at: NOW + 3 },
    ];
    const all = transitionAll(c, inputs);
    let one = c;
    const notes = [];
    for (const input of inputs) {
      const t = transition(one, input);
      one = t.cascade;
      notes.push(...t.notes);
    }
    expect(all.verdict).toBe('applied');
    expect(all.cascade.version).toBe(c.version + 1);
    expect({ ...all.cascade, version: 0 }).toEqual({ ...one, version: 0 });
    expect(all.notes).toEqual(notes);
    expect(all.effects).toEqual([{ type: 'index', providerMessageId: 'p1' }]);
  });

  it('is applied when any input is, and leaves out inputs that do not apply', () => {
    const c = start().cascade;
    const t = transitionAll(c, [
      { type: 'receipt', now: NOW + 5, step: 3, status: 'delivered' },
      { type: 'sent', now: NOW + 5, step: 0, providerMessageId: 'p1' },
      { type: 'sent', now: NOW + 5, step: 0, providerMessageId: 'p2' },
    ]);
    expect([t.verdict, t.cascade.attempts[0]!.providerMessageId, t.notes]).toEqual(['applied', 'p1', [{ type: 'sent', step: 0 }]]);
    expectNoChange(c, transitionAll(c, [{ type: 'receipt', now: NOW + 5, step: 3, status: 'delivered' }]), 'stale');
    expectNoChange(c, transitionAll(c, []), 'unchanged');
  });

  it('drops the send of a step begun and ended within the change: it never went out', () => {
    const c = sent(start().cascade, 0, 'p1', NOW + 1).cascade;
    // push failed (email begins: a send effect), then a cancel in the same change: email never goes out.
    const ended = transitionAll(c, [
      { type: 'receipt', now: NOW + 5, step: 0, status: 'failed' },
      { type: 'cancel', now: NOW + 5 },
    ]);
    expect([ended.cascade.status, ended.cascade.attempts[1]!.outcome]).toEqual(['cancelled', 'cancelled']);
    expect(ended.effects).toEqual([]);
    expect(transition(c, { type: 'receipt', now: NOW + 5, step: 0, status: 'failed' }).effects).toEqual([{ type: 'send', step: 1 }]);
  });
});

// ---------------------------------------------------------------------------------------------------------

const CASCADE_RANK: Record<CascadeStatus, number> = { scheduled: 0, active: 1, delivered: 2, exhausted: 2, cancelled: 2, expired: 2 };
const STATUS_RANK: Record<ReceiptStatus, number> = { failed: 0, accepted: 1, sent: 2, delivered: 3, read: 4 };

type Step =
  | { kind: 'tick'; after: number }
  | { kind: 'sent'; step: number; price: number | undefined }
  | { kind: 'send-failed'; step: number }
  | { kind: 'receipt'; step: number; status: ReceiptStatus; price: number | undefined }
  | { kind: 'cancel' }
  | { kind: 'resume'; by: string; from: string | undefined };

const OWNERS = ['A', 'B', 'C'] as const;

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant('tick' as const), after: fc.integer({ min: 0, max: 40 * MINUTE }) }), weight: 3 },
  { arbitrary: fc.record({ kind: fc.constant('sent' as const), step: fc.integer({ min: 0, max: 3 }), price: fc.option(fc.integer({ min: 0, max: 90_000 }), { nil: undefined }) }), weight: 3 },
  { arbitrary: fc.record({ kind: fc.constant('send-failed' as const), step: fc.integer({ min: 0, max: 3 }) }), weight: 1 },
  {
    arbitrary: fc.record({
      kind: fc.constant('receipt' as const),
      step: fc.integer({ min: 0, max: 3 }),
      status: fc.constantFrom<ReceiptStatus>('accepted', 'sent', 'delivered', 'read', 'failed'),
      price: fc.option(fc.integer({ min: 0, max: 90_000 }), { nil: undefined }),
    }),
    weight: 4,
  },
  { arbitrary: fc.constant({ kind: 'cancel' as const }), weight: 1 },
  {
    arbitrary: fc.record({ kind: fc.constant('resume' as const), by: fc.constantFrom(...OWNERS), from: fc.option(fc.constantFrom(...OWNERS), { nil: undefined }) }),
    weight: 2,
  },
);

describe('transition properties', () => {
  it('never moves a cascade or an attempt status backward, passes a step to another owner only by a resume, and changes nothing on a non-applied verdict', () => {
    fc.assert(
      fc.property(fc.array(stepArb, { maxLength: 30 }), fc.boolean(), fc.constantFrom(...OWNERS), (steps, scheduled, by) => {
        let c = start(scheduled ? { sendAt: NOW + MINUTE } : {}).cascade;
        let now = NOW;
        for (const s of steps) {
          let input: CascadeInput;
          if (s.kind === 'tick') {
            now += s.after;
            input = { type: 'tick', now, by };
          } else if (s.kind === 'sent') input = { type: 'sent', now, by, step: s.step, providerMessageId: `p-${s.step}`, priceMicros: s.price };
          else if (s.kind === 'send-failed') input = { type: 'send-failed', now, by, step: s.step, error: { message: 'boom' } };
          else if (s.kind === 'receipt') input = { type: 'receipt', now, by, step: s.step, status: s.status, priceMicros: s.price };
          else if (s.kind === 'resume') input = { type: 'resume', now, by: s.by, step: c.step, previousOwner: s.from };
          else input = { type: 'cancel', now, by };
          const t = transition(c, input);
          const next = t.cascade;
          if (t.verdict !== 'applied') {
            expect(next).toBe(c);
            expect([t.effects, t.notes]).toEqual([[], []]);
            continue;
          }
          expect(next.version).toBe(c.version + 1);
          expect(CASCADE_RANK[next.status]).toBeGreaterThanOrEqual(CASCADE_RANK[c.status]);
          if (TERMINAL.has(c.status)) {
            expect(next.status).toBe(c.status);
            expect(t.effects.filter((e) => e.type === 'send')).toEqual([]);
          }
          expect(next.attempts.length).toBeGreaterThanOrEqual(c.attempts.length);
          c.attempts.forEach((before, i) => {
            const after = next.attempts[i]!;
            expect(after.history.slice(0, before.history.length)).toEqual(before.history);
            if (before.phase === 'ended') expect(after.phase).toBe('ended');
            // An attempt passes to another owner only by a resume, while still sending, from the owner it names.
            if (after.owner !== before.owner) {
              expect(input.type === 'resume' && before.phase === 'sending' && input.previousOwner === before.owner && after.owner === input.by).toBe(true);
            }
            if (before.billed) expect(after.billed).toBe(true);
            if (before.status === undefined) return;
            if (before.status === 'failed') expect(after.status).toBe('failed');
            else if (after.status === 'failed') expect(STATUS_RANK[before.status]).toBeLessThan(STATUS_RANK.delivered);
            else expect(STATUS_RANK[after.status!]).toBeGreaterThanOrEqual(STATUS_RANK[before.status]);
          });
          expect(next.spendMicros).toBe(next.attempts.reduce((sum, a) => sum + a.costMicros, 0));
          expect(next.attempts.filter((a) => a.phase !== 'ended').length).toBeLessThanOrEqual(1);
          // A send is asked for only for a step that is sending in the name of the instance applying the input.
          for (const effect of t.effects) {
            if (effect.type !== 'send') continue;
            const claimed = next.attempts[effect.step]!;
            expect([claimed.phase, claimed.owner]).toEqual(['sending', input.by]);
          }
          c = next;
        }
      }),
      { numRuns: 300 },
    );
  });
});
