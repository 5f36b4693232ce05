import { z } from 'zod';
import type { Receipt, ReceiptStatus } from '../core/types.js';
import type { Fault } from './fault.js';
import { check, formBody, readStatus, type ReceiptOptions } from './input.js';
import { decimalPrice } from './price.js';
import { providerId, receipt } from './receipt.js';

/** Plivo `Status` → receipt status (Plivo "Message status callbacks"). */
const STATUS = new Map<string, ReceiptStatus | null>([
  ['queued', 'accepted'],
  ['sent', 'sent'],
  ['delivered', 'delivered'],
  // WhatsApp only.
  ['read', 'read'],
  ['failed', 'failed'],
  ['undelivered', 'failed'],
  ['rejected', 'failed'],
  // Inbound messages.
  ['received', null],
]);

/** Plivo messaging `ErrorCode`s (Plivo "Error codes") → whose fault; 10 (invalid message) and others unknown. */
const FAULT = new Map<string, Fault>([
  ['20', 'provider'], // Network error
  ['30', 'provider'], // Spam detected (carrier filtering of this sender and content)
  ['40', 'provider'], // Invalid source number
  ['50', 'recipient'], // Invalid destination number
  ['70', 'recipient'], // Destination permanently unavailable
  ['80', 'recipient'], // Destination temporarily unavailable
  ['90', 'provider'], // No route available
  ['200', 'recipient'], // The destination sent STOP to this source number
  ['900', 'provider'], // Insufficient credit
  ['910', 'provider'], // Account disabled
]);

const PlivoCallback = z.looseObject({
  MessageUUID: providerId,
  Status: z.string(),
  ErrorCode: z.union([z.string().max(16), z.number()]).optional(),
  TotalAmount: z.union([z.string(), z.number()]).optional(),
});

/**
 * Reads a Plivo message status callback (SMS, MMS, WhatsApp): form POST or GET query string, as text, bytes,
 * `URLSearchParams` or parsed. The id is `MessageUUID`; `price` is `TotalAmount` (rate × units). Plivo's
 * timestamps carry no time zone, so `at` is left to the router.
 */
export function plivoReceipts(body: unknown, options: ReceiptOptions = {}): Receipt[] {
  const form = check('plivo', PlivoCallback, formBody('plivo', body));
  const status = readStatus('plivo', 'Status', form.Status, STATUS, options, form.MessageUUID);
  if (status === undefined || status === null) return [];
  const price = form.TotalAmount === undefined || form.TotalAmount === '' ? undefined : decimalPrice('plivo', 'TotalAmount', form.TotalAmount);
  const idField = 'MessageUUID';
  if (status !== 'failed') return [receipt('plivo', form.MessageUUID, status, { price, idField })];
  const errorCode = form.ErrorCode === undefined || form.ErrorCode === '' ? undefined : String(form.ErrorCode);
  return [receipt('plivo', form.MessageUUID, status, { price, errorCode, errorMessage: form.Status, fault: errorCode === undefined ? undefined : FAULT.get(errorCode), idField })];
}
