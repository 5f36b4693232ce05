import { createHash, createHmac } from 'node:crypto';
import { parse as parseQuery, stringify as stringifyQuery } from 'node:querystring';
import { SignatureError } from '../errors.js';
import { checkFormSize, formParts, rawText } from '../input.js';
import { bodyBytes, header, requireHeader, safeEqual, scalarText, secretList, type HeadersLike } from './shared.js';

export interface TwilioSignatureRequest {
  /** The full URL Twilio requested, as configured in Twilio: scheme, host, path and query string. */
  readonly url: string;
  readonly headers: HeadersLike;
  /** The form body: raw text or bytes, `URLSearchParams`, or the object a body parser made of it. */
  readonly body: unknown;
}

export interface TwilioSignatureOptions {
  /** The account's Auth Token; while you rotate it (primary and secondary), both. */
  readonly authToken: string | readonly string[];
  /**
   * The SharedKey secret(s), for webhooks Twilio signs with a SharedKey: those carry
   * `X-Twilio-Webhooks-Signature-Settings: key=<id>,algorithm=HMAC_SHA1|HMAC_SHA256` and are checked with
   * these instead of the Auth Token (as Twilio's own SDK does).
   */
  readonly sharedKeySecret?: string | readonly string[] | undefined;
}

export const TWILIO_SIGNATURE_SETTINGS_HEADER = 'X-Twilio-Webhooks-Signature-Settings';

const ALGORITHMS = new Map([
  ['HMAC_SHA1', 'sha1'],
  ['HMAC_SHA256', 'sha256'],
]);

/** The `algorithm=` of the settings header; none (or no header) is the Auth Token's HMAC_SHA1. */
function algorithmOf(settings: string | undefined): string {
  for (const part of (settings ?? '').split(',')) {
    const at = part.indexOf('=');
    if (at !== -1 && part.slice(0, at).trim() === 'algorithm' && part.slice(at + 1).trim() !== '') return part.slice(at + 1).trim();
  }
  return 'HMAC_SHA1';
}

/** `name` followed by each of its values, once each, sorted; names sorted: the text Twilio appends to the URL. */
function signedParams(body: unknown): string {
  const pairs = new Map<string, Set<string>>();
  const add = (key: string, value: unknown) => {
    const values = pairs.get(key) ?? new Set<string>();
    for (const item of Array.isArray(value) ? value : [value]) {
      const text = scalarText(item);
      if (text === undefined) throw new SignatureError('twilio', 'malformed', `Expected the form field \`${key.slice(0, 60)}\` to be text`);
      values.add(text);
    }
    pairs.set(key, values);
  };
  const text = rawText(body);
  if (text !== undefined) {
    checkFormSize(formParts(text), (message) => new SignatureError('twilio', 'malformed', message));
    const parsed = parseQuery(text, undefined, undefined, { maxKeys: 0 });
    for (const key of Object.keys(parsed)) add(key, parsed[key]);
  } else if (body instanceof URLSearchParams) body.forEach((value, key) => add(key, value));
  else if (typeof body === 'object' && body !== null) for (const [key, value] of Object.entries(body)) add(key, value);
  let out = '';
  for (const key of [...pairs.keys()].sort()) for (const value of [...(pairs.get(key) ?? [])].sort()) out += key + value;
  return out;
}

/** The URL split as written (no normalization): scheme with `://`, user info with `@`, host, `:port`, the rest. */
function splitUrl(url: string): { scheme: string; userInfo: string; host: string; port: string; rest: string } | undefined {
  const match = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*)/i.exec(url);
  if (match === null) return undefined;
  const [prefix, scheme = '', authority = ''] = match;
  const at = authority.lastIndexOf('@');
  const hostPort = authority.slice(at + 1);
  // A colon starts the port only after an IPv6 literal's closing bracket.
  const colon = hostPort.indexOf(':', hostPort.lastIndexOf(']') + 1);
  return {
    scheme,
    userInfo: authority.slice(0, at + 1),
    host: colon === -1 ? hostPort : hostPort.slice(0, colon),
    port: colon === -1 ? '' : hostPort.slice(colon),
    rest: url.slice(prefix.length),
  };
}

function withoutPort(url: string): string {
  const parts = splitUrl(url);
  return parts === undefined ? url : parts.scheme + parts.userInfo + parts.host + parts.rest;
}

