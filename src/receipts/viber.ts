import { z } from 'zod';
import type { Receipt, ReceiptStatus } from '../core/types.js';
import { WebhookError } from './errors.js';
import { check, jsonBody, rawText, readStatus, show, type ReceiptOptions } from './input.js';
import { rawMember } from './raw-json.js';
import { receipt } from './receipt.js';
import { fromUnixMillis } from './time.js';

/** Viber REST Bot API `event` → receipt status; `null`: not a delivery callback, no receipt. */
const STATUS = new Map<string, ReceiptStatus | null>([
  ['delivered', 'delivered'],
  ['seen', 'read'],
  ['failed', 'failed'],
  // Subscription, conversation and inbound-message callbacks, and the set_webhook check.
  ['subscribed', null],
  ['unsubscribed', null],
  ['conversation_started', null],
  ['message', null],
  ['webhook', null],
  ['client_status', null],
  ['action', null],
]);

const ViberCallback = z.looseObject({
  event: z.string(),
  timestamp: z.number().optional(),
  message_token: z.union([z.number(), z.string(), z.bigint()]).optional(),
  desc: z.string().optional(),
});

/**
 * Reads a Viber REST Bot API callback. `message_token` is a 64-bit integer that `JSON.parse` rounds,
 * so pass the raw body (string or bytes): the token is read from its text, exactly. A parsed body is
 * accepted only while its token is a safe integer (or a string or bigint); otherwise this throws.
 * Viber also sends `delivered`/`seen` for messages users sent the bot; their ids match no cascade.
 */
export function viberReceipts(body: unknown, options: ReceiptOptions = {}): Receipt[] {
  const text = rawText(body);
  const event = check('viber', ViberCallback, jsonBody('viber', body));
  const status = readStatus('viber', 'event', event.event, STATUS, options);
  if (status === undefined || status === null) return [];
  const id = tokenOf(event.message_token, text);
  const at = event.timestamp === undefined ? undefined : fromUnixMillis('viber', 'timestamp', event.timestamp);
  if (status !== 'failed') return [receipt('viber', id, status, { at, idField: 'message_token' })];
  return [receipt('viber', id, status, { at, errorMessage: event.desc, idField: 'message_token' })];
}

function tokenOf(token: number | string | bigint | undefined, text: string | undefined): string {
  if (typeof token === 'string' && /^\d{1,20}$/.test(token)) return token;
  if (typeof token === 'bigint' && token >= 0n) return token.toString();
  if (typeof token === 'number' && Number.isInteger(token) && token >= 0) {
    if (text !== undefined) {
      const source = rawMember(text, 'message_token') ?? '';
      if (/^\d{1,20}$/.test(source)) return source;
      throw new WebhookError('viber', 'message_token', `Expected \`message_token\` to be an integer literal of at most 20 digits, got ${show(source)}`);
    }
    if (Number.isSafeInteger(token)) return String(token);
    throw new WebhookError(
      'viber',
      'message_token',
      `\`message_token\` ${token} is beyond 2^53 and was already rounded by JSON.parse: pass the raw request body (string or Buffer) instead of a parsed object`,
    );
  }
  throw new WebhookError('viber', 'message_token', `Expected \`message_token\` to be a non-negative integer, got ${show(token)}`);
}
