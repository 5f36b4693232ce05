import { createHash, createHmac } from 'node:crypto';
import { SignatureError } from '../errors.js';
import { rawText } from '../input.js';
import { bodyBytes, hexDigest, requireHeader, requireSecret, safeEqual, type HeadersLike } from './shared.js';

export interface TwilioSignatureRequest {
  /** The full URL Twilio requested, as configured in Twilio: scheme, host, path and query string. */
  readonly url: string;
  readonly headers: HeadersLike;
  /** The form body: raw text or bytes, `URLSearchParams`, or the object a body parser made of it. */
  readonly body: unknown;
}

export interface TwilioSignatureOptions {
  /** The account's Auth Token (the primary one; for a rotation, call once per token). */
  readonly authToken: string;
}

/** The `name+value` pairs of the form, each name's values sorted, names sorted. */
function signedParams(body: unknown): string {
  const pairs = new Map<string, string[]>();
  const add = (key: string, value: unknown) => {
    const list = pairs.get(key) ?? [];
    for (const item of Array.isArray(value) ? value : [value]) list.push(String(item));
    pairs.set(key, list);
  };
  const text = rawText(body);
  if (text !== undefined) new URLSearchParams(text).forEach((value, key) => add(key, value));
  else if (body instanceof URLSearchParams) body.forEach((value, key) => add(key, value));
  else if (typeof body === 'object' && body !== null) for (const [key, value] of Object.entries(body)) add(key, value);
  let out = '';
  for (const key of [...pairs.keys()].sort()) for (const value of (pairs.get(key) ?? []).sort()) out += key + value;
  return out;
}

/** The URL as given, and with the default port added or removed: Twilio may sign either form. */
function urlVariants(url: string): string[] {
  const variants = [url];
  try {
    const parsed = new URL(url);
    const port = parsed.protocol === 'https:' ? '443' : parsed.protocol === 'http:' ? '80' : '';
    const authority = `${parsed.username ? `${parsed.username}:${parsed.password}@` : ''}${parsed.hostname}`;
    const rest = `${parsed.pathname}${parsed.search}`;
    if (parsed.port === '' && port !== '') variants.push(`${parsed.protocol}//${authority}:${port}${rest}`);
    if (parsed.port === port || parsed.port === '') variants.push(`${parsed.protocol}//${authority}${rest}`);
  } catch {
    // Not a URL: only the string as given can match.
  }
  return [...new Set(variants)];
}

/**
 * Checks `X-Twilio-Signature`: base64 HMAC-SHA1 with the Auth Token over the URL followed by the sorted
 * form parameters. For JSON bodies Twilio signs the URL only and puts the body's SHA-256 in the
 * `bodySHA256` query parameter, which is checked too. Twilio signs no timestamp: dedupe to stop replays.
 */
export function verifyTwilioSignature(request: TwilioSignatureRequest, options: TwilioSignatureOptions): void {
  const signature = Buffer.from(requireHeader('twilio', request.headers, 'X-Twilio-Signature'), 'base64');
  requireSecret('authToken', options.authToken);
  const bodyHash = /[?&]bodySHA256=([^&#]*)/.exec(request.url)?.[1] ?? null;
  const params = bodyHash === null ? signedParams(request.body) : '';
  const matches = urlVariants(request.url).some((url) =>
    safeEqual(createHmac('sha1', options.authToken).update(url + params, 'utf8').digest(), signature),
  );
  if (!matches) throw new SignatureError('twilio', 'mismatch', 'The `X-Twilio-Signature` does not match the URL and parameters');
  if (bodyHash === null) return;
  const expected = hexDigest(bodyHash, 32);
  const actual = createHash('sha256').update(bodyBytes('twilio', request.body)).digest();
  if (expected === undefined || !safeEqual(actual, expected)) {
    throw new SignatureError('twilio', 'mismatch', 'The body does not match the signed `bodySHA256` query parameter');
  }
}
