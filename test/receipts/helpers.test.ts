import { describe, expect, it } from 'vitest';
import { WebhookError } from 'cascade-router/receipts';
import { decimalPrice } from '../../src/receipts/price.js';
import { rawMember } from '../../src/receipts/raw-json.js';
import { fromIso, fromUnixSeconds, fromUtcDateTime } from '../../src/receipts/time.js';

describe('decimalPrice', () => {
  it.each([
    ['0.03330000', '0.0333'],
    ['0.00828000', '0.00828'],
    ['1', '1'],
    ['1.000', '1'],
    ['007.50', '7.5'],
    ['0.0000004', '0'],
    ['0.0000005', '0.000001'],
    ['0.12345649', '0.123456'],
    ['0.9999995', '1'],
  ])('%s → %s (exact, rounded half-up to micro-units only beyond 6 places)', (input, output) => {
    expect(decimalPrice('vonage', 'price', input)).toBe(output);
  });

  it('writes provider numbers as the decimal they printed', () => {
    expect(decimalPrice('infobip', 'price', 0.01)).toBe('0.01');
    expect(decimalPrice('infobip', 'price', 0.21)).toBe('0.21');
    expect(decimalPrice('infobip', 'price', 1e-7)).toBe('0');
    expect(decimalPrice('infobip', 'price', 12)).toBe('12');
  });

  it.each(['-1', 'abc', '', '1e3', '0x10', ' . '])('refuses %j', (input) => {
    expect(() => decimalPrice('vonage', 'price', input)).toThrow(WebhookError);
  });

  it('refuses negative and non-finite numbers', () => {
    for (const input of [-0.5, Number.NaN, Number.POSITIVE_INFINITY, 1e300]) {
      expect(() => decimalPrice('infobip', 'price', input)).toThrow('infobip: Expected `price` to be a non-negative decimal');
    }
  });
});

describe('time parsing', () => {
  it('reads Unix seconds from numbers and digit strings, keeping fractions as ms', () => {
    expect(fromUnixSeconds('whatsapp', 't', '1750030073')).toBe(1750030073000);
    expect(fromUnixSeconds('mailgun', 't', 1534108637.153125)).toBe(1534108637153);
    expect(() => fromUnixSeconds('whatsapp', 't', '-1')).toThrow('whatsapp: Expected `t` to be Unix seconds, got "-1"');
    expect(() => fromUnixSeconds('sendgrid', 't', 1e20)).toThrow(WebhookError);
  });

  it('reads ISO 8601 with Z, +01:00 and Infobip +0000 offsets, and refuses zone-less times', () => {
    expect(fromIso('infobip', 't', '2019-11-09T16:00:00.000+0000')).toBe(Date.UTC(2019, 10, 9, 16));
    expect(fromIso('infobip', 't', '2019-11-09T16:00:00.000+01:00')).toBe(Date.UTC(2019, 10, 9, 15));
    expect(fromIso('vonage', 't', '2020-01-01T14:00:03.010Z')).toBe(Date.UTC(2020, 0, 1, 14, 0, 3, 10));
    expect(() => fromIso('vonage', 't', '2020-01-01T14:00:03')).toThrow(WebhookError);
    expect(() => fromIso('vonage', 't', '2020-13-01T14:00:03Z')).toThrow(WebhookError);
  });

  it('reads Vonage "YYYY-MM-DD HH:MM:SS" as UTC, not local time', () => {
    expect(fromUtcDateTime('vonage-sms', 't', '2018-10-25 12:10:29')).toBe(Date.UTC(2018, 9, 25, 12, 10, 29));
    expect(() => fromUtcDateTime('vonage-sms', 't', '2018-10-25 24:10:29')).toThrow(WebhookError);
  });
});

describe('rawMember', () => {
  it('returns the source text of a top-level member, skipping nested objects, arrays and strings', () => {
    const json = ' { "a" : [1, {"message_token": 2}], "s": "}\\"message_token\\":3", "message_token" :  18446744073709551615 } ';
    expect(rawMember(json, 'message_token')).toBe('18446744073709551615');
    expect(rawMember('{"x":1}', 'message_token')).toBeUndefined();
    expect(rawMember('[1,2]', 'message_token')).toBeUndefined();
    expect(rawMember('{"message_token":1,"message_token":22}', 'message_token')).toBe('22');
  });
});
