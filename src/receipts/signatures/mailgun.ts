import { createHmac } from 'node:crypto';
import { InvalidConfigError } from '../../core/errors.js';
import { SignatureError } from '../errors.js';
import { formBody, rawText } from '../input.js';
import { REPLAY_WINDOWS, anyEqual, checkFreshness, hexDigest, secretList, signedJson, unixSeconds, type ReplayOptions } from './shared.js';

export interface MailgunSignatureOptions extends ReplayOptions {
  /** The HTTP webhook signing key from Mailgun's dashboard (not the API key); while you rotate it, both. */
  readonly signingKey?: string | readonly string[] | undefined;
  /**
   * The primary account's signing key(s), for events of subaccounts: Mailgun adds a `parent-signature` made
   * with it, so one key verifies every subaccount. Either signature matching is enough.
   */
  readonly parentSigningKey?: string | readonly string[] | undefined;
}

function field(signature: Record<string, unknown>, name: string, prefix: string): string {
  const value = Object.hasOwn(signature, name) ? signature[name] : undefined;
  if (typeof value === 'string' && value !== '') return value;
  if (typeof value === 'number' && name === 'timestamp') return String(value);
  throw new SignatureError('mailgun', 'missing', `Missing the body field \`${prefix}${name}\`: the request is not signed`);
}

/** The signature fields: `signature.{timestamp,token,signature,parent-signature}` in JSON, top-level in legacy forms. */
function signatureOf(body: unknown): { record: Record<string, unknown>; prefix: string } {
  const text = rawText(body);
  const json = text === undefined ? typeof body === 'object' && body !== null && !(body instanceof URLSearchParams) : text.trimStart().startsWith('{');
  if (json) {
    const parsed = signedJson('mailgun', body, 'JSON with a `signature` object');
    const signature = typeof parsed === 'object' && parsed !== null && Object.hasOwn(parsed, 'signature') ? (parsed as Record<string, unknown>)['signature'] : undefined;
    if (typeof signature === 'object' && signature !== null) return { record: signature as Record<string, unknown>, prefix: 'signature.' };
    // A parsed legacy form is an object too: its `signature` is the hex string itself.
    if (typeof signature === 'string' && text === undefined) return { record: parsed as Record<string, unknown>, prefix: '' };
    throw new SignatureError('mailgun', 'missing', 'Missing the body field `signature`: the request is not signed');
  }
  return { record: formBody('mailgun', body) as Record<string, unknown>, prefix: '' };
}

/**
 * Checks a Mailgun webhook's in-body signature: hex HMAC-SHA256 with the signing key over `timestamp`
 * followed by `token`, and the timestamp against the replay window (default 8 h 5 min: Mailgun retries for
 * 8 hours). Reads JSON webhooks (`signature` object, also `parent-signature`) and legacy form webhooks
 * (top-level fields). Returns the `token`: remember it for the replay window and refuse it twice, as Mailgun
 * advises, since the signature does not cover the event.
 */
export function verifyMailgunSignature(body: unknown, options: MailgunSignatureOptions): string {
  const keys = options.signingKey === undefined ? [] : secretList('signingKey', options.signingKey);
  const parentKeys = options.parentSigningKey === undefined ? [] : secretList('parentSigningKey', options.parentSigningKey);
  if (keys.length === 0 && parentKeys.length === 0) throw new InvalidConfigError('Expected `signingKey` or `parentSigningKey` to verify Mailgun signatures');
  const { record, prefix } = signatureOf(body);
  const timestamp = field(record, 'timestamp', prefix);
  const token = field(record, 'token', prefix);
  const signed = timestamp + token;
  const digests = (list: readonly string[]) => list.map((key) => createHmac('sha256', key).update(signed, 'utf8').digest());
  const ownValue = Object.hasOwn(record, 'signature') ? record['signature'] : undefined;
  const own = keys.length > 0 && typeof ownValue === 'string' ? hexDigest(ownValue, 32) : undefined;
  const parentValue = Object.hasOwn(record, 'parent-signature') ? record['parent-signature'] : undefined;
  const parent = parentKeys.length > 0 && typeof parentValue === 'string' ? hexDigest(parentValue, 32) : undefined;
  if (own === undefined && parent === undefined) field(record, keys.length > 0 ? 'signature' : 'parent-signature', prefix);
  const valid = (own !== undefined && anyEqual(digests(keys), own)) || (parent !== undefined && anyEqual(digests(parentKeys), parent));
  if (!valid) {
    throw new SignatureError('mailgun', 'mismatch', `The \`${prefix}signature\` does not match the timestamp and token`);
  }
  checkFreshness('mailgun', unixSeconds('mailgun', `${prefix}timestamp`, timestamp), options, REPLAY_WINDOWS.mailgun);
  return token;
}
