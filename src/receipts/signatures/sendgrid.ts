import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { InvalidConfigError } from '../../core/errors.js';
import { SignatureError } from '../errors.js';
import { REPLAY_WINDOWS, bodyBytes, canonicalBase64, checkFreshness, keyList, requireHeader, unixSeconds, type ReplayOptions, type SignedRequest } from './shared.js';

export interface SendGridSignatureOptions extends ReplayOptions {
  /**
   * The Signed Event Webhook verification key: base64 DER (as SendGrid shows it), PEM, or a `KeyObject`.
   * Parse it once with `sendGridPublicKey()` when verifying often. While you rotate keys (a new webhook, or
   * signing re-enabled), a list of them: any one verifying is enough.
   */
  readonly publicKey: string | KeyObject | readonly (string | KeyObject)[];
}

export const SENDGRID_SIGNATURE_HEADER = 'X-Twilio-Email-Event-Webhook-Signature';
export const SENDGRID_TIMESTAMP_HEADER = 'X-Twilio-Email-Event-Webhook-Timestamp';

/** Parses SendGrid's verification key (base64 DER SPKI or PEM) and checks it is an ECDSA P-256 key. */
export function sendGridPublicKey(key: string | KeyObject): KeyObject {
  let parsed: KeyObject;
  try {
    parsed =
      typeof key !== 'string'
        ? key
        : key.includes('-----BEGIN')
          ? createPublicKey(key)
          : createPublicKey({ key: Buffer.from(key.trim(), 'base64'), format: 'der', type: 'spki' });
  } catch (cause) {
    throw new InvalidConfigError('Expected `publicKey` to be SendGrid\'s verification key (base64 DER or PEM)', { cause });
  }
  if (parsed.asymmetricKeyType !== 'ec' || parsed.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new InvalidConfigError('Expected `publicKey` to be an ECDSA P-256 public key');
  }
  return parsed;
}

/**
 * Checks SendGrid's Signed Event Webhook: an ECDSA P-256 / SHA-256 signature (base64 DER) over the
 * timestamp header followed by the raw body, and the timestamp against the replay window (default 24 h 5 min:
 * SendGrid retries for 24 hours and does not document re-signing its retries).
 */
export function verifySendGridSignature(request: SignedRequest, options: SendGridSignatureOptions): void {
  const keys = keyList('publicKey', options.publicKey, sendGridPublicKey);
  const header = requireHeader('sendgrid', request.headers, SENDGRID_SIGNATURE_HEADER);
  const timestamp = requireHeader('sendgrid', request.headers, SENDGRID_TIMESTAMP_HEADER);
  const signedAt = unixSeconds('sendgrid', SENDGRID_TIMESTAMP_HEADER, timestamp);
  const payload = Buffer.concat([Buffer.from(timestamp, 'utf8'), bodyBytes('sendgrid', request.body)]);
  const signature = canonicalBase64(header);
  let valid = false;
  for (const key of signature === undefined ? [] : keys) {
    try {
      valid = verify('sha256', payload, key, signature as Buffer) || valid;
    } catch {
      // An undecodable DER signature is a forgery like any other.
    }
  }
  if (!valid) {
    throw new SignatureError('sendgrid', 'mismatch', `The \`${SENDGRID_SIGNATURE_HEADER}\` does not match the timestamp and body`);
  }
  // Checked after the signature so a forged timestamp is reported as forged, not as stale.
  checkFreshness('sendgrid', signedAt, options, REPLAY_WINDOWS.sendgrid);
}
