import { z } from 'zod';
import type { Receipt, ReceiptStatus } from '../core/types.js';
import type { Fault } from './fault.js';
import { check, jsonBody, readStatus, type ReceiptOptions } from './input.js';
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

/**
 * `bounce_classification` (SendGrid's Bounce Classification): the address is bad or gone (`recipient`), or
 * the receiving server refused this sender, content or volume (`provider`: another ESP may get through).
 */
const CLASSIFICATION = new Map<string, Fault>([
  ['Invalid Address', 'recipient'],
  ['Mailbox Unavailable', 'recipient'],
  ['Reputation', 'provider'],
  ['Technical Failure', 'provider'],
  ['Frequency or Volume Too High', 'provider'],
  ['Content', 'provider'],
]);

/** Documented `dropped` reasons. SendGrid drops on its own suppression lists (recipient) or its own limits. */
const DROPPED = new Map<string, Fault>([
  ['Bounced Address', 'recipient'],
  ['Unsubscribed Address', 'recipient'],
  ['Spam Reporting Address', 'recipient'],
  ['Invalid', 'recipient'],
  ['Spam Content', 'provider'],
  ['Invalid SMTPAPI header', 'provider'],
  ['Recipient List over Package Quota', 'provider'],
]);

const SendGridEvent = z.looseObject({
  event: z.string(),
  sg_message_id: z.string().max(512).optional(),
  'smtp-id': z.string().max(512).optional(),
  timestamp: z.number().optional(),
  type: z.string().optional(),
  status: z.string().optional(),
  reason: z.string().optional(),
  response: z.string().optional(),
  bounce_classification: z.string().optional(),
  sg_machine_open: z.boolean().optional(),
});

/** One event of a SendGrid Event Webhook batch, as validated. Custom args stay as extra keys. */
export interface SendGridEvent {
  readonly event: string;
  readonly sg_message_id?: string | undefined;
  readonly 'smtp-id'?: string | undefined;
  readonly timestamp?: number | undefined;
  readonly type?: string | undefined;
  readonly status?: string | undefined;
  readonly reason?: string | undefined;
  readonly response?: string | undefined;
  readonly bounce_classification?: string | undefined;
  readonly sg_machine_open?: boolean | undefined;
  readonly [customArg: string]: unknown;
}

// The published type is written out, so zod's types stay out of the declarations; this keeps the two in step.
type Known<T> = { [K in keyof T as string extends K ? never : K]-?: Exclude<T[K], undefined> };
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const _inStep: Same<Known<SendGridEvent>, Known<z.infer<typeof SendGridEvent>>> = true;
void _inStep;

export interface SendGridReceiptOptions extends ReceiptOptions {
  /**
   * The id your `send()` returned, read from an event. Default: the `X-Message-Id` of the send response,
   * which is `sg_message_id` before SendGrid's own `.filter…`/`.recvd…` suffix (or the local part of
   * `smtp-id`). Use a custom arg here if you send with one. Events with no id are skipped: SendGrid omits it
   * on asynchronous bounces.
   */
  readonly messageId?: ((event: SendGridEvent) => string | undefined) | undefined;
}

// SendGrid appends `.filter…` (or `.recvd…`) and three more parts to the X-Message-Id, which itself may hold dots
// (`14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0`).
const INTERNAL_PART = /^(?:filter|recvd)/;

/** The X-Message-Id SendGrid returned from the send, as far as an event carries it. */
export function sendGridMessageId(event: SendGridEvent): string | undefined {
  const parts = event.sg_message_id?.split('.') ?? [];
  const internal = parts.findIndex((part) => INTERNAL_PART.test(part));
  // Old dropped events carry only SendGrid's internal `filter…` id; smtp-id still has ours.
  const head = parts.slice(0, internal === -1 ? parts.length : internal).join('.');
  if (head !== '') return head;
  const smtp = /^<?([^@<>]+)@/.exec(event['smtp-id'] ?? '')?.[1];
  return smtp ?? undefined;
}

const SendGridBatch = z.array(SendGridEvent);

function faultOf(event: SendGridEvent): Fault | undefined {
  if (event.event === 'dropped') return event.reason === undefined ? undefined : DROPPED.get(event.reason);
  const classified = event.bounce_classification === undefined ? undefined : CLASSIFICATION.get(event.bounce_classification);
  if (classified !== undefined) return classified;
  // `bounce`: the server refused the address for good; `blocked`: it refused this message for now.
  if (event.type === 'blocked') return 'provider';
  if (event.type === 'bounce' || event.type === undefined) return 'recipient';
  return undefined;
}

/**
 * Reads a SendGrid Event Webhook POST: a JSON array of events (raw text, bytes or parsed). Machine opens
 * (`sg_machine_open: true`, Apple Mail privacy prefetch) prove delivery, not reading: `delivered`. An event
 * type this library does not know is skipped and reported to `onUnknown` (thrown with `strict`).
 */
export function sendgridReceipts(body: unknown, options: SendGridReceiptOptions = {}): Receipt[] {
  const events = check('sendgrid', SendGridBatch, jsonBody('sendgrid', body));
  const idOf = options.messageId ?? sendGridMessageId;
  const receipts: Receipt[] = [];
  events.forEach((event, index) => {
    const id = idOf(event);
    let status = readStatus('sendgrid', `[${index}].event`, event.event, STATUS, options, id);
    if (status === undefined || status === null) return;
    if (event.event === 'open' && event.sg_machine_open === true) status = 'delivered';
    if (id === undefined || id === '') return;
    const idField = `[${index}].sg_message_id`;
    const at = event.timestamp === undefined ? undefined : fromUnixSeconds('sendgrid', `[${index}].timestamp`, event.timestamp);
    if (status !== 'failed') {
      receipts.push(receipt('sendgrid', id, status, { at, idField }));
      return;
    }
    // `bounce/5.1.1`, `blocked/4.7.1`, `dropped/5.0.0`: whether SendGrid called it a bounce or a block is kept.
    const kind = event.event === 'bounce' ? (event.type ?? 'bounce') : event.event;
    const errorCode = event.status === undefined ? kind : `${kind}/${event.status}`;
    receipts.push(receipt('sendgrid', id, status, { at, errorCode, errorMessage: event.reason ?? event.response, fault: faultOf(event), idField }));
  });
  return receipts;
}
