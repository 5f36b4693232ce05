import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  expectedCost,
  InvalidInputError,
  planCascade,
  smsPerSegment,
  startCascade,
  toMicros,
  toMicrosPerMs,
  transition,
  type Amount,
  type ChannelConfig,
  type ChannelEstimate,
  type ChannelKind,
  type CostedStep,
  type Message,
  type OrderPolicy,
  type Plan,
  type Recipient,
} from 'cascade-router';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** Thursday 8 Jan 2026, 10:00 UTC (12:00 in Kyiv). */
const NOW = Date.UTC(2026, 0, 8, 10, 0);

const send = async (): Promise<string> => 'provider-id';

// Declared most expensive first, so any cost order comes from the planner, not from declaration order.
const CHANNELS = {
  sms: { kind: 'sms', cost: 0.05, send, confirm: { timeout: '5m' } },
  viber: { kind: 'messenger', cost: '0.02', billing: 'delivered', send, confirm: { timeout: '10m' } },
  telegram: { kind: 'messenger', cost: 0.001, send, confirm: { by: 'acceptance', timeout: '1m' } },
  email: { kind: 'email', cost: 0.001, send, confirm: { timeout: '30m' } },
  push: { kind: 'push', cost: 0, send, confirm: { timeout: '2m' } },
} satisfies Record<string, ChannelConfig>;

const RECIPIENT: Recipient = {
  id: 'r1',
  addresses: { push: 'device-token', email: 'olena@example.com', viber: '+380671234567', telegram: '42', sms: '+380671234567' },
};

const MESSAGE: Message = { key: 'm1', category: 'transactional', content: { text: 'Your order is ready' } };

function plan(
  message: Partial<Message> = {},
  recipient: Partial<Recipient> = {},
  options: { channels?: Record<string, ChannelConfig>; now?: number; consentRequired?: readonly string[] } = {},
): Plan {
  return planCascade({
    channels: options.channels ?? CHANNELS,
    message: { ...MESSAGE, ...message },
    recipient: { ...RECIPIENT, ...recipient },
    now: options.now ?? NOW,
    consentRequired: options.consentRequired,
  });
}

const channelsOf = (p: Plan): string[] => p.steps.map((s) => s.channel);
const skipsOf = (p: Plan): [string, string][] => p.skipped.map((s) => [s.channel, s.reason]);

describe('planCascade: the plan', () => {
  it('lists every eligible channel cheapest first, with its address, waits, level, billing, cost and start', () => {
    const p = plan();
    expect(p).toEqual({
      createdAt: NOW,
      startAt: NOW,
      deadlineAt: undefined,
      steps: [
        { channel: 'push', kind: 'push', address: 'device-token', delayMs: 0, waitMs: 2 * MINUTE, timeoutMs: 2 * MINUTE, success: 'delivered', billing: 'sent', costMicros: 0, startAt: NOW },
        { channel: 'email', kind: 'email', address: 'olena@example.com', delayMs: 0, waitMs: 30 * MINUTE, timeoutMs: 30 * MINUTE, success: 'delivered', billing: 'sent', costMicros: 1_000, startAt: NOW + 2 * MINUTE },
        { channel: 'telegram', kind: 'messenger', address: '42', delayMs: 0, waitMs: MINUTE, timeoutMs: MINUTE, success: 'accepted', billing: 'sent', costMicros: 1_000, startAt: NOW + 32 * MINUTE },
        { channel: 'viber', kind: 'messenger', address: '+380671234567', delayMs: 0, waitMs: 10 * MINUTE, timeoutMs: 10 * MINUTE, success: 'delivered', billing: 'delivered', costMicros: 20_000, startAt: NOW + 33 * MINUTE },
        { channel: 'sms', kind: 'sms', address: '+380671234567', delayMs: 0, waitMs: 5 * MINUTE, timeoutMs: 5 * MINUTE, success: 'delivered', billing: 'sent', costMicros: 50_000, startAt: NOW + 43 * MINUTE },
      ],
      skipped: [],
      maxSpendMicros: 72_000,
      bestSpendMicros: 0,
      quietHours: false,
    });
  });

  it('reports the first step cost as the best spend', () => {
    expect(plan({ channels: ['viber', 'sms'] }).bestSpendMicros).toBe(20_000);
    expect(plan({ channels: [] }).bestSpendMicros).toBe(0);
    expect(plan({ channels: [] }).steps).toEqual([]);
  });
});

describe('planCascade: eligibility', () => {
  it('records why each left-out channel was left out, with a readable detail', () => {
    const p = plan(
      { category: 'marketing', channels: ['push', 'email', 'sms', 'telegram'] },
      {
        optedOut: ['email'],
        consent: { marketing: ['push', 'email', 'telegram'] },
        addresses: { email: 'olena@example.com', viber: '+380671234567', telegram: '42', sms: '+380671234567' },
      },
    );
    expect(channelsOf(p)).toEqual(['telegram']);
    expect(p.skipped).toEqual([
      { channel: 'sms', reason: 'no-consent', detail: 'no consent for category "marketing" on this channel' },
      { channel: 'viber', reason: 'not-allowed', detail: 'the message does not allow this channel' },
      { channel: 'email', reason: 'opted-out', detail: 'the recipient opted out of this channel' },
      { channel: 'push', reason: 'no-address', detail: 'the recipient has no address for this channel' },
    ]);
  });

  it('gives not-allowed precedence over opted-out, opted-out over no-consent, no-consent over no-address', () => {
    const p = plan(
      { category: 'marketing', channels: ['email', 'telegram', 'push'] },
      { optedOut: ['sms', 'email'], consent: { marketing: ['push'] }, addresses: { push: 'device-token', sms: '+1' } },
    );
    expect(skipsOf(p)).toEqual([
      ['sms', 'not-allowed'],
      ['viber', 'not-allowed'],
      ['telegram', 'no-consent'],
      ['email', 'opted-out'],
    ]);
    expect(channelsOf(p)).toEqual(['push']);
  });

  it('takes an empty or undefined address as missing', () => {
    const p = plan({}, { addresses: { push: '', email: undefined, viber: '+1', telegram: '42', sms: '+1' } });
    expect(skipsOf(p)).toEqual([
      ['email', 'no-address'],
      ['push', 'no-address'],
    ]);
  });

  it("reads the address through the channel's own address function", () => {
    const channels = {
      push: { kind: 'push', send, address: (r: Recipient) => (r.id === 'r1' ? `token-of-${r.id}` : undefined) },
      sms: { kind: 'sms', send, cost: 0.05 },
    } satisfies Record<string, ChannelConfig>;
    const p = plan({}, { addresses: { sms: '+1' } }, { channels });
    expect(p.steps.map((s) => [s.channel, s.address])).toEqual([
      ['push', 'token-of-r1'],
      ['sms', '+1'],
    ]);
    expect(skipsOf(plan({}, { id: 'r2', addresses: { sms: '+1' } }, { channels }))).toEqual([['push', 'no-address']]);
  });

  it('needs no consent for transactional or otp messages', () => {
    expect(channelsOf(plan({ category: 'transactional' }, { consent: {} }))).toEqual(['push', 'email', 'telegram', 'viber', 'sms']);
    expect(channelsOf(plan({ category: 'otp' }))).toEqual(['push', 'email', 'telegram', 'viber', 'sms']);
  });

  it('needs consent for marketing: none, false, true, or per channel', () => {
    expect(skipsOf(plan({ category: 'marketing' }))).toEqual([
      ['sms', 'no-consent'],
      ['viber', 'no-consent'],
      ['telegram', 'no-consent'],
      ['email', 'no-consent'],
      ['push', 'no-consent'],
    ]);
    expect(channelsOf(plan({ category: 'marketing' }, { consent: { marketing: false } }))).toEqual([]);
    expect(channelsOf(plan({ category: 'marketing' }, { consent: { transactional: true } }))).toEqual([]);
    expect(channelsOf(plan({ category: 'marketing' }, { consent: { marketing: true } }))).toEqual(['push', 'email', 'telegram', 'viber', 'sms']);
    const perChannel = plan({ category: 'marketing' }, { consent: { marketing: ['sms', 'push'] } });
    expect(channelsOf(perChannel)).toEqual(['push', 'sms']);
    expect(skipsOf(perChannel)).toEqual([
      ['viber', 'no-consent'],
      ['telegram', 'no-consent'],
      ['email', 'no-consent'],
    ]);
  });

  it("follows the router's consentRequired categories", () => {
    expect(channelsOf(plan({ category: 'promo' }, {}, { consentRequired: ['marketing', 'promo'] }))).toEqual([]);
    expect(channelsOf(plan({ category: 'promo' }, { consent: { promo: ['email'] } }, { consentRequired: ['promo'] }))).toEqual(['email']);
    expect(channelsOf(plan({ category: 'marketing' }, {}, { consentRequired: [] }))).toEqual(['push', 'email', 'telegram', 'viber', 'sms']);
  });
});

