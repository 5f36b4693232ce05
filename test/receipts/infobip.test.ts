import { describe, expect, it } from 'vitest';
import { infobipReceipts } from 'cascade-router/receipts';
import { infobip } from './fixtures/samples.js';

const result = (status: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  messageId: 'MSG-1',
  doneAt: '2019-11-09T16:00:00.000+0000',
  status,
  ...extra,
});

describe('infobipReceipts', () => {
  it('reads the SMS, WhatsApp and legacy reports: DELIVERED_TO_HANDSET is delivered, price carried as a string', () => {
    expect(infobipReceipts(infobip.sms)).toStrictEqual([
      { provider: 'infobip', providerMessageId: 'MESSAGE-ID-123-xyz', status: 'delivered', at: Date.parse('2019-11-09T15:00:00.000Z'), price: '0.01' },
    ]);
    expect(infobipReceipts(infobip.whatsapp)).toStrictEqual([
      { provider: 'infobip', providerMessageId: 'fb469d73-d362-463f-b30f-1e959b53badc', status: 'delivered', at: Date.parse('2019-04-09T19:01:56.494Z'), price: '0.21' },
    ]);
    expect(infobipReceipts(JSON.parse(infobip.legacy))).toStrictEqual([
      { provider: 'infobip', providerMessageId: 'MESSAGE-ID-123-xyz', status: 'delivered', at: Date.parse('2019-11-09T16:00:00.000Z'), price: '0.01' },
    ]);
  });

  it('reads a seen report as read at seenAt', () => {
    expect(infobipReceipts(infobip.seen)).toStrictEqual([
      { provider: 'infobip', providerMessageId: '1215f543ab19-345f-adbd-12ad31451ed25f35', status: 'read', at: Date.parse('2018-12-12T11:21:58.251Z') },
    ]);
  });

  it('keeps DELIVERED_TO_OPERATOR intermediate (sent), and PENDING too', () => {
    const body = {
      results: [
        result({ groupId: 3, groupName: 'DELIVERED', id: 2, name: 'DELIVERED_TO_OPERATOR' }),
        result({ groupId: 1, groupName: 'PENDING', id: 7, name: 'PENDING_ENROUTE' }, { messageId: 'MSG-2' }),
      ],
    };
    expect(infobipReceipts(body)).toStrictEqual([
      { provider: 'infobip', providerMessageId: 'MSG-1', status: 'sent', at: Date.parse('2019-11-09T16:00:00.000Z') },
      { provider: 'infobip', providerMessageId: 'MSG-2', status: 'sent', at: Date.parse('2019-11-09T16:00:00.000Z') },
    ]);
  });

  it('maps UNDELIVERABLE, EXPIRED and REJECTED to failed, naming the error cause', () => {
    const error = { groupId: 1, groupName: 'HANDSET_ERRORS', id: 27, name: 'EC_ABSENT_SUBSCRIBER', description: 'Absent Subscriber', permanent: false };
    const body = {
      results: [
        result({ groupId: 2, groupName: 'UNDELIVERABLE', id: 9, name: 'UNDELIVERABLE_NOT_DELIVERED', description: 'Message sent not delivered' }, { error }),
        result({ groupId: 4, groupName: 'EXPIRED', id: 15, name: 'EXPIRED_EXPIRED', description: 'Message expired' }),
        result({ groupId: 5, groupName: 'REJECTED', id: 14, name: 'REJECTED_DESTINATION_BLOCKLISTED' }, { error: { id: 0, name: 'NO_ERROR' } }),
      ],
    };
    const at = Date.parse('2019-11-09T16:00:00.000Z');
    expect(infobipReceipts(body)).toStrictEqual([
      { provider: 'infobip', providerMessageId: 'MSG-1', status: 'failed', at, error: { code: 'EC_ABSENT_SUBSCRIBER', message: 'Absent Subscriber', fault: 'recipient' } },
      { provider: 'infobip', providerMessageId: 'MSG-1', status: 'failed', at, error: { code: 'EXPIRED_EXPIRED', message: 'Message expired' } },
      { provider: 'infobip', providerMessageId: 'MSG-1', status: 'failed', at, error: { code: 'REJECTED_DESTINATION_BLOCKLISTED' } },
    ]);
  });

  it('falls back to groupId when groupName is absent', () => {
    expect(infobipReceipts({ results: [result({ groupId: 3, id: 5 })] })).toMatchObject([{ status: 'delivered' }]);
    expect(infobipReceipts({ results: [result({ groupId: 3, id: 2 })] })).toMatchObject([{ status: 'sent' }]);
  });

  it('throws naming the result index for an unknown group, a missing status and a bad doneAt', () => {
    expect(() => infobipReceipts({ results: [result({ groupId: 3, groupName: 'DELIVERED', id: 5, name: 'DELIVERED_TO_HANDSET' }), result({ groupName: 'LOST' })] }, { strict: true })).toThrow(
      'infobip: Expected `results[1].status.groupName` to be one of PENDING, DELIVERED, UNDELIVERABLE, EXPIRED, REJECTED, got "LOST"',
    );
    expect(() => infobipReceipts({ results: [result({ groupId: 9 })] }, { strict: true })).toThrow(
      'infobip: Expected `results[0].status.groupId` to be one of 1, 2, 3, 4, 5, got "9"',
    );
    expect(() => infobipReceipts({ results: [{ messageId: 'x' }] })).toThrow(
      'infobip: Expected `results[0].status` to be an object, got undefined',
    );
    expect(() => infobipReceipts({ results: [result({ groupId: 3 }, { doneAt: '09/11/2019' })] })).toThrow(
      'infobip: Expected `results[0].doneAt` to be an ISO 8601 date-time with a time zone, got "09/11/2019"',
    );
  });
});
