import { describe, expect, it } from 'vitest';
import { mailgunReceipts } from 'cascade-router/receipts';
import { mailgun } from './fixtures/samples.js';

const event = (data: Record<string, unknown>) => ({
  'event-data': { timestamp: 1534108637.5, message: { headers: { 'message-id': 'id@example.org' } }, ...data },
});

describe('mailgunReceipts', () => {
  it('reads the complete delivered event, with its fractional timestamp in ms', () => {
    expect(mailgunReceipts(mailgun.delivered)).toStrictEqual([
      { provider: 'mailgun', providerMessageId: '20180812211713.1.DF5966851B4BAA99@example.org', status: 'delivered', at: 1534108637153 },
    ]);
  });

  it('maps a permanent failure to failed with the SMTP code and message', () => {
    expect(mailgunReceipts(mailgun.failedPermanent)).toStrictEqual([
      {
        provider: 'mailgun', providerMessageId: '20180812214658.1.0DF563D0B3597700@example.org',
        status: 'failed',
        at: 1534110422390,
        error: {
          code: '550',
          message:
            "5.1.1 The email account that you tried to reach does not exist. Please try\n5.1.1 double-checking the recipient's email address for typos",
          fault: 'recipient',
        },
      },
    ]);
  });

  it('gives no receipt for a temporary failure: Mailgun is still retrying', () => {
    expect(mailgunReceipts(mailgun.failedTemporary)).toStrictEqual([]);
  });

  it('maps opened and clicked to read, accepted to accepted, rejected to failed', () => {
    expect(mailgunReceipts(JSON.parse(mailgun.opened))).toStrictEqual([
      { provider: 'mailgun', providerMessageId: '20180812213139.1.BC6694A917BB7E6A@example.org', status: 'read', at: 1534109600090 },
    ]);
    expect(mailgunReceipts(event({ event: 'clicked' }))).toStrictEqual([
      { provider: 'mailgun', providerMessageId: 'id@example.org', status: 'read', at: 1534108637500 },
    ]);
    expect(mailgunReceipts(event({ event: 'accepted' }))).toStrictEqual([
      { provider: 'mailgun', providerMessageId: 'id@example.org', status: 'accepted', at: 1534108637500 },
    ]);
    expect(mailgunReceipts(event({ event: 'rejected', reject: { reason: 'Sandbox subdomains are for test purposes only' } }))).toStrictEqual([
      {
        provider: 'mailgun', providerMessageId: 'id@example.org',
        status: 'failed',
        at: 1534108637500,
        error: { message: 'Sandbox subdomains are for test purposes only' },
      },
    ]);
  });

  it('ignores complaints and unsubscribes on purpose', () => {
    expect(mailgunReceipts(event({ event: 'complained' }))).toStrictEqual([]);
    expect(mailgunReceipts(event({ event: 'unsubscribed' }))).toStrictEqual([]);
  });

  it('strips angle brackets if a message-id header carries them', () => {
    const body = { 'event-data': { event: 'delivered', message: { headers: { 'message-id': '<a.b@example.org>' } } } };
    expect(mailgunReceipts(body)).toStrictEqual([{ provider: 'mailgun', providerMessageId: 'a.b@example.org', status: 'delivered' }]);
  });

  it('throws for an unknown event, a failure without severity and a missing message id', () => {
    expect(() => mailgunReceipts(event({ event: 'bounced' }), { strict: true })).toThrow(
      'mailgun: Expected `event-data.event` to be one of accepted, delivered, opened, clicked, failed, rejected, complained, unsubscribed, got "bounced"',
    );
    expect(() => mailgunReceipts(event({ event: 'failed' }))).toThrow(
      'mailgun: Expected `event-data.severity` to be one of permanent, temporary, got undefined',
    );
    expect(() => mailgunReceipts({ 'event-data': { event: 'delivered', message: { headers: {} } } })).toThrow(
      'mailgun: Expected `event-data.message.headers.message-id` to be a string, got undefined',
    );
  });
});
