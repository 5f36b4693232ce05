import { describe, expect, it } from 'vitest';
import { SimulatedClock, byPrefix, createRouter, planCascade, smsPerSegment, type ChannelConfig, type CostContext, type Recipient, type SendRequest } from 'cascade-router';

const T0 = Date.UTC(2026, 0, 8, 10);
const message = { key: 'm1', category: 'transactional', content: { text: 'Hi' } };
const send = async () => 'id';
const channels = { sms: { kind: 'sms', cost: '0.05', send } } satisfies Record<string, ChannelConfig>;
const plan = (sms: string, options: { phoneNumbers?: boolean | { defaultCountry?: string }; country?: string } = {}) =>
  planCascade({ channels, message, recipient: { id: 'r', addresses: { sms }, ...(options.country === undefined ? {} : { country: options.country }) }, now: T0, phoneNumbers: options.phoneNumbers });

describe('phone numbers (phoneNumbers on): parsed with libphonenumber-js, sent as E.164, invalid ones skipped before any send', () => {
  it('reads E.164, national and international-dialling forms with the default country, each to the same E.164 number', () => {
    for (const written of ['+380501234567', '+380 50 123 45 67', '050 123 4567', '(050) 123-45-67', '00380501234567']) {
      expect(plan(written, { phoneNumbers: { defaultCountry: 'UA' } }).steps.map((s) => s.address)).toEqual(['+380501234567']);
    }
  });

  it('the recipient\'s country wins over the default: a UK mobile written nationally', () => {
    expect(plan('07400 123456', { phoneNumbers: { defaultCountry: 'UA' }, country: 'GB' }).steps.map((s) => s.address)).toEqual(['+447400123456']);
  });

  it('skips an invalid number as invalid-address, saying why: too short, a national number without a country, an unassigned range', () => {
    const cases: [string, (string | undefined)?][] = [['+38050123456'], ['050 123 4567', undefined], ['+380001234567'], ['not a number']];
    for (const [written, country] of cases) {
      const p = plan(written, { phoneNumbers: country === undefined ? true : { defaultCountry: country } });
      expect(p.steps).toEqual([]);
      expect(p.skipped.map((s) => s.reason)).toEqual(['invalid-address']);
    }
    expect(plan('050 123 4567', { phoneNumbers: true }).skipped[0]!.detail).toMatch(/needs the recipient's `country` or the router's `defaultCountry`/);
  });

  it('without phoneNumbers, addresses go out as written (nothing checked)', () => {
    expect(plan('050 123 4567').steps.map((s) => s.address)).toEqual(['050 123 4567']);
  });

  it('a channel opts in (a WhatsApp channel addressed by number) or out (an SMS channel addressed by a provider id) with its own phoneNumbers', () => {
    const p = planCascade({
      channels: { whatsapp: { kind: 'messenger', send, phoneNumbers: true }, sms: { kind: 'sms', send, phoneNumbers: false } },
      message,
      recipient: { id: 'r', addresses: { whatsapp: '12', sms: 'contact-7' } },
      now: T0,
      phoneNumbers: true,
    });
    expect(p.steps.map((s) => [s.channel, s.address])).toEqual([['sms', 'contact-7']]);
    expect(p.skipped.map((s) => [s.channel, s.reason])).toEqual([['whatsapp', 'invalid-address']]);
  });

  it('the router sends nothing to an invalid number: the adapter is never called and the cascade is exhausted with the skip on its plan', async () => {
    const calls: SendRequest[] = [];
    const router = createRouter({
      clock: new SimulatedClock(T0),
      phoneNumbers: { defaultCountry: 'UA' },
      channels: { sms: { kind: 'sms', cost: '0.05', send: async (request) => (calls.push(request), 'id') } },
    });
    const bad = await router.send({ ...message, key: 'bad' }, { id: 'r', addresses: { sms: '050 12' } });
    expect(bad.plan.skipped.map((s) => s.reason)).toEqual(['invalid-address']);
    await router.send({ ...message, key: 'good' }, { id: 'r', addresses: { sms: '050 123 4567' } });
    await router.settled();
    expect(calls.map((c) => c.address)).toEqual(['+380501234567']);
    await router.close();
  });

  it('rejects a country that is not ISO 3166-1 alpha-2: INVALID_CONFIG on the router, INVALID_INPUT on a recipient', async () => {
    expect(() => createRouter({ channels, phoneNumbers: { defaultCountry: 'Ukraine' } })).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG' }));
    const router = createRouter({ channels, phoneNumbers: true, clock: new SimulatedClock(T0) });
    await expect(router.send(message, { id: 'r', addresses: { sms: '+380501234567' }, country: 'XX' })).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    await router.close();
  });
});

describe('price tables by country as well as prefix', () => {
  const table = { default: '0.1', countries: { UA: '0.03', CA: '0.02', US: '0.01' }, prefixes: { '+38067': '0.025', '+1': '0.05', '+49': '0.07' } };
  const price = (address: string) => byPrefix(table)({ address } as CostContext);

  it('a carrier prefix longer than the calling code wins; then the country; then a shorter prefix; then the default', () => {
    expect(price('+380671234567')).toBe('0.025'); // +38067 is longer than +380
    expect(price('+380501234567')).toBe('0.03'); // UA
    expect(price('+14165550123')).toBe('0.02'); // +1 416: CA, not the +1 prefix
    expect(price('+12125551234')).toBe('0.01'); // +1 212: US
    expect(price('+4915123456789')).toBe('0.07'); // DE has no country price: the +49 prefix
    expect(price('+33612345678')).toBe('0.1'); // FR: neither
  });

  it('with phoneNumbers on, a national number is priced as its country (the planner hands the cost E.164)', () => {
    const sms = { kind: 'sms', send, cost: smsPerSegment(table) } satisfies ChannelConfig;
    const recipient: Recipient = { id: 'r', addresses: { sms: '050 123 4567' } };
    const p = planCascade({ channels: { sms }, message, recipient, now: T0, phoneNumbers: { defaultCountry: 'UA' } });
    expect(p.steps[0]!.costMicros).toBe(30_000);
    // Without it the raw text matches no prefix and no country: the default.
    expect(planCascade({ channels: { sms }, message, recipient, now: T0 }).steps[0]!.costMicros).toBe(100_000);
  });

  it('a bad table is INVALID_CONFIG when the cost model is made: a default, a country or a price that is not one', () => {
    expect(() => byPrefix({ default: 'abc' })).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG' }));
    expect(() => byPrefix({ default: '0.1', countries: { Ukraine: '0.03' } })).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG' }));
    expect(() => smsPerSegment({ default: '0.1', countries: { UA: '1e-9' } })).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG' }));
  });
});
