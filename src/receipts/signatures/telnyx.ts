import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { InvalidConfigError } from '../../core/errors.js';
import { SignatureError } from '../errors.js';
import { REPLAY_WINDOWS, bodyBytes, canonicalBase64, checkFreshness, keyList, requireHeader, unixSeconds, type ReplayOptions, type SignedRequest } from './shared.js';

export interface TelnyxSignatureOptions extends ReplayOptions {
  /**
   * The account's public key (Mission Control → Keys & Credentials → Public Key): 32 bytes in base64, a PEM,
   * or a `KeyObject`; while Telnyx rotates it, both.
   */
  readonly publicKey: string | KeyObject | readonly (string | KeyObject)[];
}

export const TELNYX_SIGNATURE_HEADER = 'telnyx-signature-ed25519';
export const TELNYX_TIMESTAMP_HEADER = 'telnyx-timestamp';

/** Parses a Telnyx public key (base64 of the raw 32-byte Ed25519 key, or PEM) and checks it is Ed25519. */
export function telnyxPublicKey(key: string | KeyObject): KeyObject {
  let parsed: KeyObject;
  try {
    if (typeof key !== 'string') parsed = key;
    else if (key.includes('-----BEGIN')) parsed = createPublicKey(key);
    else {
      const raw = canonicalBase64(key.trim());
      if (raw === undefined || raw.length !== 32) throw new Error('not 32 bytes of base64');
      parsed = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
    }
  } catch (cause) {
    throw new InvalidConfigError('Expected `publicKey` to be Telnyx\'s Ed25519 public key (base64 or PEM)', { cause });
  }
  if (parsed.asymmetricKeyType !== 'ed25519') throw new InvalidConfigError('Expected `publicKey` to be an Ed25519 public key');
  return parsed;
}

/**
 * Checks a Telnyx API v2 webhook: the Ed25519 signature in `telnyx-signature-ed25519` (base64) over
 * `telnyx-timestamp`, `|` and the raw body, then the timestamp (when the webhook was sent: each attempt is
 * signed anew) against a 5-minute window.
 */
export function verifyTelnyxSignature(request: SignedRequest, options: TelnyxSignatureOptions): void {
  const keys = keyList('publicKey', options.publicKey, telnyxPublicKey);
  const header = requireHeader('telnyx', request.headers, TELNYX_SIGNATURE_HEADER);
  const timestamp = requireHeader('telnyx', request.headers, TELNYX_TIMESTAMP_HEADER);
  const signedAt = unixSeconds('telnyx', TELNYX_TIMESTAMP_HEADER, timestamp);
  const signature = canonicalBase64(header);
  if (signature === undefined || signature.length !== 64) {
    throw new SignatureError('telnyx', 'malformed', `Expected \`${TELNYX_SIGNATURE_HEADER}\` to be a base64 Ed25519 signature`);
  }
  const payload = Buffer.concat([Buffer.from(`${timestamp}|`, 'utf8'), bodyBytes('telnyx', request.body)]);
  let valid = false;
  for (const key of keys) valid = verify(null, payload, key, signature) || valid;
  if (!valid) throw new SignatureError('telnyx', 'mismatch', `The \`${TELNYX_SIGNATURE_HEADER}\` does not match the timestamp and body`);
  checkFreshness('telnyx', signedAt, options, REPLAY_WINDOWS.telnyx);
}
