import { timingSafeEqual, type KeyObject } from 'node:crypto';
import { systemClock } from '../../runtime/clock.js';
import { toMs, type Duration } from '../../core/duration.js';
import { InvalidConfigError } from '../../core/errors.js';
import { SignatureError, type WebhookProvider } from '../errors.js';
import { MAX_JSON_DEPTH, rawText, tooDeep } from '../input.js';

/** Request headers as Node (`req.headers`), Express, Fastify or the Fetch API (`Headers`, Hono) give them. */
export type HeadersLike =
  | { get(name: string): string | null }
  | Readonly<Record<string, string | readonly string[] | undefined>>;

/** The request as signed: headers and the raw body, byte for byte (not a re-serialized object). */
export interface SignedRequest {
  readonly headers: HeadersLike;
  readonly body: string | Uint8Array;
}

/** The replay window for providers that sign a timestamp. */
export interface ReplayOptions {
  /**
   * How far the signed timestamp may be from `now`, either way. Default: per provider, wide enough for every
   * retry the provider makes with its original timestamp (docs/receipts.md, "Replay windows"), and 5 minutes
   * into the future (clock skew). A replayed request inside the window is a duplicate the router ignores.
   */
  readonly tolerance?: Duration | undefined;
  /** The current time (ms since epoch). Default: the system clock. Inject it in tests. */
  readonly now?: number | undefined;
}

/** A provider's default replay window: how old a signed timestamp may be, and how far ahead of our clock. */
export interface ReplayWindow {
  readonly pastMs: number;
  readonly futureMs: number;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const SKEW = 5 * MINUTE;

/**
 * Default replay windows. Where a provider's retries keep the first attempt's timestamp, the window covers its
 * whole documented retry horizon plus the skew; where each attempt is signed anew, the skew is enough.
 */
export const REPLAY_WINDOWS = {
  /** Retries "for up to 24 hours after the event occurs"; re-signing of retries is not documented. */
  sendgrid: { pastMs: 24 * HOUR + SKEW, futureMs: SKEW },
  /** Retries "during 8 hours" (5 m … 4 h); the in-body signature of a retry is not documented as fresh. */
  mailgun: { pastMs: 8 * HOUR + SKEW, futureMs: SKEW },
  /** `Timestamp` is when the message was published; HTTP/S retries end within 3,600 s (a hard AWS limit). */
  sns: { pastMs: HOUR + SKEW, futureMs: SKEW },
  /** Vonage documents no retry horizon for the Messages API, nor a fresh `iat` per retry: a day. */
  vonage: { pastMs: 24 * HOUR, futureMs: SKEW },
  /** The SMS API's signed `timestamp`: no retry horizon documented either, a day. */
  'vonage-sms': { pastMs: 24 * HOUR, futureMs: SKEW },
  /** `telnyx-timestamp` is "when the webhook was sent": each attempt is signed anew. */
  telnyx: { pastMs: SKEW, futureMs: SKEW },
  /** Svix signs each attempt when it sends it (its own verifier allows 5 minutes while retrying for days). */
  resend: { pastMs: SKEW, futureMs: SKEW },
} as const satisfies Record<string, ReplayWindow>;

/** A header's value, case-insensitively; the first one when repeated. */
export function header(headers: HeadersLike, name: string): string | undefined {
  if (typeof headers.get === 'function') {
    return (headers as { get(name: string): string | null }).get(name) ?? undefined;
  }
  const lower = name.toLowerCase();
  for (const [key, value] of Object.entries(headers as Record<string, unknown>)) {
    if (key.toLowerCase() !== lower) continue;
    const first: unknown = Array.isArray(value) ? value[0] : value;
    return typeof first === 'string' ? first : undefined;
  }
  return undefined;
}

/** A header the provider always sends; its absence is a `SignatureError`. */
export function requireHeader(provider: WebhookProvider, headers: HeadersLike, name: string): string {
  const value = header(headers, name)?.trim();
  if (value === undefined || value === '') {
    throw new SignatureError(provider, 'missing', `Missing the \`${name}\` header: the request is not signed`);
  }
  return value;
}

/** The raw body as bytes. A parsed object cannot be verified: its bytes are gone. */
export function bodyBytes(provider: WebhookProvider, body: unknown): Buffer {
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  throw new SignatureError(
    provider,
    'malformed',
    'Expected the raw request body (a string or Buffer) to verify the signature, got a parsed value: keep the raw body',
  );
}

/** Constant-time equality that is also safe (false) for different lengths. */
export function safeEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Decodes a lowercase or uppercase hex digest of `bytes` bytes, or `undefined` if it is not one. */
export function hexDigest(value: string, bytes: number): Buffer | undefined {
  return new RegExp(`^[0-9a-fA-F]{${bytes * 2}}$`).test(value) ? Buffer.from(value, 'hex') : undefined;
}

/** Rejects a signed timestamp (ms) outside the replay window around `now`: `tolerance` either way, else the provider's window. */
export function checkFreshness(provider: WebhookProvider, signedAtMs: number, options: ReplayOptions, window: ReplayWindow): void {
  const now = options.now ?? systemClock.now();
  const given = options.tolerance === undefined ? undefined : toMs(options.tolerance, 'tolerance');
  const past = given ?? window.pastMs;
  const future = given ?? window.futureMs;
  const skew = now - signedAtMs;
  if (!Number.isFinite(signedAtMs) || skew > past || -skew > future) {
    const when = Number.isFinite(signedAtMs) ? new Date(signedAtMs).toISOString() : String(signedAtMs);
    const allowed = (skew >= 0 ? past : future) / 1000;
    throw new SignatureError(
      provider,
      'expired',
      `The signed timestamp ${when} is ${Math.round(Math.abs(skew) / 1000)}s ${skew >= 0 ? 'old' : 'in the future'}, outside the ${allowed}s replay window`,
    );
  }
}

/** Unix seconds from a header or signed field, or a `malformed` error naming it. */
export function unixSeconds(provider: WebhookProvider, name: string, value: string | number): number {
  const text = String(value);
  if (!/^\d{1,12}$/.test(text)) {
    throw new SignatureError(provider, 'malformed', `Expected \`${name}\` to be Unix seconds, got ${JSON.stringify(text.slice(0, 40))}`);
  }
  return Number(text) * 1000;
}

/** A secret from the caller's configuration: an empty one would make every forgery verify. */
export function requireSecret(name: string, value: unknown): void {
  if (typeof value !== 'string' || value === '') {
    throw new InvalidConfigError(`Expected \`${name}\` to be a non-empty string`);
  }
}

/**
 * The secrets to try, for key rotation: one secret or a list (old and new while you rotate). Each must be a
 * non-empty string, and there must be at least one.
 */
export function secretList(name: string, value: unknown): readonly string[] {
  const list: readonly unknown[] = Array.isArray(value) ? value : [value];
  if (list.length === 0 || list.some((item) => typeof item !== 'string' || item === '')) {
    throw new InvalidConfigError(`Expected \`${name}\` to be a non-empty string or a non-empty list of them`);
  }
  return list as readonly string[];
}

/**
 * A form or JSON value as the text a provider signed: strings, numbers and booleans as written; anything else
 * (an object, possibly with a hostile `toString`) is not a value a provider sends, and is `undefined`.
 */
export function scalarText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return undefined;
}

