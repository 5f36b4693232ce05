import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  SignatureError,
  WebhookError,
  brevoReceipts,
  infobipReceipts,
  mailgunLegacyReceipts,
  plivoReceipts,
  postmarkReceipts,
  resendReceipts,
  telnyxReceipts,
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
  mailgunReceipts,
  sendgridReceipts,
  sesReceipts,
  twilioReceipts,
  viberReceipts,
  vonageMessagesReceipts,
  vonageSmsReceipts,
  whatsappReceipts,
  type Receipt,
} from 'cascade-router/receipts';
import * as samples from './fixtures/samples.js';
import * as more from './fixtures/providers.js';
import { SNS_TEST_CERT } from './fixtures/sns-cert.js';

const STATUSES = new Set(['accepted', 'sent', 'delivered', 'read', 'failed']);

function receiptsOf(output: unknown): readonly Receipt[] {
  if (Array.isArray(output)) return output as Receipt[];
  const result = output as { kind: string; receipts?: Receipt[] };
  return result.kind === 'receipts' ? (result.receipts ?? []) : [];
}

/** Every receipt is well formed: an id, a known status, a finite time, a decimal price. */
function assertReceipts(output: unknown): void {
  for (const receipt of receiptsOf(output)) {
    expect(typeof receipt.providerMessageId).toBe('string');
    expect(receipt.providerMessageId).not.toBe('');
    expect(STATUSES.has(receipt.status)).toBe(true);
    if (receipt.at !== undefined) expect(Number.isFinite(receipt.at)).toBe(true);
    if (receipt.price !== undefined) expect(String(receipt.price)).toMatch(/^\d{1,9}(\.\d{1,6})?$/);
    expect(receipt.providerMessageId.length).toBeLessThanOrEqual(256);
    expect(typeof receipt.provider).toBe('string');
    if (receipt.error?.message !== undefined) expect(receipt.error.message.length).toBeLessThanOrEqual(1024);
    if (receipt.error?.code !== undefined) expect(receipt.error.code.length).toBeLessThanOrEqual(64);
    if (receipt.error?.fault !== undefined) expect(['recipient', 'provider']).toContain(receipt.error.fault);
  }
}

const normalizers: Record<string, (body: unknown) => unknown> = {
  twilio: twilioReceipts,
  sendgrid: sendgridReceipts,
  mailgun: mailgunReceipts,
  ses: sesReceipts,
  whatsapp: whatsappReceipts,
  vonageMessages: vonageMessagesReceipts,
  vonageSms: vonageSmsReceipts,
  infobip: infobipReceipts,
  viber: viberReceipts,
  telnyx: telnyxReceipts,
  plivo: plivoReceipts,
  postmark: postmarkReceipts,
  resend: resendReceipts,
  brevo: brevoReceipts,
  mailgunLegacy: mailgunLegacyReceipts,
};

/** Names every plain object inherits: a lookup table keyed by input must never answer for them. */
const INHERITED = ['constructor', '__proto__', 'toString', 'valueOf', 'hasOwnProperty', 'isPrototypeOf', 'propertyIsEnumerable', 'toLocaleString', '__defineGetter__'];
/** Numeric strings long enough to make a quadratic parser (BigInt, Number of a huge literal) stall. */
const hugeNumber = fc.integer({ min: 1, max: 20_000 }).chain((n) => fc.constantFrom('9'.repeat(n), `0.${'1'.repeat(n)}`, `${'1'.repeat(n)}.5`, `-${'9'.repeat(n)}`));
const hostileValue = fc.oneof(fc.constantFrom(...INHERITED), hugeNumber, fc.jsonValue({ maxDepth: 2 }));
const hostileKey = fc.oneof(fc.constantFrom(...INHERITED), fc.string({ maxLength: 12 }));
const hostileObject = fc.dictionary(hostileKey, hostileValue, { maxKeys: 6 });

