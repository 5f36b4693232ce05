import { z } from 'zod';
import type { Receipt, ReceiptStatus } from '../types.js';
import { check, jsonBody, lookupStatus } from './input.js';
import { receipt } from './receipt.js';
import { fromUnixSeconds } from './time.js';

/** SendGrid `event` → receipt status; `null`: deliberately no receipt (see docs/receipts.md). */
const STATUS = new Map<string, ReceiptStatus | null>([
  ['processed', 'accepted'],
  // Temporary: SendGrid keeps retrying for up to 72 hours, and a delivered or bounce event follows.
  ['deferred', null],
  ['delivered', 'delivered'],
  ['open', 'read'],
  ['click', 'read'],
  ['bounce', 'failed'],
  ['dropped', 'failed'],
  // Opt-outs, complaints and account events say nothing new about delivery.
  ['spamreport', null],
  ['unsubscribe', null],
  ['group_unsubscribe', null],
  ['group_resubscribe', null],
  ['account_status_change', null],
]);

const SendGridEvent = z.looseObject({
  event: z.string(),
  sg_message_id: z.string().optional(),
  'smtp-id': z.string().optional(),
  timestamp: z.number().optional(),
  type: z.string().optional(),
  status: z.string().optional(),
  reason: z.string().optional(),
  response: z.string().optional(),
  sg_machine_open: z.boolean().optional(),
});

/** One event of a SendGrid Event Webhook batch, as validated. Custom args stay as extra keys. */
export type SendGridEvent = z.infer<typeof SendGridEvent>;

export interface SendGridReceiptOptions {
  /**
   * The id your `send()` returned, read from an event. Default: the `X-Message-Id` of the send response,
   * which is `sg_message_id` up to its first dot (or the local part of `smtp-id`). Use a custom arg here
   * if you send with one. Events with no id are skipped: SendGrid omits it on asynchronous bounces.
   */
  readonly messageId?: ((event: SendGridEvent) => string | undefined) | undefined;
}

/** The X-Message-Id SendGrid returned from the send, as far as an event carries it. */
export function sendGridMessageId(event: SendGridEvent): string | undefined {
  const first = event.sg_message_id?.split('.')[0];
  // Old dropped events carry only SendGrid's internal `filter…` id; smtp-id still has ours.
  if (first && !/^(?:filter|recvd)/.test(first)) return first;
  const smtp = /^<?([^@<>]+)@/.exec(event['smtp-id'] ?? '')?.[1];
  return smtp ?? undefined;
}

const SendGridBatch = z.array(SendGridEvent);

/**
 * Reads a SendGrid Event Webhook POST: a JSON array of events (raw text, bytes or parsed). Machine opens
 * (`sg_machine_open: true`, Apple Mail privacy prefetch) prove delivery, not reading: `delivered`.
 */
export function sendgridReceipts(body: unknown, options: SendGridReceiptOptions = {}): Receipt[] {
  const events = check('sendgrid', SendGridBatch, jsonBody('sendgrid', body));
  const idOf = options.messageId ?? sendGridMessageId;
  const receipts: Receipt[] = [];
  events.forEach((event, index) => {
    let status = lookupStatus('sendgrid', `[${index}].event`, event.event, STATUS);
    if (status === null) return;
    if (event.event === 'open' && event.sg_machine_open === true) status = 'delivered';
    const id = idOf(event);
    if (id === undefined || id === '') return;
    const at = event.timestamp === undefined ? undefined : fromUnixSeconds('sendgrid', `[${index}].timestamp`, event.timestamp);
    if (status !== 'failed') {
      receipts.push(receipt(id, status, { at }));
      return;
    }
    // `type` is bounce (permanent) or blocked (this message refused); dropped has neither.
    const errorCode = event.status ?? (event.event === 'bounce' ? event.type : event.event);
    receipts.push(receipt(id, status, { at, errorCode, errorMessage: event.reason ?? event.response }));
  });
  return receipts;
}
