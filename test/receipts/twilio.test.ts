import { describe, expect, it } from 'vitest';
import { WebhookError, twilioReceipts } from 'cascade-router/receipts';
import { twilio } from './fixtures/samples.js';

const SID = 'SM55555555555555555555555555555555';
const form = (fields: Record<string, string>) => new URLSearchParams({ MessageSid: SID, ...fields }).toString();

describe('twilioReceipts', () => {
  it('reads the documented SMS sent callback (form-encoded string)', () => {
    expect(twilioReceipts(twilio.smsSent)).toStrictEqual([
      { provider: 'twilio', providerMessageId: 'SM1342fe1b2c904d1ab04f0fc7a58abca9', status: 'sent' },
    ]);
  });

  it('reads undelivered with its ErrorCode, from a string, bytes, URLSearchParams or a parsed object', () => {
    const expected = [{ provider: 'twilio', providerMessageId: SID, status: 'failed', error: { code: '30003', message: 'undelivered', fault: 'recipient' } }];
    expect(twilioReceipts(twilio.smsUndelivered)).toStrictEqual(expected);
    expect(twilioReceipts(Buffer.from(twilio.smsUndelivered))).toStrictEqual(expected);
    expect(twilioReceipts(new URLSearchParams(twilio.smsUndelivered))).toStrictEqual(expected);
    expect(twilioReceipts(Object.fromEntries(new URLSearchParams(twilio.smsUndelivered)))).toStrictEqual(expected);
  });

  it('reads the WhatsApp sandbox sent, delivered and read captures', () => {
    const id = 'SMxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx';
    expect(twilioReceipts(twilio.whatsapp('sent'))).toStrictEqual([{ provider: 'twilio', providerMessageId: id, status: 'sent' }]);
    expect(twilioReceipts(twilio.whatsapp('delivered'))).toStrictEqual([{ provider: 'twilio', providerMessageId: id, status: 'delivered' }]);
    expect(twilioReceipts(twilio.whatsapp('read'))).toStrictEqual([{ provider: 'twilio', providerMessageId: id, status: 'read' }]);
  });

  it.each([
    ['accepted', 'accepted'],
    ['scheduled', 'accepted'],
    ['queued', 'accepted'],
    ['sending', 'accepted'],
    ['sent', 'sent'],
    ['partially_delivered', 'sent'],
    ['delivered', 'delivered'],
    ['read', 'read'],
  ] as const)('maps %s to %s', (raw, status) => {
    expect(twilioReceipts(form({ MessageStatus: raw }))).toStrictEqual([{ provider: 'twilio', providerMessageId: SID, status }]);
  });

  it.each(['failed', 'undelivered', 'canceled'])('maps %s to failed, preferring the channel message', (raw) => {
    const body = form({ MessageStatus: raw, ErrorCode: '63016', ChannelStatusMessage: 'Outside the 24h window' });
    expect(twilioReceipts(body)).toStrictEqual([
      { provider: 'twilio', providerMessageId: SID, status: 'failed', error: { code: '63016', message: 'Outside the 24h window' } },
    ]);
  });

  it('returns no receipt for inbound-message statuses', () => {
    expect(twilioReceipts(form({ MessageStatus: 'received' }))).toStrictEqual([]);
    expect(twilioReceipts(form({ MessageStatus: 'receiving' }))).toStrictEqual([]);
  });

  it('takes EventType=READ as read, and falls back to the legacy SmsSid/SmsStatus', () => {
    expect(twilioReceipts(form({ MessageStatus: 'delivered', EventType: 'READ' }))).toStrictEqual([
      { provider: 'twilio', providerMessageId: SID, status: 'read' },
    ]);
    expect(twilioReceipts('SmsSid=SM1&SmsStatus=delivered')).toStrictEqual([{ provider: 'twilio', providerMessageId: 'SM1', status: 'delivered' }]);
  });

  it('names the field of an unknown status', () => {
    expect(() => twilioReceipts(form({ MessageStatus: 'bogus' }), { strict: true })).toThrow(
      'twilio: Expected `MessageStatus` to be one of accepted, scheduled, queued, sending, sent, partially_delivered, delivered, read, undelivered, failed, canceled, receiving, received, got "bogus"',
    );
  });

  it('throws WebhookError for a missing sid, a missing status and a non-form body', () => {
    const missingSid = (() => {
      try {
        twilioReceipts('MessageStatus=sent');
      } catch (error) {
        return error;
      }
    })();
    expect(missingSid).toBeInstanceOf(WebhookError);
    expect(missingSid).toMatchObject({ code: 'INVALID_WEBHOOK', provider: 'twilio', field: 'MessageSid' });
    expect(() => twilioReceipts(`MessageSid=${SID}`)).toThrow('twilio: Expected `MessageStatus` to be a string, got undefined');
    expect(() => twilioReceipts(42)).toThrow('twilio: Expected `body` to be a form-encoded string or an object, got 42');
    expect(() => twilioReceipts({ MessageSid: SID, MessageStatus: ['sent', 'delivered'] })).toThrow(
      'twilio: Expected `MessageStatus` to be a string, got an array',
    );
  });
});
