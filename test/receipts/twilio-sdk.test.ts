// Differential test: Twilio's official SDK (`twilio` 6.x, lib/webhooks) is the oracle of what a valid
// X-Twilio-Signature is. Thousands of random requests (duplicate form values, inherited property names,
// default-port variants written both ways, a trailing `?`, non-ASCII paths, quotes in the query, mangled
// signatures) must get the same verdict from verifyTwilioSignature as from the SDK's validateRequest.
import { createHash } from 'node:crypto';
import { parse as parseQuery } from 'node:querystring';
import fc from 'fast-check';
import { getExpectedTwilioSignature, validateRequest, validateRequestWithBody } from 'twilio/lib/webhooks/webhooks.js';
import { describe, expect, it } from 'vitest';
import { SignatureError, verifyTwilioSignature } from 'cascade-router/receipts';

const TOKEN = '9f2c4e6a8b0d1f3e5a7c9b1d3f5e7a9c';
const SHARED = 'webhooks-sharedkey-secret-1';

/** Our verdict: true, false for a SignatureError, anything else is a failure of the property. */
function ours(url: string, headers: Record<string, string>, body: unknown, options: Parameters<typeof verifyTwilioSignature>[1]): boolean {
  try {
    verifyTwilioSignature({ url, headers, body }, options);
    return true;
  } catch (error) {
    if (error instanceof SignatureError) return false;
    throw error;
  }
}

/** The SDK's verdict; it throws a TypeError on some URLs after the as-written ones fail: that is a refusal. */
function sdk(run: () => boolean): boolean {
  try {
    return run();
  } catch {
    return false;
  }
}

const segment = fc.stringMatching(/^[a-zA-Z0-9._~-]{0,6}$/);
const odd = fc.constantFrom('é', 'жито', '✓', "'", '"', ' ', '%20', '%27', '+', '%E2%9C%93', '(', ')', '!', '*');
const pathPart = fc.array(fc.oneof(segment, odd), { maxLength: 3 }).map((parts) => parts.join(''));
const path = fc.array(pathPart, { minLength: 1, maxLength: 3 }).map((parts) => `/${parts.join('/')}`);
const queryValue = fc.oneof(segment, odd, fc.constantFrom("it's", 'a"b', 'a b', 'ж', ''));
const query = fc.oneof(
  fc.constant(''),
  fc.constant('?'),
  fc.array(fc.tuple(fc.constantFrom('shop', 'k', 'ref', 'q'), queryValue), { minLength: 1, maxLength: 3 }).map((pairs) => `?${pairs.map(([k, v]) => `${k}=${v}`).join('&')}`),
);
const origin = fc.tuple(
  fc.constantFrom('https', 'http', 'HTTPS'),
  fc.constantFrom('hooks.example.com', 'Hooks.Example.com', 'a.b.example.org', 'user:pw@hooks.example.com'),
  fc.constantFrom('', ':443', ':80', ':8443'),
);
const url = fc.tuple(origin, path, query).map(([[scheme, host, port], p, q]) => `${scheme}://${host}${port}${p}${q}`);

// Few names and values, so duplicates (`a=1&a=1`, `ErrorCode=&ErrorCode=`) are frequent; inherited names too.
const name = fc.constantFrom('MessageSid', 'MessageStatus', 'ErrorCode', 'To', 'a', '__proto__', 'constructor', 'toString', 'Ключ', 'hasOwnProperty');
const value = fc.constantFrom('', '1', 'delivered', '+380671234567', "it's", 'a&b=c', 'ж', 'constructor', '30003');
const form = fc.array(fc.tuple(name, value), { maxLength: 8 }).map((pairs) => new URLSearchParams(pairs).toString());

