// Issue #14's findings, each pinned: inherited property names, the SNS topic and certificate URL policy,
// bounded input (prices, ids, descriptions, batches), SendGrid ids with dots, Vonage exp/nbf, and the HTTP
// answer per provider.
import { X509Certificate, createHash, createHmac, sign } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { InvalidReceiptError, createRouter } from 'cascade-router';
import {
  MAX_CODE_LENGTH,
  MAX_ID_LENGTH,
  MAX_MESSAGE_LENGTH,
  SignatureError,
  WebhookError,
  checkSigningCertUrl,
  infobipReceipts,
  sendGridMessageId,
  sendgridReceipts,
  verifySnsSignature,
  verifyVonageSignature,
  vonageSmsReceipts,
  webhookRejection,
  whatsappReceipts,
} from 'cascade-router/receipts';
import { SNS_TEST_CERT, SNS_TEST_KEY } from './fixtures/sns-cert.js';
import { ses, vonage } from './fixtures/samples.js';

const NOW = Date.parse(new X509Certificate(SNS_TEST_CERT).validFrom) + 86_400_000;
const TOPIC = 'arn:aws:sns:us-east-1:123456789012:ses-events';
const CERT_URL = 'https://sns.us-east-1.amazonaws.com/SimpleNotificationService-9c6465fa7f48f5cacd23014631ec1136.pem';

function snsMessage(extra: Record<string, unknown> = {}): Record<string, unknown> {
  const message: Record<string, string> = {
    Type: 'Notification',
    MessageId: '19ba9823-d7f2-53c1-860e-cb10e0d13dfc',
    TopicArn: TOPIC,
    Message: ses.delivery,
    Timestamp: new Date(NOW - 1_000).toISOString(),
  };
  const canonical = ['Message', 'MessageId', 'Timestamp', 'TopicArn', 'Type'].map((k) => `${k}\n${message[k]}\n`).join('');
  return { ...message, SignatureVersion: '2', Signature: sign('sha256', Buffer.from(canonical), SNS_TEST_KEY).toString('base64'), SigningCertURL: CERT_URL, ...extra };
}

async function snsReason(body: unknown, options: Parameters<typeof verifySnsSignature>[1]): Promise<string> {
  try {
    await verifySnsSignature(body, options);
    return 'accepted';
  } catch (error) {
    if (error instanceof SignatureError) return error.reason;
    if (error instanceof Error && 'code' in error) return String(error.code);
    throw error;
  }
}

describe('inherited property names never reach a lookup table', () => {
  it.each(['constructor', '__proto__', 'toString', 'valueOf', 'hasOwnProperty', 'isPrototypeOf'])(
    'verifySnsSignature refuses Type=%s with a typed SignatureError, before any certificate is asked for',
    async (type) => {
      const getCertificate = vi.fn(async () => SNS_TEST_CERT);
      const body = JSON.stringify(snsMessage({ Type: type }));
      await expect(verifySnsSignature(body, { getCertificate, topicArns: [TOPIC], now: NOW })).rejects.toMatchObject({ code: 'INVALID_SIGNATURE', reason: 'malformed' });
      expect(getCertificate).not.toHaveBeenCalled();
    },
  );

  it('normalizers take inherited names as statuses and as keys without a raw TypeError', () => {
    for (const name of ['constructor', '__proto__', 'toString']) {
      const reported: string[] = [];
      const batch = `[{"event":"${name}","sg_message_id":"a.filter1"},{"event":"delivered","sg_message_id":"b.filter1","${name}":1}]`;
      expect(sendgridReceipts(batch, { onUnknown: (e) => reported.push(e.status) })).toMatchObject([{ providerMessageId: 'b', status: 'delivered' }]);
      expect(reported).toEqual([name]);
      expect(() => vonageSmsReceipts({ messageId: 'M1', status: name }, { strict: true })).toThrow(WebhookError);
    }
  });
});

