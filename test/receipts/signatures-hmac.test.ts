import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  SignatureError,
  verifyMailgunSignature,
  verifyViberSignature,
  verifyWhatsAppSignature,
  whatsappChallenge,
} from 'cascade-router/receipts';
import { mailgun, viber, whatsapp } from './fixtures/samples.js';
import { reason as outcome } from './fixtures/reason.js';


const hmacHex = (key: string, data: string | Buffer) => createHmac('sha256', key).update(data).digest('hex');

describe('verifyWhatsAppSignature', () => {
  // Reference vector: secret test-app-secret over the empty-entry body.
  const body = '{"object":"whatsapp_business_account","entry":[]}';
  const header = 'sha256=c84a394cc475525991e78ff16e430b02e47f953877d2af0ade26956ce6f384dc';
  const options = { appSecret: 'test-app-secret' };

  it('accepts the reference vector and a signed status batch', () => {
    expect(outcome(() => verifyWhatsAppSignature({ headers: { 'x-hub-signature-256': header }, body }, options))).toBe('accepted');
    const signed = { 'X-Hub-Signature-256': `sha256=${hmacHex('test-app-secret', whatsapp.failed)}` };
    expect(outcome(() => verifyWhatsAppSignature({ headers: signed, body: Buffer.from(whatsapp.failed) }, options))).toBe('accepted');
  });

  it('rejects a forged "delivered", a wrong secret, a bad prefix and a missing header', () => {
    const forged = whatsapp.failed.replace('"status":"failed"', '"status":"delivered"');
    expect(outcome(() => verifyWhatsAppSignature({ headers: { 'X-Hub-Signature-256': `sha256=${hmacHex('test-app-secret', whatsapp.failed)}` }, body: forged }, options))).toBe('mismatch');
    expect(outcome(() => verifyWhatsAppSignature({ headers: { 'X-Hub-Signature-256': header }, body }, { appSecret: 'other' }))).toBe('mismatch');
    expect(outcome(() => verifyWhatsAppSignature({ headers: { 'X-Hub-Signature-256': header.slice(7) }, body }, options))).toBe('malformed');
    expect(() => verifyWhatsAppSignature({ headers: {}, body }, options)).toThrow(
      'whatsapp: Missing the `X-Hub-Signature-256` header: the request is not signed',
    );
  });

  it('rejects any single changed byte of a signed body', () => {
    fc.assert(
      fc.property(fc.nat(), fc.integer({ min: 1, max: 255 }), (index, delta) => {
        const bytes = Buffer.from(whatsapp.sent);
        const at = index % bytes.length;
        bytes[at] = ((bytes[at] ?? 0) + delta) % 256;
        const signed = { 'X-Hub-Signature-256': `sha256=${hmacHex('s3cret', whatsapp.sent)}` };
        expect(outcome(() => verifyWhatsAppSignature({ headers: signed, body: bytes }, { appSecret: 's3cret' }))).toBe('mismatch');
      }),
      { numRuns: 200 },
    );
  });
});

describe('whatsappChallenge', () => {
  it('returns the challenge for the right verify token, and refuses the wrong one', () => {
    const query = new URLSearchParams({ 'hub.mode': 'subscribe', 'hub.verify_token': 'tok', 'hub.challenge': '1158201444' });
    expect(whatsappChallenge(query, { verifyToken: 'tok' })).toBe('1158201444');
    expect(outcome(() => whatsappChallenge(query, { verifyToken: 'other' }))).toBe('mismatch');
    expect(outcome(() => whatsappChallenge({ 'hub.mode': 'unsubscribe', 'hub.verify_token': 'tok', 'hub.challenge': '1' }, { verifyToken: 'tok' }))).toBe('missing');
  });
});

describe('verifyViberSignature', () => {
  // Reference vector: token test-auth-token over the captured delivered callback.
  const signature = 'f7eeeb214ce1343518966a4f69d1c0479aaa4cf01f0444cc4816fc476c7be3a4';
  const options = { authToken: 'test-auth-token' };

  it('accepts the reference vector (raw body) and rejects a tampered token', () => {
    expect(outcome(() => verifyViberSignature({ headers: { 'X-Viber-Content-Signature': signature }, body: viber.delivered }, options))).toBe('accepted');
    const tampered = viber.delivered.replace('5466297578174182639', '5466297578174182638');
    expect(outcome(() => verifyViberSignature({ headers: { 'X-Viber-Content-Signature': signature }, body: tampered }, options))).toBe('mismatch');
  });

  it('rejects a non-hex signature, a missing header and a parsed body', () => {
    expect(outcome(() => verifyViberSignature({ headers: { 'X-Viber-Content-Signature': 'zz' }, body: viber.delivered }, options))).toBe('malformed');
    expect(outcome(() => verifyViberSignature({ headers: {}, body: viber.delivered }, options))).toBe('missing');
    const parsed = JSON.parse(viber.delivered) as string;
    expect(outcome(() => verifyViberSignature({ headers: { 'X-Viber-Content-Signature': signature }, body: parsed }, options))).toBe('malformed');
  });
});

describe('verifyMailgunSignature', () => {
  // Reference vector: key TEST_WEBHOOK_SIGNING_KEY, timestamp 1534108637, token 6518…24 → 2a75…cc.
  const options = { signingKey: 'TEST_WEBHOOK_SIGNING_KEY', now: 1534108637_000 + 60_000 };

  it('accepts the reference vector from raw text or the parsed body, and returns the token for replay dedupe', () => {
    expect(verifyMailgunSignature(mailgun.delivered, options)).toBe('651869375b9df3c98fc15c4889b102119add1235c38fc92824');
    expect(verifyMailgunSignature(JSON.parse(mailgun.delivered), options)).toBe('651869375b9df3c98fc15c4889b102119add1235c38fc92824');
  });

  it('rejects a forged signature, another key, a replayed request and an unsigned body', () => {
    const body = JSON.parse(mailgun.delivered) as { signature: Record<string, string> };
    const forged = { ...body, signature: { ...body.signature, token: 'a'.repeat(50) } };
    expect(outcome(() => verifyMailgunSignature(forged, options))).toBe('mismatch');
    expect(outcome(() => verifyMailgunSignature(body, { ...options, signingKey: 'key-other' }))).toBe('mismatch');
    // Mailgun retries for 8 hours: the window is 8 h 5 min, then a replay is refused.
    expect(outcome(() => verifyMailgunSignature(body, { ...options, now: 1534108637_000 + 8 * 3_600_000 + 300_000 }))).toBe('accepted');
    expect(outcome(() => verifyMailgunSignature(body, { ...options, now: 1534108637_000 + 8 * 3_600_000 + 300_001 }))).toBe('expired');
    expect(() => verifyMailgunSignature(mailgun.failedPermanent, options)).toThrow(
      'mailgun: Missing the body field `signature`: the request is not signed',
    );
    expect(outcome(() => verifyMailgunSignature({ signature: { timestamp: '1534108637', signature: 'ab' } }, options))).toBe('missing');
  });

  it('verifies a freshly signed body at an injected time', () => {
    const timestamp = '1700000000';
    const token = 'f'.repeat(50);
    const body = { signature: { timestamp, token, signature: hmacHex('k', timestamp + token) }, 'event-data': {} };
    expect(verifyMailgunSignature(JSON.stringify(body), { signingKey: 'k', now: 1700000000_000 })).toBe(token);
  });
});
