import { describe, expect, it } from 'vitest';
import { WebhookError, viberReceipts } from 'cascade-router/receipts';
import { viber } from './fixtures/samples.js';

describe('viberReceipts', () => {
  it('keeps the 64-bit message_token exact when given the raw body', () => {
    expect(JSON.parse(viber.delivered).message_token).toBe(5466297578174182000); // what JSON.parse makes of it
    expect(viberReceipts(viber.delivered)).toStrictEqual([
      { provider: 'viber', providerMessageId: '5466297578174182639', status: 'delivered', at: 1595324677891 },
    ]);
    expect(viberReceipts(Buffer.from(viber.seen))).toStrictEqual([
      { provider: 'viber', providerMessageId: '5466297467809468529', status: 'read', at: 1595324652811 },
    ]);
  });

  it('maps failed to failed with desc as the message', () => {
    expect(viberReceipts(viber.failed)).toStrictEqual([
      { provider: 'viber', providerMessageId: '4912661846655238145', status: 'failed', at: 1457764197627, error: { message: 'failure description' } },
    ]);
  });

  it('reads the top-level token even when a nested object or a string mentions message_token', () => {
    const body =
      '{"event":"delivered","sender":{"message_token":1},"desc":"\\"message_token\\":2","message_token" : 9007199254740993,"timestamp":1}';
    expect(viberReceipts(body)).toStrictEqual([{ provider: 'viber', providerMessageId: '9007199254740993', status: 'delivered', at: 1 }]);
  });

  it('accepts a parsed body with a safe-integer, string or bigint token', () => {
    expect(viberReceipts({ event: 'seen', message_token: 12345 })).toStrictEqual([{ provider: 'viber', providerMessageId: '12345', status: 'read' }]);
    expect(viberReceipts({ event: 'seen', message_token: '5466297578174182639' })).toStrictEqual([
      { provider: 'viber', providerMessageId: '5466297578174182639', status: 'read' },
    ]);
    expect(viberReceipts({ event: 'seen', message_token: 5466297578174182639n })).toStrictEqual([
      { provider: 'viber', providerMessageId: '5466297578174182639', status: 'read' },
    ]);
  });

  it('refuses a parsed body whose token was already rounded, asking for the raw body', () => {
    let caught: unknown;
    try {
      viberReceipts(JSON.parse(viber.delivered));
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(WebhookError);
    expect(caught).toMatchObject({
      code: 'INVALID_WEBHOOK',
      field: 'message_token',
      message:
        'viber: `message_token` 5466297578174182000 is beyond 2^53 and was already rounded by JSON.parse: pass the raw request body (string or Buffer) instead of a parsed object',
    });
  });

  it('ignores subscription, conversation, inbound-message and webhook-setup callbacks', () => {
    for (const event of ['subscribed', 'unsubscribed', 'conversation_started', 'message', 'webhook']) {
      expect(viberReceipts(JSON.stringify({ event, timestamp: 1 }))).toStrictEqual([]);
    }
  });

  it('throws for an unknown event, a missing token and a fractional token', () => {
    expect(() => viberReceipts('{"event":"read","message_token":1}', { strict: true })).toThrow(
      'viber: Expected `event` to be one of delivered, seen, failed, subscribed, unsubscribed, conversation_started, message, webhook, client_status, action, got "read"',
    );
    expect(() => viberReceipts('{"event":"delivered"}')).toThrow('viber: Expected `message_token` to be a non-negative integer, got undefined');
    expect(() => viberReceipts('{"event":"delivered","message_token":1.5}')).toThrow(
      'viber: Expected `message_token` to be a non-negative integer, got 1.5',
    );
    expect(() => viberReceipts('{"event":"delivered","message_token":1e3}')).toThrow(
      'viber: Expected `message_token` to be an integer literal of at most 20 digits, got "1e3"',
    );
  });
});