describe('values with a hostile toString (found by the property test)', () => {
  it('verifiers refuse a parsed field whose value is an object with its own toString, typed, never a raw TypeError', async () => {
    const { verifyVonageSmsSignature, verifyTwilioSignature, verifyMailgunSignature } = await import('cascade-router/receipts');
    const hostile = { toString: '9' };
    expect(() => verifyVonageSmsSignature(JSON.stringify({ SmsSid: hostile, sig: 'a'.repeat(64) }), { signatureSecret: 's', method: 'sha256' })).toThrow(SignatureError);
    expect(() => verifyTwilioSignature({ url: 'https://a.example.com/t', headers: { 'X-Twilio-Signature': 'x' }, body: { MessageSid: hostile } }, { authToken: 't' })).toThrow(SignatureError);
    expect(() => verifyMailgunSignature({ signature: { timestamp: '1', token: 't', signature: hostile } }, { signingKey: 'k' })).toThrow(SignatureError);
  });
});

describe('the SNS topic is pinned by default', () => {
  it('refuses to verify without `topicArns` unless `anyTopic: true` says so on purpose', async () => {
    expect(await snsReason(JSON.stringify(snsMessage()), { certificate: SNS_TEST_CERT, now: NOW })).toBe('INVALID_CONFIG');
    expect(await snsReason(JSON.stringify(snsMessage()), { certificate: SNS_TEST_CERT, topicArns: [], now: NOW })).toBe('INVALID_CONFIG');
    expect(await snsReason(JSON.stringify(snsMessage()), { certificate: SNS_TEST_CERT, anyTopic: true, now: NOW })).toBe('accepted');
    expect(await snsReason(JSON.stringify(snsMessage({ TopicArn: 'arn:aws:sns:us-east-1:999999999999:theirs' })), { certificate: SNS_TEST_CERT, topicArns: [TOPIC], now: NOW })).toBe('untrusted');
  });

  it('refuses SignatureVersion 1 when `requireSignatureVersion2` is set', async () => {
    const v1 = snsMessage({ SignatureVersion: '1' });
    expect(await snsReason(v1, { certificate: SNS_TEST_CERT, topicArns: [TOPIC], requireSignatureVersion2: true, now: NOW })).toBe('untrusted');
    expect(await snsReason(snsMessage(), { certificate: SNS_TEST_CERT, topicArns: [TOPIC], requireSignatureVersion2: true, now: NOW })).toBe('accepted');
  });
});

describe('checkSigningCertUrl', () => {
  it.each([
    ['https://sns.s3.amazonaws.com/SimpleNotificationService-1.pem', 'an S3 bucket named sns'],
    ['https://sns.s3-us-west-2.amazonaws.com/SimpleNotificationService-1.pem', 'an S3 regional host'],
    ['https://sns.us-east-1.amazonaws.com/SimpleNotificationService-1.txt', 'not a .pem'],
    ['https://sns.us-east-1.amazonaws.com/SimpleNotificationService-1.pem?x=1', 'a query string (a fresh cache key per request)'],
    ['https://sns.us-east-1.amazonaws.com/SimpleNotificationService-1.pem?', 'an empty query'],
    ['https://sns.us-east-1.amazonaws.com/SimpleNotificationService-1.pem#a', 'a fragment'],
    ['https://sns.us-east-1.amazonaws.com/a/SimpleNotificationService-1.pem', 'two path segments'],
    ['https://sns.us-east-1.amazonaws.com/%53impleNotificationService-1.pem', 'an escaped path'],
    ['https://sns.us-east-1.amazonaws.com:8443/SimpleNotificationService-1.pem', 'a port'],
    ['http://sns.us-east-1.amazonaws.com/SimpleNotificationService-1.pem', 'http'],
  ])('refuses %s (%s)', (url) => {
    expect(() => checkSigningCertUrl(url)).toThrow(expect.objectContaining({ reason: 'untrusted' }));
  });

  it('accepts AWS regions, .cn included, and returns the URL normalized (host lowercased, default port dropped)', () => {
    expect(checkSigningCertUrl(CERT_URL)).toBe(CERT_URL);
    expect(checkSigningCertUrl('https://SNS.US-GOV-WEST-1.amazonaws.com:443/SimpleNotificationService-1.pem')).toBe('https://sns.us-gov-west-1.amazonaws.com/SimpleNotificationService-1.pem');
    expect(checkSigningCertUrl('https://sns.cn-northwest-1.amazonaws.com.cn/SimpleNotificationService-1.pem')).toBe('https://sns.cn-northwest-1.amazonaws.com.cn/SimpleNotificationService-1.pem');
  });

  it('hands getCertificate the normalized URL', async () => {
    const getCertificate = vi.fn(async () => SNS_TEST_CERT);
    const body = snsMessage({ SigningCertURL: CERT_URL.replace('https://sns.us-east-1', 'https://SNS.us-east-1').replace('.com/', '.com:443/') });
    // The URL is not signed, so changing it keeps the signature valid.
    expect(await snsReason(body, { getCertificate, topicArns: [TOPIC], now: NOW })).toBe('accepted');
    expect(getCertificate).toHaveBeenCalledWith(CERT_URL);
  });
});