/** Real-shaped bodies to mutate, so the property also reaches the deep branches. */
const seeds: unknown[] = [
  samples.sendgridBatch,
  samples.mailgun.delivered,
  samples.mailgun.failedPermanent,
  samples.snsEnvelope(samples.ses.bounce),
  samples.snsEnvelope(samples.ses.delivery),
  samples.whatsapp.failed,
  samples.vonage.submitted,
  samples.vonageSms.delivered,
  samples.infobip.sms,
  samples.infobip.seen,
  samples.viber.failed,
  samples.twilio.whatsapp('read'),
  more.telnyx.delivered,
  more.telnyx.failed(),
  more.postmark.bounce,
  more.resend.event('email.bounced', { bounce: { type: 'Permanent', subType: 'General', message: 'x' } }),
  more.brevo.request,
  Object.fromEntries(new URLSearchParams(more.plivo.callback('undelivered', { ErrorCode: '50' }))),
].map((body) => (typeof body === 'string' ? JSON.parse(body) : body));

type Json = unknown;

/** Replaces the value at one random path of `value` with `replacement`. */
function mutate(value: Json, pick: number, replacement: Json): Json {
  const paths: (string | number)[][] = [];
  const walk = (node: Json, path: (string | number)[]) => {
    paths.push(path);
    if (Array.isArray(node)) node.forEach((child, i) => walk(child, [...path, i]));
    else if (typeof node === 'object' && node !== null) for (const [k, child] of Object.entries(node)) walk(child, [...path, k]);
  };
  walk(value, []);
  const path = paths[pick % paths.length] ?? [];
  if (path.length === 0) return replacement;
  const copy = structuredClone(value) as Record<string | number, Json>;
  let node: Record<string | number, Json> = copy;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, Json>;
  node[path[path.length - 1] as string | number] = replacement;
  return copy;
}

const mutatedSeed = fc
  .tuple(fc.constantFrom(...seeds), fc.nat(), fc.oneof(fc.jsonValue(), hostileValue, hostileObject))
  .map(([seed, pick, replacement]) => mutate(seed, pick, replacement));

const body = fc.oneof(
  fc.string(),
  fc.json(),
  fc.jsonValue(),
  fc.uint8Array({ maxLength: 64 }),
  fc.anything({ withBigInt: true, withNullPrototype: true }),
  mutatedSeed,
  mutatedSeed.map((value) => JSON.stringify(value)),
  hostileObject,
  hostileObject.map((value) => new URLSearchParams(Object.entries(value).map(([k, v]): [string, string] => [k, JSON.stringify(v) ?? ''])).toString()),
);

describe('normalizers on arbitrary input', () => {
  it.each(Object.entries(normalizers))(
    '%s: given any string, bytes or JSON (inherited names as keys and values, huge numeric strings), returns well-formed receipts or throws WebhookError, never anything else',
    (_name, normalize) => {
      fc.assert(
        fc.property(body, fc.boolean(), (input, strict) => {
          let output: unknown;
          try {
            output = (normalize as (body: unknown, options: { strict: boolean }) => unknown)(input, { strict });
          } catch (error) {
            expect(error).toBeInstanceOf(WebhookError);
            expect((error as WebhookError).code).toBe('INVALID_WEBHOOK');
            return;
          }
          assertReceipts(output);
        }),
        { numRuns: 400 },
      );
    },
  );

  it('viber: any unsigned 64-bit message_token in a raw body comes back digit for digit', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.constantFrom('delivered', 'seen', 'failed'), (token, event) => {
        const raw = `{"event":"${event}","timestamp":1595324677891,"message_token":${token},"user_id":"u"}`;
        expect(viberReceipts(raw)[0]?.providerMessageId).toBe(token.toString());
      }),
    );
  });
});

