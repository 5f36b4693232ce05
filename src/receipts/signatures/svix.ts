import { createHmac } from 'node:crypto';
import { InvalidConfigError } from '../../core/errors.js';
import { SignatureError } from '../errors.js';
import { REPLAY_WINDOWS, anyEqual, bodyBytes, canonicalBase64, checkFreshness, header, requireHeader, unixSeconds, type ReplayOptions, type SignedRequest } from './shared.js';

export interface ResendSignatureOptions extends ReplayOptions {
  /** The webhook's signing secret (`whsec_…`); while you rotate it, both. */
  readonly secret: string | readonly string[];
}

/** The HMAC key of a Svix signing secret: the base64 after `whsec_`. */
function keyOf(secret: unknown): Buffer {
  const text = typeof secret === 'string' && secret.startsWith('whsec_') ? secret.slice(6) : undefined;
  const key = text === undefined ? undefined : canonicalBase64(text);
  if (key === undefined || key.length === 0) throw new InvalidConfigError('Expected `secret` to be the webhook signing secret, "whsec_" and base64');
  return key;
}

/** A Svix header, branded (`svix-id`) or unbranded (`webhook-id`). */
function svixHeader(request: SignedRequest, name: 'id' | 'timestamp' | 'signature'): string {
  return header(request.headers, `svix-${name}`) === undefined ? requireHeader('resend', request.headers, `webhook-${name}`) : requireHeader('resend', request.headers, `svix-${name}`);
}

/**
 * Checks a Resend webhook, signed by Svix: `svix-signature` holds space-separated `v1,<base64 HMAC-SHA256>`
 * over `svix-id`, `.`, `svix-timestamp`, `.` and the raw body, keyed with the secret's decoded bytes; then
 * the timestamp (each attempt is signed anew) against a 5-minute window. Returns the `svix-id`, the same
 * across retries of one message: deduplicate on it if you store events.
 */
export function verifyResendSignature(request: SignedRequest, options: ResendSignatureOptions): string {
  const secrets: readonly unknown[] = Array.isArray(options.secret) ? options.secret : [options.secret];
  if (secrets.length === 0) throw new InvalidConfigError('Expected `secret` to be a signing secret or a non-empty list of them');
  const keys = secrets.map(keyOf);
  const id = svixHeader(request, 'id');
  const timestamp = svixHeader(request, 'timestamp');
  const signedAt = unixSeconds('resend', 'svix-timestamp', timestamp);
  const given = svixHeader(request, 'signature')
    .split(' ')
    .filter((part) => part.startsWith('v1,'))
    .map((part) => canonicalBase64(part.slice(3)))
    .filter((bytes): bytes is Buffer => bytes !== undefined);
  if (given.length === 0) throw new SignatureError('resend', 'malformed', 'Expected `svix-signature` to hold "v1," and a base64 signature');
  const signed = Buffer.concat([Buffer.from(`${id}.${timestamp}.`, 'utf8'), bodyBytes('resend', request.body)]);
  const expected = keys.map((key) => createHmac('sha256', key).update(signed).digest());
  if (!given.some((signature) => anyEqual(expected, signature))) {
    throw new SignatureError('resend', 'mismatch', 'The `svix-signature` does not match the id, timestamp and body');
  }
  checkFreshness('resend', signedAt, options, REPLAY_WINDOWS.resend);
  return id;
}