describe('bounded input', () => {
  it('reads a price of 40 characters and refuses 41 before parsing it; 9 whole digits but not 10', () => {
    const price = (value: string) => vonageSmsReceipts({ messageId: 'M1', status: 'delivered', price: value });
    expect(price('123456789.5').at(0)?.price).toBe('123456789.5');
    expect(() => price('1234567890')).toThrow('vonage-sms: Expected `price` to be a non-negative decimal, got "1234567890"');
    expect(price(`${' '.repeat(18)}0.${'1'.repeat(20)}`).at(0)?.price).toBe('0.111111');
    expect(() => price(`${' '.repeat(19)}0.${'1'.repeat(20)}`)).toThrow('vonage-sms: Expected `price` to be a decimal of at most 40 characters, got 41');
    expect(() => price('9'.repeat(1_000_000))).toThrow('got 1000000');
  });

  it(`takes an id of ${MAX_ID_LENGTH} characters and refuses ${MAX_ID_LENGTH + 1}`, () => {
    expect(vonageSmsReceipts({ messageId: 'x'.repeat(MAX_ID_LENGTH), status: 'delivered' })).toHaveLength(1);
    expect(() => vonageSmsReceipts({ messageId: 'x'.repeat(MAX_ID_LENGTH + 1), status: 'delivered' })).toThrow(
      `vonage-sms: Expected \`messageId\` to be at most ${MAX_ID_LENGTH} characters, got ${MAX_ID_LENGTH + 1}`,
    );
  });

  it(`cuts error messages to ${MAX_MESSAGE_LENGTH} and codes to ${MAX_CODE_LENGTH} characters, the last one an ellipsis`, () => {
    const batch = [{ event: 'bounce', type: 'bounce', sg_message_id: 'a.filter1', status: '5'.repeat(200), reason: 'r'.repeat(3_000_000) }];
    const error = sendgridReceipts(batch)[0]?.error;
    expect(error?.message).toBe(`${'r'.repeat(MAX_MESSAGE_LENGTH - 1)}…`);
    expect(error?.code).toHaveLength(MAX_CODE_LENGTH);
    const fits = sendgridReceipts([{ ...batch[0], reason: 'r'.repeat(MAX_MESSAGE_LENGTH) }])[0]?.error?.message;
    expect(fits).toBe('r'.repeat(MAX_MESSAGE_LENGTH));
  });

  it('takes 100 Infobip results and refuses 101 (raise maxResults to your maxBucketSize)', () => {
    const result = { messageId: 'm', status: { groupId: 3, groupName: 'DELIVERED', id: 5, name: 'DELIVERED_TO_HANDSET' } };
    expect(infobipReceipts({ results: Array.from({ length: 100 }, () => result) })).toHaveLength(100);
    expect(() => infobipReceipts({ results: Array.from({ length: 101 }, () => result) })).toThrow('got 101');
    expect(infobipReceipts({ results: Array.from({ length: 101 }, () => result) }, { maxResults: 101 })).toHaveLength(101);
  });

  it('the router refuses a receipt with an id over 256 characters or a message over 1,024, as InvalidReceiptError', async () => {
    const router = createRouter({ channels: { sms: { kind: 'sms', send: async () => 'id' } } });
    await expect(router.handleReceipt({ providerMessageId: 'x'.repeat(257), status: 'delivered' })).rejects.toBeInstanceOf(InvalidReceiptError);
    await expect(router.handleReceipt({ providerMessageId: 'x', status: 'failed', error: { message: 'm'.repeat(1025) } })).rejects.toBeInstanceOf(InvalidReceiptError);
    await expect(router.handleReceipt({ providerMessageId: 'x'.repeat(256), status: 'delivered' })).resolves.toMatchObject({ outcome: 'held' });
    await router.close();
  });
});

