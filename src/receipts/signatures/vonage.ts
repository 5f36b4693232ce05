import { createHash, createHmac } from 'node:crypto';
import { SignatureError } from '../errors.js';
import {
  bodyBytes,
  checkFreshness,
  hexDigest,
  requireHeader,
  requireSecret,
  safeEqual,
  type ReplayOptions,
  type SignedRequest,
} from './shared.js';

export interface VonageSignatureOptions extends ReplayOptions {
  /** The account's signature secret (Dashboard → Settings), the HMAC key of the JWT. */
  readonly signatureSecret: string;
  /** When given, the token's `application_id` claim must equal it. */
  readonly applicationId?: string | undefined;
}

/** The claims of a verified Vonage webhook token. */
export interface VonageClaims {
  readonly iat: number;
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

/**
 * Checks a Vonage Messages API signed webhook: the `Authorization: Bearer <JWT>` signed HS256 with the
 * signature secret, its `payload_hash` (hex SHA-256 of the raw body) and its `iat` against the replay
 * window. Returns the verified claims.
 */
export function verifyVonageSignature(request: SignedRequest, options: VonageSignatureOptions): VonageClaims {
  requireSecret('signatureSecret', options.signatureSecret);
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
  const expected = createHmac('sha256', options.signatureSecret).update(`${head}.${payload}`).digest();
  if (!safeEqual(expected, Buffer.from(signature, 'base64url'))) {
    throw new SignatureError('vonage', 'mismatch', 'The bearer token was not signed with the signature secret');
  }
  const claims = decodePart(payload, 'payload');
  const iat = claims['iat'];
  if (typeof iat !== 'number' || !Number.isFinite(iat)) {
    throw new SignatureError('vonage', 'missing', 'Missing the `iat` claim: the token is not dated');
  }
  checkFreshness('vonage', iat * 1000, options);
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
