import { z } from 'zod';
import type { Receipt, ReceiptStatus } from '../core/types.js';
import { WebhookError } from './errors.js';
import { check, formBody, readStatus, show, type ReceiptOptions } from './input.js';
import { MAX_ID_LENGTH, receipt } from './receipt.js';
import type { Fault } from './fault.js';

/** Twilio `MessageStatus` → receipt status; `null`: not an outbound status, no receipt. */
const STATUS = new Map<string, ReceiptStatus | null>([
  ['accepted', 'accepted'],
  ['scheduled', 'accepted'],
  ['queued', 'accepted'],
  ['sending', 'accepted'],
  ['sent', 'sent'],
  // Undescribed by Twilio: stays intermediate, so it neither ends nor fails a cascade.
  ['partially_delivered', 'sent'],
  ['delivered', 'delivered'],
  ['read', 'read'],
  ['undelivered', 'failed'],
  ['failed', 'failed'],
  ['canceled', 'failed'],
  // Inbound messages, not status callbacks for ours.
  ['receiving', null],
  ['received', null],
]);

/**
 * Whose fault a Twilio `ErrorCode` is (Twilio's error dictionary): the handset or number (`recipient`: another
 * SMS provider would fail too), or Twilio, the account or the carrier route (`provider`). Others: unknown.
 */
const FAULT = new Map<string, Fault>([
  ['30001', 'provider'], // Queue overflow
  ['30002', 'provider'], // Account suspended
  ['30003', 'recipient'], // Unreachable destination handset
  ['30004', 'recipient'], // Message blocked (by the recipient or their carrier)
  ['30005', 'recipient'], // Unknown destination handset
  ['30006', 'recipient'], // Landline or unreachable carrier
  ['30007', 'provider'], // Message filtered (carrier spam filtering of this sender and content)
  ['30009', 'provider'], // Missing segment
  ['30010', 'provider'], // Message price exceeds max price
  ['30034', 'provider'], // US A2P 10DLC: sender not registered
  ['21211', 'recipient'], // Invalid 'To' phone number
  ['21610', 'recipient'], // The recipient opted out (STOP)
  ['21614', 'recipient'], // 'To' is not a valid mobile number
  ['63024', 'recipient'], // WhatsApp: invalid message recipient
]);

const text = z.string();
const code = z.union([z.string().max(MAX_ID_LENGTH), z.number()]);

const TwilioCallback = z.object({
  MessageSid: text.max(MAX_ID_LENGTH).optional(),
  SmsSid: text.max(MAX_ID_LENGTH).optional(),
  MessageStatus: text.optional(),
  SmsStatus: text.optional(),
  ErrorCode: code.optional(),
  ErrorMessage: text.optional(),
  ChannelStatusMessage: text.optional(),
  EventType: text.optional(),
});

/**
 * Reads a Twilio Messaging status callback (SMS, MMS, WhatsApp, RCS): the form-encoded body as a
 * string, bytes or `URLSearchParams`, or the object a body parser made of it. One receipt, or none for
 * inbound-message statuses (or an unknown status, reported to `onUnknown`). Twilio sends no event time,
 * so `at` is left to the router.
 */
export function twilioReceipts(body: unknown, options: ReceiptOptions = {}): Receipt[] {
  const form = check('twilio', TwilioCallback, formBody('twilio', body));
  const id = form.MessageSid ?? form.SmsSid;
  if (id === undefined || id === '') {
    throw new WebhookError('twilio', 'MessageSid', `Expected \`MessageSid\` to be a non-empty string, got ${show(id)}`);
  }
  const raw = form.MessageStatus ?? form.SmsStatus;
  if (raw === undefined) {
    throw new WebhookError('twilio', 'MessageStatus', 'Expected `MessageStatus` to be a string, got undefined');
  }
  // WhatsApp and RCS mark reads with EventType=READ as well as (or instead of) the status.
  let status = readStatus('twilio', form.MessageStatus === undefined ? 'SmsStatus' : 'MessageStatus', raw, STATUS, options, id);
  if (status === undefined || status === null) return [];
  if (form.EventType === 'READ' && status !== 'failed') status = 'read';
  if (status !== 'failed') return [receipt('twilio', id, status, { idField: 'MessageSid' })];
  const errorMessage = form.ErrorMessage || form.ChannelStatusMessage || raw;
  const errorCode = form.ErrorCode === undefined ? undefined : String(form.ErrorCode);
  const fault = errorCode === undefined ? undefined : FAULT.get(errorCode);
  return [receipt('twilio', id, status, { errorCode, errorMessage, fault, idField: 'MessageSid' })];
}