describe('SendGrid ids with dots', () => {
  it("keeps SendGrid's own sample id whole: the smtp-id part of sg_message_id", () => {
    // SendGrid's documented event: smtp-id <14c5d75ce93.dfd.64b469@ismtpd-555>.
    const event = { event: 'delivered', sg_message_id: '14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0', 'smtp-id': '<14c5d75ce93.dfd.64b469@ismtpd-555>' };
    expect(sendGridMessageId(event)).toBe('14c5d75ce93.dfd.64b469');
    expect(sendGridMessageId({ event: 'delivered', sg_message_id: 'Lli-03HcQ5-JLybO9fXsJg.filterdrecv-5645d9c87f-6r8zj-1-5F1B4BD5-2.0' })).toBe('Lli-03HcQ5-JLybO9fXsJg');
    expect(sendGridMessageId({ event: 'dropped', sg_message_id: 'filter0093p1las1.9128.5717FB8127.0', 'smtp-id': '<14c5d75ce93.dfd.64b469@ismtpd-555>' })).toBe('14c5d75ce93.dfd.64b469');
  });
});

describe('Vonage JWT exp and nbf', () => {
  const SECRET = 'vonage-signature-secret';
  const IAT = 1_700_000_000;
  const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const token = (claims: Record<string, unknown>) => {
    const input = `${b64url({ alg: 'HS256', typ: 'JWT' })}.${b64url({ iat: IAT, payload_hash: createHash('sha256').update(vonage.read).digest('hex'), ...claims })}`;
    return `${input}.${createHmac('sha256', SECRET).update(input).digest('base64url')}`;
  };
  const check = (claims: Record<string, unknown>, now: number) => {
    try {
      verifyVonageSignature({ headers: { authorization: `Bearer ${token(claims)}` }, body: vonage.read }, { signatureSecret: SECRET, now });
      return 'accepted';
    } catch (error) {
      return (error as SignatureError).reason;
    }
  };

  it('refuses a token whose exp has passed (5 minutes of leeway), even with a fresh iat', () => {
    const exp = IAT + 60;
    expect(check({ exp }, (exp + 300) * 1000 - 1)).toBe('accepted');
    expect(check({ exp }, (exp + 300) * 1000)).toBe('expired');
    expect(check({ exp: 'tomorrow' }, IAT * 1000)).toBe('malformed');
  });

  it('refuses a token not valid before nbf (5 minutes of leeway)', () => {
    const nbf = IAT + 3600;
    expect(check({ nbf }, (nbf - 300) * 1000)).toBe('accepted');
    expect(check({ nbf }, (nbf - 300) * 1000 - 1)).toBe('expired');
  });
});

describe('webhookRejection: the answer per provider', () => {
  it('answers an unsigned Vonage callback 503 (Vonage retries it signed), others 401, a bad signature 403', () => {
    expect(webhookRejection(new SignatureError('vonage', 'missing', 'x'))?.status).toBe(503);
    expect(webhookRejection(new SignatureError('twilio', 'missing', 'x'))?.status).toBe(401);
    expect(webhookRejection(new SignatureError('vonage', 'mismatch', 'x'))?.status).toBe(403);
  });

  it('answers an unreadable Mailgun body 406 (its "do not retry"), others 400, anything else undefined (a 500)', () => {
    expect(webhookRejection(new WebhookError('mailgun', 'body', 'x'))?.status).toBe(406);
    expect(webhookRejection(new WebhookError('whatsapp', 'body', 'x'))?.status).toBe(400);
    expect(webhookRejection(new InvalidReceiptError('x'))?.status).toBe(400);
    expect(webhookRejection(new Error('store down'))).toBeUndefined();
  });
});

describe('batch tolerance', () => {
  it('one unknown WhatsApp status does not lose the batch: the rest is returned, the unknown one reported with its id', () => {
    const body = {
      object: 'whatsapp_business_account',
      entry: [{ changes: [{ field: 'messages', value: { statuses: [
        { id: 'wamid.A', status: 'deleted', timestamp: '1750030073' },
        { id: 'wamid.B', status: 'delivered', timestamp: '1750030074' },
      ] } }] }],
    };
    const reported: [string, string, string | undefined][] = [];
    expect(whatsappReceipts(body, { onUnknown: (e) => reported.push([e.field, e.status, e.providerMessageId]) })).toEqual([
      { provider: 'whatsapp', providerMessageId: 'wamid.B', status: 'delivered', at: 1750030074000 },
    ]);
    expect(reported).toEqual([['entry[0].changes[0].value.statuses[0].status', 'deleted', 'wamid.A']]);
    expect(() => whatsappReceipts(body, { strict: true })).toThrow('got "deleted"');
    // Without a listener the unknown event is skipped all the same.
    expect(whatsappReceipts(body)).toHaveLength(1);
  });
});

