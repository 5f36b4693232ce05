import { z } from 'zod';
import type { Receipt, ReceiptStatus } from '../core/types.js';
import { WebhookError } from './errors.js';
import type { Fault } from './fault.js';
import { check, jsonBody, readStatus, type ReceiptOptions } from './input.js';
import { decimalPrice } from './price.js';
import { providerId, receipt } from './receipt.js';
import { fromIso } from './time.js';

/** `data.event_type`: `message.sent` and `message.finalized` carry our messages' status; inbound ones give nothing. */
const EVENTS = new Map<string, boolean>([
  ['message.sent', true],
  ['message.finalized', true],
  ['message.received', false],
]);

/** `payload.to[].status` → receipt status (Telnyx "Receiving webhooks for messaging"; MDR statuses). */
const STATUS = new Map<string, ReceiptStatus | null>([
  ['queued', 'accepted'],
  ['sending', 'accepted'],
  ['sent', 'sent'],
  ['delivered', 'delivered'],
  // Final, but the carrier sends no receipt: nothing more will be known; the step's timeout decides.
  ['delivery_unconfirmed', 'sent'],
  ['sending_failed', 'failed'],
  ['delivery_failed', 'failed'],
  ['expired', 'failed'],
  // The status of an inbound message handed to your webhook.
  ['webhook_delivered', null],
]);

/** Messaging delivery error codes (Telnyx "Messaging error codes", 40xxx) → whose fault. */
const FAULT = new Map<string, Fault>([
  ['40001', 'recipient'], // Not routable: a landline or non-routable number
  ['40002', 'provider'], // Blocked as spam, temporary
  ['40003', 'provider'], // Blocked as spam, permanent: the sending number
  ['40011', 'provider'], // Too many requests: upstream rate limit
  ['40012', 'recipient'], // Invalid destination number
  ['40013', 'provider'], // Invalid source number
  ['40014', 'provider'], // Expired in queue
  ['40015', 'provider'], // Telnyx internal spam filter
]);

const amount = z.union([z.number(), z.string()]);

const TelnyxWebhook = z.looseObject({
  data: z.looseObject({
    event_type: z.string(),
    occurred_at: z.string().optional(),
    payload: z
      .looseObject({
        id: providerId,
        to: z.array(z.looseObject({ status: z.string() })).min(1),
        errors: z.array(z.looseObject({ code: z.union([z.string(), z.number()]).optional(), title: z.string().optional(), detail: z.string().optional() })).optional(),
        cost: z.looseObject({ amount: amount.nullish() }).nullish(),
      })
      .optional(),
  }),
});

/**
 * Reads a Telnyx messaging webhook (API v2): `{ data: { event_type, occurred_at, payload }, meta }`, as JSON text,
 * bytes or parsed. The id is `payload.id` (what `POST /v2/messages` returned); the status is the recipient's
 * `payload.to[0].status`; `at` is `occurred_at`; `price` is `payload.cost.amount` (in `cost.currency`).
 */
export function telnyxReceipts(body: unknown, options: ReceiptOptions = {}): Receipt[] {
  const data = check('telnyx', TelnyxWebhook, jsonBody('telnyx', body)).data;
  const relevant = readStatus('telnyx', 'data.event_type', data.event_type, EVENTS, options, data.payload?.id);
  if (relevant !== true) return [];
  const payload = data.payload;
  if (payload === undefined) throw new WebhookError('telnyx', 'data.payload', 'Expected `data.payload` to be an object, got undefined');
  const to = payload.to[0];
  const status = readStatus('telnyx', 'data.payload.to[0].status', to?.status, STATUS, options, payload.id);
  if (status === undefined || status === null) return [];
  const at = data.occurred_at === undefined ? undefined : fromIso('telnyx', 'data.occurred_at', data.occurred_at);
  const cost = payload.cost?.amount;
  const price = cost === undefined || cost === null || cost === '' ? undefined : decimalPrice('telnyx', 'data.payload.cost.amount', cost);
  const idField = 'data.payload.id';
  if (status !== 'failed') return [receipt('telnyx', payload.id, status, { at, price, idField })];
  const error = payload.errors?.[0];
  const errorCode = error?.code === undefined ? to?.status : String(error.code);
  return [
    receipt('telnyx', payload.id, status, {
      at,
      price,
      errorCode,
      errorMessage: error?.detail || error?.title,
      fault: errorCode === undefined ? undefined : FAULT.get(errorCode),
      idField,
    }),
  ];
}
