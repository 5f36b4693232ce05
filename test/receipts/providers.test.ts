import { describe, expect, it } from 'vitest';
import {
  UnknownStatusError,
  brevoReceipts,
  mailgunLegacyReceipts,
  plivoReceipts,
  postmarkReceipts,
  resendReceipts,
  telnyxReceipts,
} from 'cascade-router/receipts';
import { brevo, plivo, postmark, resend, telnyx } from './fixtures/providers.js';

describe('telnyxReceipts', () => {
  const FINALIZED_ID = 'ac012cbf-5e09-46af-a69a-7c0e2d90993c';
  it('reads the documented message.sent (cost as the price) and message.finalized delivered callbacks', () => {
    expect(telnyxReceipts(telnyx.sent)).toStrictEqual([
      { provider: 'telnyx', providerMessageId: '40385f64-5717-4562-b3fc-2c963f66afa6', status: 'sent', at: Date.parse('2019-01-23T18:10:02.574Z'), price: '0.0051' },
    ]);
    expect(telnyxReceipts(Buffer.from(telnyx.delivered))).toStrictEqual([
      { provider: 'telnyx', providerMessageId: FINALIZED_ID, status: 'delivered', at: Date.parse('2019-12-09T21:32:14.148Z') },
    ]);
  });

  it.each([
    ['queued', 'accepted'],
    ['sending', 'accepted'],
    ['delivery_unconfirmed', 'sent'],
  ] as const)('maps the recipient status %s to %s', (raw, status) => {
    const body = JSON.parse(telnyx.delivered) as { data: { payload: { to: { status: string }[] } } };
    body.data.payload.to[0]!.status = raw;
    expect(telnyxReceipts(body)).toMatchObject([{ status }]);
  });

  it('maps delivery_failed, sending_failed and expired to failed with the 40xxx code, and 40001 to the recipient', () => {
    for (const status of ['delivery_failed', 'sending_failed', 'expired']) {
      expect(telnyxReceipts(telnyx.failed(status))).toStrictEqual([
        {
          provider: 'telnyx',
          providerMessageId: FINALIZED_ID,
          status: 'failed',
          at: Date.parse('2019-12-09T21:32:14.148Z'),
          price: '0.004',
          error: { code: '40001', message: 'The destination number is either a landline or a non-routable wireless number.', fault: 'recipient' },
        },
      ]);
    }
    expect(telnyxReceipts(telnyx.failed('delivery_failed', '40002', 'Blocked as spam - temporary'))[0]?.error?.fault).toBe('provider');
    expect(telnyxReceipts(telnyx.failed('delivery_failed', '40008', 'Undeliverable'))[0]?.error?.fault).toBeUndefined();
  });

  it('gives no receipt for inbound messages, and reports an unknown event type (strict: throws)', () => {
    expect(telnyxReceipts(telnyx.received)).toStrictEqual([]);
    const reported: UnknownStatusError[] = [];
    const future = telnyx.sent.replace('message.sent', 'message.teleported');
    expect(telnyxReceipts(future, { onUnknown: (e) => reported.push(e) })).toStrictEqual([]);
    expect(reported.map((e) => [e.field, e.status, e.providerMessageId])).toEqual([['data.event_type', 'message.teleported', '40385f64-5717-4562-b3fc-2c963f66afa6']]);
    expect(() => telnyxReceipts(future, { strict: true })).toThrow(UnknownStatusError);
  });
});

describe('plivoReceipts', () => {
  const UUID = 'db3ce55a-7f1d-11e1-8ea7-1231380bc196';
  it.each([
    ['queued', 'accepted'],
    ['sent', 'sent'],
    ['delivered', 'delivered'],
    ['read', 'read'],
  ] as const)('maps %s to %s, TotalAmount as the price', (raw, status) => {
    expect(plivoReceipts(plivo.callback(raw))).toStrictEqual([{ provider: 'plivo', providerMessageId: UUID, status, price: '0.0065' }]);
  });

  it('maps failed, undelivered and rejected to failed with the ErrorCode and whose fault it is', () => {
    expect(plivoReceipts(plivo.callback('undelivered', { ErrorCode: '50' }))).toStrictEqual([
      { provider: 'plivo', providerMessageId: UUID, status: 'failed', price: '0.0065', error: { code: '50', message: 'undelivered', fault: 'recipient' } },
    ]);
    expect(plivoReceipts(new URLSearchParams(plivo.callback('failed', { ErrorCode: '30' })))[0]?.error).toEqual({ code: '30', message: 'failed', fault: 'provider' });
    expect(plivoReceipts(plivo.callback('rejected', { ErrorCode: '10' }))[0]?.error).toEqual({ code: '10', message: 'rejected' });
  });

  it('gives no receipt for an inbound received status', () => {
    expect(plivoReceipts(plivo.callback('received'))).toStrictEqual([]);
  });
});

