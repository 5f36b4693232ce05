import { describe, expect, it } from 'vitest';
import { vonageMessagesReceipts, vonageSmsReceipts } from 'cascade-router/receipts';
import { vonage, vonageSms } from './fixtures/samples.js';

const UUID = 'aaaaaaaa-bbbb-cccc-dddd-0123456789ab';

describe('vonageMessagesReceipts', () => {
  it('maps submitted to sent and carries usage.price as a decimal string', () => {
    expect(vonageMessagesReceipts(vonage.submitted)).toStrictEqual([
      { provider: 'vonage', providerMessageId: UUID, status: 'sent', at: Date.parse('2020-01-01T14:00:03.010Z'), price: '0.0333' },
    ]);
  });

  it('maps read to read and undeliverable to failed', () => {
    expect(vonageMessagesReceipts(JSON.parse(vonage.read))).toStrictEqual([
      { provider: 'vonage', providerMessageId: UUID, status: 'read', at: Date.parse('2020-01-01T14:00:00.000Z'), price: '0.0333' },
    ]);
    expect(vonageMessagesReceipts(vonage.undeliverable)).toStrictEqual([
      { provider: 'vonage', providerMessageId: UUID, status: 'failed', at: Date.parse('2020-01-08T15:43:21.000Z') },
    ]);
  });

  it('maps delivered, and rejected with its error title as the code', () => {
    const base = { message_uuid: UUID, timestamp: '2020-01-01T14:00:00Z', channel: 'whatsapp' };
    expect(vonageMessagesReceipts({ ...base, status: 'delivered' })).toStrictEqual([
      { provider: 'vonage', providerMessageId: UUID, status: 'delivered', at: Date.parse('2020-01-01T14:00:00Z') },
    ]);
    const rejected = { ...base, status: 'rejected', error: { type: 'https://developer.vonage.com/api-errors/messages#1260', title: 1260, detail: 'Invalid number' } };
    expect(vonageMessagesReceipts(rejected)).toStrictEqual([
      { provider: 'vonage', providerMessageId: UUID, status: 'failed', at: Date.parse('2020-01-01T14:00:00Z'), error: { code: '1260', message: 'Invalid number' } },
    ]);
  });

  it('throws for an unknown status and a negative price', () => {
    expect(() => vonageMessagesReceipts({ message_uuid: UUID, status: 'accepted' }, { strict: true })).toThrow(
      'vonage: Expected `status` to be one of submitted, delivered, read, rejected, undeliverable, got "accepted"',
    );
    expect(() => vonageMessagesReceipts({ message_uuid: UUID, status: 'read', usage: { price: '-1' } })).toThrow(
      'vonage: Expected `usage.price` to be a non-negative decimal, got "-1"',
    );
  });
});

describe('vonageSmsReceipts', () => {
  it('reads the documented DLR: message-timestamp as UTC, price trimmed to an exact decimal', () => {
    expect(vonageSmsReceipts(vonageSms.delivered)).toStrictEqual([
      { provider: 'vonage-sms', providerMessageId: '0B00000127FDBC63', status: 'delivered', at: Date.UTC(2018, 9, 25, 12, 10, 29), price: '0.0333' },
    ]);
    expect(vonageSmsReceipts(JSON.parse(vonageSms.captured))).toStrictEqual([
      { provider: 'vonage-sms', providerMessageId: '15000001FDB8525C', status: 'delivered', at: Date.UTC(2021, 8, 2, 23, 21, 22), price: '0.00828' },
    ]);
  });

  it('reads the same DLR as a GET query string or URLSearchParams', () => {
    const expected = [{ provider: 'vonage-sms', providerMessageId: '0C0000002EEBDA56', status: 'delivered', at: Date.UTC(2017, 4, 2, 11, 24, 3), price: '0.0182' }];
    expect(vonageSmsReceipts(vonageSms.query)).toStrictEqual(expected);
    expect(vonageSmsReceipts(new URLSearchParams(vonageSms.query))).toStrictEqual(expected);
  });

  it.each([
    ['accepted', 'sent'],
    ['buffered', 'sent'],
  ] as const)('maps %s to %s', (raw, status) => {
    expect(vonageSmsReceipts({ messageId: 'M1', status: raw })).toStrictEqual([{ provider: 'vonage-sms', providerMessageId: 'M1', status }]);
  });

  it.each(['expired', 'failed', 'rejected'])('maps %s to failed with the documented err-code meaning', (raw) => {
    expect(vonageSmsReceipts({ messageId: 'M1', status: raw, 'err-code': '6' })).toStrictEqual([
      { provider: 'vonage-sms', providerMessageId: 'M1', status: 'failed', error: { code: '6', message: 'Anti-Spam Rejection', fault: 'provider' } },
    ]);
  });

  it('gives no receipt for unknown (no useful information)', () => {
    expect(vonageSmsReceipts({ messageId: 'M1', status: 'unknown', 'err-code': '1' })).toStrictEqual([]);
  });

  it('throws for a bad status, a bad timestamp and a missing messageId', () => {
    expect(() => vonageSmsReceipts({ messageId: 'M1', status: 'DELIVRD' }, { strict: true })).toThrow(
      'vonage-sms: Expected `status` to be one of accepted, buffered, delivered, expired, failed, rejected, unknown, got "DELIVRD"',
    );
    expect(() => vonageSmsReceipts({ messageId: 'M1', status: 'delivered', 'message-timestamp': '2021-02-30 10:00:00' })).toThrow(
      'vonage-sms: Expected `message-timestamp` to be a UTC date-time "YYYY-MM-DD HH:MM:SS", got "2021-02-30 10:00:00"',
    );
    expect(() => vonageSmsReceipts('status=delivered')).toThrow('vonage-sms: Expected `messageId` to be a string, got undefined');
  });
});
