import { z } from 'zod';
import type { Receipt, ReceiptStatus } from '../types.js';
import { check, jsonBody, lookupStatus } from './input.js';
import { receipt } from './receipt.js';
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

const WhatsAppError = z.looseObject({
  code: z.union([z.number(), z.string()]).optional(),
  title: z.string().optional(),
  message: z.string().optional(),
  error_data: z.looseObject({ details: z.string().optional() }).optional(),
});

const WhatsAppStatus = z.looseObject({
  id: z.string().min(1),
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
export function whatsappReceipts(body: unknown): Receipt[] {
  const webhook = check('whatsapp', WhatsAppWebhook, jsonBody('whatsapp', body));
  const receipts: Receipt[] = [];
  webhook.entry.forEach((entry, e) => {
    entry.changes.forEach((change, c) => {
      if (change.field !== 'messages') return;
      change.value?.statuses?.forEach((item, s) => {
        const path = `entry[${e}].changes[${c}].value.statuses[${s}]`;
        const status = lookupStatus('whatsapp', `${path}.status`, item.status, STATUS);
        const at = item.timestamp === undefined ? undefined : fromUnixSeconds('whatsapp', `${path}.timestamp`, item.timestamp);
        if (status !== 'failed') {
          receipts.push(receipt(item.id, status, { at }));
          return;
        }
        const error = item.errors?.[0];
        const errorMessage = error?.error_data?.details || error?.message || error?.title;
        receipts.push(receipt(item.id, status, { at, errorCode: error?.code, errorMessage }));
      });
    });
  });
  return receipts;
}
