import { createHash, createHmac, randomBytes, randomUUID } from 'node:crypto';
import { FORM, JSON_TYPE, formBody, jsonText, unixSecondsAt, type SignedWebhook } from './request.js';

export interface TwilioWebhookOptions {
  /** The URL configured in Twilio (the status callback URL): it is signed as written. */
  readonly url: string;
  /** The Auth Token (or, with `sharedKey`, the SharedKey secret). */
  readonly authToken: string;
  /** Form parameters (a status callback), or `json` for a JSON webhook. */
  readonly params?: Readonly<Record<string, string | readonly string[]>> | undefined;
  /** A JSON body: Twilio then signs the URL with the body's SHA-256 as its `bodySHA256` query parameter. */
  readonly json?: unknown;
  /** Sign as a SharedKey webhook: the key id and algorithm sent in `X-Twilio-Webhooks-Signature-Settings`. */
  readonly sharedKey?: { readonly id: string; readonly algorithm?: 'HMAC_SHA1' | 'HMAC_SHA256' | undefined } | undefined;
}

/** A Twilio webhook: `X-Twilio-Signature`, base64 HMAC-SHA1 of the URL followed by the sorted parameters. */
export function signTwilioWebhook(options: TwilioWebhookOptions): SignedWebhook {
  const algorithm = options.sharedKey?.algorithm === 'HMAC_SHA256' ? 'sha256' : 'sha1';
  const settings = options.sharedKey === undefined ? {} : { 'X-Twilio-Webhooks-Signature-Settings': `key=${options.sharedKey.id},algorithm=${options.sharedKey.algorithm ?? 'HMAC_SHA1'}` };
  if (options.json !== undefined) {
    const body = jsonText(options.json);
    const hash = createHash('sha256').update(body, 'utf8').digest('hex');
    const url = `${options.url}${options.url.includes('?') ? '&' : '?'}bodySHA256=${hash}`;
    const signature = createHmac(algorithm, options.authToken).update(url, 'utf8').digest('base64');
    return { method: 'POST', url, headers: { 'Content-Type': JSON_TYPE, 'X-Twilio-Signature': signature, ...settings }, body };
  }
  const params = options.params ?? {};
  let signed = options.url;
  for (const name of Object.keys(params).sort()) {
    const value = params[name]!;
    for (const item of [...new Set(typeof value === 'string' ? [value] : value)].sort()) signed += name + item;
  }
  const signature = createHmac(algorithm, options.authToken).update(signed, 'utf8').digest('base64');
  return { method: 'POST', url: options.url, headers: { 'Content-Type': FORM, 'X-Twilio-Signature': signature, ...settings }, body: formBody(params) };
}

export interface BodySignerOptions {
  /** Where the provider posts. Default `https://example.com/webhooks`. */
  readonly url?: string | undefined;
}

const DEFAULT_URL = 'https://example.com/webhooks';
const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** A WhatsApp Cloud API (Meta) webhook: `X-Hub-Signature-256: sha256=` and the hex HMAC-SHA256 of the body with the App Secret. */
export function signWhatsAppWebhook(body: unknown, options: BodySignerOptions & { readonly appSecret: string }): SignedWebhook {
  const text = jsonText(body);
  const digest = createHmac('sha256', options.appSecret).update(text, 'utf8').digest('hex');
  return { method: 'POST', url: options.url ?? DEFAULT_URL, headers: { 'Content-Type': JSON_TYPE, 'X-Hub-Signature-256': `sha256=${digest}` }, body: text };
}

/** A Viber bot callback: `X-Viber-Content-Signature`, the hex HMAC-SHA256 of the body with the bot token. */
export function signViberWebhook(body: unknown, options: BodySignerOptions & { readonly authToken: string }): SignedWebhook {
  const text = jsonText(body);
  const digest = createHmac('sha256', options.authToken).update(text, 'utf8').digest('hex');
  return { method: 'POST', url: options.url ?? DEFAULT_URL, headers: { 'Content-Type': JSON_TYPE, 'X-Viber-Content-Signature': digest }, body: text };
}

export interface MailgunWebhookOptions extends BodySignerOptions {
  /** The HTTP webhook signing key. */
  readonly signingKey: string;
  /** For a subaccount's event: the primary account's key, signed into `parent-signature`. */
  readonly parentSigningKey?: string | undefined;
  /** Signed time (ms). Default: now. */
  readonly now?: number | undefined;
  /** The random token Mailgun signs with the timestamp. Default: 50 random hex digits. */
  readonly token?: string | undefined;
}

