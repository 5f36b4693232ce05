import { timingSafeEqual } from 'node:crypto';
import { systemClock } from '../../clock.js';
import { toMs, type Duration } from '../../duration.js';
import { InvalidConfigError } from '../../errors.js';
import { SignatureError, type WebhookProvider } from '../errors.js';
import { rawText } from '../input.js';

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
  /** How far the signed timestamp may be from `now`, either way. Default 5 minutes. */
  readonly tolerance?: Duration | undefined;
  /** The current time (ms since epoch). Default: the system clock. Inject it in tests. */
  readonly now?: number | undefined;
}

const DEFAULT_TOLERANCE_MS = 5 * 60_000;

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

/** Rejects a signed timestamp (ms) outside the replay window around `now`. */
export function checkFreshness(provider: WebhookProvider, signedAtMs: number, options: ReplayOptions): void {
  const now = options.now ?? systemClock.now();
  const tolerance = options.tolerance === undefined ? DEFAULT_TOLERANCE_MS : toMs(options.tolerance, 'tolerance');
  const skew = now - signedAtMs;
  if (!Number.isFinite(signedAtMs) || Math.abs(skew) > tolerance) {
    const when = Number.isFinite(signedAtMs) ? new Date(signedAtMs).toISOString() : String(signedAtMs);
    throw new SignatureError(
      provider,
      'expired',
      `The signed timestamp ${when} is ${Math.round(Math.abs(skew) / 1000)}s ${skew >= 0 ? 'old' : 'in the future'}, outside the ${tolerance / 1000}s replay window`,
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

/** The body as parsed JSON: a raw body (string or bytes) is parsed, an already-parsed one returned as is. */
export function signedJson(provider: WebhookProvider, body: unknown, expected: string): unknown {
  const text = rawText(body);
  if (text === undefined) return body;
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new SignatureError(provider, 'malformed', `Expected the body to be ${expected}`, { cause });
  }
}
