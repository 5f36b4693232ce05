import { z } from 'zod';
import type { Receipt, ReceiptStatus } from '../core/types.js';
import type { Fault } from './fault.js';
import { check, jsonBody, readStatus, type ReceiptOptions } from './input.js';
import { decimalPrice } from './price.js';
import { providerId, receipt } from './receipt.js';
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

/** Messages API error codes (Vonage "API Errors: Messages API") → whose fault; the rest are unknown. */
const FAULT = new Map<string, Fault>([
  ['1000', 'provider'], // Throttled
  ['1030', 'provider'], // Internal error
  ['1040', 'recipient'], // Invalid message: an unrecognised number prefix
  ['1050', 'recipient'], // Number barred
  ['1060', 'provider'], // Partner account barred
  ['1070', 'provider'], // Partner quota exceeded
  ['1100', 'provider'], // Communication failed
  ['1120', 'provider'], // Illegal sender address
  ['1160', 'provider'], // Non white-listed destination (the account's restriction)
]);

const VonageStatus = z.looseObject({
  message_uuid: providerId,
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
export function vonageMessagesReceipts(body: unknown, options: ReceiptOptions = {}): Receipt[] {
  const event = check('vonage', VonageStatus, jsonBody('vonage', body));
  const status = readStatus('vonage', 'status', event.status, STATUS, options, event.message_uuid);
  if (status === undefined) return [];
  const at = event.timestamp === undefined ? undefined : fromIso('vonage', 'timestamp', event.timestamp);
  const rawPrice = event.usage?.price;
  const price = rawPrice === undefined || rawPrice === '' ? undefined : decimalPrice('vonage', 'usage.price', rawPrice);
  const idField = 'message_uuid';
  if (status !== 'failed') return [receipt('vonage', event.message_uuid, status, { at, price, idField })];
  // `title` is the numeric error code (e.g. 1000), `detail` the explanation.
  const errorCode = event.error?.title === undefined ? undefined : String(event.error.title);
  const fault = errorCode === undefined ? undefined : FAULT.get(errorCode);
  return [receipt('vonage', event.message_uuid, status, { at, price, errorCode, errorMessage: event.error?.detail, fault, idField })];
}