describe('planCascade: order', () => {
  it('orders by cost, whatever the declaration order', () => {
    expect(channelsOf(plan())).toEqual(['push', 'email', 'telegram', 'viber', 'sms']);
  });

  it('breaks cost ties by kind: push, email, messenger, sms, custom', () => {
    const channels = {
      c: { kind: 'custom', cost: 0.01, send },
      s: { kind: 'sms', cost: 0.01, send },
      m: { kind: 'messenger', cost: 0.01, send },
      e: { kind: 'email', cost: 0.01, send },
      p: { kind: 'push', cost: 0.01, send },
    } satisfies Record<string, ChannelConfig>;
    const p = plan({}, { addresses: { c: '1', s: '1', m: '1', e: '1', p: '1' } }, { channels });
    expect(channelsOf(p)).toEqual(['p', 'e', 'm', 's', 'c']);
  });

  it("breaks cost-and-kind ties by the recipient's preferred order, then by declaration order", () => {
    const channels = {
      viber: { kind: 'messenger', cost: 0.01, send },
      whatsapp: { kind: 'messenger', cost: 0.01, send },
      telegram: { kind: 'messenger', cost: 0.01, send },
    } satisfies Record<string, ChannelConfig>;
    const addresses = { viber: '1', whatsapp: '1', telegram: '1' };
    expect(channelsOf(plan({}, { addresses }, { channels }))).toEqual(['viber', 'whatsapp', 'telegram']);
    expect(channelsOf(plan({}, { addresses, preferredOrder: ['telegram'] }, { channels }))).toEqual(['telegram', 'viber', 'whatsapp']);
    expect(channelsOf(plan({}, { addresses, preferredOrder: ['telegram', 'whatsapp', 'viber'] }, { channels }))).toEqual(['telegram', 'whatsapp', 'viber']);
  });

  it('does not let the preferred order beat cost or kind without a strict policy', () => {
    expect(channelsOf(plan({}, { preferredOrder: ['sms', 'viber', 'email'] }))).toEqual(['push', 'email', 'telegram', 'viber', 'sms']);
    // email and telegram cost the same: kind decides, not the preference.
    expect(channelsOf(plan({}, { preferredOrder: ['telegram', 'email'] }))).toEqual(['push', 'email', 'telegram', 'viber', 'sms']);
  });

  it("follows the recipient's preferred order strictly with policy.order 'recipient', then the rest by cost", () => {
    const p = plan({ policy: { order: 'recipient' } }, { preferredOrder: ['sms', 'viber'] });
    expect(channelsOf(p)).toEqual(['sms', 'viber', 'push', 'email', 'telegram']);
    expect(p.steps.map((s) => s.startAt - NOW)).toEqual([0, 5 * MINUTE, 15 * MINUTE, 17 * MINUTE, 47 * MINUTE]);
  });

  it('ignores preferred channels that are not eligible or not declared', () => {
    const p = plan({ policy: { order: 'recipient' } }, { preferredOrder: ['fax', 'sms', 'viber'], optedOut: ['sms'] });
    expect(channelsOf(p)).toEqual(['viber', 'push', 'email', 'telegram']);
  });

  it("follows the message's channel list strictly with policy.order 'message'", () => {
    expect(channelsOf(plan({ channels: ['viber', 'sms', 'push'], policy: { order: 'message' } }))).toEqual(['viber', 'sms', 'push']);
    expect(channelsOf(plan({ channels: ['viber', 'sms', 'push'] }))).toEqual(['push', 'viber', 'sms']);
    expect(channelsOf(plan({ policy: { order: 'message' } }))).toEqual(['push', 'email', 'telegram', 'viber', 'sms']);
  });
});

describe('planCascade: maxCost', () => {
  it('plans no step that could take spend past maxCost', () => {
    const p = plan({ maxCost: '0.021' });
    expect(channelsOf(p)).toEqual(['push', 'email', 'telegram']);
    expect(p.skipped).toEqual([
      { channel: 'viber', reason: 'over-budget', detail: 'it could take spend to 22000 micro-units, past maxCost 21000' },
      { channel: 'sms', reason: 'over-budget', detail: 'it could take spend to 52000 micro-units, past maxCost 21000' },
    ]);
    expect(p.maxSpendMicros).toBe(2_000);
  });

  it('plans up to exactly maxCost', () => {
    expect(channelsOf(plan({ maxCost: 0.022 }))).toEqual(['push', 'email', 'telegram', 'viber']);
    expect(plan({ maxCost: 0.072 }).maxSpendMicros).toBe(72_000);
    expect(channelsOf(plan({ maxCost: 0 }))).toEqual(['push']);
  });

  it('skips an expensive step early in a strict order and still plans the cheaper ones after it', () => {
    const p = plan({ maxCost: 0.04, policy: { order: 'recipient' } }, { preferredOrder: ['sms', 'push'] });
    expect(channelsOf(p)).toEqual(['push', 'email', 'telegram', 'viber']);
    expect(skipsOf(p)).toEqual([['sms', 'over-budget']]);
    expect(p.steps[0]!.startAt).toBe(NOW);
  });
});

describe('planCascade: deadline', () => {
  const otpChannels = {
    push: { kind: 'push', send, confirm: { timeout: '30s' } },
    email: { kind: 'email', cost: 0.001, send, confirm: { timeout: '30m' } },
    sms: { kind: 'sms', cost: 0.05, send, confirm: { timeout: '1m' } },
  } satisfies Record<string, ChannelConfig>;
  const otp = (message: Partial<Message>): Plan => plan({ category: 'otp', deadline: '2m', ...message }, {}, { channels: otpChannels });

  it('keeps the last resort and shortens the steps before it to leave it room (half the time, its latency unknown)', () => {
    const p = otp({});
    expect(p.deadlineAt).toBe(NOW + 2 * MINUTE);
    // SMS, the last resort, needs half of the 2 minutes: email gets the 30 s that push leaves of the rest.
    expect(p.steps.map((s) => [s.channel, s.startAt - NOW, s.waitMs, s.timeoutMs])).toEqual([
      ['push', 0, 30 * SECOND, 30 * SECOND],
      ['email', 30 * SECOND, 30 * SECOND, 30 * MINUTE],
      ['sms', MINUTE, MINUTE, MINUTE],
    ]);
    expect(p.skipped).toEqual([]);
  });

  it("skips every step that does not fit with policy.deadline 'skip'", () => {
    const p = otp({ policy: { deadline: 'skip' } });
    expect(p.steps.map((s) => [s.channel, s.startAt - NOW, s.waitMs])).toEqual([
      ['push', 0, 30 * SECOND],
      ['sms', 30 * SECOND, MINUTE],
    ]);
    expect(p.skipped).toEqual([{ channel: 'email', reason: 'deadline', detail: 'its 1800000 ms wait does not fit the 30000 ms its share of the deadline leaves (the last resort, sms, needs 60000 ms)' }]);
  });

  it('skips rather than shortens to less than a second', () => {
    const p = otp({ deadline: 30_500 });
    expect(p.steps.map((s) => [s.channel, s.startAt - NOW, s.waitMs])).toEqual([
      ['push', 0, 15_250],
      ['sms', 15_250, 15_250],
    ]);
    expect(skipsOf(p)).toEqual([['email', 'deadline']]);
  });

  it('counts the deadline from the send time', () => {
    const p = otp({ sendAt: NOW + HOUR });
    expect(p.deadlineAt).toBe(NOW + HOUR + 2 * MINUTE);
    expect(channelsOf(p)).toEqual(['push', 'email', 'sms']);
  });
});

