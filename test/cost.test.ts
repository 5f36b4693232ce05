import { describe, expect, it } from 'vitest';
import { byPrefix, InvalidConfigError, InvalidInputError, smsPerSegment, type CostContext } from 'cascade-router';
import { projectCost } from '../src/core/cost.js';

function context(address: string, text: string, channel = 'sms'): CostContext {
  return {
    channel,
    address,
    content: { text },
    message: { key: 'k1', category: 'transactional', content: { text } },
    recipient: { id: 'r1', addresses: { [channel]: address } },
  };
}

describe('smsPerSegment', () => {
  it('prices one GSM-7 segment at the flat price', () => {
    expect(smsPerSegment(0.05)(context('+15550001', 'Hello'))).toBe('0.050000');
    expect(projectCost(smsPerSegment(0.05), context('+15550001', 'Hello'))).toBe(50_000);
  });

  it('multiplies by the segment count: 160 GSM-7 chars is one, 161 is two', () => {
    expect(projectCost(smsPerSegment('0.05'), context('+1', 'a'.repeat(160)))).toBe(50_000);
    expect(projectCost(smsPerSegment('0.05'), context('+1', 'a'.repeat(161)))).toBe(100_000);
    expect(projectCost(smsPerSegment('0.05'), context('+1', 'a'.repeat(307)))).toBe(150_000);
  });

  it('counts Cyrillic text as UCS-2: 70 chars is one segment, 71 is two', () => {
    expect(projectCost(smsPerSegment(0.03), context('+380', 'я'.repeat(70)))).toBe(30_000);
    expect(projectCost(smsPerSegment(0.03), context('+380', 'я'.repeat(71)))).toBe(60_000);
  });

  it('multiplies exactly: 3 segments at 0.1 is 0.3, not 0.30000000000000004', () => {
    expect(0.1 * 3).toBe(0.30000000000000004);
    expect(smsPerSegment(0.1)(context('+1', 'a'.repeat(307)))).toBe('0.300000');
    expect(projectCost(smsPerSegment(0.1), context('+1', 'a'.repeat(307)))).toBe(300_000);
  });

  it('prices by destination prefix, the longest match winning', () => {
    const price = smsPerSegment({ default: 0.05, prefixes: { '+380': 0.03, '+3806': '0.02', '+44': '0.0395' } });
    expect(projectCost(price, context('+380501234567', 'Hi'))).toBe(30_000);
    expect(projectCost(price, context('+380671234567', 'Hi'))).toBe(20_000);
    expect(projectCost(price, context('+447700900123', 'Hi'))).toBe(39_500);
    expect(projectCost(price, context('+15550001', 'Hi'))).toBe(50_000);
    expect(projectCost(price, context('+380671234567', 'a'.repeat(161)))).toBe(40_000);
  });

  it('matches prefixes on the address with spaces, dashes and parentheses removed', () => {
    const price = smsPerSegment({ default: 0.05, prefixes: { '+3806': 0.02 } });
    expect(projectCost(price, context('+380 (67) 123-45-67', 'Hi'))).toBe(20_000);
  });

  it('rejects a prefix price that is not a decimal amount when declared', () => {
    expect(() => smsPerSegment({ default: 0.05, prefixes: { '+380': -1 } })).toThrow(InvalidConfigError);
    expect(() => smsPerSegment({ default: 0.05, prefixes: { '+380': 'cheap' } })).toThrow(
      'Expected the price for prefix "+380" to be a decimal amount',
    );
  });
});

describe('byPrefix', () => {
  const price = byPrefix({ default: '0.01', prefixes: { '+1': '0.005', '+1242': '0.02', '+12425': 0.03 } });

  it('returns the longest matching prefix price, whatever the declaration order', () => {
    expect(price(context('+12425550123', 'x', 'viber'))).toBe(0.03);
    expect(price(context('+12423330123', 'x', 'viber'))).toBe('0.02');
    expect(price(context('+12125550123', 'x', 'viber'))).toBe('0.005');
  });

  it('falls back to the default for no match', () => {
    expect(price(context('+447700900123', 'x', 'viber'))).toBe('0.01');
    expect(byPrefix({ default: 0.07 })(context('+1', 'x'))).toBe(0.07);
  });

  it('projects to micro-units through projectCost', () => {
    expect(projectCost(price, context('+1 242 555 0123', 'x', 'viber'))).toBe(30_000);
  });

  it('rejects a prefix price that is not a decimal amount when declared', () => {
    expect(() => byPrefix({ default: 0.01, prefixes: { '+1': '1.2345678' } })).toThrow(InvalidConfigError);
  });
});

describe('projectCost', () => {
  it('converts a fixed price to micro-units', () => {
    expect(projectCost(0, context('a', 'x', 'push'))).toBe(0);
    expect(projectCost(0.0075, context('a', 'x', 'push'))).toBe(7_500);
    expect(projectCost('0.0075', context('a', 'x', 'push'))).toBe(7_500);
  });

  it('calls a cost function with the context', () => {
    const seen: CostContext[] = [];
    const ctx = context('user@example.com', 'hello', 'email');
    expect(
      projectCost((c) => {
        seen.push(c);
        return c.content.text.length > 3 ? '0.002' : 0.001;
      }, ctx),
    ).toBe(2_000);
    expect(seen).toEqual([ctx]);
  });

  it('rejects a bad amount, naming the channel', () => {
    expect(() => projectCost(-1, context('a', 'x', 'viber'))).toThrow(InvalidInputError);
    expect(() => projectCost(() => 'free', context('a', 'x', 'viber'))).toThrow(
      'Expected `cost of channel "viber"` to be a non-negative decimal with at most 6 decimal places, got "free"',
    );
  });
});
