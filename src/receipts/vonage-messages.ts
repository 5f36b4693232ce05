import { z } from 'zod';
import type { Receipt, ReceiptStatus } from '../types.js';
import { check, jsonBody, lookupStatus } from './input.js';
import { decimalPrice } from './price.js';
import { receipt } from './receipt.js';
import { fromIso } from './time.js';

/** Vonage Messages API `status` → receipt status. */
const STATUS = new Map<string, ReceiptStatus>([
  ['submitted', 'sent'],
  ['delivered', 'delivered'],
  ['read', 'read'],
  // Rejected covers TTL expiry too; both are final.
  ['rejected', 'failed'],
  ['undeliverable', 'failed'],
]);

const VonageStatus = z.looseObject({
  message_uuid: z.string().min(1),
  status: z.string(),
  timestamp: z.string().optional(),
  error: z
    .looseObject({
      type: z.string().optional(),
      title: z.union([z.string(), z.number()]).optional(),
      detail: z.string().optional(),
    })
    .optional(),
  usage: z.looseObject({ price: z.union([z.string(), z.number()]).optional(), currency: z.string().optional() }).optional(),
});

/**
 * Reads a Vonage Messages API message-status webhook (SMS, MMS, WhatsApp, Viber, Messenger, RCS): one
 * JSON object. `usage.price` becomes `price` (in `usage.currency`, which the receipt does not carry).
 */
export function vonageMessagesReceipts(body: unknown): Receipt[] {
  const event = check('vonage', VonageStatus, jsonBody('vonage', body));
  const status = lookupStatus('vonage', 'status', event.status, STATUS);
  const at = event.timestamp === undefined ? undefined : fromIso('vonage', 'timestamp', event.timestamp);
  const rawPrice = event.usage?.price;
  const price = rawPrice === undefined || rawPrice === '' ? undefined : decimalPrice('vonage', 'usage.price', rawPrice);
  if (status !== 'failed') return [receipt(event.message_uuid, status, { at, price })];
  // `title` is the numeric error code (e.g. 1000), `detail` the explanation.
  const errorCode = event.error?.title;
  return [receipt(event.message_uuid, status, { at, price, errorCode, errorMessage: event.error?.detail })];
}