/** The URL Twilio signed, as configured: the one requested, the other default-port spelling, or a stranger. */
function signedUrl(requested: string, how: number, other: string): string {
  const match = /^([a-zA-Z]+:\/\/)([^/?#]*)(.*)$/.exec(requested);
  if (match === null) return requested;
  const [, scheme = '', authority = '', rest = ''] = match;
  const https = scheme.toLowerCase() === 'https://';
  const bare = authority.replace(/:\d+$/, '');
  switch (how % 4) {
    case 0:
      return requested;
    case 1:
      return `${scheme}${bare}${https ? ':443' : ':80'}${rest}`;
    case 2:
      return `${scheme}${bare}${rest}`;
    default:
      return other;
  }
}

/** Signatures that are not the genuine one, byte for byte: an attacker's variants of it. */
function mangle(signature: string, how: number): string {
  switch (how % 12) {
    case 1:
      return signature.replace(/=+$/, '');
    case 2:
      return `${signature}AA==`;
    case 3:
      return ` ${signature}x`;
    case 4: {
      // A different last base64 digit that decodes to the same bytes (the padding bits differ).
      const last = signature.length - 2;
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
      const at = alphabet.indexOf(signature[last] ?? 'A');
      return signature.slice(0, last) + (alphabet[at ^ 1] ?? 'A') + signature.slice(last + 1);
    }
    case 5:
      return signature.toLowerCase();
    default:
      return signature;
  }
}

describe('verifyTwilioSignature against twilio.validateRequest (the official SDK)', () => {
  it('agrees with the SDK on every random form request: URL variants, duplicate values, inherited names, mangled signatures', () => {
    const verdicts = { valid: 0, invalid: 0 };
    fc.assert(
      fc.property(url, url, fc.nat(), fc.nat(), form, (requested, other, how, mangling, body) => {
        const params = parseQuery(body);
        const signature = mangle(getExpectedTwilioSignature(TOKEN, signedUrl(requested, how, other), params), mangling);
        const expected = sdk(() => validateRequest(TOKEN, signature, requested, parseQuery(body)));
        verdicts[expected ? 'valid' : 'invalid'] += 1;
        expect(ours(requested, { 'X-Twilio-Signature': signature }, body, { authToken: TOKEN })).toBe(expected);
        // The same request, with the form given already parsed or as URLSearchParams.
        expect(ours(requested, { 'X-Twilio-Signature': signature }, parseQuery(body), { authToken: TOKEN })).toBe(expected);
        expect(ours(requested, { 'X-Twilio-Signature': signature }, new URLSearchParams(body), { authToken: TOKEN })).toBe(expected);
      }),
      { numRuns: 3000 },
    );
    // Both verdicts are well represented, so agreement is not agreement on refusing everything.
    expect(verdicts.valid).toBeGreaterThan(500);
    expect(verdicts.invalid).toBeGreaterThan(500);
  });

  it('agrees with the SDK on SharedKey webhooks (X-Twilio-Webhooks-Signature-Settings, HMAC_SHA256 or HMAC_SHA1)', () => {
    fc.assert(
      fc.property(url, fc.nat(), fc.constantFrom('HMAC_SHA256', 'HMAC_SHA1', 'hmac_sha256'), form, (requested, how, algorithm, body) => {
        const signature = getExpectedTwilioSignature(SHARED, signedUrl(requested, how, 'https://other.example.com/'), parseQuery(body), algorithm);
        const headers = { 'X-Twilio-Signature': signature, 'X-Twilio-Webhooks-Signature-Settings': `key=webhooks_sharedkey_1,algorithm=${algorithm}` };
        const expected = sdk(() => validateRequest(SHARED, signature, requested, parseQuery(body), algorithm));
        expect(ours(requested, headers, body, { authToken: TOKEN, sharedKeySecret: [SHARED] })).toBe(expected);
      }),
      { numRuns: 1000 },
    );
  });

  it('agrees with the SDK on JSON webhooks signed with bodySHA256, including a tampered body and an uppercase hash', () => {
    fc.assert(
      fc.property(url, fc.json(), fc.nat(), (base, json, how) => {
        const hash = createHash('sha256').update(json).digest('hex');
        const withHash = `${base}${base.includes('?') ? '&' : '?'}bodySHA256=${how % 5 === 0 ? hash.toUpperCase() : hash}`;
        const signature = getExpectedTwilioSignature(TOKEN, withHash, {});
        const body = how % 3 === 0 ? `${json} ` : json;
        const expected = sdk(() => validateRequestWithBody(TOKEN, signature, withHash, body));
        expect(ours(withHash, { 'X-Twilio-Signature': signature }, body, { authToken: TOKEN })).toBe(expected);
      }),
      { numRuns: 500 },
    );
  });

  it("accepts a callback to a URL configured with :443 when the request URL has none, as the SDK does (the issue's lost receipt)", () => {
    const body = 'MessageSid=SM1&MessageStatus=delivered&ErrorCode=&ErrorCode=';
    const signature = getExpectedTwilioSignature(TOKEN, 'https://a.example.com:443/p?x=it%27s', parseQuery(body));
    expect(validateRequest(TOKEN, signature, 'https://a.example.com/p?x=it%27s', parseQuery(body))).toBe(true);
    expect(ours('https://a.example.com/p?x=it%27s', { 'X-Twilio-Signature': signature }, body, { authToken: TOKEN })).toBe(true);
  });

  it('takes any of several auth tokens (rotation) and refuses a SharedKey webhook when no SharedKey secret is configured', () => {
    const body = 'MessageSid=SM1&MessageStatus=delivered';
    const signature = getExpectedTwilioSignature('new-token', 'https://a.example.com/p', parseQuery(body));
    expect(ours('https://a.example.com/p', { 'X-Twilio-Signature': signature }, body, { authToken: ['old-token', 'new-token'] })).toBe(true);
    expect(ours('https://a.example.com/p', { 'X-Twilio-Signature': signature }, body, { authToken: ['old-token'] })).toBe(false);
    const headers = { 'X-Twilio-Signature': signature, 'X-Twilio-Webhooks-Signature-Settings': 'key=k1,algorithm=HMAC_SHA256' };
    expect(() => verifyTwilioSignature({ url: 'https://a.example.com/p', headers, body }, { authToken: 'new-token' })).toThrow(
      expect.objectContaining({ reason: 'untrusted' }),
    );
    const unknown = { ...headers, 'X-Twilio-Webhooks-Signature-Settings': 'key=k1,algorithm=HMAC_MD5' };
    expect(() => verifyTwilioSignature({ url: 'https://a.example.com/p', headers: unknown, body }, { authToken: 'new-token', sharedKeySecret: 's' })).toThrow(
      expect.objectContaining({ reason: 'malformed' }),
    );
  });
});