describe('postmarkReceipts', () => {
  it('reads the documented delivery (no RecordType) and bounce examples', () => {
    expect(postmarkReceipts(postmark.deliveryLegacy)).toStrictEqual([
      { provider: 'postmark', providerMessageId: 'a94dfe84-8ab9-43cf-8a1c-ac234c296e25', status: 'delivered', at: Date.parse('2016-12-01T20:41:45Z') },
    ]);
    expect(postmarkReceipts(postmark.bounce)).toStrictEqual([
      {
        provider: 'postmark',
        providerMessageId: '883953f4-6105-42a2-a16a-77a8eac79483',
        status: 'failed',
        at: Date.parse('2014-08-01T17:28:10.273Z'),
        error: { code: 'HardBounce', message: 'Test bounce details', fault: 'recipient' },
      },
    ]);
  });

  it('maps Delivery, Open and Click records, and a blocked or soft bounce with their fault', () => {
    expect(postmarkReceipts(postmark.record('Delivery', { DeliveredAt: '2024-01-08T09:00:04Z' }))).toMatchObject([{ status: 'delivered', at: Date.parse('2024-01-08T09:00:04Z') }]);
    expect(postmarkReceipts(postmark.record('Open', { ReceivedAt: '2024-01-08T09:10:00Z' }))).toMatchObject([{ status: 'read' }]);
    expect(postmarkReceipts(postmark.record('Click', { ReceivedAt: '2024-01-08T09:11:00Z' }))).toMatchObject([{ status: 'read' }]);
    expect(postmarkReceipts(postmark.record('Bounce', { Type: 'Blocked', TypeCode: 100006, BouncedAt: '2024-01-08T09:00:05Z' }))[0]?.error?.fault).toBe('provider');
    expect(postmarkReceipts(postmark.record('Bounce', { Type: 'SoftBounce', TypeCode: 4096, BouncedAt: '2024-01-08T09:00:05Z' }))[0]?.error?.fault).toBe('recipient');
    expect(postmarkReceipts(postmark.record('Bounce', { Type: 'Transient', TypeCode: 2, BouncedAt: '2024-01-08T09:00:05Z' }))[0]?.error).toEqual({ code: 'Transient' });
  });

  it('gives no receipt for auto-replies, complaints and subscription changes', () => {
    expect(postmarkReceipts(postmark.record('Bounce', { Type: 'AutoResponder', TypeCode: 64, BouncedAt: '2024-01-08T09:00:05Z' }))).toStrictEqual([]);
    expect(postmarkReceipts(postmark.record('SpamComplaint', { BouncedAt: '2024-01-08T09:00:05Z' }))).toStrictEqual([]);
    expect(postmarkReceipts(postmark.record('SubscriptionChange'))).toStrictEqual([]);
  });
});

describe('resendReceipts', () => {
  const ID = '56761188-7520-42d8-8898-ff6fc54ce618';
  const at = Date.parse('2024-11-22T23:41:12.126Z');
  it.each([
    ['email.scheduled', 'accepted'],
    ['email.sent', 'accepted'],
    ['email.delivered', 'delivered'],
    ['email.opened', 'read'],
    ['email.clicked', 'read'],
  ] as const)('maps %s to %s at created_at', (type, status) => {
    expect(resendReceipts(resend.event(type))).toStrictEqual([{ provider: 'resend', providerMessageId: ID, status, at }]);
  });

  it('maps a permanent bounce to the recipient, a failure and a suppression with their reasons', () => {
    const bounce = { message: "The recipient's email provider sent a hard bounce message.", subType: 'Suppressed', type: 'Permanent' };
    expect(resendReceipts(resend.event('email.bounced', { bounce }))).toStrictEqual([
      { provider: 'resend', providerMessageId: ID, status: 'failed', at, error: { code: 'Permanent/Suppressed', message: bounce.message, fault: 'recipient' } },
    ]);
    expect(resendReceipts(resend.event('email.failed', { failed: { reason: 'reached_daily_quota' } }))[0]?.error).toEqual({ code: 'failed', message: 'reached_daily_quota' });
    expect(resendReceipts(resend.event('email.suppressed'))[0]?.error).toEqual({ code: 'suppressed', fault: 'recipient' });
  });

  it('gives no receipt while delayed, for complaints and for inbound mail', () => {
    for (const type of ['email.delivery_delayed', 'email.complained', 'email.received', 'contact.created']) expect(resendReceipts(resend.event(type))).toStrictEqual([]);
  });
});

