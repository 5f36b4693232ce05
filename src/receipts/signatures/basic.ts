import { InvalidConfigError } from '../../core/errors.js';
import { SignatureError, type WebhookProvider } from '../errors.js';
import { canonicalBase64, requireHeader, safeEqual, type HeadersLike } from './shared.js';

/** HTTP Basic credentials a provider was configured to send (Infobip, Postmark, Brevo and others without signatures). */
export interface BasicAuthCredentials {
  readonly username: string;
  readonly password: string;
}

/**
 * Checks `Authorization: Basic …` against the configured credentials (several while you rotate them), in
 * constant time. Call it before reading the body (an Express middleware ahead of the body parser, a Fastify
 * `onRequest` hook): a provider without signatures is authenticated by this alone.
 */
export function verifyBasicAuth(
  provider: WebhookProvider,
  headers: HeadersLike,
  credentials: BasicAuthCredentials | readonly BasicAuthCredentials[],
): void {
  const list: readonly BasicAuthCredentials[] = Array.isArray(credentials) ? credentials : [credentials as BasicAuthCredentials];
  if (list.length === 0 || list.some((c) => typeof c?.username !== 'string' || typeof c.password !== 'string' || c.username === '' || c.password === '')) {
    throw new InvalidConfigError('Expected Basic auth `credentials` with a non-empty username and password');
  }
  const value = requireHeader(provider, headers, 'Authorization');
  const match = /^Basic ([A-Za-z0-9+/=]{1,1024})$/i.exec(value);
  const given = match?.[1] === undefined ? undefined : canonicalBase64(match[1]);
  if (given === undefined) throw new SignatureError(provider, 'malformed', 'Expected `Authorization` to be "Basic" and base64 credentials');
  let found = false;
  for (const { username, password } of list) if (safeEqual(Buffer.from(`${username}:${password}`, 'utf8'), given)) found = true;
  if (!found) throw new SignatureError(provider, 'mismatch', 'The Basic auth credentials are not the configured ones');
}
