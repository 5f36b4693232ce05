import { z } from 'zod';
import type { Receipt, ReceiptStatus } from '../core/types.js';
import { WebhookError } from './errors.js';
import { smtpFault, type Fault } from './fault.js';
import { check, formBody, jsonBody, readStatus, show, type ReceiptOptions } from './input.js';
import { MAX_ID_LENGTH, receipt } from './receipt.js';
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

/** `event-data.reason` of a permanent failure (Mailgun's stats and events reference). */
const REASON_FAULT = new Map<string, Fault>([
  ['bounce', 'recipient'],
  ['suppress-bounce', 'recipient'],
  ['suppress-unsubscribe', 'recipient'],
  ['suppress-complaint', 'recipient'],
  ['espblock', 'provider'],
]);

const code = z.union([z.string(), z.number()]);
const messageId = z.string().min(1).max(MAX_ID_LENGTH + 2);

const MailgunWebhook = z.object({
  'event-data': z.looseObject({
    event: z.string(),
    timestamp: z.number().optional(),
    severity: z.string().optional(),
    reason: z.string().optional(),
    message: z.looseObject({
      headers: z.looseObject({ 'message-id': messageId }),
    }),
    'delivery-status': z
      .looseObject({
        code: code.optional(),
        'enhanced-code': z.string().optional(),
        'bounce-code': z.string().optional(),
        message: z.string().optional(),
        description: z.string().optional(),
      })
      .optional(),
    reject: z.looseObject({ reason: z.string().optional(), description: z.string().optional() }).optional(),
  }),
});

/** `<id@host>` → `id@host`: the id Mailgun's send API returns, without the angle brackets. */
function bare(id: string): string {
  return id.startsWith('<') && id.endsWith('>') ? id.slice(1, -1) : id;
}

/**
 * Reads a Mailgun webhook: `{ signature, "event-data" }` as JSON text, bytes or parsed. The id is the
 * `Message-Id` header without angle brackets: strip them from the `id` Mailgun's send API returns.
 */
export function mailgunReceipts(body: unknown, options: ReceiptOptions = {}): Receipt[] {
  const data = check('mailgun', MailgunWebhook, jsonBody('mailgun', body))['event-data'];
  const id = bare(data.message.headers['message-id']);
  const status = readStatus('mailgun', 'event-data.event', data.event, STATUS, options, id);
  if (status === undefined || status === null) return [];
  const idField = 'event-data.message.headers.message-id';
  const at = data.timestamp === undefined ? undefined : fromUnixSeconds('mailgun', 'event-data.timestamp', data.timestamp);
  if (status !== 'failed') return [receipt('mailgun', id, status, { at, idField })];
  if (data.event === 'failed') {
    const permanent = readStatus('mailgun', 'event-data.severity', data.severity, SEVERITY, options, id);
    if (permanent !== true) return [];
  }
  const delivery = data['delivery-status'];
  const errorMessage =
    data.reject?.reason || delivery?.message || delivery?.description || data.reason || data.reject?.description;
  const enhanced = delivery?.['enhanced-code'] ?? delivery?.['bounce-code'];
  const fault = (data.reason === undefined ? undefined : REASON_FAULT.get(data.reason)) ?? smtpFault(enhanced);
  return [receipt('mailgun', id, status, { at, errorCode: delivery?.code ?? data.reason, errorMessage, fault, idField })];
}

/** Legacy (form-encoded) webhook `event` → receipt status. */
const LEGACY_STATUS = new Map<string, ReceiptStatus | null>([
  ['delivered', 'delivered'],
  ['opened', 'read'],
  ['clicked', 'read'],
  // "every time a message experiences a hard bounce"
  ['bounced', 'failed'],
  // Mailgun stopped trying: `hardfail` (a suppressed address) or `old` (8 hours of failed attempts).
  ['dropped', 'failed'],
  ['complained', null],
  ['unsubscribed', null],
]);

const LegacyForm = z.looseObject({
  event: z.string(),
  'Message-Id': messageId.optional(),
  'message-id': messageId.optional(),
  'message-headers': z.string().optional(),
  timestamp: z.union([z.string(), z.number()]).optional(),
  code: code.optional(),
  error: z.string().optional(),
  notification: z.string().optional(),
  reason: z.string().optional(),
  description: z.string().optional(),
});

/** The `Message-Id` inside `message-headers`: a JSON list of `[name, value]` pairs. */
function headerMessageId(headers: string | undefined): string | undefined {
  if (headers === undefined) return undefined;
  let list: unknown;
  try {
    list = JSON.parse(headers);
  } catch (cause) {
    throw new WebhookError('mailgun', 'message-headers', `Expected \`message-headers\` to be a JSON list of [name, value] pairs, got ${show(headers)}`, { cause });
  }
  if (!Array.isArray(list)) return undefined;
  for (const pair of list as unknown[]) {
    if (Array.isArray(pair) && typeof pair[0] === 'string' && pair[0].toLowerCase() === 'message-id' && typeof pair[1] === 'string') return pair[1];
  }
  return undefined;
}

/**
 * Reads one of Mailgun's legacy webhooks (form-encoded, or multipart already parsed by your framework):
 * `event` = `delivered`, `opened`, `clicked`, `bounced`, `dropped`, `complained` or `unsubscribed`, the id in
 * `Message-Id` or inside `message-headers`. Verify it with `verifyMailgunSignature`, which reads the
 * top-level `timestamp`, `token` and `signature` of these forms.
 */
export function mailgunLegacyReceipts(body: unknown, options: ReceiptOptions = {}): Receipt[] {
  const form = check('mailgun', LegacyForm, formBody('mailgun', body));
  const raw = form['Message-Id'] ?? form['message-id'] ?? headerMessageId(form['message-headers']);
  const id = raw === undefined ? undefined : bare(raw.trim());
  const status = readStatus('mailgun', 'event', form.event, LEGACY_STATUS, options, id);
  if (status === undefined || status === null) return [];
  if (id === undefined || id === '') {
    throw new WebhookError('mailgun', 'Message-Id', 'Expected `Message-Id` (or a Message-Id in `message-headers`) to be a non-empty string, got undefined');
  }
  const at = form.timestamp === undefined ? undefined : fromUnixSeconds('mailgun', 'timestamp', form.timestamp);
  if (status !== 'failed') return [receipt('mailgun', id, status, { at, idField: 'Message-Id' })];
  const errorCode = form.code;
  const errorMessage = form.error || form.notification || form.description || form.reason;
  // A hard bounce and a drop of a suppressed address are about the address; `old` says only that retries ran out.
  const fault: Fault | undefined =
    form.event === 'bounced' || form.reason === 'hardfail' ? 'recipient' : smtpFault(typeof errorCode === 'string' ? errorCode : undefined);
  return [receipt('mailgun', id, status, { at, errorCode, errorMessage, fault, idField: 'Message-Id' })];
}
