import { createHash, createHmac, generateKeyPairSync, sign } from 'node:crypto';
import { parse as parseQuery } from 'node:querystring';
import fc from 'fast-check';
import { validateV3Signature } from 'plivo/dist/utils/v3Security.js';
import { Webhook } from 'svix';
import { describe, expect, it } from 'vitest';
import {
  SignatureError,
  verifyBasicAuth,
  verifyPlivoSignature,
  verifyResendSignature,
  verifyTelnyxSignature,
  verifyVonageSmsSignature,
} from 'cascade-router/receipts';
import { plivo, resend, telnyx } from './fixtures/providers.js';
import { reason } from './fixtures/reason.js';


describe('verifyResendSignature (Svix)', () => {
  // Svix's published example: secret, id, timestamp, payload and the signature its docs print.
  const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
  const PUBLISHED = { 'svix-id': 'msg_p5jXN8AQM9LWM0D4loKWxJek', 'svix-timestamp': '1614265330', 'svix-signature': 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=' };
  const BODY = '{"test": 2432232314}';
  const NOW = 1614265330_000;

  it("accepts Svix's published vector, also with unbranded webhook-* headers and among several signatures, and returns the message id", () => {
    expect(verifyResendSignature({ headers: PUBLISHED, body: BODY }, { secret: SECRET, now: NOW })).toBe('msg_p5jXN8AQM9LWM0D4loKWxJek');
    const unbranded = { 'webhook-id': PUBLISHED['svix-id'], 'webhook-timestamp': PUBLISHED['svix-timestamp'], 'webhook-signature': PUBLISHED['svix-signature'] };
    expect(reason(() => verifyResendSignature({ headers: unbranded, body: BODY }, { secret: SECRET, now: NOW }))).toBe('accepted');
    const several = { ...PUBLISHED, 'svix-signature': `v1,bm9wZQ== ${PUBLISHED['svix-signature']}` };
    expect(reason(() => verifyResendSignature({ headers: several, body: BODY }, { secret: SECRET, now: NOW }))).toBe('accepted');
  });

  it('rotation: takes either of two secrets; refuses a tampered body, another id and a non-canonical signature', () => {
    const other = 'whsec_c2VjcmV0LW9mLWFub3RoZXItZW5kcG9pbnQ=';
    expect(reason(() => verifyResendSignature({ headers: PUBLISHED, body: BODY }, { secret: [other, SECRET], now: NOW }))).toBe('accepted');
    expect(reason(() => verifyResendSignature({ headers: PUBLISHED, body: BODY }, { secret: other, now: NOW }))).toBe('mismatch');
    expect(reason(() => verifyResendSignature({ headers: PUBLISHED, body: BODY.replace('2432232314', '2432232315') }, { secret: SECRET, now: NOW }))).toBe('mismatch');
    expect(reason(() => verifyResendSignature({ headers: { ...PUBLISHED, 'svix-id': 'msg_other' }, body: BODY }, { secret: SECRET, now: NOW }))).toBe('mismatch');
    expect(reason(() => verifyResendSignature({ headers: { ...PUBLISHED, 'svix-signature': 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OF=' }, body: BODY }, { secret: SECRET, now: NOW }))).toBe('malformed');
  });

  it('takes a timestamp 5 minutes old (Svix signs each attempt anew) and refuses one a millisecond older', () => {
    expect(reason(() => verifyResendSignature({ headers: PUBLISHED, body: BODY }, { secret: SECRET, now: NOW + 300_000 }))).toBe('accepted');
    expect(reason(() => verifyResendSignature({ headers: PUBLISHED, body: BODY }, { secret: SECRET, now: NOW + 300_001 }))).toBe('expired');
    expect(reason(() => verifyResendSignature({ headers: PUBLISHED, body: BODY }, { secret: SECRET, now: NOW - 300_001 }))).toBe('expired');
  });

  it('agrees with the svix library on random bodies, ids and secrets, signed or tampered', () => {
    const verdicts = { valid: 0, invalid: 0 };
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 32 }), fc.string(), fc.stringMatching(/^msg_[A-Za-z0-9]{1,20}$/), fc.nat(3), (key, body, id, tamper) => {
        const secret = `whsec_${Buffer.from(key).toString('base64')}`;
        // Signed now: the svix library checks the timestamp against the real clock.
        const at = new Date(Math.floor(Date.now() / 1000) * 1000);
        const headers = { 'svix-id': id, 'svix-timestamp': String(at.getTime() / 1000), 'svix-signature': new Webhook(secret).sign(id, at, body) };
        const sent = tamper === 0 ? `${body}!` : body;
        let expected = true;
        try {
          new Webhook(secret).verify(sent, headers);
        } catch {
          expected = false;
        }
        verdicts[expected ? 'valid' : 'invalid'] += 1;
        expect(reason(() => verifyResendSignature({ headers, body: sent }, { secret, now: at.getTime() })) === 'accepted').toBe(expected);
      }),
      { numRuns: 300 },
    );
    expect(Math.min(verdicts.valid, verdicts.invalid)).toBeGreaterThan(30);
  });

  it('parses a Resend event after verifying it', () => {
    const body = resend.event('email.delivered');
    const headers = { 'svix-id': 'msg_2Lh9KRb', 'svix-timestamp': '1732318872', 'svix-signature': new Webhook(SECRET).sign('msg_2Lh9KRb', new Date(1732318872_000), body) };
    expect(verifyResendSignature({ headers, body }, { secret: SECRET, now: 1732318872_000 })).toBe('msg_2Lh9KRb');
  });
});

describe('verifyTelnyxSignature (Ed25519)', () => {
  const keys = generateKeyPairSync('ed25519');
  const other = generateKeyPairSync('ed25519');
  // The account public key as Telnyx shows it: the raw 32 bytes in base64.
  const raw = (key: typeof keys.publicKey) => Buffer.from((key.export({ format: 'jwk' }) as { x: string }).x, 'base64url').toString('base64');
  const PUBLIC = raw(keys.publicKey);
  const STAMP = '1767862805';
  const NOW = 1767862805_000;
  const headers = (body: string, key = keys.privateKey, timestamp = STAMP) => ({
    'telnyx-timestamp': timestamp,
    'telnyx-signature-ed25519': sign(null, Buffer.from(`${timestamp}|${body}`), key).toString('base64'),
  });

  it('accepts the signed documented callback with the raw or PEM key, and either key while rotating', () => {
    const request = { headers: headers(telnyx.delivered), body: telnyx.delivered };
    expect(reason(() => verifyTelnyxSignature(request, { publicKey: PUBLIC, now: NOW }))).toBe('accepted');
    expect(reason(() => verifyTelnyxSignature(request, { publicKey: keys.publicKey.export({ format: 'pem', type: 'spki' }).toString(), now: NOW }))).toBe('accepted');
    expect(reason(() => verifyTelnyxSignature(request, { publicKey: [raw(other.publicKey), PUBLIC], now: NOW }))).toBe('accepted');
  });

  it('refuses another key, a tampered body, a changed timestamp, and a truncated or non-canonical signature', () => {
    const good = headers(telnyx.delivered);
    expect(reason(() => verifyTelnyxSignature({ headers: good, body: telnyx.delivered }, { publicKey: raw(other.publicKey), now: NOW }))).toBe('mismatch');
    expect(reason(() => verifyTelnyxSignature({ headers: good, body: telnyx.delivered.replace('delivered', 'delivery_failed') }, { publicKey: PUBLIC, now: NOW }))).toBe('mismatch');
    expect(reason(() => verifyTelnyxSignature({ headers: { ...good, 'telnyx-timestamp': '1767862806' }, body: telnyx.delivered }, { publicKey: PUBLIC, now: NOW }))).toBe('mismatch');
    expect(reason(() => verifyTelnyxSignature({ headers: { ...good, 'telnyx-signature-ed25519': good['telnyx-signature-ed25519'].slice(0, -4) }, body: telnyx.delivered }, { publicKey: PUBLIC, now: NOW }))).toBe('malformed');
    expect(reason(() => verifyTelnyxSignature({ headers: { ...good, 'telnyx-signature-ed25519': good['telnyx-signature-ed25519'].replace(/=*$/, '') }, body: telnyx.delivered }, { publicKey: PUBLIC, now: NOW }))).toBe('malformed');
    expect(reason(() => verifyTelnyxSignature({ headers: {}, body: telnyx.delivered }, { publicKey: PUBLIC, now: NOW }))).toBe('missing');
  });

  it('takes a signature 5 minutes old (each attempt is signed when sent) and refuses one a millisecond older', () => {
    const request = { headers: headers(telnyx.delivered), body: telnyx.delivered };
    expect(reason(() => verifyTelnyxSignature(request, { publicKey: PUBLIC, now: NOW + 300_000 }))).toBe('accepted');
    expect(reason(() => verifyTelnyxSignature(request, { publicKey: PUBLIC, now: NOW + 300_001 }))).toBe('expired');
  });

  it('refuses a key that is not Ed25519 as a configuration error', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey;
    expect(() => verifyTelnyxSignature({ headers: headers('{}'), body: '{}' }, { publicKey: rsa, now: NOW })).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG' }));
    expect(() => verifyTelnyxSignature({ headers: headers('{}'), body: '{}' }, { publicKey: 'c2hvcnQ=', now: NOW })).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG' }));
  });
});

describe('verifyPlivoSignature against plivo.validateV3Signature (the official SDK)', () => {
  const TOKEN = 'MjY1YjQ2YmQ0YzFiZmJkMzQ2ZjMwNjM5NDQ0NTQ3';
  const segment = fc.stringMatching(/^[a-zA-Z0-9._~-]{1,8}$/);
  const url = fc
    .tuple(fc.constantFrom('https', 'http'), fc.constantFrom('hooks.example.com', 'hooks.example.com:8443'), fc.array(segment, { maxLength: 3 }), fc.array(fc.tuple(fc.constantFrom('shop', 'a', 'z'), segment), { maxLength: 3 }))
    .map(([scheme, host, path, query]) => `${scheme}://${host}/${path.join('/')}${query.length > 0 ? `?${query.map(([k, v]) => `${k}=${v}`).join('&')}` : ''}`);
  const form = fc.array(fc.tuple(fc.constantFrom('MessageUUID', 'Status', 'ErrorCode', 'To', 'a'), fc.constantFrom('', '1', 'delivered', '50', 'a b', 'x&y')), { maxLength: 6 });

  it('accepts exactly what the SDK accepts: our own signature, the SDK-valid signature, and tampered ones', () => {
    const verdicts = { valid: 0, invalid: 0 };
    fc.assert(
      fc.property(url, form, fc.stringMatching(/^[0-9]{8,20}$/), fc.nat(3), (target, pairs, nonce, tamper) => {
        const body = new URLSearchParams(pairs).toString();
        const params = parseQuery(body);
        // A candidate signature by the right or a wrong token, over the test's own reading of Plivo's string;
        // the SDK judges it (the oracle), and ours must judge it the same.
        const tokens = [TOKEN, 'another-token-entirely-0000000000000000'];
        const token = tokens[tamper % 2]!;
        const headerFor = (signature: string) => ({ 'X-Plivo-Signature-V3': signature, 'X-Plivo-Signature-V3-Nonce': nonce });
        const ourCandidate = createHmac('sha256', token).update(`${plivoBase(target, params)}.${nonce}`).digest('base64');
        const sent = tamper === 3 ? `${body}&Extra=1` : body;
        const sdk = validateV3Signature('POST', target, nonce, TOKEN, ourCandidate, parseQuery(sent));
        verdicts[sdk ? 'valid' : 'invalid'] += 1;
        expect(reason(() => verifyPlivoSignature({ url: target, headers: headerFor(ourCandidate), body: sent }, { authToken: TOKEN })) === 'accepted').toBe(sdk);
      }),
      { numRuns: 1000 },
    );
    expect(verdicts.valid).toBeGreaterThan(200);
    expect(verdicts.invalid).toBeGreaterThan(200);
  });

  it('takes the documented callback signed with either of two tokens, and refuses a missing nonce', () => {
    const body = plivo.callback('delivered');
    const target = 'https://hooks.example.com/webhooks/plivo?shop=kyiv-3';
    const signature = createHmac('sha256', 'old-token').update(`${plivoBase(target, parseQuery(body))}.12345678`).digest('base64');
    expect(validateV3Signature('POST', target, '12345678', 'old-token', signature, parseQuery(body))).toBe(true);
    const headers = { 'X-Plivo-Signature-V3': `bm9wZQ==,${signature}`, 'X-Plivo-Signature-V3-Nonce': '12345678' };
    expect(reason(() => verifyPlivoSignature({ url: target, headers, body }, { authToken: ['new-token', 'old-token'] }))).toBe('accepted');
    expect(reason(() => verifyPlivoSignature({ url: target, headers, body }, { authToken: 'new-token' }))).toBe('mismatch');
    expect(reason(() => verifyPlivoSignature({ url: target, headers: { 'X-Plivo-Signature-V3': signature }, body }, { authToken: 'old-token' }))).toBe('missing');
  });
});

/**
 * The string Plivo signs for a POST, written from Plivo's description for the test's candidate signatures; the
 * SDK's verdict on them, not this function, is the oracle.
 */
function plivoBase(url: string, params: ReturnType<typeof parseQuery>): string {
  const parsed = new URL(url);
  const query = parseQuery(parsed.search.slice(1));
  const sorted = (record: ReturnType<typeof parseQuery>) =>
    Object.keys(record)
      .sort()
      .flatMap((key) => [record[key] ?? []].flat().sort().map((value) => [key, value] as const));
  const queryText = sorted(query).map(([k, v]) => `${k}=${v}`).join('&');
  const post = sorted(params);
  let base = `${parsed.protocol}//${parsed.host}${parsed.pathname === '/' && !url.replace(/^[a-z]+:\/\/[^/]*/, '').startsWith('/') ? '' : parsed.pathname}`;
  if (queryText.length > 0 || post.length > 0) base += `?${queryText}`;
  if (queryText.length > 0 && post.length > 0) base += '.';
  return base + post.map(([k, v]) => k + v).join('');
}

describe('verifyVonageSmsSignature', () => {
  const SECRET = 'vonage-sms-signature-secret';
  const NOW = 1767862805_000;
  // Vonage's "Signing messages" steps, computed here step by step: sort, `&`/`=` → `_`, `&k=v`, hash.
  function signed(params: Record<string, string>, method: 'md5hash' | 'sha256', secret = SECRET): Record<string, string> {
    const text = Object.keys(params)
      .sort()
      .map((key) => `&${key}=${params[key]!.replaceAll('&', '_').replaceAll('=', '_')}`)
      .join('');
    const sig = method === 'md5hash' ? createHash('md5').update(text + secret).digest('hex') : createHmac('sha256', secret).update(text).digest('hex').toUpperCase();
    return { ...params, sig };
  }
  const dlr = { messageId: '0B00000127FDBC63', msisdn: '447547232824', status: 'delivered', 'err-code': '0', price: '0.03330000', 'message-timestamp': '2018-10-25 12:10:29', to: 'A&B=C', timestamp: '1767862805', nonce: 'c1d2e3' };

  it('accepts an MD5-hash and an (uppercase) HMAC-SHA256 signed DLR, as JSON, a form or a query string', () => {
    const md5 = signed(dlr, 'md5hash');
    expect(reason(() => verifyVonageSmsSignature(md5, { signatureSecret: SECRET, method: 'md5hash', now: NOW }))).toBe('accepted');
    expect(reason(() => verifyVonageSmsSignature(JSON.stringify(md5), { signatureSecret: SECRET, method: 'md5hash', now: NOW }))).toBe('accepted');
    const hmac = signed(dlr, 'sha256');
    expect(reason(() => verifyVonageSmsSignature(new URLSearchParams(hmac).toString(), { signatureSecret: ['old', SECRET], method: 'sha256', now: NOW }))).toBe('accepted');
  });

  it('refuses a changed status, another secret, a missing or malformed sig, and a timestamp over a day old', () => {
    const md5 = signed(dlr, 'md5hash');
    expect(reason(() => verifyVonageSmsSignature({ ...md5, status: 'failed' }, { signatureSecret: SECRET, method: 'md5hash', now: NOW }))).toBe('mismatch');
    expect(reason(() => verifyVonageSmsSignature(md5, { signatureSecret: 'other', method: 'md5hash', now: NOW }))).toBe('mismatch');
    expect(reason(() => verifyVonageSmsSignature(dlr, { signatureSecret: SECRET, method: 'md5hash', now: NOW }))).toBe('missing');
    expect(reason(() => verifyVonageSmsSignature({ ...md5, sig: 'abc' }, { signatureSecret: SECRET, method: 'md5hash', now: NOW }))).toBe('malformed');
    expect(reason(() => verifyVonageSmsSignature(md5, { signatureSecret: SECRET, method: 'md5hash', now: NOW + 86_400_000 }))).toBe('accepted');
    expect(reason(() => verifyVonageSmsSignature(md5, { signatureSecret: SECRET, method: 'md5hash', now: NOW + 86_400_001 }))).toBe('expired');
  });
});

describe('verifyBasicAuth', () => {
  const basic = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });
  const credentials = [{ username: 'old', password: 'rotated-out' }, { username: 'infobip-dlr', password: 'p4ss:word' }];

  it('accepts any configured credentials (rotation), a password with a colon included', () => {
    expect(reason(() => verifyBasicAuth('infobip', basic('infobip-dlr', 'p4ss:word'), credentials))).toBe('accepted');
    expect(reason(() => verifyBasicAuth('postmark', new Headers(basic('old', 'rotated-out')), credentials))).toBe('accepted');
  });

  it('refuses other credentials, a missing header, another scheme and non-canonical base64', () => {
    expect(reason(() => verifyBasicAuth('infobip', basic('infobip-dlr', 'guess'), credentials))).toBe('mismatch');
    expect(reason(() => verifyBasicAuth('infobip', {}, credentials))).toBe('missing');
    expect(reason(() => verifyBasicAuth('infobip', { authorization: 'Bearer abc' }, credentials))).toBe('malformed');
    const exact = basic('old', 'rotated-out').authorization;
    expect(reason(() => verifyBasicAuth('infobip', { authorization: exact.replace(/=*$/, '') }, credentials))).toBe(exact.endsWith('=') ? 'malformed' : 'accepted');
    expect(() => verifyBasicAuth('infobip', basic('a', 'b'), [])).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG' }));
  });
});
