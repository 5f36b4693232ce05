import { z } from 'zod';
import type { Receipt, ReceiptStatus } from '../core/types.js';
import type { Fault } from './fault.js';
import { check, jsonBody, readStatus, type ReceiptOptions } from './input.js';
import { providerId, receipt } from './receipt.js';
import { fromUnixSeconds } from './time.js';

/** WhatsApp Cloud API `statuses[].status` → receipt status. */
const STATUS = new Map<string, ReceiptStatus>([
  ['sent', 'sent'],
  ['delivered', 'delivered'],
  // A read status can come without a delivered one before it: read implies delivered.
  ['read', 'read'],
  ['played', 'read'],
  ['failed', 'failed'],
]);

/**
 * Cloud API error codes (Meta's "Error codes") → whose fault. `recipient`: Meta would refuse this user through
 * any provider of WhatsApp (not on WhatsApp, opted out of marketing, per-user engagement limit). `provider`:
 * the sender's throughput, quality, account or payment. Others (templates, the 24-hour window) are unknown.
 */
const FAULT = new Map<string, Fault>([
  ['131026', 'recipient'], // Message undeliverable: not a WhatsApp user, old app, terms not accepted
  ['131049', 'recipient'], // Not delivered to maintain healthy ecosystem engagement (a per-user limit)
  ['131050', 'recipient'], // The user stopped marketing messages
  ['131021', 'recipient'], // Recipient cannot be sender
  ['130429', 'provider'], // Rate limit hit
  ['131048', 'provider'], // Spam rate limit hit
  ['131000', 'provider'], // Something went wrong
  ['131016', 'provider'], // Service unavailable
  ['131031', 'provider'], // Account has been locked
  ['131042', 'provider'], // Business eligibility: payment issue
  ['368', 'provider'], // Temporarily blocked for policy violations
]);

const WhatsAppError = z.looseObject({
  code: z.union([z.number(), z.string()]).optional(),
  title: z.string().optional(),
  message: z.string().optional(),
  error_data: z.looseObject({ details: z.string().optional() }).optional(),
});

const WhatsAppStatus = z.looseObject({
  id: providerId,
  status: z.string(),
  timestamp: z.string().optional(),
  errors: z.array(WhatsAppError).optional(),
});

const WhatsAppWebhook = z.looseObject({
  object: z.literal('whatsapp_business_account'),
  entry: z.array(
    z.looseObject({
      changes: z.array(
        z.looseObject({
          field: z.string(),
          value: z.looseObject({ statuses: z.array(WhatsAppStatus).optional() }).optional(),
        }),
      ),
    }),
  ),
});

/**
 * Reads a WhatsApp Cloud API webhook POST: `entry[] × changes[] × value.statuses[]`, as JSON text, bytes
 * or parsed. Inbound `messages` and changes of other fields (templates, account) give no receipts.
 * Meta reports pricing categories, not amounts, so no `price` is set.
 */
export function whatsappReceipts(body: unknown, options: ReceiptOptions = {}): Receipt[] {
  const webhook = check('whatsapp', WhatsAppWebhook, jsonBody('whatsapp', body));
  const receipts: Receipt[] = [];
  webhook.entry.forEach((entry, e) => {
    entry.changes.forEach((change, c) => {
      if (change.field !== 'messages') return;
      change.value?.statuses?.forEach((item, s) => {
        const path = `entry[${e}].changes[${c}].value.statuses[${s}]`;
        const status = readStatus('whatsapp', `${path}.status`, item.status, STATUS, options, item.id);
        if (status === undefined) return;
        const at = item.timestamp === undefined ? undefined : fromUnixSeconds('whatsapp', `${path}.timestamp`, item.timestamp);
        const idField = `${path}.id`;
        if (status !== 'failed') {
          receipts.push(receipt('whatsapp', item.id, status, { at, idField }));
          return;
        }
        const error = item.errors?.[0];
        const errorMessage = error?.error_data?.details || error?.message || error?.title;
        const errorCode = error?.code === undefined ? undefined : String(error.code);
        const fault = errorCode === undefined ? undefined : FAULT.get(errorCode);
        receipts.push(receipt('whatsapp', item.id, status, { at, errorCode, errorMessage, fault, idField }));
      });
    });
  });
  return receipts;
}
