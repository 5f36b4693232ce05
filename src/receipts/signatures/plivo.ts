import { createHmac } from 'node:crypto';
import { parse as parseQuery, type ParsedUrlQuery } from 'node:querystring';
import { SignatureError } from '../errors.js';
import { checkFormSize, formParts, rawText } from '../input.js';
import { header, requireHeader, safeEqual, scalarText, secretList, type HeadersLike } from './shared.js';

export interface PlivoSignatureRequest {
  /** The full URL Plivo called, as configured: scheme, host, path and query string. */
  readonly url: string;
  /** `POST` (form body, the default for callbacks) or `GET` (parameters in the query string). */
  readonly method?: 'POST' | 'GET' | undefined;
  readonly headers: HeadersLike;
  /** The form body of a POST: raw text or bytes, `URLSearchParams`, or the object a body parser made of it. */
  readonly body?: unknown;
}

export interface PlivoSignatureOptions {
  /** The account's Auth Token; while you rotate it, both. */
  readonly authToken: string | readonly string[];
}

export const PLIVO_SIGNATURE_HEADER = 'X-Plivo-Signature-V3';
export const PLIVO_NONCE_HEADER = 'X-Plivo-Signature-V3-Nonce';

type Params = Map<string, string[]>;

function addAll(into: Params, key: string, value: unknown): void {
  const list = into.get(key) ?? [];
  for (const item of Array.isArray(value) ? value : [value]) {
    const text = scalarText(item);
    if (text === undefined) throw new SignatureError('plivo', 'malformed', `Expected the form field \`${key.slice(0, 60)}\` to be text`);
    list.push(text);
  }
  into.set(key, list);
}

function fromQuery(parsed: ParsedUrlQuery, into: Params = new Map()): Params {
  for (const key of Object.keys(parsed)) addAll(into, key, parsed[key]);
  return into;
}

function formParams(body: unknown): Params {
  const text = rawText(body);
  if (text !== undefined) {
    checkFormSize(formParts(text), (message) => new SignatureError('plivo', 'malformed', message));
    return fromQuery(parseQuery(text, undefined, undefined, { maxKeys: 0 }));
  }
  const params: Params = new Map();
  if (body instanceof URLSearchParams) body.forEach((value, key) => addAll(params, key, value));
  else if (typeof body === 'object' && body !== null) for (const [key, value] of Object.entries(body)) addAll(params, key, value);
  return params;
}

const sortedKeys = (params: Params) => [...params.keys()].sort();
const sortedValues = (params: Params, key: string) => [...(params.get(key) ?? [])].sort();

/** Node's `utf8.encode` as Plivo's SDK applies it to the URL and nonce: each UTF-8 byte as one character. */
const asBytes = (text: string) => Buffer.from(text, 'utf8').toString('latin1');

/**
 * The string Plivo signs (its SDK's `construct_get_url`/`construct_post_url`): scheme, host and port, path,
 * then `?` and the query's parameters as sorted `k=v` joined by `&`; for a POST with parameters, `.` and each
 * sorted `name` + `value`.
 */
function signedBase(url: string, method: 'POST' | 'GET', body: unknown): string {
  const match = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\/(?:[^@/?#]*@)?([^/?#:]*)(?::(\d*))?([^?#]*)(?:\?([^#]*))?/.exec(url);
  const [, scheme = 'http', host = '', port = '', path = '', query = ''] = match ?? [];
  let base = `${scheme}://${host}${port === '' ? '' : `:${port}`}${path}`;
  const queryParams = fromQuery(parseQuery(query));
  const post = method === 'POST' ? formParams(body) : new Map<string, string[]>();
  const queryText = sortedKeys(queryParams)
    .flatMap((key) => sortedValues(queryParams, key).map((value) => `${key}=${value}`))
    .join('&');
  if (queryText.length > 0 || post.size > 0) base += `?${queryText}`;
  if (queryText.length > 0 && post.size > 0) base += '.';
  for (const key of sortedKeys(post)) for (const value of sortedValues(post, key)) base += key + value;
  return base;
}

/**
 * Checks Plivo's `X-Plivo-Signature-V3`: base64 HMAC-SHA256 with the Auth Token over the signed URL (see
 * `signedBase`), `.` and `X-Plivo-Signature-V3-Nonce`, as Plivo's SDK computes it; the header may list several
 * signatures, comma-separated. Plivo signs a nonce, no timestamp: a replay is a duplicate the router ignores.
 */
export function verifyPlivoSignature(request: PlivoSignatureRequest, options: PlivoSignatureOptions): void {
  const tokens = secretList('authToken', options.authToken);
  const signatures = requireHeader('plivo', request.headers, PLIVO_SIGNATURE_HEADER).split(',').map((part) => Buffer.from(part, 'utf8'));
  const nonce = header(request.headers, PLIVO_NONCE_HEADER);
  if (nonce === undefined || nonce === '') {
    throw new SignatureError('plivo', 'missing', `Missing the \`${PLIVO_NONCE_HEADER}\` header: the request is not signed`);
  }
  const method = request.method ?? 'POST';
  // The SDK encodes the URL and nonce to UTF-8 bytes before the HMAC encodes the whole text again.
  const url = asBytes(request.url);
  const signed = `${signedBase(url, method, request.body)}.${asBytes(nonce)}`;
  let valid = false;
  for (const token of tokens) {
    const expected = Buffer.from(createHmac('sha256', token).update(signed).digest('base64'), 'utf8');
    for (const signature of signatures) if (safeEqual(expected, signature)) valid = true;
  }
  if (!valid) throw new SignatureError('plivo', 'mismatch', `The \`${PLIVO_SIGNATURE_HEADER}\` does not match the URL, parameters and nonce`);
}
