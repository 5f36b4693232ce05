import { describe, expect, it } from 'vitest';
import { planCascade, type ChannelConfig, type ChannelEstimate, type Message, type Recipient } from 'cascade-router';

const NOW = Date.UTC(2026, 0, 8, 10, 0);
const SECOND = 1000;
const HOUR = 3_600_000;
const send = async (): Promise<string> => 'x';
const RECIPIENT: Recipient = { id: 'r', addresses: { push: 't', email: 'a@example.com', sms: '+380671234567' } };
const MESSAGE: Message = { key: 'k', category: 'transactional', content: { text: 'Hi' }, policy: { valueOfTime: '0.000001' } };

// Push: half the receipts within 10 s, a few more within a minute, the offline phones within two hours.
const PUSH: ChannelEstimate = {
  probability: 0.6,
  latencyMs: 20 * 60 * SECOND,
  waitMs: 2 * HOUR,
  arrival: [
    [10 * SECOND, 0.5, 2 * SECOND],
    [60 * SECOND, 0.55, 5 * SECOND],
    [2 * HOUR, 0.6, 20 * 60 * SECOND],
  ],
};

function plan(channels: Record<string, ChannelConfig>, message: Message = MESSAGE) {
  return planCascade({ channels, message, recipient: RECIPIENT, now: NOW, estimates: new Map([['push', PUSH]]) });
}

describe('waits chosen with the value of time', () => {
  it('waits on where falling back is dear, and moves on earlier where it is cheap', () => {
    const slow = { ...MESSAGE, policy: { valueOfTime: '0.00000001' } }; // λ = 0.00001 µ/ms
    const beforeSms = plan(
      { push: { kind: 'push', cost: 0, send, confirm: { timeout: '2h' } }, sms: { kind: 'sms', cost: '0.05', send, confirm: { timeout: '5m' } } },
      slow,
    );
    // R = 50,000 µ: cost(10 s) = 25,000.06, cost(60 s) = 22,500.3, cost(2 h) = 20,036: wait for the offline phones.
    expect(beforeSms.steps.map((s) => [s.channel, s.waitMs, s.probability])).toEqual([
      ['push', 2 * HOUR, 0.6],
      ['sms', 5 * 60 * SECOND, undefined],
    ]);
    const beforeEmail = plan(
      { push: { kind: 'push', cost: 0, send, confirm: { timeout: '2h' } }, email: { kind: 'email', cost: '0.0001', send, confirm: { timeout: '30m' } } },
      slow,
    );
    // R = 100 µ: cost(10 s) = 50.06, cost(60 s) = 45.3, cost(2 h) = 76.
    expect(beforeEmail.steps.map((s) => [s.channel, s.waitMs, s.probability])).toEqual([
      ['push', 60 * SECOND, 0.55],
      ['email', 30 * 60 * SECOND, undefined],
    ]);
    // Time worth 100 times more: before the SMS, a minute is now enough (cost(60 s) = 22,529.75 < cost(2 h) = 23,600).
    expect(plan({ push: { kind: 'push', cost: 0, send, confirm: { timeout: '2h' } }, sms: { kind: 'sms', cost: '0.05', send, confirm: { timeout: '5m' } } }).steps[0]!.waitMs).toBe(60 * SECOND);
  });

  it('keeps the last step’s wait, and every wait without a value of time', () => {
    const alone = plan({ push: { kind: 'push', cost: 0, send, confirm: { timeout: '2h' } } });
    expect(alone.steps[0]!.waitMs).toBe(2 * HOUR);
    const free = plan(
      { push: { kind: 'push', cost: 0, send, confirm: { timeout: '2h' } }, sms: { kind: 'sms', cost: '0.05', send, confirm: { timeout: '5m' } } },
      { ...MESSAGE, policy: {} },
    );
    expect(free.steps[0]!.waitMs).toBe(2 * HOUR);
  });

  it('counts fast failures as no wait: a channel that fails at once costs no time', () => {
    const channels = {
      viber: { kind: 'messenger', cost: '0.01', billing: 'delivered', send, confirm: { timeout: '10m' } },
      sms: { kind: 'sms', cost: '0.05', send, confirm: { timeout: '5m' } },
    } satisfies Record<string, ChannelConfig>;
    const recipient: Recipient = { id: 'r', addresses: { viber: '+380671234567', sms: '+380671234567' } };
    const order = (estimate: ChannelEstimate) =>
      planCascade({ channels, message: { ...MESSAGE, policy: { valueOfTime: '0.001' } }, recipient, now: NOW, estimates: new Map([['viber', estimate]]) }).steps.map((s) => s.channel);
    expect(order({ probability: 0.1, latencyMs: 2 * SECOND })).toEqual(['sms', 'viber']); // the misses wait 10 minutes
    expect(order({ probability: 0.1, latencyMs: 2 * SECOND, failure: 0.9 })).toEqual(['viber', 'sms']); // they fail in seconds
  });
});
