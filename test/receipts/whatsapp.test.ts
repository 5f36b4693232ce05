import { describe, expect, it } from 'vitest';
import { whatsappReceipts } from 'cascade-router/receipts';
import { whatsapp } from './fixtures/samples.js';

const status = (fields: Record<string, unknown>) => ({ id: 'wamid.X', timestamp: '1750030073', recipient_id: '16505551234', ...fields });
const webhook = (...changes: unknown[]) => ({ object: 'whatsapp_business_account', entry: [{ id: '1', changes }] });
const messages = (...statuses: unknown[]) => ({ field: 'messages', value: { messaging_product: 'whatsapp', statuses } });

describe('whatsappReceipts', () => {
  it('reads the documented sent, delivered and failed statuses', () => {
    expect(whatsappReceipts(whatsapp.sent)).toStrictEqual([
      { provider: 'whatsapp', providerMessageId: 'wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA=', status: 'sent', at: 1750030073000 },
    ]);
    expect(whatsappReceipts(whatsapp.delivered)).toStrictEqual([{ provider: 'whatsapp', providerMessageId: 'wamid.ID', status: 'delivered', at: 1700000100000 }]);
    expect(whatsappReceipts(whatsapp.failed)).toStrictEqual([
      {
        provider: 'whatsapp', providerMessageId: 'wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI0QUQ2MjA4NEYyRkExNjMyREUA',
        status: 'failed',
        at: 1751142888000,
        error: { code: '131049', message: 'In order to maintain a healthy ecosystem engagement, the message failed to be delivered.', fault: 'recipient' },
      },
    ]);
  });

  it('maps read and played to read', () => {
    const body = webhook(messages(status({ status: 'read' }), status({ id: 'wamid.Y', status: 'played' })));
    expect(whatsappReceipts(body)).toStrictEqual([
      { provider: 'whatsapp', providerMessageId: 'wamid.X', status: 'read', at: 1750030073000 },
      { provider: 'whatsapp', providerMessageId: 'wamid.Y', status: 'read', at: 1750030073000 },
    ]);
  });

  it('flattens a batch of entries × changes × statuses in order, skipping inbound messages and other fields', () => {
    const body = {
      object: 'whatsapp_business_account',
      entry: [
        { id: '1', changes: [messages(status({ id: 'a', status: 'sent' }), status({ id: 'b', status: 'delivered' }))] },
        {
          id: '2',
          changes: [
            { field: 'message_template_status_update', value: { event: 'APPROVED' } },
            { field: 'messages', value: { messages: [{ from: '1', id: 'wamid.in', type: 'text' }] } },
            messages(status({ id: 'c', status: 'read' })),
          ],
        },
      ],
    };
    expect(whatsappReceipts(JSON.stringify(body)).map((r) => `${r.providerMessageId}:${r.status}`)).toStrictEqual([
      'a:sent',
      'b:delivered',
      'c:read',
    ]);
  });

  it('throws naming the exact path of a bad status or timestamp', () => {
    const body = webhook(messages(status({ status: 'sent' })), messages(status({ status: 'sent' }), status({ status: 'deleted' })));
    expect(() => whatsappReceipts(body, { strict: true })).toThrow(
      'whatsapp: Expected `entry[0].changes[1].value.statuses[1].status` to be one of sent, delivered, read, played, failed, got "deleted"',
    );
    expect(() => whatsappReceipts(webhook(messages(status({ status: 'sent', timestamp: 'TIMESTAMP' }))))).toThrow(
      'whatsapp: Expected `entry[0].changes[0].value.statuses[0].timestamp` to be Unix seconds, got "TIMESTAMP"',
    );
    expect(() => whatsappReceipts({ object: 'page', entry: [] })).toThrow(
      'whatsapp: Expected `object` to be one of whatsapp_business_account, got "page"',
    );
  });
});