function withPort(url: string): string {
  const parts = splitUrl(url);
  if (parts === undefined || parts.port !== '') return url;
  const port = parts.scheme.toLowerCase() === 'https://' ? ':443' : ':80';
  return parts.scheme + parts.userInfo + parts.host + port + parts.rest;
}

/** The query re-encoded as Node's legacy `querystring` does (`'` → `%27`), for back ends that signed that form. */
function legacyQuery(url: string): string {
  const at = url.indexOf('?');
  if (at === -1 || at === url.length - 1) return url;
  return `${url.slice(0, at)}?${stringifyQuery(parseQuery(url.slice(at + 1)))}`;
}

/**
 * The URLs Twilio may have signed, in the order Twilio's SDK tries them: the URL as written without and with
 * the default port (`:443` configured but not in the request, or the reverse), then, only if those fail, the
 * `new URL()` normalized form (escapes added), without and with the port, and with a legacy-encoded query.
 */
function* urlCandidates(url: string): Generator<string> {
  yield withoutPort(url);
  yield withPort(url);
  let normalized: string;
  try {
    normalized = new URL(url).toString();
  } catch {
    return;
  }
  const bare = withoutPort(normalized);
  const ported = withPort(normalized);
  yield* [bare, ported, legacyQuery(bare), legacyQuery(ported)];
}

/**
 * Checks `X-Twilio-Signature`: base64 HMAC-SHA1 with the Auth Token (or, for SharedKey webhooks, the
 * algorithm named in `X-Twilio-Webhooks-Signature-Settings` with the SharedKey secret) over the URL followed
 * by the sorted form parameters, each name's distinct values sorted. The signature must be the exact base64
 * text: no lenient decoding. For JSON bodies Twilio signs the URL only and puts the body's SHA-256 in the
 * `bodySHA256` query parameter, which is checked too. Twilio signs no timestamp: its retries and a replay
 * look alike, and the router takes a repeated receipt as a duplicate.
 */
export function verifyTwilioSignature(request: TwilioSignatureRequest, options: TwilioSignatureOptions): void {
  const tokens = secretList('authToken', options.authToken);
  const signature = Buffer.from(requireHeader('twilio', request.headers, 'X-Twilio-Signature'), 'utf8');
  const settings = header(request.headers, TWILIO_SIGNATURE_SETTINGS_HEADER);
  const algorithm = algorithmOf(settings);
  const hash = ALGORITHMS.get(algorithm.toUpperCase());
  if (hash === undefined) {
    throw new SignatureError('twilio', 'malformed', `Unsupported \`${TWILIO_SIGNATURE_SETTINGS_HEADER}\` algorithm ${JSON.stringify(algorithm.slice(0, 40))}`);
  }
  let secrets = tokens;
  if (settings !== undefined && settings.trim() !== '') {
    if (options.sharedKeySecret === undefined) {
      throw new SignatureError('twilio', 'untrusted', `Signed with a SharedKey (\`${TWILIO_SIGNATURE_SETTINGS_HEADER}\`), but no \`sharedKeySecret\` is configured`);
    }
    secrets = secretList('sharedKeySecret', options.sharedKeySecret);
  }
  const bodyHash = bodySha256(request.url);
  const params = bodyHash === undefined ? signedParams(request.body) : '';
  let matches = false;
  for (const url of urlCandidates(request.url)) {
    for (const secret of secrets) {
      const expected = Buffer.from(createHmac(hash, secret).update(url + params, 'utf8').digest('base64'), 'utf8');
      if (safeEqual(expected, signature)) matches = true;
    }
    if (matches) break;
  }
  if (!matches) throw new SignatureError('twilio', 'mismatch', 'The `X-Twilio-Signature` does not match the URL and parameters');
  if (bodyHash === undefined) return;
  // The hex SHA-256 exactly as Twilio writes it: lowercase.
  const actual = Buffer.from(createHash('sha256').update(bodyBytes('twilio', request.body)).digest('hex'), 'utf8');
  if (!safeEqual(actual, Buffer.from(bodyHash, 'utf8'))) {
    throw new SignatureError('twilio', 'mismatch', 'The body does not match the signed `bodySHA256` query parameter');
  }
}

/** The `bodySHA256` query parameter when the URL has one (JSON webhooks), else `undefined` (form webhooks). */
function bodySha256(url: string): string | undefined {
  if (!url.includes('bodySHA256')) return undefined;
  try {
    return new URL(url).searchParams.get('bodySHA256') ?? '';
  } catch {
    return '';
  }
}
