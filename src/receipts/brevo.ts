import { z } from 'zod';
import type { Receipt, ReceiptStatus } from '../core/types.js';
import type { Fault } from './fault.js';
import { check, jsonBody, readStatus, type ReceiptOptions } from './input.js';
import { MAX_ID_LENGTH, receipt } from './receipt.js';
import { fromUnixMillis, fromUnixSeconds } from './time.js';

/** Brevo transactional webhook `event` → receipt status and fault; `null`: no receipt (Brevo "Transactional webhooks"). */
const EVENTS = new Map<string, { readonly status: ReceiptStatus; readonly fault?: Fault } | null>([
  ['request', { status: 'accepted' }],
  ['delivered', { status: 'delivered' }],
  // A machine (privacy proxy) open proves delivery, not reading.
  ['proxy_open', { status: 'delivered' }],
  ['unique_proxy_open', { status: 'delivered' }],
  ['opened', { status: 'read' }],
  ['unique_opened', { status: 'read' }],
  ['click', { status: 'read' }],
  ['hard_bounce', { status: 'failed', fault: 'recipient' }],
  // "Temporarily rejected by the recipient mail server": Brevo does not deliver it later.
  ['soft_bounce', { status: 'failed' }],
  ['invalid_email', { status: 'failed', fault: 'recipient' }],
  // Prevented from reaching the recipient (a blocklisted address or sender).
  ['blocked', { status: 'failed' }],
  ['error', { status: 'failed', fault: 'provider' }],
  // Delayed: Brevo retries, and a delivered or bounce event follows.
  ['deferred', null],
  ['spam', null],
  ['unsubscribed', null],
]);

const BrevoEvent = z.looseObject({
  event: z.string(),
  'message-id': z.string().min(1).max(MAX_ID_LENGTH + 2),
  ts_event: z.number().optional(),
  ts_epoch: z.number().optional(),
  reason: z.string().optional(),
});

/**
 * Reads a Brevo (ex-Sendinblue) transactional email webhook: one JSON event per request, as text, bytes or
 * parsed. The id is `message-id` without angle brackets (the `messageId` of the send API, likewise stripped);
 * `at` is `ts_event` (s), else `ts_epoch` (ms). Brevo signs nothing: protect the URL with Basic auth or a
 * bearer token (`verifyBasicAuth`).
 */
export function brevoReceipts(body: unknown, options: ReceiptOptions = {}): Receipt[] {
  const event = check('brevo', BrevoEvent, jsonBody('brevo', body));
  const raw = event['message-id'];
  const id = raw.startsWith('<') && raw.endsWith('>') ? raw.slice(1, -1) : raw;
  const mapped = readStatus('brevo', 'event', event.event, EVENTS, options, id);
  if (mapped === undefined || mapped === null) return [];
  // `ts_event` is documented as seconds (UTC); `ts_epoch` as milliseconds, though Brevo's own sample shows seconds.
  const at =
    event.ts_event !== undefined
      ? fromUnixSeconds('brevo', 'ts_event', event.ts_event)
      : event.ts_epoch === undefined
        ? undefined
        : fromUnixMillis('brevo', 'ts_epoch', event.ts_epoch);
  const idField = 'message-id';
  if (mapped.status !== 'failed') return [receipt('brevo', id, mapped.status, { at, idField })];
  return [receipt('brevo', id, 'failed', { at, errorCode: event.event, errorMessage: event.reason, fault: mapped.fault, idField })];
}
