// Every signer of cascade-router/testing, round-tripped through the library's verifier and, where the
// repository has one, through the provider's official SDK (twilio, plivo, svix): the SDK is the oracle that
// the request looks like what the provider sends, the verifier that the library accepts it. Each signer is
// also shown to be refused with a wrong secret or a changed body, so the round trip is not vacuous.
import { parse as parseQuery } from 'node:querystring';
import fc from 'fast-check';
import { validateV3Signature } from 'plivo/dist/utils/v3Security.js';
import { Webhook } from 'svix';
import { validateRequest, validateRequestWithBody } from 'twilio/lib/webhooks/webhooks.js';
import { describe, expect, it } from 'vitest';
import {
  SignatureError,
  mailgunReceipts,
  sendgridReceipts,
  sesReceipts,
  twilioReceipts,
  verifyBasicAuth,
  verifyMailgunSignature,
  verifyPlivoSignature,
  verifyResendSignature,
  verifySendGridSignature,
  verifySnsSignature,
  verifyTelnyxSignature,
  verifyTwilioSignature,
  verifyViberSignature,
  verifyVonageSignature,
  verifyVonageSmsSignature,
  verifyWhatsAppSignature,
} from 'cascade-router/receipts';
import {
  basicAuthWebhook,
  resendSigningSecret,
  sendGridKeyPair,
  signMailgunWebhook,
  signPlivoWebhook,
  signResendWebhook,
  signSendGridWebhook,
  signTelnyxWebhook,
  signTwilioWebhook,
  signViberWebhook,
  signVonageSmsWebhook,
  signVonageWebhook,
  signWhatsAppWebhook,
  snsSigner,
  telnyxKeyPair,
} from 'cascade-router/testing';
import { ses } from '../receipts/fixtures/samples.js';

const NOW = Date.UTC(2026, 0, 8, 10, 0);

/** The verifier's verdict: 'accepted' or the SignatureError's reason. */
async function verdict(check: () => unknown): Promise<string> {
  try {
    await check();
    return 'accepted';
  } catch (error) {
    if (error instanceof SignatureError) return error.reason;
    throw error;
  }
}

const tampered = (body: string) => body.replace(/delivered/, 'failed');

// Text a property draws parameter names and values from: any printable text, and some URL and form specials.
const text = fc.string({ unit: fc.constantFrom(...[...'aZ09 &=?+%/.:é€😀']), maxLength: 12 });

describe('signTwilioWebhook', () => {
  it('a signed status callback is accepted by twilio.validateRequest (the official SDK) and by verifyTwilioSignature, and reads as a receipt', async () => {
    const params = { MessageSid: 'SM1342fe1b2c904d1ab04f0fc7a58abca9', MessageStatus: 'delivered', AccountSid: 'AC123', To: '+15558675310' };
    const request = signTwilioWebhook({ url: 'https://example.com/twilio/status?tenant=7', authToken: 'token-1', params });
    expect(validateRequest('token-1', request.headers['X-Twilio-Signature']!, request.url, parseQuery(request.body) as Record<string, string>)).toBe(true);
    expect(await verdict(() => verifyTwilioSignature(request, { authToken: 'token-1' }))).toBe('accepted');
    expect(await verdict(() => verifyTwilioSignature(request, { authToken: 'token-2' }))).toBe('mismatch');
    expect(await verdict(() => verifyTwilioSignature({ ...request, body: tampered(request.body) }, { authToken: 'token-1' }))).toBe('mismatch');
    expect(twilioReceipts(request.body)).toMatchObject([{ providerMessageId: params.MessageSid, status: 'delivered' }]);
  });

  it('for any parameters (repeated names too), the SDK and the verifier accept what the signer makes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.dictionary(text.filter((k) => k !== '' && k !== '__proto__'), fc.oneof(text, fc.array(text, { minLength: 1, maxLength: 3 }))), async (params) => {
        const request = signTwilioWebhook({ url: 'https://example.com/hook', authToken: 'secret', params });
        const parsed = parseQuery(request.body) as Record<string, string | string[]>;
        expect(validateRequest('secret', request.headers['X-Twilio-Signature']!, request.url, parsed)).toBe(true);
        expect(await verdict(() => verifyTwilioSignature(request, { authToken: 'secret' }))).toBe('accepted');
      }),
      { numRuns: 150 },
    );
  });

  it('a JSON webhook carries bodySHA256 in the URL: validateRequestWithBody and the verifier accept it, a changed body is refused', async () => {
    const request = signTwilioWebhook({ url: 'https://example.com/twilio/events', authToken: 'token-1', json: { status: 'delivered', sid: 'SM1' } });
    expect(request.url).toMatch(/\?bodySHA256=[0-9a-f]{64}$/);
    expect(validateRequestWithBody('token-1', request.headers['X-Twilio-Signature']!, request.url, request.body)).toBe(true);
    expect(await verdict(() => verifyTwilioSignature(request, { authToken: 'token-1' }))).toBe('accepted');
    expect(await verdict(() => verifyTwilioSignature({ ...request, body: tampered(request.body) }, { authToken: 'token-1' }))).toBe('mismatch');
  });

  it('a SharedKey webhook names its key and algorithm, and verifies with the SharedKey secret only', async () => {
    const request = signTwilioWebhook({ url: 'https://example.com/t', authToken: 'shared-secret', params: { a: '1' }, sharedKey: { id: 'K1', algorithm: 'HMAC_SHA256' } });
    expect(request.headers['X-Twilio-Webhooks-Signature-Settings']).toBe('key=K1,algorithm=HMAC_SHA256');
    expect(await verdict(() => verifyTwilioSignature(request, { authToken: 'auth', sharedKeySecret: 'shared-secret' }))).toBe('accepted');
    expect(await verdict(() => verifyTwilioSignature(request, { authToken: 'shared-secret' }))).toBe('untrusted');
  });
});