describe('planCascade: timing', () => {
  it('starts at sendAt when it is in the future (number or Date), and now when it is past', () => {
    const later = plan({ sendAt: NOW + 27 * DAY });
    expect([later.createdAt, later.startAt, later.steps[0]!.startAt, later.steps[1]!.startAt]).toEqual([NOW, NOW + 27 * DAY, NOW + 27 * DAY, NOW + 27 * DAY + 2 * MINUTE]);
    expect(plan({ sendAt: new Date(NOW + HOUR) }).startAt).toBe(NOW + HOUR);
    expect(plan({ sendAt: NOW - HOUR }).startAt).toBe(NOW);
  });

  it('waits the step delay after the step before it ends', () => {
    const p = plan({ channels: ['push', 'email', 'sms'], delays: { push: '1h', email: '1d' } });
    expect(p.steps.map((s) => [s.channel, s.delayMs, s.startAt - NOW])).toEqual([
      ['push', HOUR, HOUR],
      ['email', DAY, HOUR + 2 * MINUTE + DAY],
      ['sms', 0, HOUR + 32 * MINUTE + DAY],
    ]);
  });

  it("moves a step due inside the recipient's quiet hours to their end, in the recipient's time zone", () => {
    const at2200Kyiv = Date.UTC(2026, 0, 8, 20, 0);
    const p = plan({}, { timeZone: 'Europe/Kyiv', quietHours: { start: '21:00', end: '08:00' } }, { now: at2200Kyiv });
    const morning = Date.UTC(2026, 0, 9, 6, 0);
    expect(p.quietHours).toBe(true);
    expect(p.startAt).toBe(at2200Kyiv);
    expect(p.steps.map((s) => s.startAt)).toEqual([morning, morning + 2 * MINUTE, morning + 32 * MINUTE, morning + 33 * MINUTE, morning + 43 * MINUTE]);
  });

  it('moves a later step that would fall inside quiet hours, not the ones before it', () => {
    const at2050Kyiv = Date.UTC(2026, 0, 8, 18, 50);
    const p = plan({ channels: ['push', 'email', 'sms'] }, { timeZone: 'Europe/Kyiv', quietHours: { start: '21:00', end: '08:00' } }, { now: at2050Kyiv });
    expect(p.steps.map((s) => s.startAt)).toEqual([at2050Kyiv, at2050Kyiv + 2 * MINUTE, Date.UTC(2026, 0, 9, 6, 0)]);
  });

  it('ignores quiet hours for otp by default, and follows policy.quietHours either way', () => {
    const at2200Kyiv = Date.UTC(2026, 0, 8, 20, 0);
    const quiet = { timeZone: 'Europe/Kyiv', quietHours: { start: '21:00', end: '08:00' } } as const;
    const otp = plan({ category: 'otp' }, quiet, { now: at2200Kyiv });
    expect([otp.quietHours, otp.steps[0]!.startAt]).toEqual([false, at2200Kyiv]);
    const otpRespecting = plan({ category: 'otp', policy: { quietHours: 'respect' } }, quiet, { now: at2200Kyiv });
    expect([otpRespecting.quietHours, otpRespecting.steps[0]!.startAt]).toEqual([true, Date.UTC(2026, 0, 9, 6, 0)]);
    const ignoring = plan({ policy: { quietHours: 'ignore' } }, quiet, { now: at2200Kyiv });
    expect([ignoring.quietHours, ignoring.steps[0]!.startAt]).toEqual([false, at2200Kyiv]);
  });

  it('has no quiet hours without a window, and defaults the time zone to UTC', () => {
    expect(plan({}, { timeZone: 'Europe/Kyiv' }).quietHours).toBe(false);
    const at2130Utc = Date.UTC(2026, 0, 8, 21, 30);
    expect(plan({}, { quietHours: { start: '21:00', end: '08:00' } }, { now: at2130Utc }).steps[0]!.startAt).toBe(Date.UTC(2026, 0, 9, 8, 0));
  });
});

describe('planCascade: success level and cost', () => {
  it("takes the message's success level, one for all or per channel; acceptance channels stay 'accepted'", () => {
    expect(plan({ success: 'read' }).steps.map((s) => [s.channel, s.success])).toEqual([
      ['push', 'read'],
      ['email', 'read'],
      ['telegram', 'accepted'],
      ['viber', 'read'],
      ['sms', 'read'],
    ]);
    expect(plan({ success: { viber: 'read', email: 'accepted' } }).steps.map((s) => s.success)).toEqual(['delivered', 'accepted', 'accepted', 'read', 'delivered']);
    const channels = { push: { kind: 'push', send, success: 'read' } } satisfies Record<string, ChannelConfig>;
    expect(plan({}, {}, { channels }).steps.map((s) => s.success)).toEqual(['read']);
  });

  it("prices SMS by the message's SMS text and per-channel overrides", () => {
    const channels = {
      sms: { kind: 'sms', send, cost: smsPerSegment(0.05) },
      email: { kind: 'email', send, cost: (c) => (c.content.subject === 'Long' ? 0.002 : 0.001) },
    } satisfies Record<string, ChannelConfig>;
    const long = 'a'.repeat(200);
    const cost = (content: Message['content']): number[] => plan({ content }, {}, { channels }).steps.map((s) => s.costMicros);
    expect(cost({ text: long })).toEqual([1_000, 100_000]);
    expect(cost({ text: long, sms: 'Short SMS' })).toEqual([1_000, 50_000]);
    expect(cost({ text: 'Hi', channels: { sms: { text: 'я'.repeat(71) } } })).toEqual([1_000, 100_000]);
    expect(cost({ text: 'Hi', channels: { email: { subject: 'Long' } } })).toEqual([2_000, 50_000]);
  });
});