describe('brevoReceipts', () => {
  const ID = '202010091300.12345678901@smtp-relay.mailin.fr';
  it('reads the documented request (sent) event: the id without angle brackets, at ts_event', () => {
    expect(brevoReceipts(brevo.request)).toStrictEqual([{ provider: 'brevo', providerMessageId: ID, status: 'accepted', at: 1604933654000 }]);
  });

  it.each([
    ['delivered', 'delivered'],
    ['proxy_open', 'delivered'],
    ['unique_opened', 'read'],
    ['opened', 'read'],
    ['click', 'read'],
  ] as const)('maps %s to %s', (event, status) => {
    expect(brevoReceipts(brevo.event(event))).toStrictEqual([{ provider: 'brevo', providerMessageId: ID, status, at: 1604933700000 }]);
  });

  it('maps hard_bounce, invalid_email, soft_bounce, blocked and error to failed with the reason and fault', () => {
    expect(brevoReceipts(brevo.event('hard_bounce', { reason: '550 5.1.1 unknown user' }))).toStrictEqual([
      { provider: 'brevo', providerMessageId: ID, status: 'failed', at: 1604933700000, error: { code: 'hard_bounce', message: '550 5.1.1 unknown user', fault: 'recipient' } },
    ]);
    expect(brevoReceipts(brevo.event('invalid_email'))[0]?.error).toEqual({ code: 'invalid_email', fault: 'recipient' });
    expect(brevoReceipts(brevo.event('soft_bounce'))[0]?.error).toEqual({ code: 'soft_bounce' });
    expect(brevoReceipts(brevo.event('blocked'))[0]?.error).toEqual({ code: 'blocked' });
    expect(brevoReceipts(brevo.event('error'))[0]?.error).toEqual({ code: 'error', fault: 'provider' });
  });

  it('gives no receipt while deferred, for spam reports and unsubscribes', () => {
    for (const event of ['deferred', 'spam', 'unsubscribed']) expect(brevoReceipts(brevo.event(event))).toStrictEqual([]);
  });
});

describe('mailgunLegacyReceipts', () => {
  // [doc] The legacy webhook parameters (mailgun/documentation user_manual.rst before the JSON webhooks).
  const signed = { timestamp: '1534108637', token: '651869375b9df3c98fc15c4889b102119add1235c38fc92824', signature: 'x' };
  it('reads delivered (Message-Id), bounced and dropped (the id inside message-headers)', () => {
    const delivered = new URLSearchParams({ event: 'delivered', recipient: 'a@example.com', domain: 'example.org', 'Message-Id': '<20130503182626.18666.16540@example.org>', ...signed });
    expect(mailgunLegacyReceipts(delivered)).toStrictEqual([{ provider: 'mailgun', providerMessageId: '20130503182626.18666.16540@example.org', status: 'delivered', at: 1534108637000 }]);
    const headers = JSON.stringify([['Received', 'by luna.mailgun.net'], ['Message-Id', '<20130503182626.18666.16540@example.org>']]);
    const bounced = { event: 'bounced', recipient: 'a@example.com', 'message-headers': headers, code: '550', error: '5.1.1 The email account that you tried to reach does not exist', ...signed };
    expect(mailgunLegacyReceipts(new URLSearchParams(bounced).toString())).toStrictEqual([
      {
        provider: 'mailgun',
        providerMessageId: '20130503182626.18666.16540@example.org',
        status: 'failed',
        at: 1534108637000,
        error: { code: '550', message: '5.1.1 The email account that you tried to reach does not exist', fault: 'recipient' },
      },
    ]);
    const dropped = { event: 'dropped', 'message-headers': headers, reason: 'old', description: 'Too old', ...signed };
    expect(mailgunLegacyReceipts(dropped)[0]?.error).toEqual({ message: 'Too old' });
    expect(mailgunLegacyReceipts({ ...dropped, reason: 'hardfail' })[0]?.error?.fault).toBe('recipient');
  });

  it('maps opened and clicked to read, and gives no receipt for complaints and unsubscribes', () => {
    expect(mailgunLegacyReceipts({ event: 'opened', 'message-id': 'm1@example.org', ...signed })).toMatchObject([{ status: 'read' }]);
    expect(mailgunLegacyReceipts({ event: 'clicked', 'message-id': 'm1@example.org', ...signed })).toMatchObject([{ status: 'read' }]);
    expect(mailgunLegacyReceipts({ event: 'complained', 'message-id': 'm1@example.org' })).toStrictEqual([]);
    expect(mailgunLegacyReceipts({ event: 'unsubscribed', 'message-id': 'm1@example.org' })).toStrictEqual([]);
  });
});
