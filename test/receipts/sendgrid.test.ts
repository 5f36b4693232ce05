import { describe, expect, it } from 'vitest';
import { sendgridReceipts } from 'cascade-router/receipts';
import { sendgridBatch } from './fixtures/samples.js';

const X_MESSAGE_ID = 'wrfRRvF7Q0GgwUo2CvDmEA';
const event = (fields: Record<string, unknown>) => ({
  sg_message_id: `${X_MESSAGE_ID}.filter0425p1mdw1.13037.57168B4A1D.0`,
  timestamp: 1461095250,
  ...fields,
});

describe('sendgridReceipts', () => {
  it('reads the anymail batch: processed, delivered, deferred (skipped), bounce, dropped, open', () => {
    expect(sendgridReceipts(sendgridBatch)).toStrictEqual([
      { provider: 'sendgrid', providerMessageId: X_MESSAGE_ID, status: 'accepted', at: 1461095246000 },
      { provider: 'sendgrid', providerMessageId: X_MESSAGE_ID, status: 'delivered', at: 1461095250000 },
      {
        provider: 'sendgrid', providerMessageId: 'Lli-03HcQ5-JLybO9fXsJg',
        status: 'failed',
        at: 1461095250000,
        error: { code: 'bounce/5.1.1', message: '550 5.1.1 The email account that you tried to reach does not exist.', fault: 'recipient' },
      },
      // Its sg_message_id is SendGrid's internal filter id; smtp-id carries the X-Message-Id.
      { provider: 'sendgrid', providerMessageId: X_MESSAGE_ID, status: 'failed', at: 1461095250000, error: { code: 'dropped', message: 'Invalid', fault: 'recipient' } },
      { provider: 'sendgrid', providerMessageId: X_MESSAGE_ID, status: 'read', at: 1461095250000 },
    ]);
  });

  it('accepts the parsed array and bytes alike', () => {
    const fromText = sendgridReceipts(sendgridBatch);
    expect(sendgridReceipts(JSON.parse(sendgridBatch))).toStrictEqual(fromText);
    expect(sendgridReceipts(new TextEncoder().encode(sendgridBatch))).toStrictEqual(fromText);
  });

  it('maps clicks to read, a machine open to delivered, a blocked bounce to failed', () => {
    const receipts = sendgridReceipts([
      event({ event: 'click', url: 'https://example.com' }),
      event({ event: 'open', sg_machine_open: true }),
      event({ event: 'bounce', type: 'blocked', reason: '554 blocked by policy' }),
    ]);
    expect(receipts).toStrictEqual([
      { provider: 'sendgrid', providerMessageId: X_MESSAGE_ID, status: 'read', at: 1461095250000 },
      { provider: 'sendgrid', providerMessageId: X_MESSAGE_ID, status: 'delivered', at: 1461095250000 },
      { provider: 'sendgrid', providerMessageId: X_MESSAGE_ID, status: 'failed', at: 1461095250000, error: { code: 'blocked', message: '554 blocked by policy', fault: 'provider' } },
    ]);
  });

  it('ignores deferred, opt-out, complaint and account events on purpose', () => {
    const ignored = ['deferred', 'spamreport', 'unsubscribe', 'group_unsubscribe', 'group_resubscribe', 'account_status_change'];
    expect(sendgridReceipts(ignored.map((name) => event({ event: name })))).toStrictEqual([]);
  });

  it('skips an asynchronous bounce that carries no message id', () => {
    expect(sendgridReceipts([{ event: 'bounce', type: 'bounce', email: 'a@example.com', timestamp: 1 }])).toStrictEqual([]);
  });

  it('lets the caller read the id from a custom arg', () => {
    const receipts = sendgridReceipts([event({ event: 'delivered', attempt_key: 'k-1' })], {
      messageId: (e) => (typeof e['attempt_key'] === 'string' ? e['attempt_key'] : undefined),
    });
    expect(receipts).toStrictEqual([{ provider: 'sendgrid', providerMessageId: 'k-1', status: 'delivered', at: 1461095250000 }]);
  });

  it('throws naming the batch index of an unknown event, and rejects a non-array body', () => {
    expect(() => sendgridReceipts([event({ event: 'delivered' }), event({ event: 'teleported' })], { strict: true })).toThrow(
      'sendgrid: Expected `[1].event` to be one of processed, deferred, delivered, open, click, bounce, dropped, spamreport, unsubscribe, group_unsubscribe, group_resubscribe, account_status_change, got "teleported"',
    );
    expect(() => sendgridReceipts('{"event":"delivered"}')).toThrow('sendgrid: Expected `body` to be an array, got an object');
    expect(() => sendgridReceipts('[{"event":')).toThrow('sendgrid: Expected `body` to be JSON, got "[{\\"event\\":"');
    expect(() => sendgridReceipts([event({ event: 'open', timestamp: '1461095250' })])).toThrow(
      'sendgrid: Expected `[0].timestamp` to be a number, got "1461095250"',
    );
  });
});