describe('planCascade: invalid input', () => {
  it('rejects unknown channel names in the message with a clear message', () => {
    const declared = '(sms, viber, telegram, email, push)';
    expect(() => plan({ channels: ['push', 'fax'] })).toThrow(InvalidInputError);
    expect(() => plan({ channels: ['push', 'fax'] })).toThrow(`Expected \`channels\` to name declared channels ${declared}, got "fax"`);
    expect(() => plan({ delays: { pager: '1m' } })).toThrow(`Expected \`delays\` to name declared channels ${declared}, got "pager"`);
    expect(() => plan({ success: { fax: 'read' } })).toThrow(`Expected \`success\` to name declared channels ${declared}, got "fax"`);
    expect(() => plan({ content: { text: 'x', channels: { fax: { text: 'y' } } } })).toThrow(
      `Expected \`content.channels\` to name declared channels ${declared}, got "fax"`,
    );
  });

  it('rejects bad fields of the message and the recipient, naming them', () => {
    expect(() => plan({ key: '' })).toThrow(InvalidInputError);
    expect(() => plan({ key: '' })).toThrow(/`key`/);
    expect(() => plan({ maxCost: -1 })).toThrow('Expected `maxCost` to be a non-negative decimal with at most 6 decimal places, got -1');
    expect(() => plan({ deadline: 0 })).toThrow('Expected `deadline` to be a positive duration, got 0');
    expect(() => plan({ delays: { email: 'soon' } })).toThrow(/`delays\.email`/);
    expect(() => plan({ sendAt: new Date(Number.NaN) })).toThrow(InvalidInputError);
    expect(() => plan({}, { timeZone: 'Nowhere/Land' })).toThrow('Expected `timeZone` to be an IANA time zone such as "Europe/Kyiv", got "Nowhere/Land"');
    expect(() => plan({}, { quietHours: { start: '9pm', end: '08:00' } })).toThrow('Expected `quietHours.start` to be a time "HH:MM" (24-hour), got "9pm"');
    expect(() => plan({}, { id: '' })).toThrow(/`id`/);
  });
});

