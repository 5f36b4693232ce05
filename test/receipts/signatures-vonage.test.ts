import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SignatureError, verifyVonageSignature } from 'cascade-router/receipts';
import { vonage } from './fixtures/samples.js';
import { reason as outcome } from './fixtures/reason.js';

const SECRET = 'vonage-signature-secret';
const IAT = 1_700_000_000;
const NOW = IAT * 1000 + 10_000;

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** Signs a webhook token the way Vonage documents it: HS256, with `payload_hash` of the body. */
function token(body: string, claims: Record<string, unknown> = {}, secret = SECRET, header: unknown = { alg: 'HS256', typ: 'JWT' }): string {
  const payload = {
    iat: IAT,
    jti: 'c5ba8f24-1a14-4c10-bfdf-3fbe8ce511b5',
    iss: 'Vonage',
    payload_hash: createHash('sha256').update(body).digest('hex'),
    api_key: 'abcd1234',
    application_id: 'aaaaaaaa-bbbb-cccc-dddd-0123456789ab',
    ...claims,
  };
  const signingInput = `${b64url(header)}.${b64url(payload)}`;
  return `${signingInput}.${createHmac('sha256', secret).update(signingInput).digest('base64url')}`;
}


const request = (jwt: string, body = vonage.read) => ({ headers: { authorization: `Bearer ${jwt}` }, body });

describe('verifyVonageSignature', () => {
  it('accepts a token signed with the secret whose payload_hash matches, and returns its claims', () => {
    const claims = verifyVonageSignature(request(token(vonage.read)), { signatureSecret: SECRET, now: NOW });
    expect(claims).toMatchObject({ iat: IAT, iss: 'Vonage', application_id: 'aaaaaaaa-bbbb-cccc-dddd-0123456789ab' });
  });

  it('rejects a token signed with another secret (forged)', () => {
    expect(outcome(() => verifyVonageSignature(request(token(vonage.read, {}, 'guess')), { signatureSecret: SECRET, now: NOW }))).toBe('mismatch');
  });

  it('rejects a tampered body: the payload_hash no longer matches', () => {
    const tampered = vonage.read.replace('"status":"read"', '"status":"rejected"');
    expect(() => verifyVonageSignature(request(token(vonage.read), tampered), { signatureSecret: SECRET, now: NOW })).toThrow(
      "vonage: The body does not match the token's `payload_hash`",
    );
  });

  it('takes a token whose iat is up to a day old (Vonage documents no retry horizon), refuses one a millisecond older', () => {
    const day = 24 * 3_600_000;
    expect(outcome(() => verifyVonageSignature(request(token(vonage.read)), { signatureSecret: SECRET, now: IAT * 1000 + day }))).toBe('accepted');
    expect(outcome(() => verifyVonageSignature(request(token(vonage.read)), { signatureSecret: SECRET, now: IAT * 1000 + day + 1 }))).toBe('expired');
    expect(outcome(() => verifyVonageSignature(request(token(vonage.read)), { signatureSecret: SECRET, now: NOW + 5 * 60_000, tolerance: '5m' }))).toBe('expired');
  });

  it('refuses alg "none" and any other algorithm than HS256', () => {
    const none = `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url({ iat: IAT })}.x`;
    expect(outcome(() => verifyVonageSignature(request(none), { signatureSecret: SECRET, now: NOW }))).toBe('malformed');
    expect(outcome(() => verifyVonageSignature(request(token(vonage.read, {}, SECRET, { alg: 'HS512' })), { signatureSecret: SECRET, now: NOW }))).toBe(
      'malformed',
    );
  });

  it('rejects a missing header, a non-Bearer scheme, a missing iat and another application', () => {
    expect(() => verifyVonageSignature({ headers: {}, body: vonage.read }, { signatureSecret: SECRET, now: NOW })).toThrow(
      'vonage: Missing the `Authorization` header: the request is not signed',
    );
    expect(outcome(() => verifyVonageSignature({ headers: { Authorization: 'Basic abc' }, body: vonage.read }, { signatureSecret: SECRET, now: NOW }))).toBe(
      'malformed',
    );
    expect(outcome(() => verifyVonageSignature(request(token(vonage.read, { iat: undefined })), { signatureSecret: SECRET, now: NOW }))).toBe('missing');
    expect(
      outcome(() => verifyVonageSignature(request(token(vonage.read)), { signatureSecret: SECRET, now: NOW, applicationId: 'another-app' })),
    ).toBe('mismatch');
  });
});