const headerName = fc.oneof(
  fc.constantFrom(...INHERITED),
  fc.constantFrom('X-Twilio-Signature', 'X-Twilio-Webhooks-Signature-Settings', 'X-Hub-Signature-256', 'X-Viber-Content-Signature', 'Authorization',
    'X-Twilio-Email-Event-Webhook-Signature', 'X-Twilio-Email-Event-Webhook-Timestamp', 'telnyx-signature-ed25519', 'telnyx-timestamp',
    'svix-id', 'svix-timestamp', 'svix-signature', 'X-Plivo-Signature-V3', 'X-Plivo-Signature-V3-Nonce'),
);
const headerValue = fc.oneof(fc.string({ maxLength: 80 }), fc.constantFrom(...INHERITED), hugeNumber, fc.constantFrom('Bearer a.b.c', 'Basic YTpi', 'sha256=00', 'v1,AAAA', 'key=k,algorithm=HMAC_SHA256'));
const headers = fc.dictionary(headerName, headerValue, { maxKeys: 6 });
const rawBody = fc.oneof(fc.string(), fc.json(), mutatedSeed.map((value) => JSON.stringify(value)), hostileObject.map((value) => JSON.stringify(value)));

// A 32-byte Ed25519 public key (RFC 8032 test 1) in base64, as Telnyx shows account keys.
const ED25519_KEY = '11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=';
const SENDGRID_KEY = 'MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEDr2LjtURuePQzplybdC+u4CwrqDqBaWjcMMsTbhdbcwHBcepxo7yAQGhHPTnlvFYPAZFceEu/1FwCM/QmGUhA==';

const verifiers: Record<string, (headers: Record<string, unknown>, body: string) => unknown> = {
  twilio: (h, b) => verifyTwilioSignature({ url: 'https://hooks.example.com/twilio', headers: h as never, body: b }, { authToken: 't', sharedKeySecret: 's' }),
  whatsapp: (h, b) => verifyWhatsAppSignature({ headers: h as never, body: b }, { appSecret: 's' }),
  viber: (h, b) => verifyViberSignature({ headers: h as never, body: b }, { authToken: 's' }),
  sendgrid: (h, b) => verifySendGridSignature({ headers: h as never, body: b }, { publicKey: SENDGRID_KEY }),
  mailgun: (_h, b) => verifyMailgunSignature(b, { signingKey: 's', parentSigningKey: 'p' }),
  vonage: (h, b) => verifyVonageSignature({ headers: h as never, body: b }, { signatureSecret: 's' }),
  vonageSms: (_h, b) => verifyVonageSmsSignature(b, { signatureSecret: 's', method: 'sha256' }),
  telnyx: (h, b) => verifyTelnyxSignature({ headers: h as never, body: b }, { publicKey: ED25519_KEY }),
  resend: (h, b) => verifyResendSignature({ headers: h as never, body: b }, { secret: 'whsec_c2VjcmV0' }),
  plivo: (h, b) => verifyPlivoSignature({ url: 'https://hooks.example.com/plivo', headers: h as never, body: b }, { authToken: 's' }),
  basic: (h) => verifyBasicAuth('infobip', h as never, { username: 'u', password: 'p' }),
};

describe('verifiers on arbitrary requests', () => {
  it.each(Object.entries(verifiers))(
    '%s: given any headers (inherited names as names and values, huge numeric strings) and body, throws SignatureError and nothing else',
    (_name, verify) => {
      fc.assert(
        fc.property(headers, rawBody, (h, b) => {
          expect(() => verify(h, b)).toThrow(SignatureError);
        }),
        { numRuns: 300 },
      );
    },
  );

  it('sns: given any JSON or mutated SNS envelope (inherited names as Type and as keys), rejects with SignatureError and nothing else', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(rawBody, fc.record({ Type: fc.constantFrom(...INHERITED, 'Notification'), SignatureVersion: fc.constantFrom('1', '2', 'constructor'), Signature: hostileValue, SigningCertURL: fc.constantFrom('https://sns.us-east-1.amazonaws.com/a.pem', 'toString'), TopicArn: fc.constantFrom('arn:t', '__proto__') }).map((v) => JSON.stringify(v))), async (b) => {
        await expect(verifySnsSignature(b, { certificate: SNS_TEST_CERT, topicArns: ['arn:t'] })).rejects.toBeInstanceOf(SignatureError);
      }),
      { numRuns: 300 },
    );
  });
});