describe('planCascade: expected-cost order with learned estimates', () => {
  // The worked example of docs/cost-model.md, declared most expensive first.
  const channels = {
    sms: { kind: 'sms', cost: 0.05, send, confirm: { timeout: '5m' } },
    whatsapp: { kind: 'messenger', cost: 0.03, send, confirm: { timeout: '10m' } },
    viber: { kind: 'messenger', cost: 0.012, billing: 'delivered', send, confirm: { timeout: '10m' } },
    push: { kind: 'push', cost: 0, send, confirm: { timeout: '2m' } },
  } satisfies Record<string, ChannelConfig>;
  const addresses = { push: 'device-token', viber: '+380671234567', whatsapp: '+380671234567', sms: '+380671234567' };
  const estimates = new Map<string, ChannelEstimate>([
    ['push', { probability: 0.6, latencyMs: 5 * SECOND }],
    ['viber', { probability: 0.7, latencyMs: 30 * SECOND }],
    ['whatsapp', { probability: 0.35, latencyMs: 20 * SECOND }],
    ['sms', { probability: 0.97, latencyMs: 10 * SECOND }],
  ]);
  const learned = (
    message: Partial<Message> = {},
    options: {
      estimates?: ReadonlyMap<string, ChannelEstimate> | undefined;
      minProbability?: number;
      valueOfTime?: Amount;
      recipient?: Partial<Recipient>;
      channels?: Record<string, ChannelConfig>;
    } = {},
  ): Plan =>
    planCascade({
      channels: options.channels ?? channels,
      message: { ...MESSAGE, ...message },
      recipient: { ...RECIPIENT, addresses, ...options.recipient },
      now: NOW,
      estimates: 'estimates' in options ? options.estimates : estimates,
      minProbability: options.minProbability,
      valueOfTime: options.valueOfTime,
    });
  /** The plan's steps as the cost model sees them, with the latencies of the estimates. */
  const costed = (p: Plan): (CostedStep & { channel: string })[] => p.steps.map((s) => ({ ...s, latencyMs: estimates.get(s.channel)?.latencyMs }));

  it('puts a cheap channel that rarely delivers after a dearer one that does, and spends less on average', () => {
    const p = learned();
    const cheapestFirst = learned({}, { estimates: undefined });
    expect(channelsOf(p)).toEqual(['push', 'viber', 'sms', 'whatsapp']);
    expect(channelsOf(cheapestFirst)).toEqual(['push', 'viber', 'whatsapp', 'sms']);
    expect(p.steps.map((s) => s.probability)).toEqual([0.6, 0.7, 0.97, 0.35]);
    expect(cheapestFirst.steps.map((s) => s.probability)).toEqual([undefined, undefined, undefined, undefined]);
    const withProbabilities = cheapestFirst.steps.map((s) => ({ ...s, probability: estimates.get(s.channel)!.probability }));
    expect(expectedCost(p.steps)).toBeCloseTo(9_468, 6);
    expect(expectedCost(withProbabilities)).toBeCloseTo(10_860, 6);
    // Same steps, so the same worst case and the same best case.
    expect([p.maxSpendMicros, p.bestSpendMicros]).toEqual([cheapestFirst.maxSpendMicros, cheapestFirst.bestSpendMicros]);
  });

  it("weighs the expected waiting by policy.valueOfTime, or by the planner's default when the message gives none", () => {
    // At 0.001 a second, SMS's 18.7 s of expected waiting beats push's 51 s: SMS goes first.
    expect(channelsOf(learned({ policy: { valueOfTime: '0.001' } }))).toEqual(['sms', 'push', 'viber', 'whatsapp']);
    expect(channelsOf(learned({ policy: { valueOfTime: 0.0001 } }))).toEqual(['push', 'viber', 'sms', 'whatsapp']);
    expect(channelsOf(learned({}, { valueOfTime: '0.001' }))).toEqual(['sms', 'push', 'viber', 'whatsapp']);
    expect(channelsOf(learned({ policy: { valueOfTime: 0 } }, { valueOfTime: '0.001' }))).toEqual(['push', 'viber', 'sms', 'whatsapp']);
    const p = learned({ policy: { valueOfTime: '0.001' } });
    // 0.001 a second is 1,000 micro-units a second: 1 a millisecond.
    const cost = (steps: CostedStep[]): number => expectedCost(steps, 1);
    const cheapest = learned({ policy: { valueOfTime: '0.001' } }, { estimates: undefined });
    const withProbabilities = costed(cheapest).map((s) => ({ ...s, probability: estimates.get(s.channel)!.probability }));
    expect(cost(costed(p))).toBeLessThan(cost(withProbabilities));
  });

  it('takes a channel with no estimate as certain, instant and waiting its timeout: it sorts by its price', () => {
    const p = learned({}, { estimates: new Map([['sms', { probability: 0.5, latencyMs: 0 }]]) });
    expect(channelsOf(p)).toEqual(['push', 'viber', 'whatsapp', 'sms']);
    expect(p.steps.map((s) => s.probability)).toEqual([undefined, undefined, undefined, 0.5]);
    const none = learned({}, { estimates: undefined });
    const empty = learned({}, { estimates: new Map() });
    expect(empty).toEqual(none);
    expect(JSON.stringify(empty)).toBe(JSON.stringify(none));
  });

  it("waits the estimate's wait instead of the channel's timeout, and the cascade times out by it", () => {
    const p = learned({}, { estimates: new Map([['push', { probability: 0.6, latencyMs: 0, waitMs: 45 * SECOND }]]) });
    expect(p.steps.map((s) => [s.channel, s.startAt - NOW, s.waitMs, s.timeoutMs])).toEqual([
      ['push', 0, 45 * SECOND, 45 * SECOND],
      ['viber', 45 * SECOND, 10 * MINUTE, 10 * MINUTE],
      ['whatsapp', 45 * SECOND + 10 * MINUTE, 10 * MINUTE, 10 * MINUTE],
      ['sms', 45 * SECOND + 20 * MINUTE, 5 * MINUTE, 5 * MINUTE],
    ]);
    const message = { ...MESSAGE };
    const started = startCascade({ id: 'c1', key: message.key, message, recipient: { ...RECIPIENT, addresses }, plan: p, now: NOW });
    expect(started.cascade.timerAt).toBe(NOW + 45 * SECOND);
    const timedOut = transition(started.cascade, { type: 'tick', now: NOW + 45 * SECOND });
    expect([timedOut.cascade.step, timedOut.cascade.attempts[0]!.outcome]).toEqual([1, 'timeout']);
  });

  it('puts a channel that never delivers last', () => {
    const never = new Map([...estimates, ['push', { probability: 0, latencyMs: 0 }]]);
    expect(channelsOf(learned({}, { estimates: never }))).toEqual(['viber', 'sms', 'whatsapp', 'push']);
  });

  it('keeps the tie-breakers for equal keys: a price billed on delivery is its key whatever the probability', () => {
    const messengers = {
      viber: { kind: 'messenger', cost: 0.01, billing: 'delivered', send },
      telegram: { kind: 'messenger', cost: 0.01, billing: 'delivered', send },
      whatsapp: { kind: 'messenger', cost: 0.01, send },
    } satisfies Record<string, ChannelConfig>;
    const likely = new Map([
      ['viber', { probability: 0.3, latencyMs: 0 }],
      ['telegram', { probability: 0.9, latencyMs: 0 }],
      ['whatsapp', { probability: 1, latencyMs: 0 }],
    ]);
    const recipient = { addresses: { viber: '1', telegram: '1', whatsapp: '1' } };
    expect(channelsOf(learned({}, { channels: messengers, estimates: likely, recipient }))).toEqual(['viber', 'telegram', 'whatsapp']);
    expect(channelsOf(learned({}, { channels: messengers, estimates: likely, recipient: { ...recipient, preferredOrder: ['whatsapp', 'telegram'] } }))).toEqual([
      'whatsapp',
      'telegram',
      'viber',
    ]);
  });

  it("keeps the strict orders of policy.order 'recipient' and 'message'; the rest follows the expected cost", () => {
    expect(channelsOf(learned({ policy: { order: 'recipient' } }, { recipient: { preferredOrder: ['whatsapp'] } }))).toEqual(['whatsapp', 'push', 'viber', 'sms']);
    expect(channelsOf(learned({ channels: ['whatsapp', 'sms', 'push'], policy: { order: 'message' } }))).toEqual(['whatsapp', 'sms', 'push']);
  });

  it("skips a channel whose estimate is below minProbability as 'unlikely'; one with no estimate never is", () => {
    const p = learned({}, { minProbability: 0.5 });
    expect(channelsOf(p)).toEqual(['push', 'viber', 'sms']);
    expect(p.skipped).toEqual([{ channel: 'whatsapp', reason: 'unlikely', detail: 'its estimated probability 0.35 is below minProbability 0.5' }]);
    const onlySms = learned({}, { estimates: new Map([['sms', { probability: 0.1, latencyMs: 0 }]]), minProbability: 0.5 });
    expect(channelsOf(onlySms)).toEqual(['push', 'viber', 'whatsapp']);
    expect(skipsOf(onlySms)).toEqual([['sms', 'unlikely']]);
    // An earlier reason wins; the default threshold 0 skips nothing.
    expect(skipsOf(learned({}, { minProbability: 0.5, recipient: { addresses: { ...addresses, whatsapp: undefined } } }))).toEqual([['whatsapp', 'no-address']]);
    expect(channelsOf(learned({}, { estimates: new Map([['sms', { probability: 0, latencyMs: 0 }]]) }))).toEqual(['push', 'viber', 'whatsapp', 'sms']);
  });

  it('chooses the order first, then keeps the likeliest last resort and shortens or skips the rest around it', () => {
    const otpChannels = {
      push: { kind: 'push', send, confirm: { timeout: '30s' } },
      email: { kind: 'email', cost: 0.001, send, confirm: { timeout: '30m' } },
      sms: { kind: 'sms', cost: 0.05, send, confirm: { timeout: '1m' } },
    } satisfies Record<string, ChannelConfig>;
    const otpEstimates = new Map<string, ChannelEstimate>([
      ['push', { probability: 0.5, latencyMs: 5 * SECOND }],
      ['email', { probability: 0.01, latencyMs: MINUTE }],
      ['sms', { probability: 0.98, latencyMs: 8 * SECOND }],
    ]);
    const otp = (message: Partial<Message>, learnedEstimates: ReadonlyMap<string, ChannelEstimate> = otpEstimates): Plan =>
      learned({ category: 'otp', deadline: '2m', ...message }, { channels: otpChannels, estimates: learnedEstimates, recipient: { addresses: RECIPIENT.addresses } });
    const timing = (p: Plan): [string, number, number, number][] => p.steps.map((s) => [s.channel, s.startAt - NOW, s.waitMs, s.timeoutMs]);

    // email (key 0.1) goes after sms (0.05/0.98): sms now fits, and email gets what is left.
    expect(timing(otp({}))).toEqual([
      ['push', 0, 30 * SECOND, 30 * SECOND],
      ['sms', 30 * SECOND, MINUTE, MINUTE],
      ['email', 90 * SECOND, 30 * SECOND, 30 * MINUTE],
    ]);
    expect(timing(otp({}, new Map()))).toEqual([
      ['push', 0, 30 * SECOND, 30 * SECOND],
      ['email', 30 * SECOND, 30 * SECOND, 30 * MINUTE],
      ['sms', MINUTE, MINUTE, MINUTE],
    ]);
    const short = otp({ deadline: '1m' });
    expect(timing(short)).toEqual([
      ['push', 0, 30 * SECOND, 30 * SECOND],
      ['sms', 30 * SECOND, 30 * SECOND, MINUTE],
    ]);
    expect(short.skipped).toEqual([{ channel: 'email', reason: 'deadline', detail: 'its 1800000 ms wait does not fit the 0 ms left before the deadline' }]);
    expect(skipsOf(otp({ policy: { deadline: 'skip' } }))).toEqual([['email', 'deadline']]);
    // SMS's receipts need 3 × 8 s: with a 40 s deadline push gets the 16 s before that, SMS the rest.
    expect(timing(otp({ deadline: '40s' }))).toEqual([
      ['push', 0, 16 * SECOND, 30 * SECOND],
      ['sms', 16 * SECOND, 24 * SECOND, MINUTE],
    ]);
    // A learned wait that fits is not cut.
    const quickEmail = new Map([...otpEstimates, ['email', { probability: 0.01, latencyMs: MINUTE, waitMs: 20 * SECOND }]]);
    expect(timing(otp({}, quickEmail))[2]).toEqual(['email', 90 * SECOND, 20 * SECOND, 20 * SECOND]);
  });

  it('rejects a bad valueOfTime, estimate or minProbability with INVALID_INPUT, naming the field', () => {
    const invalid = { name: 'InvalidInputError', code: 'INVALID_INPUT' };
    const fails = (run: () => unknown, message: string | RegExp): void => {
      expect(run).toThrow(InvalidInputError);
      expect(run).toThrow(message);
      try {
        run();
      } catch (error) {
        expect(error).toMatchObject(invalid);
      }
    };
    fails(() => plan({ policy: { valueOfTime: -1 } }), 'Expected `policy.valueOfTime` to be a non-negative amount per second with at most 12 decimal places, got -1');
    fails(() => plan({ policy: { valueOfTime: '0.0000000000001' } }), 'Expected `policy.valueOfTime` to be a non-negative amount per second with at most 12 decimal places, got "0.0000000000001"');
    expect(() => plan({ policy: { valueOfTime: '0.00000001' } })).not.toThrow(); // finer than money: it only weighs time
    fails(() => plan({ policy: { valueOfTime: true as unknown as Amount } }), /`policy\.valueOfTime`/);
    fails(() => learned({}, { valueOfTime: 'soon' }), 'Expected `valueOfTime` to be a non-negative amount per second with at most 12 decimal places, got "soon"');
    fails(() => learned({}, { minProbability: 1.5 }), 'Expected `minProbability` to be a number from 0 to 1, got 1.5');
    fails(() => learned({}, { estimates: new Map([['sms', { probability: 2, latencyMs: 0 }]]) }), 'Expected `estimates.sms.probability` to be a number from 0 to 1, got 2');
    fails(() => learned({}, { estimates: new Map([['sms', { probability: Number.NaN, latencyMs: 0 }]]) }), 'Expected `estimates.sms.probability` to be a number from 0 to 1, got NaN');
    fails(() => learned({}, { estimates: new Map([['sms', { probability: 1, latencyMs: -1 }]]) }), 'Expected `estimates.sms.latencyMs` to be a non-negative number of milliseconds, got -1');
    fails(() => learned({}, { estimates: new Map([['sms', { probability: 1, latencyMs: 0, waitMs: 0 }]]) }), 'Expected `estimates.sms.waitMs` to be a positive number of milliseconds, got 0');
    fails(() => learned({}, { estimates: { sms: { probability: 1, latencyMs: 0 } } as unknown as ReadonlyMap<string, ChannelEstimate> }), 'Expected `estimates` to be a Map by channel name, got [object Object]');
    expect(channelsOf(plan({ policy: { valueOfTime: '0.0001' } }))).toEqual(channelsOf(plan()));
    expect(channelsOf(plan({ policy: { valueOfTime: 0 } }))).toEqual(channelsOf(plan()));
  });
});