/** Public keys for rotation: one key or a non-empty list, each parsed (and checked) by `parse`. */
export function keyList<K>(name: string, value: K | readonly K[], parse: (key: K) => KeyObject): readonly KeyObject[] {
  const list: readonly K[] = Array.isArray(value) ? value : [value as K];
  if (list.length === 0) throw new InvalidConfigError(`Expected \`${name}\` to be a key or a non-empty list of keys`);
  return list.map(parse);
}

/** Whether any of the expected digests equals `given`, comparing all of them in constant time each. */
export function anyEqual(expected: readonly Uint8Array[], given: Uint8Array): boolean {
  let found = false;
  for (const digest of expected) if (safeEqual(digest, given)) found = true;
  return found;
}

/**
 * Decodes canonical standard base64 only: the exact text `Buffer.toString('base64')` would print for the
 * decoded bytes. Node's decoder ignores trailing junk, missing padding and non-zero padding bits, so a
 * signature with any of those would otherwise compare equal to the genuine one.
 */
export function canonicalBase64(value: string): Buffer | undefined {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(value) || value.length % 4 !== 0) return undefined;
  const bytes = Buffer.from(value, 'base64');
  return bytes.toString('base64') === value ? bytes : undefined;
}

/** The body as parsed JSON: a raw body (string or bytes) is parsed, an already-parsed one returned as is. */
export function signedJson(provider: WebhookProvider, body: unknown, expected: string): unknown {
  const text = rawText(body);
  if (text === undefined) return body;
  if (tooDeep(text)) throw new SignatureError(provider, 'malformed', `Expected the body to be ${expected}, nested at most ${MAX_JSON_DEPTH} levels deep`);
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new SignatureError(provider, 'malformed', `Expected the body to be ${expected}`, { cause });
  }
}
