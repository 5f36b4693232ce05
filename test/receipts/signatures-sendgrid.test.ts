import { generateKeyPairSync, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SignatureError, sendGridPublicKey, verifySendGridSignature } from 'cascade-router/receipts';
import { sendgridBatch } from './fixtures/samples.js';
import { reason } from './fixtures/reason.js';

// SendGrid's own test vector (sendgrid-nodejs packages/eventwebhook/src/eventwebhook.spec.js).
const PUBLIC_KEY =
  'MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEDr2LjtURuePQzplybdC+u4CwrqDqBaWjcMMsTbhdbcwHBcepxo7yAQGhHPTnlvFYPAZFceEu/1FwCM/QmGUhA==';
const SIGNATURE = 'MEUCIQCtIHJeH93Y+qpYeWrySphQgpNGNr/U+UyUlBkU6n7RAwIgJTz2C+8a8xonZGi6BpSzoQsbVRamr2nlxFDWYNH2j/0=';
const TIMESTAMP = '1588788367';
const PAYLOAD = '{"category":"example_payload","event":"test_event","message_id":"message_id"}';
const NOW = 1588788367_000 + 30_000;

const headers = (signature: string, timestamp: string) => ({
  'X-Twilio-Email-Event-Webhook-Signature': signature,
  'X-Twilio-Email-Event-Webhook-Timestamp': timestamp,
});


describe('verifySendGridSignature', () => {
  it("accepts SendGrid's published vector (base64 DER key) within the replay window", () => {
    expect(reason(() => verifySendGridSignature({ headers: headers(SIGNATURE, TIMESTAMP), body: PAYLOAD }, { publicKey: PUBLIC_KEY, now: NOW }))).toBe(
      'accepted',
    );
  });

  it('accepts the same key as PEM and as a KeyObject, and the body as bytes', () => {
    const pem = `-----BEGIN PUBLIC KEY-----\n${PUBLIC_KEY}\n-----END PUBLIC KEY-----\n`;
    const request = { headers: new Headers(headers(SIGNATURE, TIMESTAMP)), body: Buffer.from(PAYLOAD) };
    expect(reason(() => verifySendGridSignature(request, { publicKey: pem, now: NOW }))).toBe('accepted');
    expect(reason(() => verifySendGridSignature(request, { publicKey: sendGridPublicKey(PUBLIC_KEY), now: NOW }))).toBe('accepted');
  });

  it("rejects the vector's tampered payload, timestamp, signature and another key (as SendGrid's tests do)", () => {
    const other =
      'MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEqTxd43gyp8IOEto2LdIfjRQrIbsd4SXZkLW6jDutdhXSJCWHw8REntlo7aNDthvj+y7GjUuFDb/R1NGe1OPzpA==';
    const badSignature = 'MEUCIQCtIHJeH93Y+qpYeWrySphQgpNGNr/U+UyUlBkU6n7RAwIgJTz2C+8a8xonZGi6BpSzoQsbVRamr2nlxFDWYNH3j/0=';
    expect(reason(() => verifySendGridSignature({ headers: headers(SIGNATURE, TIMESTAMP), body: 'payload' }, { publicKey: PUBLIC_KEY, now: NOW }))).toBe('mismatch');
    expect(reason(() => verifySendGridSignature({ headers: headers(SIGNATURE, '1588788368'), body: PAYLOAD }, { publicKey: PUBLIC_KEY, now: NOW }))).toBe('mismatch');
    expect(reason(() => verifySendGridSignature({ headers: headers(badSignature, TIMESTAMP), body: PAYLOAD }, { publicKey: PUBLIC_KEY, now: NOW }))).toBe('mismatch');
    expect(reason(() => verifySendGridSignature({ headers: headers(SIGNATURE, TIMESTAMP), body: PAYLOAD }, { publicKey: other, now: NOW }))).toBe('mismatch');
    expect(reason(() => verifySendGridSignature({ headers: headers('not base64 DER', TIMESTAMP), body: PAYLOAD }, { publicKey: PUBLIC_KEY, now: NOW }))).toBe('mismatch');
    expect(reason(() => verifySendGridSignature({ headers: headers(SIGNATURE, 'timestamp'), body: PAYLOAD }, { publicKey: PUBLIC_KEY, now: NOW }))).toBe('malformed');
  });

  it('takes a retry with the original timestamp for 24 h 5 min (SendGrid retries for 24 hours), 5 minutes ahead, and no further', () => {
    const request = { headers: headers(SIGNATURE, TIMESTAMP), body: PAYLOAD };
    const signedAt = 1588788367_000;
    const window = 24 * 3_600_000 + 5 * 60_000;
    expect(reason(() => verifySendGridSignature(request, { publicKey: PUBLIC_KEY, now: signedAt + window }))).toBe('accepted');
    expect(reason(() => verifySendGridSignature(request, { publicKey: PUBLIC_KEY, now: signedAt + window + 1 }))).toBe('expired');
    expect(reason(() => verifySendGridSignature(request, { publicKey: PUBLIC_KEY, now: signedAt - 300_000 }))).toBe('accepted');
    expect(reason(() => verifySendGridSignature(request, { publicKey: PUBLIC_KEY, now: signedAt - 300_001 }))).toBe('expired');
    // An explicit tolerance replaces both sides.
    expect(reason(() => verifySendGridSignature(request, { publicKey: PUBLIC_KEY, now: signedAt + 600_001, tolerance: '10m' }))).toBe('expired');
    expect(() => verifySendGridSignature(request, { publicKey: PUBLIC_KEY, now: signedAt + window + 1 })).toThrow(
      'sendgrid: The signed timestamp 2020-05-06T18:06:07.000Z is 86700s old, outside the 86700s replay window',
    );
  });

  it('verifies a batch signed with a generated P-256 key and rejects one changed byte', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const der = publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
    const timestamp = '1700000000';
    const signature = sign('sha256', Buffer.from(timestamp + sendgridBatch), privateKey).toString('base64');
    const options = { publicKey: der, now: 1700000000_000 };
    expect(reason(() => verifySendGridSignature({ headers: headers(signature, timestamp), body: sendgridBatch }, options))).toBe('accepted');
    const tampered = sendgridBatch.replace('"event":"bounce"', '"event":"delivered"');
    expect(reason(() => verifySendGridSignature({ headers: headers(signature, timestamp), body: tampered }, options))).toBe('mismatch');
  });

  it('names a missing header, and refuses a parsed body or a non-P-256 key', () => {
    expect(() => verifySendGridSignature({ headers: { 'X-Twilio-Email-Event-Webhook-Signature': SIGNATURE }, body: PAYLOAD }, { publicKey: PUBLIC_KEY, now: NOW })).toThrow(
      'sendgrid: Missing the `X-Twilio-Email-Event-Webhook-Timestamp` header: the request is not signed',
    );
    expect(reason(() => verifySendGridSignature({ headers: headers(SIGNATURE, TIMESTAMP), body: JSON.parse(PAYLOAD) as string }, { publicKey: PUBLIC_KEY, now: NOW }))).toBe(
      'malformed',
    );
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey;
    expect(() => verifySendGridSignature({ headers: headers(SIGNATURE, TIMESTAMP), body: PAYLOAD }, { publicKey: rsa, now: NOW })).toThrow(
      'Expected `publicKey` to be an ECDSA P-256 public key',
    );
  });
});
