import { z } from 'zod';
import type { Receipt, ReceiptStatus } from '../core/types.js';
import { WebhookError } from './errors.js';
import type { Fault } from './fault.js';
import { check, jsonBody, readStatus, type ReceiptOptions } from './input.js';
import { providerId, receipt } from './receipt.js';
import { fromIso } from './time.js';

/** `RecordType` → receipt status; a Bounce is read by its type below; `null`: no receipt. */
const RECORDS = new Map<string, ReceiptStatus | null>([
  ['Delivery', 'delivered'],
  ['Bounce', 'failed'],
  ['Open', 'read'],
  ['Click', 'read'],
  // After delivery: feedback and preferences, not delivery statuses.
  ['SpamComplaint', null],
  ['SubscriptionChange', null],
]);

/**
 * Bounce `Type` (Postmark's bounce types, `TypeCode` in brackets) → whose fault, or `null`: not a failure of the
 * message (an auto-reply, a challenge, an address change notice), no receipt. `undefined` fault: unknown.
 */
const BOUNCES = new Map<string, { readonly fault: Fault | undefined } | null>([
  ['HardBounce', { fault: 'recipient' }], // 1: the server could not deliver (unknown user, mailbox not found)
  ['Transient', { fault: undefined }], // 2: temporary delivery failure
  ['Unsubscribe', { fault: 'recipient' }], // 16
  ['Subscribe', null], // 32
  ['AutoResponder', null], // 64
  ['AddressChange', null], // 128
  ['DnsError', { fault: 'recipient' }], // 256: the recipient's domain does not resolve
  ['SpamNotification', { fault: 'provider' }], // 512: refused or filed as spam
  ['OpenRelayTest', null], // 1024
  ['Unknown', { fault: undefined }], // 2048
  ['SoftBounce', { fault: 'recipient' }], // 4096: mailbox full, account disabled, over quota
  ['VirusNotification', { fault: undefined }], // 8192
  ['ChallengeVerification', null], // 16384
  ['BadEmailAddress', { fault: 'recipient' }], // 100000
  ['SpamComplaint', null], // 100001: a complaint, after delivery
  ['ManuallyDeactivated', { fault: 'recipient' }], // 100002
  ['Unconfirmed', { fault: 'provider' }], // 100003: the sender signature is not confirmed
  ['Blocked', { fault: 'provider' }], // 100006: the receiving server blocked the sender
  ['SMTPApiError', { fault: 'provider' }], // 100007
  ['InboundError', null], // 100008: inbound processing
  ['DMARCPolicy', { fault: 'provider' }], // 100009
  ['TemplateRenderingFailed', { fault: undefined }], // 100010
]);

const PostmarkEvent = z.looseObject({
  RecordType: z.string().optional(),
  MessageID: providerId,
  Type: z.string().optional(),
  TypeCode: z.number().optional(),
  Description: z.string().optional(),
  Details: z.string().optional(),
  DeliveredAt: z.string().optional(),
  BouncedAt: z.string().optional(),
  ReceivedAt: z.string().optional(),
});

/**
 * Reads a Postmark webhook (Delivery, Bounce, Open, Click; SpamComplaint and SubscriptionChange give no receipt),
 * as JSON text, bytes or parsed. The id is `MessageID` (the send API's `MessageID`). Older hooks without
 * `RecordType` are read by their time field: `DeliveredAt` a delivery, `BouncedAt` a bounce. Postmark signs
 * nothing: protect the URL with Basic auth (`verifyBasicAuth`).
 */
export function postmarkReceipts(body: unknown, options: ReceiptOptions = {}): Receipt[] {
  const event = check('postmark', PostmarkEvent, jsonBody('postmark', body));
  const record = event.RecordType ?? (event.BouncedAt !== undefined ? 'Bounce' : event.DeliveredAt !== undefined ? 'Delivery' : undefined);
  const status = readStatus('postmark', 'RecordType', record, RECORDS, options, event.MessageID);
  if (status === undefined || status === null) return [];
  const idField = 'MessageID';
  const stampField = status === 'delivered' ? 'DeliveredAt' : status === 'failed' ? 'BouncedAt' : 'ReceivedAt';
  const stamp = event[stampField];
  const at = stamp === undefined ? undefined : fromIso('postmark', stampField, stamp);
  if (status !== 'failed') return [receipt('postmark', event.MessageID, status, { at, idField })];
  if (event.Type === undefined) throw new WebhookError('postmark', 'Type', 'Expected `Type` to be a bounce type, got undefined');
  const bounce = readStatus('postmark', 'Type', event.Type, BOUNCES, options, event.MessageID);
  if (bounce === undefined || bounce === null) return [];
  return [receipt('postmark', event.MessageID, status, { at, errorCode: event.Type, errorMessage: event.Details || event.Description, fault: bounce.fault, idField })];
}
