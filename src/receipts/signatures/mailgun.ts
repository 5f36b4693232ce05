import { createHmac } from 'node:crypto';
import { SignatureError } from '../errors.js';
import { checkFreshness, hexDigest, requireSecret, safeEqual, signedJson, unixSeconds, type ReplayOptions } from './shared.js';

export interface MailgunSignatureOptions extends ReplayOptions {
  /** The HTTP webhook signing key from Mailgun's dashboard (not the API key). */
  readonly signingKey: string;
}

function field(signature: Record<string, unknown>, name: string): string {
  const value = signature[name];
  if (typeof value === 'string' && value !== '') return value;
  if (typeof value === 'number' && name === 'timestamp') return String(value);
  throw new SignatureError('mailgun', 'missing', `Missing the body field \`signature.${name}\`: the request is not signed`);
}

/**
 * Checks a Mailgun webhook's in-body `signature`: hex HMAC-SHA256 with the signing key over `timestamp`
 * followed by `token`, and the timestamp against the replay window. Returns the `token`: remember it
 * for a while and refuse it twice, as Mailgun advises, to stop replays inside the window.
 */
export function verifyMailgunSignature(body: unknown, options: MailgunSignatureOptions): string {
  requireSecret('signingKey', options.signingKey);
  const parsed = signedJson('mailgun', body, 'JSON with a `signature` object');
  const signature = typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>)['signature'] : undefined;
  if (typeof signature !== 'object' || signature === null) {
    throw new SignatureError('mailgun', 'missing', 'Missing the body field `signature`: the request is not signed');
  }
  const record = signature as Record<string, unknown>;
  const timestamp = field(record, 'timestamp');
  const token = field(record, 'token');
  const given = hexDigest(field(record, 'signature'), 32);
  const expected = createHmac('sha256', options.signingKey).update(timestamp + token, 'utf8').digest();
  if (given === undefined || !safeEqual(expected, given)) {
    throw new SignatureError('mailgun', 'mismatch', 'The `signature.signature` does not match the timestamp and token');
  }
  checkFreshness('mailgun', unixSeconds('mailgun', 'signature.timestamp', timestamp), options);
  return token;
}