describe('key rotation: a callback signed with any configured secret or key verifies, with none of them it does not', () => {
  it('Meta, Viber, Mailgun, Vonage and SendGrid take a list', async () => {
    const { generateKeyPairSync } = await import('node:crypto');
    const { verifyWhatsAppSignature, verifyViberSignature, verifyMailgunSignature, verifySendGridSignature } = await import('cascade-router/receipts');
    const { reason } = await import('./fixtures/reason.js');
    const body = '{"object":"whatsapp_business_account","entry":[]}';
    const hmac = (key: string) => createHmac('sha256', key).update(body).digest('hex');
    expect(reason(() => verifyWhatsAppSignature({ headers: { 'x-hub-signature-256': `sha256=${hmac('new')}` }, body }, { appSecret: ['old', 'new'] }))).toBe('accepted');
    expect(reason(() => verifyWhatsAppSignature({ headers: { 'x-hub-signature-256': `sha256=${hmac('new')}` }, body }, { appSecret: ['old'] }))).toBe('mismatch');
    expect(reason(() => verifyViberSignature({ headers: { 'x-viber-content-signature': hmac('old') }, body }, { authToken: ['old', 'new'] }))).toBe('accepted');
    expect(reason(() => verifyViberSignature({ headers: { 'x-viber-content-signature': hmac('old') }, body }, { authToken: 'new' }))).toBe('mismatch');

    const signed = { timestamp: '1534108637', token: 't'.repeat(50) };
    const mailgunBody = { signature: { ...signed, signature: createHmac('sha256', 'key-new').update(signed.timestamp + signed.token).digest('hex') } };
    expect(reason(() => verifyMailgunSignature(mailgunBody, { signingKey: ['key-old', 'key-new'], now: 1534108637_000 }))).toBe('accepted');
    expect(reason(() => verifyMailgunSignature(mailgunBody, { signingKey: 'key-old', now: 1534108637_000 }))).toBe('mismatch');
    // A subaccount's event: its own signature is unknown to us, the parent's verifies with the primary key.
    const parent = { signature: { ...signed, signature: '0'.repeat(64), 'parent-signature': createHmac('sha256', 'primary').update(signed.timestamp + signed.token).digest('hex') } };
    expect(reason(() => verifyMailgunSignature(parent, { signingKey: 'key-old', parentSigningKey: 'primary', now: 1534108637_000 }))).toBe('accepted');
    expect(reason(() => verifyMailgunSignature(parent, { signingKey: 'key-old', now: 1534108637_000 }))).toBe('mismatch');

    const [a, b] = [generateKeyPairSync('ec', { namedCurve: 'P-256' }), generateKeyPairSync('ec', { namedCurve: 'P-256' })];
    const payload = '[{"event":"delivered"}]';
    const headers = { 'x-twilio-email-event-webhook-timestamp': '1700000000', 'x-twilio-email-event-webhook-signature': sign('sha256', Buffer.from(`1700000000${payload}`), b.privateKey).toString('base64') };
    expect(reason(() => verifySendGridSignature({ headers, body: payload }, { publicKey: [a.publicKey, b.publicKey], now: 1700000000_000 }))).toBe('accepted');
    expect(reason(() => verifySendGridSignature({ headers, body: payload }, { publicKey: [a.publicKey], now: 1700000000_000 }))).toBe('mismatch');

    const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const input = `${b64url({ alg: 'HS256', typ: 'JWT' })}.${b64url({ iat: 1700000000, payload_hash: createHash('sha256').update(vonage.read).digest('hex') })}`;
    const jwt = `${input}.${createHmac('sha256', 'secret-new').update(input).digest('base64url')}`;
    const vonageRequest = { headers: { authorization: `Bearer ${jwt}` }, body: vonage.read };
    expect(reason(() => verifyVonageSignature(vonageRequest, { signatureSecret: ['secret-old', 'secret-new'], now: 1700000000_000 }))).toBe('accepted');
    expect(reason(() => verifyVonageSignature(vonageRequest, { signatureSecret: 'secret-old', now: 1700000000_000 }))).toBe('mismatch');
  });
});