describe('signPlivoWebhook', () => {
  it('for any parameters and query, plivo.validateV3Signature (the official SDK) and verifyPlivoSignature accept what the signer makes', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.dictionary(text.filter((k) => k !== '' && k !== '__proto__'), text, { maxKeys: 5 }),
        fc.dictionary(fc.stringMatching(/^[a-z]{1,4}$/), fc.stringMatching(/^[a-z0-9]{0,4}$/), { maxKeys: 2 }),
        async (params, query) => {
          const search = new URLSearchParams(query).toString();
          const url = `https://example.com/plivo/status${search === '' ? '' : `?${search}`}`;
          const request = signPlivoWebhook({ url, authToken: 'plivo-token', params, nonce: '12345678901234567890' });
          const sdk = validateV3Signature('POST', url, request.headers['X-Plivo-Signature-V3-Nonce']!, 'plivo-token', request.headers['X-Plivo-Signature-V3']!, parseQuery(request.body));
          expect(sdk).toBe(true);
          expect(await verdict(() => verifyPlivoSignature(request, { authToken: 'plivo-token' }))).toBe('accepted');
          expect(await verdict(() => verifyPlivoSignature(request, { authToken: 'other' }))).toBe('mismatch');
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('signResendWebhook', () => {
  it('the svix SDK (Webhook.verify) and verifyResendSignature accept what the signer makes; another secret or a changed body is refused', async () => {
    const secret = resendSigningSecret();
    const body = { type: 'email.delivered', created_at: '2026-01-08T10:00:00.000Z', data: { email_id: 'e-1' } };
    const request = signResendWebhook(body, { secret, now: Date.now() });
    expect(() => new Webhook(secret).verify(request.body, request.headers)).not.toThrow();
    expect(() => new Webhook(secret).verify(tampered(request.body), request.headers)).toThrow();
    expect(await verdict(() => verifyResendSignature(request, { secret }))).toBe('accepted');
    expect(await verdict(() => verifyResendSignature(request, { secret: resendSigningSecret() }))).toBe('mismatch');
    expect(await verdict(() => verifyResendSignature({ ...request, body: tampered(request.body) }, { secret }))).toBe('mismatch');
  });
});

describe('signers checked by the library verifier (no official SDK in the repository)', () => {
  it('SendGrid: a generated key pair; the public key as SendGrid shows it verifies, another does not, the timestamp is the signed time', async () => {
    const keys = sendGridKeyPair();
    const events = [{ email: 'a@example.com', event: 'delivered', sg_message_id: 'abc.filter0001.1.2.3', timestamp: NOW / 1000 }];
    const request = signSendGridWebhook(events, { privateKey: keys.privateKey, now: NOW });
    expect(request.headers['X-Twilio-Email-Event-Webhook-Timestamp']).toBe(String(NOW / 1000));
    expect(await verdict(() => verifySendGridSignature(request, { publicKey: keys.publicKey, now: NOW }))).toBe('accepted');
    expect(await verdict(() => verifySendGridSignature(request, { publicKey: sendGridKeyPair().publicKey, now: NOW }))).toBe('mismatch');
    expect(await verdict(() => verifySendGridSignature({ ...request, body: tampered(request.body) }, { publicKey: keys.publicKey, now: NOW }))).toBe('mismatch');
    expect(sendgridReceipts(request.body)).toMatchObject([{ providerMessageId: 'abc', status: 'delivered' }]);
  });

  it('Mailgun: the signature and parent-signature verify with their keys, the token comes back, a wrong key is refused', async () => {
    const eventData = { event: 'delivered', timestamp: NOW / 1000, message: { headers: { 'message-id': 'm-1@example.com' } } };
    const request = signMailgunWebhook(eventData, { signingKey: 'key-1', parentSigningKey: 'parent-1', now: NOW });
    expect(await verdict(() => verifyMailgunSignature(request.body, { signingKey: 'key-1', now: NOW }))).toBe('accepted');
    expect(verifyMailgunSignature(request.body, { parentSigningKey: 'parent-1', now: NOW })).toBe(request.token);
    expect(await verdict(() => verifyMailgunSignature(request.body, { signingKey: 'key-2', now: NOW }))).toBe('mismatch');
    expect(mailgunReceipts(request.body)).toMatchObject([{ status: 'delivered' }]);
  });

  it('Amazon SNS: a throwaway certificate made now; SignatureVersion 1 and 2, a subscription handshake; another signer\'s certificate is refused', async () => {
    const now = Date.now();
    const signer = snsSigner({ now });
    for (const signatureVersion of ['1', '2'] as const) {
      const request = signer.sign(ses.delivery, { signatureVersion, subject: 'Amazon SES Email Event Notification', now });
      expect(await verdict(() => verifySnsSignature(request.body, { ...signer.options, now }))).toBe('accepted');
      expect(sesReceipts(request.body)).toMatchObject({ kind: 'receipts', receipts: [{ status: 'delivered' }] });
    }
    const handshake = signer.sign('You have chosen to subscribe', { type: 'SubscriptionConfirmation', now });
    expect(handshake.headers['x-amz-sns-message-type']).toBe('SubscriptionConfirmation');
    expect(await verdict(() => verifySnsSignature(handshake.body, { ...signer.options, now }))).toBe('accepted');
    const other = snsSigner({ now });
    expect(await verdict(() => verifySnsSignature(signer.sign(ses.delivery, { now }).body, { ...other.options, topicArns: [signer.topicArn], now }))).toBe('mismatch');
  });

  it('Meta (WhatsApp) and Viber: HMAC-SHA256 of the body with the app secret / bot token', async () => {
    const body = { object: 'whatsapp_business_account', entry: [] };
    const meta = signWhatsAppWebhook(body, { appSecret: 'app-secret' });
    expect(await verdict(() => verifyWhatsAppSignature(meta, { appSecret: 'app-secret' }))).toBe('accepted');
    expect(await verdict(() => verifyWhatsAppSignature(meta, { appSecret: 'other' }))).toBe('mismatch');
    const viber = signViberWebhook({ event: 'delivered', message_token: 1 }, { authToken: 'bot-token' });
    expect(await verdict(() => verifyViberSignature(viber, { authToken: 'bot-token' }))).toBe('accepted');
    expect(await verdict(() => verifyViberSignature({ ...viber, body: viber.body.replace('1', '2') }, { authToken: 'bot-token' }))).toBe('mismatch');
  });

  it('Vonage Messages API: an HS256 JWT with the body hash and the application id; another secret or a changed body is refused', async () => {
    const request = signVonageWebhook({ message_uuid: 'u-1', status: 'delivered' }, { signatureSecret: 'sig-secret', applicationId: 'app-1', now: NOW });
    const claims = verifyVonageSignature(request, { signatureSecret: 'sig-secret', applicationId: 'app-1', now: NOW });
    expect([claims.iat, claims.application_id]).toEqual([NOW / 1000, 'app-1']);
    expect(await verdict(() => verifyVonageSignature(request, { signatureSecret: 'other', now: NOW }))).toBe('mismatch');
    expect(await verdict(() => verifyVonageSignature({ ...request, body: tampered(request.body) }, { signatureSecret: 'sig-secret', now: NOW }))).toBe('mismatch');
  });

  it('Vonage SMS API: the sig parameter for every signature method', async () => {
    const params = { messageId: '0B00000127FDBC63', msisdn: '447547232824', status: 'delivered', 'err-code': '0', 'message-timestamp': '2018-10-25 12:10:29' };
    for (const method of ['md5hash', 'md5', 'sha1', 'sha256', 'sha512'] as const) {
      const request = signVonageSmsWebhook(params, { signatureSecret: 's3cret', method, now: NOW });
      expect(await verdict(() => verifyVonageSmsSignature(request.body, { signatureSecret: 's3cret', method, now: NOW }))).toBe('accepted');
      expect(await verdict(() => verifyVonageSmsSignature(request.body, { signatureSecret: 'other', method, now: NOW }))).toBe('mismatch');
    }
  });

  it('Telnyx: a generated Ed25519 key pair, the public key as Telnyx shows it (32 bytes in base64)', async () => {
    const keys = telnyxKeyPair();
    expect(Buffer.from(keys.publicKey, 'base64')).toHaveLength(32);
    const request = signTelnyxWebhook({ data: { event_type: 'message.finalized' } }, { privateKey: keys.privateKey, now: NOW });
    expect(await verdict(() => verifyTelnyxSignature(request, { publicKey: keys.publicKey, now: NOW }))).toBe('accepted');
    expect(await verdict(() => verifyTelnyxSignature(request, { publicKey: telnyxKeyPair().publicKey, now: NOW }))).toBe('mismatch');
  });

  it('Basic auth providers (Infobip, Postmark, Brevo): the credentials verify, others do not', async () => {
    const request = basicAuthWebhook({ results: [] }, { username: 'hook', password: 'p@ss:word' });
    expect(await verdict(() => verifyBasicAuth('infobip', request.headers, { username: 'hook', password: 'p@ss:word' }))).toBe('accepted');
    expect(await verdict(() => verifyBasicAuth('postmark', request.headers, { username: 'hook', password: 'other' }))).toBe('mismatch');
  });
});
