import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SignatureError, verifyTwilioSignature } from 'cascade-router/receipts';
import { twilio } from './fixtures/samples.js';

// Twilio's worked example (docs "Webhooks security"; also in twilio-php's validation guide): token 12345.
const URL = 'https://mycompany.com/myapp.php?foo=1&bar=2';
const PARAMS = { CallSid: 'CA1234567890ABCDE', Caller: '+12349013030', Digits: '1234', From: '+12349013030', To: '+18005551212' };
const SIGNATURE = '0/KCTR6DLpKmkAf8muzZqo1nDgQ=';
const AUTH = { authToken: '12345' };

function rejection(run: () => void): SignatureError {
  try {
    run();
  } catch (error) {
    if (error instanceof SignatureError) return error;
    throw error;
  }
  throw new Error('expected a SignatureError');
}

describe('verifyTwilioSignature', () => {
  it("accepts Twilio's published vector, as a parsed object, a raw form body (any order) or URLSearchParams", () => {
    const headers = { 'x-twilio-signature': SIGNATURE };
    expect(() => verifyTwilioSignature({ url: URL, headers, body: PARAMS }, AUTH)).not.toThrow();
    const raw = 'To=%2B18005551212&CallSid=CA1234567890ABCDE&Digits=1234&From=%2B12349013030&Caller=%2B12349013030';
    expect(() => verifyTwilioSignature({ url: URL, headers, body: raw }, AUTH)).not.toThrow();
    expect(() => verifyTwilioSignature({ url: URL, headers: new Headers(headers), body: new URLSearchParams(raw) }, AUTH)).not.toThrow();
  });

  it('accepts the URL with the default port Twilio may have signed', () => {
    const signed = createHmac('sha1', '12345').update(`https://mycompany.com:443/myapp.php?foo=1&bar=2${'CallSid'}CA1`).digest('base64');
    expect(() => verifyTwilioSignature({ url: URL, headers: { 'X-Twilio-Signature': signed }, body: { CallSid: 'CA1' } }, AUTH)).not.toThrow();
  });

  it('rejects a tampered parameter, another URL, another token and a truncated signature', () => {
    const headers = { 'X-Twilio-Signature': SIGNATURE };
    for (const [request, options] of [
      [{ url: URL, headers, body: { ...PARAMS, Digits: '9999' } }, AUTH],
      [{ url: 'https://mycompany.com/myapp.php?foo=1&bar=3', headers, body: PARAMS }, AUTH],
      [{ url: URL, headers, body: PARAMS }, { authToken: '54321' }],
      [{ url: URL, headers: { 'X-Twilio-Signature': SIGNATURE.slice(0, -2) }, body: PARAMS }, AUTH],
    ] as const) {
      const error = rejection(() => verifyTwilioSignature(request, options));
      expect(error).toMatchObject({ code: 'INVALID_SIGNATURE', provider: 'twilio', reason: 'mismatch' });
    }
  });

  it('rejects a forged status callback signed with a guessed token', () => {
    const forged = createHmac('sha1', 'guess').update(`https://example.com/twilio${twilio.smsSent.split('&').sort().join('').replaceAll('=', '')}`).digest('base64');
    const error = rejection(() =>
      verifyTwilioSignature({ url: 'https://example.com/twilio', headers: { 'X-Twilio-Signature': forged }, body: twilio.smsSent }, AUTH),
    );
    expect(error.message).toBe('twilio: The `X-Twilio-Signature` does not match the URL and parameters');
  });

  it('names the missing header', () => {
    const error = rejection(() => verifyTwilioSignature({ url: URL, headers: {}, body: PARAMS }, AUTH));
    expect(error).toMatchObject({ reason: 'missing', message: 'twilio: Missing the `X-Twilio-Signature` header: the request is not signed' });
  });

  it('checks JSON bodies against the signed bodySHA256 query parameter', () => {
    const body = '{"MessageSid":"SM1","MessageStatus":"delivered"}';
    const url = `https://example.com/hook?bodySHA256=${createHash('sha256').update(body).digest('hex')}`;
    const signature = createHmac('sha1', '12345').update(url).digest('base64');
    const headers = { 'X-Twilio-Signature': signature };
    expect(() => verifyTwilioSignature({ url, headers, body }, AUTH)).not.toThrow();
    const error = rejection(() => verifyTwilioSignature({ url, headers, body: body.replace('delivered', 'failed') }, AUTH));
    expect(error.message).toBe('twilio: The body does not match the signed `bodySHA256` query parameter');
  });

  it('refuses an empty auth token as a configuration error', () => {
    expect(() => verifyTwilioSignature({ url: URL, headers: { 'X-Twilio-Signature': SIGNATURE }, body: PARAMS }, { authToken: '' })).toThrow(
      expect.objectContaining({ code: 'INVALID_CONFIG' }),
    );
  });
});