/** A Mailgun JSON webhook: `signature: { timestamp, token, signature }` around `event-data`, hex HMAC-SHA256 of timestamp + token. */
export function signMailgunWebhook(eventData: unknown, options: MailgunWebhookOptions): SignedWebhook & { readonly token: string } {
  const timestamp = String(unixSecondsAt(options.now));
  const token = options.token ?? randomBytes(25).toString('hex');
  const sign = (key: string) => createHmac('sha256', key).update(timestamp + token, 'utf8').digest('hex');
  const signature: Record<string, string> = { token, timestamp, signature: sign(options.signingKey) };
  if (options.parentSigningKey !== undefined) signature['parent-signature'] = sign(options.parentSigningKey);
  const body = JSON.stringify({ signature, 'event-data': eventData });
  return { method: 'POST', url: options.url ?? DEFAULT_URL, headers: { 'Content-Type': JSON_TYPE }, body, token };
}

export interface PlivoWebhookOptions {
  /** The callback URL configured in Plivo: signed as written. */
  readonly url: string;
  readonly authToken: string;
  /** The form parameters of the callback. */
  readonly params: Readonly<Record<string, string>>;
  /** The nonce Plivo sends with each request. Default: 20 random digits. */
  readonly nonce?: string | undefined;
}

/** A Plivo callback: `X-Plivo-Signature-V3`, base64 HMAC-SHA256 of the URL, `.`, the sorted parameters, `.` and the nonce. */
export function signPlivoWebhook(options: PlivoWebhookOptions): SignedWebhook {
  const nonce = options.nonce ?? String(randomBytes(8).readBigUInt64BE()).padStart(20, '0');
  // Scheme, host and port, and path as written; the query's parameters sorted by name, then value.
  const [, origin = '', path = '', query = ''] = /^([a-z][a-z0-9+.-]*:\/\/[^/?#]*)([^?#]*)(?:\?([^#]*))?/i.exec(options.url) ?? [];
  const queryPairs = [...new URLSearchParams(query)].sort(([a, x], [b, y]) => (a === b ? compare(x, y) : compare(a, b)));
  const params = Object.keys(options.params).sort().map((name) => name + options.params[name]!).join('');
  let signed = origin.replace(/\/\/[^@/]*@/, '//') + path;
  if (queryPairs.length > 0 || params.length > 0) signed += `?${queryPairs.map(([name, value]) => `${name}=${value}`).join('&')}`;
  if (queryPairs.length > 0 && params.length > 0) signed += '.';
  signed += `${params}.${nonce}`;
  const signature = createHmac('sha256', options.authToken).update(signed, 'utf8').digest('base64');
  return {
    method: 'POST',
    url: options.url,
    headers: { 'Content-Type': FORM, 'X-Plivo-Signature-V3': signature, 'X-Plivo-Signature-V3-Nonce': nonce },
    body: formBody(options.params),
  };
}

export interface ResendWebhookOptions extends BodySignerOptions {
  /** The webhook's signing secret, `whsec_` and base64 (`resendSigningSecret()` makes one). */
  readonly secret: string;
  /** The message id, the same across retries. Default: `msg_` and a random UUID. */
  readonly id?: string | undefined;
  readonly now?: number | undefined;
}

/** A fresh Svix signing secret, as Resend shows one: `whsec_` and 24 random bytes in base64. */
export const resendSigningSecret = (): string => `whsec_${randomBytes(24).toString('base64')}`;

/** A Resend webhook, signed by Svix: `svix-id`, `svix-timestamp`, `svix-signature: v1,<base64 HMAC-SHA256 of id.timestamp.body>`. */
export function signResendWebhook(body: unknown, options: ResendWebhookOptions): SignedWebhook {
  const text = jsonText(body);
  const id = options.id ?? `msg_${randomUUID()}`;
  const timestamp = String(unixSecondsAt(options.now));
  const key = Buffer.from(options.secret.replace(/^whsec_/, ''), 'base64');
  const signature = createHmac('sha256', key).update(`${id}.${timestamp}.${text}`, 'utf8').digest('base64');
  return {
    method: 'POST',
    url: options.url ?? DEFAULT_URL,
    headers: { 'Content-Type': JSON_TYPE, 'svix-id': id, 'svix-timestamp': timestamp, 'svix-signature': `v1,${signature}` },
    body: text,
  };
}

/** The `Authorization` header of HTTP Basic credentials (Infobip, Postmark, Brevo callbacks). */
export function basicAuthHeader(credentials: { readonly username: string; readonly password: string }): Readonly<Record<string, string>> {
  return { Authorization: `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`, 'utf8').toString('base64')}` };
}

/** A callback of a provider that authenticates with Basic auth only: the body as given and the credentials. */
export function basicAuthWebhook(body: unknown, options: BodySignerOptions & { readonly username: string; readonly password: string }): SignedWebhook {
  return { method: 'POST', url: options.url ?? DEFAULT_URL, headers: { 'Content-Type': JSON_TYPE, ...basicAuthHeader(options) }, body: jsonText(body) };
}
