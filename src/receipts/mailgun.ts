import { z } from 'zod';
import type { Receipt, ReceiptStatus } from '../types.js';
import { check, jsonBody, lookupStatus } from './input.js';
import { receipt } from './receipt.js';
import { fromUnixSeconds } from './time.js';

/** Mailgun `event-data.event` → receipt status; `failed` depends on `severity`; `null`: no receipt. */
const STATUS = new Map<string, ReceiptStatus | null>([
  ['accepted', 'accepted'],
  ['delivered', 'delivered'],
  ['opened', 'read'],
  ['clicked', 'read'],
  ['failed', 'failed'],
  ['rejected', 'failed'],
  // A complaint or an unsubscribe follows a delivery; it is not a delivery status.
  ['complained', null],
  ['unsubscribed', null],
]);

/** `temporary`: Mailgun retries (see `retry-seconds`), so it is not a failure yet; no receipt. */
const SEVERITY = new Map<string, boolean>([
  ['permanent', true],
  ['temporary', false],
]);

const code = z.union([z.string(), z.number()]);

const MailgunWebhook = z.object({
  'event-data': z.looseObject({
    event: z.string(),
    timestamp: z.number().optional(),
    severity: z.string().optional(),
    reason: z.string().optional(),
    message: z.looseObject({
      headers: z.looseObject({ 'message-id': z.string().min(1) }),
    }),
    'delivery-status': z
      .looseObject({
        code: code.optional(),
        message: z.string().optional(),
        description: z.string().optional(),
      })
      .optional(),
    reject: z.looseObject({ reason: z.string().optional(), description: z.string().optional() }).optional(),
  }),
});

/**
 * Reads a Mailgun webhook: `{ signature, "event-data" }` as JSON text, bytes or parsed. The id is the
 * `Message-Id` header without angle brackets: strip them from the `id` Mailgun's send API returns.
 */
export function mailgunReceipts(body: unknown): Receipt[] {
  const data = check('mailgun', MailgunWebhook, jsonBody('mailgun', body))['event-data'];
  const status = lookupStatus('mailgun', 'event-data.event', data.event, STATUS);
  if (status === null) return [];
  const id = data.message.headers['message-id'].replace(/^<(.*)>$/, '$1');
  const at = data.timestamp === undefined ? undefined : fromUnixSeconds('mailgun', 'event-data.timestamp', data.timestamp);
  if (status !== 'failed') return [receipt(id, status, { at })];
  if (data.event === 'failed') {
    const permanent = lookupStatus('mailgun', 'event-data.severity', data.severity, SEVERITY);
    if (!permanent) return [];
  }
  const delivery = data['delivery-status'];
  const errorMessage =
    data.reject?.reason || delivery?.message || delivery?.description || data.reason || data.reject?.description;
  return [receipt(id, status, { at, errorCode: delivery?.code ?? data.reason, errorMessage })];
}
