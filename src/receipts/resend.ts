import { z } from 'zod';
import type { Receipt, ReceiptStatus } from '../core/types.js';
import { WebhookError } from './errors.js';
import { smtpFault, type Fault } from './fault.js';
import { check, jsonBody, readStatus, type ReceiptOptions } from './input.js';
import { providerId, receipt } from './receipt.js';
import { fromIso } from './time.js';

/** Resend webhook `type` → receipt status; `null`: no receipt (Resend "Event types"). */
const STATUS = new Map<string, ReceiptStatus | null>([
  ['email.scheduled', 'accepted'],
  // "The API request was successful. Resend will attempt to deliver the message."
  ['email.sent', 'accepted'],
  ['email.delivered', 'delivered'],
  // Temporary: Resend keeps trying; a delivered or bounced event follows.
  ['email.delivery_delayed', null],
  ['email.bounced', 'failed'],
  ['email.failed', 'failed'],
  ['email.suppressed', 'failed'],
  ['email.opened', 'read'],
  ['email.clicked', 'read'],
  ['email.complained', null],
  // Inbound mail and account objects, not delivery statuses.
  ['email.received', null],
  ['contact.created', null],
  ['contact.updated', null],
  ['contact.deleted', null],
  ['domain.created', null],
  ['domain.updated', null],
  ['domain.deleted', null],
]);

const ResendEvent = z.looseObject({
  type: z.string(),
  created_at: z.string().optional(),
  data: z.looseObject({
    email_id: providerId.optional(),
    bounce: z.looseObject({ type: z.string().optional(), subType: z.string().optional(), message: z.string().optional() }).optional(),
    failed: z.looseObject({ reason: z.string().optional() }).optional(),
  }),
});

function faultOf(type: string, bounce: { type?: string | undefined; subType?: string | undefined; message?: string | undefined } | undefined): Fault | undefined {
  // Suppressed: the address is on the suppression list (bounced or complained before).
  if (type === 'email.suppressed') return 'recipient';
  if (bounce === undefined) return undefined;
  if (bounce.type === 'Permanent') return 'recipient';
  if (bounce.type === 'Transient' && bounce.subType === 'MailboxFull') return 'recipient';
  return smtpFault(/\b[245]\.\d{1,3}\.\d{1,3}\b/.exec(bounce.message ?? '')?.[0]);
}

/**
 * Reads a Resend webhook (`{ type, created_at, data }`, Svix-signed: verify with `verifyResendSignature`), as JSON
 * text, bytes or parsed. The id is `data.email_id` (the send API's `id`); `at` is `created_at`.
 */
export function resendReceipts(body: unknown, options: ReceiptOptions = {}): Receipt[] {
  const event = check('resend', ResendEvent, jsonBody('resend', body));
  const id = event.data.email_id;
  const status = readStatus('resend', 'type', event.type, STATUS, options, id);
  if (status === undefined || status === null) return [];
  if (id === undefined) throw new WebhookError('resend', 'data.email_id', 'Expected `data.email_id` to be a string, got undefined');
  const at = event.created_at === undefined ? undefined : fromIso('resend', 'created_at', event.created_at);
  const idField = 'data.email_id';
  if (status !== 'failed') return [receipt('resend', id, status, { at, idField })];
  const bounce = event.data.bounce;
  const errorCode = bounce === undefined ? event.type.slice('email.'.length) : [bounce.type, bounce.subType].filter(Boolean).join('/');
  const errorMessage = bounce?.message ?? event.data.failed?.reason;
  return [receipt('resend', id, status, { at, errorCode, errorMessage, fault: faultOf(event.type, bounce), idField })];
}
