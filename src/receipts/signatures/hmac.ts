import { createHmac } from 'node:crypto';
import { SignatureError } from '../errors.js';
import { anyEqual, bodyBytes, hexDigest, requireHeader, secretList, type SignedRequest } from './shared.js';

export interface WhatsAppSignatureOptions {
  /** The Meta app's App Secret; while you rotate it, the old and the new one. */
  readonly appSecret: string | readonly string[];
}

export interface ViberSignatureOptions {
  /** The bot's authentication token; while you rotate it, the old and the new one. */
  readonly authToken: string | readonly string[];
}

/** Checks Meta's `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(appSecret, raw body)>` (WhatsApp Cloud API). */
export function verifyWhatsAppSignature(request: SignedRequest, options: WhatsAppSignatureOptions): void {
  const secrets = secretList('appSecret', options.appSecret);
  const value = requireHeader('whatsapp', request.headers, 'X-Hub-Signature-256');
  const given = value.startsWith('sha256=') ? hexDigest(value.slice(7), 32) : undefined;
  if (given === undefined) {
    throw new SignatureError('whatsapp', 'malformed', 'Expected `X-Hub-Signature-256` to be "sha256=" and 64 hex digits');
  }
  const body = bodyBytes('whatsapp', request.body);
  if (!anyEqual(secrets.map((secret) => createHmac('sha256', secret).update(body).digest()), given)) {
    throw new SignatureError('whatsapp', 'mismatch', 'The `X-Hub-Signature-256` does not match the body');
  }
}

/** Checks Viber's `X-Viber-Content-Signature`: hex HMAC-SHA256 of the raw body keyed with the bot token. */
export function verifyViberSignature(request: SignedRequest, options: ViberSignatureOptions): void {
  const tokens = secretList('authToken', options.authToken);
  const value = requireHeader('viber', request.headers, 'X-Viber-Content-Signature');
  const given = hexDigest(value, 32);
  if (given === undefined) {
    throw new SignatureError('viber', 'malformed', 'Expected `X-Viber-Content-Signature` to be 64 hex digits');
  }
  const body = bodyBytes('viber', request.body);
  if (!anyEqual(tokens.map((token) => createHmac('sha256', token).update(body).digest()), given)) {
    throw new SignatureError('viber', 'mismatch', 'The `X-Viber-Content-Signature` does not match the body');
  }
}