// ---------------------------------------------------------------------------------------------------------
// Properties over random channels, recipients and messages.

const NAMES = ['push', 'email', 'viber', 'telegram', 'whatsapp', 'sms', 'fax', 'pager'] as const;
const KINDS: readonly ChannelKind[] = ['push', 'email', 'messenger', 'sms', 'custom'];
const KIND_RANK: Record<ChannelKind, number> = { push: 0, email: 1, messenger: 2, sms: 3, custom: 4 };

interface ChannelSpec {
  readonly name: string;
  readonly kind: ChannelKind;
  /** In 1e-4 of the currency unit. */
  readonly costTenThousandths: number;
  readonly costAsString: boolean;
  readonly billing: 'sent' | 'delivered';
  readonly timeoutMs: number;
  readonly acceptance: boolean;
}

interface Scenario {
  readonly channels: readonly ChannelSpec[];
  readonly recipient: Recipient;
  readonly message: Message;
}

const costArb = fc.oneof(fc.constantFrom(0, 10, 100, 200), fc.integer({ min: 0, max: 2_000 }));

const channelsArb: fc.Arbitrary<ChannelSpec[]> = fc
  .uniqueArray(fc.constantFrom(...NAMES), { minLength: 1, maxLength: NAMES.length })
  .chain((names) =>
    fc.tuple(
      ...names.map((name) =>
        fc.record({
          name: fc.constant(name),
          kind: fc.constantFrom(...KINDS),
          costTenThousandths: costArb,
          costAsString: fc.boolean(),
          billing: fc.constantFrom('sent' as const, 'delivered' as const),
          timeoutMs: fc.integer({ min: SECOND, max: HOUR }),
          acceptance: fc.boolean(),
        }),
      ),
    ),
  );

const subsetOf = (names: readonly string[]): fc.Arbitrary<string[]> => fc.shuffledSubarray([...names]);

function scenarioArb(options: { deadline?: boolean; timing?: boolean } = {}): fc.Arbitrary<Scenario> {
  return channelsArb.chain((channels) => {
    const names = channels.map((c) => c.name);
    const recipient = fc.record(
      {
        id: fc.constant('r1'),
        addresses: fc.tuple(...names.map(() => fc.constantFrom<'present' | 'missing' | 'empty' | 'undefined'>('present', 'present', 'missing', 'empty', 'undefined'))).map((states) => {
          const addresses: Record<string, string | undefined> = {};
          states.forEach((state, i) => {
            const name = names[i]!;
            if (state === 'present') addresses[name] = `addr-${name}`;
            else if (state === 'empty') addresses[name] = '';
            else if (state === 'undefined') addresses[name] = undefined;
          });
          return addresses;
        }),
        optedOut: subsetOf([...names, 'carrier-pigeon']),
        preferredOrder: subsetOf([...names, 'carrier-pigeon']),
        consent: fc.record(
          { marketing: fc.oneof(fc.boolean(), subsetOf(names)), transactional: fc.oneof(fc.boolean(), subsetOf(names)) },
          { requiredKeys: [] },
        ),
        timeZone: fc.constantFrom('UTC', 'Europe/Kyiv', 'America/New_York', 'Asia/Tokyo'),
        quietHours: fc.constantFrom({ start: '21:00', end: '08:00' }, { start: '12:00', end: '13:00' }),
      },
      { requiredKeys: ['id', 'addresses'] },
    ) as fc.Arbitrary<Recipient>;
    const message = fc.record(
      {
        key: fc.constant('m1'),
        category: fc.constantFrom('marketing', 'transactional'),
        content: fc.constant({ text: 'Hello' }),
        channels: subsetOf(names),
        maxCost: fc.oneof(
          fc.integer({ min: 0, max: 3_000 }).map((n) => n / 10_000),
          fc.integer({ min: 0, max: 3_000 }).map((n) => (n / 10_000).toFixed(4)),
        ),
        policy: fc.record(
          { order: fc.constantFrom<OrderPolicy>('cost', 'recipient', 'message'), deadline: fc.constantFrom('shorten' as const, 'skip' as const) },
          { requiredKeys: [] },
        ),
        ...(options.deadline || options.timing ? { deadline: fc.integer({ min: 1, max: 3 * HOUR }) } : {}),
        ...(options.timing
          ? {
              sendAt: fc.integer({ min: -DAY, max: 2 * DAY }).map((offset) => NOW + offset),
              delays: fc.dictionary(fc.constantFrom(...names), fc.integer({ min: 0, max: DAY }), { maxKeys: 3 }),
            }
          : {}),
      },
      { requiredKeys: ['key', 'category', 'content'] },
    ) as fc.Arbitrary<Message>;
    return fc.record({ channels: fc.constant(channels), recipient, message });
  });
}

function costAmount(spec: ChannelSpec): number | string {
  return spec.costAsString ? (spec.costTenThousandths / 10_000).toFixed(4) : spec.costTenThousandths / 10_000;
}

function declare(specs: readonly ChannelSpec[]): Record<string, ChannelConfig> {
  const channels: Record<string, ChannelConfig> = {};
  for (const spec of specs) {
    channels[spec.name] = {
      kind: spec.kind,
      send,
      cost: costAmount(spec),
      billing: spec.billing,
      confirm: { by: spec.acceptance ? 'acceptance' : 'receipt', timeout: spec.timeoutMs },
    };
  }
  return channels;
}

const planOf = (s: Scenario): Plan => planCascade({ channels: declare(s.channels), message: s.message, recipient: s.recipient, now: NOW });

/** The reason the planner must give for leaving a channel out, or undefined when it is eligible. */
function exclusion(s: Scenario, name: string): string | undefined {
  const { message, recipient } = s;
  if (message.channels && !message.channels.includes(name)) return 'not-allowed';
  if (recipient.optedOut?.includes(name)) return 'opted-out';
  if (message.category === 'marketing') {
    const consent = recipient.consent?.marketing ?? false;
    if (consent !== true && !(Array.isArray(consent) && consent.includes(name))) return 'no-consent';
  }
  const address = recipient.addresses[name];
  if (address === undefined || address === '') return 'no-address';
  return undefined;
}

function strictList(s: Scenario): readonly string[] | undefined {
  const order = s.message.policy?.order ?? 'cost';
  if (order === 'recipient') return s.recipient.preferredOrder ?? [];
  if (order === 'message') return s.message.channels ?? [];
  return undefined;
}

