import { z } from 'zod';
import type { Receipt, ReceiptStatus } from '../types.js';
import { WebhookError } from './errors.js';
import { check, formBody, lookupStatus, show } from './input.js';
import { receipt } from './receipt.js';

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

const text = z.string();
const code = z.union([z.string(), z.number()]);

const TwilioCallback = z.object({
  MessageSid: text.optional(),
  SmsSid: text.optional(),
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
 * inbound-message statuses. Twilio sends no event time, so `at` is left to the router.
 */
export function twilioReceipts(body: unknown): Receipt[] {
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
  let status = lookupStatus('twilio', form.MessageStatus === undefined ? 'SmsStatus' : 'MessageStatus', raw, STATUS);
  if (form.EventType === 'READ' && status !== null && status !== 'failed') status = 'read';
  if (status === null) return [];
  if (status !== 'failed') return [receipt(id, status)];
  const errorMessage = form.ErrorMessage || form.ChannelStatusMessage || raw;
  return [receipt(id, status, { errorCode: form.ErrorCode, errorMessage })];
}
