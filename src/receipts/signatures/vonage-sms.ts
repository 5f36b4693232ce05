import { createHash, createHmac } from 'node:crypto';
import { InvalidConfigError } from '../../core/errors.js';
import { SignatureError } from '../errors.js';
import { checkFormSize, formParts, rawText, tooDeep } from '../input.js';
import { REPLAY_WINDOWS, checkFreshness, safeEqual, scalarText, secretList, unixSeconds, type ReplayOptions } from './shared.js';

/** How the account signs: `md5hash` (MD5 of the query and the secret) or an HMAC (`md5`, `sha1`, `sha256`, `sha512`). */
export type VonageSmsSignatureMethod = 'md5hash' | 'md5' | 'sha1' | 'sha256' | 'sha512';

export interface VonageSmsSignatureOptions extends ReplayOptions {
  /** The account's signature secret; while you rotate it, both. */
  readonly signatureSecret: string | readonly string[];
  /** The signature method set on the account (Dashboard → Settings). */
  readonly method: VonageSmsSignatureMethod;
}

const DIGEST_HEX = new Map<VonageSmsSignatureMethod, number>([
  ['md5hash', 32],
  ['md5', 32],
  ['sha1', 40],
  ['sha256', 64],
  ['sha512', 128],
]);

function put(params: Map<string, string>, key: string, value: unknown): void {
  const text = scalarText(value);
  if (text === undefined) throw new SignatureError('vonage-sms', 'malformed', `Expected the parameter \`${key.slice(0, 60)}\` to be text`);
  params.set(key, text);
}

function paramsOf(body: unknown): Map<string, string> {
  const text = rawText(body);
  const params = new Map<string, string>();
  if (text !== undefined && text.trimStart().startsWith('{')) {
    if (tooDeep(text)) throw new SignatureError('vonage-sms', 'malformed', 'Expected the body to be JSON nested at most 32 levels deep');
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (cause) {
      throw new SignatureError('vonage-sms', 'malformed', 'Expected the body to be JSON or form fields', { cause });
    }
    if (typeof parsed === 'object' && parsed !== null) for (const [key, value] of Object.entries(parsed)) put(params, key, value);
  } else if (text !== undefined) {
    checkFormSize(formParts(text), (message) => new SignatureError('vonage-sms', 'malformed', message));
    new URLSearchParams(text).forEach((value, key) => params.set(key, value));
  }
  else if (body instanceof URLSearchParams) body.forEach((value, key) => params.set(key, value));
  else if (typeof body === 'object' && body !== null) for (const [key, value] of Object.entries(body)) put(params, key, value);
  return params;
}

/**
 * Checks the `sig` parameter of a signed Vonage SMS API callback (delivery receipt or inbound message): every
 * other parameter sorted by name as `&name=value` (`&` and `=` in values replaced by `_`), then hashed with the
 * account's method, compared as hex (either case, as Vonage's SDK does), and the signed `timestamp` against the
 * replay window (default a day). Takes a JSON or form POST body or a GET query (text, bytes, `URLSearchParams`, parsed).
 */
export function verifyVonageSmsSignature(body: unknown, options: VonageSmsSignatureOptions): void {
  const secrets = secretList('signatureSecret', options.signatureSecret);
  const length = DIGEST_HEX.get(options.method);
  if (length === undefined) throw new InvalidConfigError('Expected `method` to be one of md5hash, md5, sha1, sha256, sha512');
  const params = paramsOf(body);
  const sig = params.get('sig');
  if (sig === undefined || sig === '') throw new SignatureError('vonage-sms', 'missing', 'Missing the `sig` parameter: the request is not signed');
  if (!new RegExp(`^[0-9a-fA-F]{${length}}$`).test(sig)) throw new SignatureError('vonage-sms', 'malformed', `Expected \`sig\` to be ${length} hex digits`);
  params.delete('sig');
  let query = '';
  for (const key of [...params.keys()].sort()) query += `&${key}=${(params.get(key) ?? '').replace(/[&=]/g, '_')}`;
  const given = Buffer.from(sig.toLowerCase(), 'utf8');
  const valid = secrets.some((secret) => {
    const hex = options.method === 'md5hash' ? createHash('md5').update(query + secret).digest('hex') : createHmac(options.method, secret).update(query).digest('hex');
    return safeEqual(Buffer.from(hex, 'utf8'), given);
  });
  if (!valid) throw new SignatureError('vonage-sms', 'mismatch', 'The `sig` does not match the parameters');
  const timestamp = params.get('timestamp');
  if (timestamp === undefined) throw new SignatureError('vonage-sms', 'missing', 'Missing the signed `timestamp` parameter');
  checkFreshness('vonage-sms', unixSeconds('vonage-sms', 'timestamp', timestamp), options, REPLAY_WINDOWS['vonage-sms']);
}