const rankIn = (list: readonly string[], name: string): number => (list.includes(name) ? list.indexOf(name) : list.length);

describe('planCascade properties', () => {
  it("never puts a more expensive eligible channel before a cheaper one unless the recipient's strict order says so (or the message's, with policy.order 'message')", () => {
    fc.assert(
      fc.property(scenarioArb(), (s) => {
        const p = planOf(s);
        const spec = new Map(s.channels.map((c) => [c.name, c]));
        const strict = strictList(s);
        for (const step of p.steps) expect(step.costMicros).toBe(toMicros(costAmount(spec.get(step.channel)!)));
        for (let i = 0; i < p.steps.length; i++) {
          for (let j = i + 1; j < p.steps.length; j++) {
            const a = p.steps[i]!;
            const b = p.steps[j]!;
            const strictFirst = strict !== undefined && rankIn(strict, a.channel) < rankIn(strict, b.channel);
            if (strictFirst) continue;
            // Not ordered by a strict list: by cost, then kind.
            expect(strict === undefined || rankIn(strict, a.channel) === rankIn(strict, b.channel)).toBe(true);
            expect(a.costMicros).toBeLessThanOrEqual(b.costMicros);
            if (a.costMicros === b.costMicros) expect(KIND_RANK[a.kind]).toBeLessThanOrEqual(KIND_RANK[b.kind]);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('never includes an opted-out, unconsented or address-less channel (nor one the message does not allow)', () => {
    fc.assert(
      fc.property(scenarioArb({ deadline: true }), (s) => {
        const p = planOf(s);
        for (const step of p.steps) {
          expect(exclusion(s, step.channel)).toBe(undefined);
          expect(step.address).toBe(`addr-${step.channel}`);
        }
        const planned = new Set(p.steps.map((step) => step.channel));
        for (const { name } of s.channels) {
          const reason = exclusion(s, name);
          const skips = p.skipped.filter((skip) => skip.channel === name).map((skip) => skip.reason);
          if (reason !== undefined) {
            expect(skips).toEqual([reason]);
            expect(planned.has(name)).toBe(false);
          } else if (!planned.has(name)) {
            // Eligible but not planned: left out only for budget or deadline.
            expect(['over-budget', 'deadline']).toContain(skips[0]);
          }
          expect(skips.length + (planned.has(name) ? 1 : 0)).toBe(1);
        }
        expect(p.steps.length + p.skipped.length).toBe(s.channels.length);
      }),
      { numRuns: 300 },
    );
  });

  it('never plans past maxCost', () => {
    fc.assert(
      fc.property(scenarioArb(), (s) => {
        const p = planOf(s);
        const total = p.steps.reduce((sum, step) => sum + step.costMicros, 0);
        expect(p.maxSpendMicros).toBe(total);
        const max = s.message.maxCost === undefined ? Infinity : toMicros(s.message.maxCost);
        expect(total).toBeLessThanOrEqual(max);
        const spec = new Map(s.channels.map((c) => [c.name, c]));
        for (const skip of p.skipped.filter((k) => k.reason === 'over-budget')) {
          // Left out for budget: it would not have fit even on top of what the plan spends now at most.
          expect(max).not.toBe(Infinity);
          expect(total + toMicros(costAmount(spec.get(skip.channel)!))).toBeGreaterThan(max);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('never plans a step that waits past the deadline, and starts steps in plan order', () => {
    fc.assert(
      fc.property(scenarioArb({ timing: true }), (s) => {
        const p = planOf(s);
        let previousEnd = p.startAt;
        for (const step of p.steps) {
          expect(step.startAt).toBeGreaterThanOrEqual(previousEnd + step.delayMs);
          expect(step.waitMs).toBeLessThanOrEqual(step.timeoutMs);
          if (p.deadlineAt !== undefined) expect(step.startAt + step.waitMs).toBeLessThanOrEqual(p.deadlineAt);
          previousEnd = step.startAt + step.waitMs;
        }
      }),
      { numRuns: 200 },
    );
  });

  it('is deterministic for the same input', () => {
    fc.assert(
      fc.property(scenarioArb({ timing: true }), (s) => {
        const copy: Scenario = structuredClone(s);
        const first = planOf(s);
        const second = planOf(copy);
        expect(second).toEqual(first);
        expect(JSON.stringify(second)).toBe(JSON.stringify(first));
        expect(planOf(s)).toEqual(first);
      }),
      { numRuns: 200 },
    );
  });
});

// ---------------------------------------------------------------------------------------------------------
// Properties of the expected-cost order.

interface LearnedSpec {
  readonly kind: ChannelKind;
  readonly costTenThousandths: number;
  readonly billing: 'sent' | 'delivered';
  readonly timeoutMs: number;
  /** Whether the channel has an estimate; without one it is certain, instant and waits its timeout. */
  readonly estimated: boolean;
  readonly probability: number;
  readonly latencyMs: number;
  readonly waitMs: number | undefined;
  /** Share of the misses that fail at once (failure = (1 - probability) * failShare). */
  readonly failShare: number;
}

const probabilityArb = fc.oneof(fc.constantFrom(0, 1, 0.5), fc.double({ min: 0, max: 1, noNaN: true }));
const valueOfTimeArb = fc.constantFrom<Amount | undefined>(undefined, 0, '0.000001', '0.0001', 0.001, '0.05');

const learnedSpecArb: fc.Arbitrary<LearnedSpec> = fc.record({
  kind: fc.constantFrom(...KINDS),
  costTenThousandths: costArb,
  billing: fc.constantFrom('sent' as const, 'delivered' as const),
  timeoutMs: fc.integer({ min: SECOND, max: HOUR }),
  estimated: fc.oneof({ arbitrary: fc.constant(true), weight: 6 }, { arbitrary: fc.constant(false), weight: 1 }),
  probability: probabilityArb,
  latencyMs: fc.integer({ min: 0, max: 10 * MINUTE }),
  waitMs: fc.option(fc.integer({ min: SECOND, max: HOUR }), { nil: undefined }),
  failShare: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 1, noNaN: true })),
});

function* permutations<T>(items: readonly T[]): Generator<T[]> {
  if (items.length <= 1) {
    yield [...items];
    return;
  }
  for (let i = 0; i < items.length; i++) {
    const rest = [...items.slice(0, i), ...items.slice(i + 1)];
    for (const tail of permutations(rest)) yield [items[i]!, ...tail];
  }
}

/** Random estimates for some of a scenario's channels. */
const estimatesFor = (names: readonly string[], probability: fc.Arbitrary<number> = probabilityArb): fc.Arbitrary<Map<string, ChannelEstimate>> =>
  fc
    .tuple(
      ...names.map((name) =>
        fc.option(
          fc.record({
            name: fc.constant(name),
            probability,
            latencyMs: fc.integer({ min: 0, max: 10 * MINUTE }),
            waitMs: fc.option(fc.integer({ min: SECOND, max: HOUR }), { nil: undefined }),
          }),
          { nil: undefined },
        ),
      ),
    )
    .map((entries) => new Map(entries.flatMap((e) => (e === undefined ? [] : [[e.name, { probability: e.probability, latencyMs: e.latencyMs, waitMs: e.waitMs }] as const]))));

describe('planCascade properties: expected-cost order', () => {
  it("expected spend of the planner's order is no worse than the best permutation's (plus the value of the expected waiting)", () => {
    fc.assert(
      fc.property(
        fc.array(learnedSpecArb, { minLength: 2, maxLength: 6 }),
        valueOfTimeArb,
        fc.shuffledSubarray(['c0', 'c1', 'c2', 'c3', 'c4', 'c5']),
        (specs, valueOfTime, preferredOrder) => {
          const names = specs.map((_, i) => `c${i}`);
          const channels: Record<string, ChannelConfig> = {};
          const estimates = new Map<string, ChannelEstimate>();
          const costed = new Map<string, CostedStep>();
          specs.forEach((spec, i) => {
            const name = names[i]!;
            const cost = spec.costTenThousandths / 10_000;
            channels[name] = { kind: spec.kind, send, cost, billing: spec.billing, confirm: { timeout: spec.timeoutMs } };
            const failure = (1 - spec.probability) * spec.failShare;
            if (spec.estimated) estimates.set(name, { probability: spec.probability, latencyMs: spec.latencyMs, waitMs: spec.waitMs, failure });
            costed.set(name, {
              failure: spec.estimated ? failure : 0,
              costMicros: toMicros(cost),
              billing: spec.billing,
              probability: spec.estimated ? spec.probability : 1,
              latencyMs: spec.estimated ? spec.latencyMs : 0,
              waitMs: (spec.estimated ? spec.waitMs : undefined) ?? spec.timeoutMs,
            });
          });
          const p = planCascade({
            channels,
            message: { ...MESSAGE, policy: { valueOfTime } },
            recipient: { id: 'r1', addresses: Object.fromEntries(names.map((n) => [n, `addr-${n}`])), preferredOrder },
            now: NOW,
            estimates,
          });
          expect(p.steps.length).toBe(specs.length);
          for (const step of p.steps) {
            const model = costed.get(step.channel)!;
            expect([step.costMicros, step.timeoutMs, step.waitMs, step.probability ?? 1]).toEqual([model.costMicros, model.waitMs, model.waitMs, model.probability]);
          }
          const lambda = valueOfTime === undefined ? 0 : toMicrosPerMs(valueOfTime);
          const planned = expectedCost(p.steps.map((step) => costed.get(step.channel)!), lambda);
          let best = Infinity;
          for (const order of permutations([...costed.values()])) best = Math.min(best, expectedCost(order, lambda));
          expect(planned).toBeLessThanOrEqual(best * (1 + 1e-9) + 1e-9);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('with every probability 1 and no value of time, orders exactly as cheapest-first without estimates', () => {
    const arb = scenarioArb().chain((s) =>
      fc.record({ s: fc.constant(s), estimates: estimatesFor(s.channels.map((c) => c.name), fc.constant(1)), valueOfTime: fc.constantFrom(undefined, 0, '0') }),
    );
    fc.assert(
      fc.property(arb, ({ s, estimates, valueOfTime }) => {
        const cheapestFirst = planOf(s);
        const message = { ...s.message, policy: { ...s.message.policy, valueOfTime } };
        const p = planCascade({ channels: declare(s.channels), message, recipient: s.recipient, now: NOW, estimates });
        expect(channelsOf(p)).toEqual(channelsOf(cheapestFirst));
        expect(p.skipped).toEqual(cheapestFirst.skipped);
        expect(p.steps.map((step) => step.costMicros)).toEqual(cheapestFirst.steps.map((step) => step.costMicros));
        expect(p.steps.map((step) => step.probability)).toEqual(p.steps.map((step) => (estimates.has(step.channel) ? 1 : undefined)));
      }),
      { numRuns: 300 },
    );
  });

  it("never plans a channel whose estimated probability is below minProbability, and lists it in skipped as 'unlikely'", () => {
    const arb = scenarioArb({ deadline: true }).chain((s) =>
      fc.record({ s: fc.constant(s), estimates: estimatesFor(s.channels.map((c) => c.name)), minProbability: fc.oneof(probabilityArb, fc.constant(0.5)) }),
    );
    fc.assert(
      fc.property(arb, ({ s, estimates, minProbability }) => {
        const p = planCascade({ channels: declare(s.channels), message: s.message, recipient: s.recipient, now: NOW, estimates, minProbability });
        const unlikely = (name: string): boolean => (estimates.get(name)?.probability ?? 1) < minProbability;
        for (const step of p.steps) expect(unlikely(step.channel)).toBe(false);
        for (const { name } of s.channels) {
          const reasons = p.skipped.filter((skip) => skip.channel === name).map((skip) => skip.reason);
          if (exclusion(s, name) === undefined && unlikely(name)) expect(reasons).toEqual(['unlikely']);
          if (reasons.includes('unlikely')) expect(unlikely(name)).toBe(true);
        }
        expect(p.steps.length + p.skipped.length).toBe(s.channels.length);
      }),
      { numRuns: 300 },
    );
  });

  it('with learned waits, never plans a step past the deadline or maxCost, and times each step out by its learned wait', () => {
    const arb = scenarioArb({ timing: true }).chain((s) =>
      fc.record({ s: fc.constant(s), estimates: estimatesFor(s.channels.map((c) => c.name)), valueOfTime: valueOfTimeArb }),
    );
    fc.assert(
      fc.property(arb, ({ s, estimates, valueOfTime }) => {
        const p = planCascade({ channels: declare(s.channels), message: s.message, recipient: s.recipient, now: NOW, estimates, valueOfTime });
        const spec = new Map(s.channels.map((c) => [c.name, c]));
        let previousEnd = p.startAt;
        for (const step of p.steps) {
          expect(step.timeoutMs).toBe(estimates.get(step.channel)?.waitMs ?? spec.get(step.channel)!.timeoutMs);
          expect(step.waitMs).toBeLessThanOrEqual(step.timeoutMs);
          expect(step.startAt).toBeGreaterThanOrEqual(previousEnd + step.delayMs);
          if (p.deadlineAt !== undefined) expect(step.startAt + step.waitMs).toBeLessThanOrEqual(p.deadlineAt);
          previousEnd = step.startAt + step.waitMs;
        }
        const max = s.message.maxCost === undefined ? Infinity : toMicros(s.message.maxCost);
        expect(p.maxSpendMicros).toBeLessThanOrEqual(max);
      }),
      { numRuns: 200 },
    );
  });
});

describe('names that Object.prototype also has', () => {
  const channels: Record<string, ChannelConfig> = {
    constructor: { kind: 'push' as const, cost: 0, send, confirm: { timeout: '2m' } },
    toString: { kind: 'sms' as const, cost: 0.05, send, confirm: { timeout: '5m' } },
  };

  it('a channel named constructor gets no inherited address, delay, success level or content override', () => {
    const message: Message = { key: 'k', category: 'transactional', content: { text: 'Hi', channels: {} }, delays: {}, success: {} };
    const plan = planCascade({ channels, message, recipient: { id: 'r', addresses: { constructor: 'device-token', toString: '+380501234567' } }, now: NOW });
    expect(plan.steps.map((s) => [s.channel, s.address, s.delayMs, s.success])).toEqual([
      ['constructor', 'device-token', 0, 'delivered'],
      ['toString', '+380501234567', 0, 'delivered'],
    ]);
    // `addresses.constructor` is Object.prototype's, not an address: without its own, the channel is skipped.
    const without = planCascade({ channels, message, recipient: { id: 'r', addresses: { toString: '+380501234567' } }, now: NOW });
    expect(without.skipped).toEqual([expect.objectContaining({ channel: 'constructor', reason: 'no-address' })]);
  });

  it('a message category named like an Object.prototype member needs the consent it names, not an inherited one', () => {
    const plan = planCascade({
      channels: { sms: CHANNELS.sms },
      message: { key: 'k', category: 'hasOwnProperty', content: { text: 'Hi' } },
      recipient: { id: 'r', addresses: { sms: '+380501234567' } },
      now: NOW,
      consentRequired: ['hasOwnProperty'],
    });
    expect(plan.skipped).toEqual([expect.objectContaining({ channel: 'sms', reason: 'no-consent' })]);
  });
});
