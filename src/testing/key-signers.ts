import { createHash, createHmac, generateKeyPairSync, randomUUID, sign, type KeyObject } from 'node:crypto';
import { JSON_TYPE, jsonText, unixSecondsAt, type SignedWebhook } from './request.js';

const DEFAULT_URL = 'https://example.com/webhooks';

/** A key pair for a provider that signs with a private key: the public key as the provider shows it, and the private key. */
export interface WebhookKeyPair {
  /** As the provider's dashboard shows it: pass it to the verifier's `publicKey`. */
  readonly publicKey: string;
  readonly privateKey: KeyObject;
}

/** A fresh ECDSA P-256 key pair, the public key as SendGrid shows its verification key (base64 DER). */
export function sendGridKeyPair(): WebhookKeyPair {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return { publicKey: publicKey.export({ type: 'spki', format: 'der' }).toString('base64'), privateKey };
}

/** A fresh Ed25519 key pair, the public key as Telnyx shows it (the raw 32 bytes in base64). */
export function telnyxKeyPair(): WebhookKeyPair {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x ?? '', 'base64url');
  return { publicKey: raw.toString('base64'), privateKey };
}

export interface KeySignerOptions {
  readonly privateKey: KeyObject;
  /** Signed time (ms). Default: now. */
  readonly now?: number | undefined;
  readonly url?: string | undefined;
}

/** A SendGrid Event Webhook batch: base64 DER ECDSA/SHA-256 signature of the timestamp followed by the body. */
export function signSendGridWebhook(events: unknown, options: KeySignerOptions): SignedWebhook {
  const body = jsonText(events);
  const timestamp = String(unixSecondsAt(options.now));
  const signature = sign('sha256', Buffer.from(timestamp + body, 'utf8'), options.privateKey).toString('base64');
  return {
    method: 'POST',
    url: options.url ?? DEFAULT_URL,
    headers: {
      'Content-Type': JSON_TYPE,
      'X-Twilio-Email-Event-Webhook-Signature': signature,
      'X-Twilio-Email-Event-Webhook-Timestamp': timestamp,
    },
    body,
  };
}

/** A Telnyx API v2 webhook: `telnyx-signature-ed25519`, the base64 Ed25519 signature of `timestamp|body`. */
export function signTelnyxWebhook(body: unknown, options: KeySignerOptions): SignedWebhook {
  const text = jsonText(body);
  const timestamp = String(unixSecondsAt(options.now));
  const signature = sign(null, Buffer.from(`${timestamp}|${text}`, 'utf8'), options.privateKey).toString('base64');
  return {
    method: 'POST',
    url: options.url ?? DEFAULT_URL,
    headers: { 'Content-Type': JSON_TYPE, 'telnyx-signature-ed25519': signature, 'telnyx-timestamp': timestamp },
    body: text,
  };
}

export interface VonageWebhookOptions {
  /** The account's signature secret. */
  readonly signatureSecret: string;
  readonly now?: number | undefined;
  readonly url?: string | undefined;
  /** Claims Vonage adds: `api_key`, `application_id`. */
  readonly apiKey?: string | undefined;
  readonly applicationId?: string | undefined;
}

const base64url = (value: unknown): string => Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');

/** A Vonage Messages API webhook: `Authorization: Bearer` and an HS256 JWT with `iat`, `jti` and the body's `payload_hash`. */
export function signVonageWebhook(body: unknown, options: VonageWebhookOptions): SignedWebhook {
  const text = jsonText(body);
  const claims = {
    iat: unixSecondsAt(options.now),
    jti: randomUUID(),
    iss: 'Vonage',
    payload_hash: createHash('sha256').update(text, 'utf8').digest('hex'),
    ...(options.apiKey === undefined ? {} : { api_key: options.apiKey }),
    ...(options.applicationId === undefined ? {} : { application_id: options.applicationId }),
  };
  const unsigned = `${base64url({ alg: 'HS256', typ: 'JWT' })}.${base64url(claims)}`;
  const signature = createHmac('sha256', options.signatureSecret).update(unsigned).digest('base64url');
  return { method: 'POST', url: options.url ?? DEFAULT_URL, headers: { 'Content-Type': JSON_TYPE, Authorization: `Bearer ${unsigned}.${signature}` }, body: text };
}

export interface VonageSmsWebhookOptions {
  readonly signatureSecret: string;
  /** The signature method set on the account. */
  readonly method: 'md5hash' | 'md5' | 'sha1' | 'sha256' | 'sha512';
  readonly now?: number | undefined;
  readonly url?: string | undefined;
}

/**
 * A signed Vonage SMS API delivery receipt (JSON POST): the parameters with `timestamp` and `sig`, the hex
 * digest of every parameter sorted as `&name=value` (`&` and `=` in values as `_`).
 */
export function signVonageSmsWebhook(params: Readonly<Record<string, string>>, options: VonageSmsWebhookOptions): SignedWebhook {
  const all: Record<string, string> = { ...params, timestamp: String(unixSecondsAt(options.now)) };
  const text = Object.keys(all)
    .sort()
    .map((name) => `&${name}=${all[name]!.replace(/[&=]/g, '_')}`)
    .join('');
  const sig =
    options.method === 'md5hash'
      ? createHash('md5').update(text + options.signatureSecret, 'utf8').digest('hex')
      : createHmac(options.method, options.signatureSecret).update(text, 'utf8').digest('hex');
  return { method: 'POST', url: options.url ?? DEFAULT_URL, headers: { 'Content-Type': JSON_TYPE }, body: JSON.stringify({ ...all, sig }) };
}
