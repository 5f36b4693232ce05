import { createHash, createHmac } from 'node:crypto';
import { SignatureError } from '../errors.js';
import { systemClock } from '../../runtime/clock.js';
import {
  REPLAY_WINDOWS,
  anyEqual,
  bodyBytes,
  checkFreshness,
  hexDigest,
  requireHeader,
  safeEqual,
  secretList,
  type ReplayOptions,
  type SignedRequest,
} from './shared.js';

export interface VonageSignatureOptions extends ReplayOptions {
  /** The account's signature secret (Dashboard → Settings), the HMAC key of the JWT; while you rotate it, both. */
  readonly signatureSecret: string | readonly string[];
  /** When given, the token's `application_id` claim must equal it. */
  readonly applicationId?: string | undefined;
}

/** The claims of a verified Vonage webhook token. */
export interface VonageClaims {
  readonly iat: number;
  readonly exp?: number | undefined;
  readonly nbf?: number | undefined;
  readonly jti?: string | undefined;
  readonly iss?: string | undefined;
  readonly payload_hash?: string | undefined;
  readonly api_key?: string | undefined;
  readonly application_id?: string | undefined;
  readonly [claim: string]: unknown;
}

const BASE64URL = /^[A-Za-z0-9_-]+$/;

function decodePart(part: string, name: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // Reported below, like any other malformed part.
  }
  throw new SignatureError('vonage', 'malformed', `The bearer token's ${name} is not base64url JSON`);
}

/** A NumericDate claim (`exp`, `nbf`) when present: a finite number of seconds, else the token is malformed. */
function numericDate(claims: Record<string, unknown>, name: 'exp' | 'nbf'): number | undefined {
  const value = Object.hasOwn(claims, name) ? claims[name] : undefined;
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new SignatureError('vonage', 'malformed', `Expected the token's \`${name}\` claim to be a NumericDate, got ${JSON.stringify(value)}`);
  }
  return value * 1000;
}

// RFC 7519 allows "a few minutes" of leeway for clock skew on `exp` and `nbf`.
const LEEWAY_MS = 5 * 60_000;

/**
 * Checks a Vonage Messages API signed webhook: the `Authorization: Bearer <JWT>` signed HS256 with the
 * signature secret, its `payload_hash` (hex SHA-256 of the raw body), its `exp` and `nbf` when present (with
 * 5 minutes of leeway) and its `iat` against the replay window (default 24 h). Returns the verified claims.
 */
export function verifyVonageSignature(request: SignedRequest, options: VonageSignatureOptions): VonageClaims {
  const secrets = secretList('signatureSecret', options.signatureSecret);
  const authorization = requireHeader('vonage', request.headers, 'Authorization');
  const match = /^Bearer\s+(\S+)$/i.exec(authorization);
  const parts = match?.[1]?.split('.') ?? [];
  const [head, payload, signature] = parts;
  if (parts.length !== 3 || !head || !payload || !signature || !parts.every((part) => BASE64URL.test(part))) {
    throw new SignatureError('vonage', 'malformed', 'Expected `Authorization` to be "Bearer" and a JWT');
  }
  // The algorithm is pinned: a token that names another (`none`, RS256) is refused, never followed.
  if (decodePart(head, 'header')['alg'] !== 'HS256') {
    throw new SignatureError('vonage', 'malformed', 'Expected the bearer token to be signed with HS256');
  }
  const given = Buffer.from(signature, 'base64url');
  // base64url without padding, canonical: the last character may not carry bits the decoder drops.
  const canonical = given.toString('base64url') === signature;
  const expected = secrets.map((secret) => createHmac('sha256', secret).update(`${head}.${payload}`).digest());
  if (!canonical || !anyEqual(expected, given)) {
    throw new SignatureError('vonage', 'mismatch', 'The bearer token was not signed with the signature secret');
  }
  const claims = decodePart(payload, 'payload');
  const iat = claims['iat'];
  if (typeof iat !== 'number' || !Number.isFinite(iat)) {
    throw new SignatureError('vonage', 'missing', 'Missing the `iat` claim: the token is not dated');
  }
  const now = options.now ?? systemClock.now();
  const exp = numericDate(claims, 'exp');
  const nbf = numericDate(claims, 'nbf');
  if (exp !== undefined && now >= exp + LEEWAY_MS) {
    throw new SignatureError('vonage', 'expired', `The token expired at ${new Date(exp).toISOString()} (\`exp\`)`);
  }
  if (nbf !== undefined && now < nbf - LEEWAY_MS) {
    throw new SignatureError('vonage', 'expired', `The token is not valid before ${new Date(nbf).toISOString()} (\`nbf\`)`);
  }
  checkFreshness('vonage', iat * 1000, { ...options, now }, REPLAY_WINDOWS.vonage);
  const body = bodyBytes('vonage', request.body);
  const hash = claims['payload_hash'];
  if (typeof hash !== 'string') {
    if (body.length > 0) throw new SignatureError('vonage', 'missing', 'Missing the `payload_hash` claim for a request with a body');
  } else {
    const given = hexDigest(hash, 32);
    if (given === undefined || !safeEqual(createHash('sha256').update(body).digest(), given)) {
      throw new SignatureError('vonage', 'mismatch', 'The body does not match the token\'s `payload_hash`');
    }
  }
  if (options.applicationId !== undefined && claims['application_id'] !== options.applicationId) {
    throw new SignatureError('vonage', 'mismatch', 'The token\'s `application_id` is not the configured application');
  }
  return claims as VonageClaims;
}
