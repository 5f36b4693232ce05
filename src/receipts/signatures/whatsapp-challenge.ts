import { SignatureError } from '../errors.js';
import { requireSecret, safeEqual } from './shared.js';

export interface WhatsAppChallengeOptions {
  /** The Verify Token you typed into the app's webhook settings. */
  readonly verifyToken: string;
}

/**
 * Answers Meta's webhook verification GET (`hub.mode=subscribe`, `hub.verify_token`, `hub.challenge`):
 * returns the challenge to send back as the response body, or throws a `SignatureError`.
 */
export function whatsappChallenge(
  query: URLSearchParams | Readonly<Record<string, unknown>>,
  options: WhatsAppChallengeOptions,
): string {
  requireSecret('verifyToken', options.verifyToken);
  const get = (name: string): unknown => (query instanceof URLSearchParams ? query.get(name) : query[name]);
  const mode = get('hub.mode');
  const token = get('hub.verify_token');
  const challenge = get('hub.challenge');
  if (typeof token !== 'string' || typeof challenge !== 'string' || mode !== 'subscribe') {
    throw new SignatureError('whatsapp', 'missing', 'Expected `hub.mode=subscribe`, `hub.verify_token` and `hub.challenge` query parameters');
  }
  if (!safeEqual(Buffer.from(token), Buffer.from(options.verifyToken))) {
    throw new SignatureError('whatsapp', 'mismatch', 'The `hub.verify_token` is not the configured verify token');
  }
  return challenge;
}
