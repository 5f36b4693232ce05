import { X509Certificate, sign } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { SignatureError, checkSigningCertUrl, sesReceipts, verifySnsSignature } from 'cascade-router/receipts';
import { SNS_TEST_CERT, SNS_TEST_KEY } from './fixtures/sns-cert.js';
import { ses } from './fixtures/samples.js';

const CERT_URL = 'https://sns.us-east-1.amazonaws.com/SimpleNotificationService-12345abcde.pem';
// A moment inside the test certificate's validity; message timestamps are set relative to it.
const NOW = Date.parse(new X509Certificate(SNS_TEST_CERT).validFrom) + 86_400_000;
const STAMP = new Date(NOW - 30_000).toISOString();

const FIELDS: Record<string, string[]> = {
  Notification: ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type'],
  SubscriptionConfirmation: ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'],
};

/** Signs an SNS message the way SNS does: "Key\nValue\n" for each signed field present, in order. */
function signed(message: Record<string, string>, version: '1' | '2' = '1'): Record<string, string> {
  const canonical = (FIELDS[message['Type'] ?? ''] ?? []).filter((key) => key in message).map((key) => `${key}\n${message[key]}\n`).join('');
  const signature = sign(version === '1' ? 'sha1' : 'sha256', Buffer.from(canonical), SNS_TEST_KEY).toString('base64');
  return { ...message, SignatureVersion: version, Signature: signature, SigningCertURL: CERT_URL };
}

const notification = (extra: Record<string, string> = {}) =>
  signed({
    Type: 'Notification',
    MessageId: '19ba9823-d7f2-53c1-860e-cb10e0d13dfc',
    TopicArn: 'arn:aws:sns:us-east-1:1234567890:SES_Events',
    Subject: 'Amazon SES Email Event Notification',
    Message: ses.delivery,
    Timestamp: STAMP,
    ...extra,
  });

async function outcome(run: () => Promise<unknown>): Promise<string> {
  try {
    await run();
  } catch (error) {
    if (error instanceof SignatureError) return error.reason;
    throw error;
  }
  return 'accepted';
}

const TOPIC = 'arn:aws:sns:us-east-1:1234567890:SES_Events';
const options = { certificate: SNS_TEST_CERT, now: NOW, topicArns: [TOPIC] };

describe('verifySnsSignature', () => {
  it('accepts a SignatureVersion 1 (SHA1withRSA) notification, raw or parsed, then reads its SES event', async () => {
    const message = notification();
    expect(await outcome(() => verifySnsSignature(JSON.stringify(message), options))).toBe('accepted');
    expect(await outcome(() => verifySnsSignature(message, options))).toBe('accepted');
    expect(sesReceipts(message)).toMatchObject({ kind: 'receipts', receipts: [{ status: 'delivered' }] });
  });

  it('accepts SignatureVersion 2 (SHA256withRSA), a message without Subject, and a subscription handshake', async () => {
    expect(await outcome(() => verifySnsSignature(notification({}), options))).toBe('accepted');
    expect(await outcome(() => verifySnsSignature(signed({ ...notification(), Type: 'Notification' }, '2'), options))).toBe('accepted');
    const { Subject: _subject, ...withoutSubject } = notification();
    expect(await outcome(() => verifySnsSignature(signed(withoutSubject), options))).toBe('accepted');
    const handshake = signed({
      Type: 'SubscriptionConfirmation',
      MessageId: '165545c9-2a5c-472c-8df2-7ff2be2b3b1b',
      Token: '2336412f37f',
      TopicArn: 'arn:aws:sns:us-east-1:1234567890:SES_Events',
      Message: 'You have chosen to subscribe to the topic.',
      SubscribeURL: 'https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&Token=2336412f37f',
      Timestamp: STAMP,
    });
    expect(await outcome(() => verifySnsSignature(handshake, options))).toBe('accepted');
    expect(await outcome(() => verifySnsSignature({ ...handshake, SubscribeURL: 'https://evil.example/confirm' }, options))).toBe('mismatch');
  });

  it('rejects a tampered Message (a forged Bounce) and a version-1 signature presented as version 2', async () => {
    const message = notification();
    expect(await outcome(() => verifySnsSignature({ ...message, Message: ses.bounce }, options))).toBe('mismatch');
    expect(await outcome(() => verifySnsSignature({ ...message, SignatureVersion: '2' }, options))).toBe('mismatch');
    expect(await outcome(() => verifySnsSignature({ ...message, SignatureVersion: '3' }, options))).toBe('malformed');
  });

  it('takes a retry with the original Timestamp up to 65 minutes later (SNS retries for at most an hour), not a millisecond more', async () => {
    const message = notification();
    const stamp = Date.parse(STAMP);
    expect(await outcome(() => verifySnsSignature(message, { ...options, now: stamp + 65 * 60_000 }))).toBe('accepted');
    expect(await outcome(() => verifySnsSignature(message, { ...options, now: stamp + 65 * 60_000 + 1 }))).toBe('expired');
    expect(await outcome(() => verifySnsSignature(message, { ...options, now: stamp + 65 * 60_000 + 1, tolerance: '2h' }))).toBe('accepted');
    expect(await outcome(() => verifySnsSignature(message, { ...options, now: stamp + 6 * 60_000, tolerance: '5m' }))).toBe('expired');
  });

  it.each([
    'http://sns.us-east-1.amazonaws.com/cert.pem',
    'https://sns.us-east-1.amazonaws.com.evil.example/cert.pem',
    'https://evil.example/sns.us-east-1.amazonaws.com/cert.pem',
    'https://sns.us-east-1.amazonaws.com@evil.example/cert.pem',
    'https://user@sns.us-east-1.amazonaws.com/cert.pem',
    'https://sns.us-east-1.amazonaws.com:8443/cert.pem',
    'https://s3.amazonaws.com/cert.pem',
    'not a url',
  ])('never asks for a certificate at %s', async (url) => {
    const getCertificate = vi.fn(() => SNS_TEST_CERT);
    expect(await outcome(() => verifySnsSignature({ ...notification(), SigningCertURL: url }, { getCertificate, now: NOW, topicArns: [TOPIC] }))).toBe('untrusted');
    expect(getCertificate).not.toHaveBeenCalled();
  });

  it('accepts SNS hosts in every region and in China', () => {
    expect(() => checkSigningCertUrl('https://sns.eu-central-1.amazonaws.com/SimpleNotificationService-1.pem')).not.toThrow();
    expect(() => checkSigningCertUrl('https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-1.pem')).not.toThrow();
  });

  it('asks getCertificate for the checked URL only, and accepts an async answer', async () => {
    const getCertificate = vi.fn(async (url: string) => {
      await Promise.resolve();
      return url === CERT_URL ? SNS_TEST_CERT : '';
    });
    expect(await outcome(() => verifySnsSignature(notification(), { getCertificate, now: NOW, topicArns: [TOPIC] }))).toBe('accepted');
    expect(getCertificate).toHaveBeenCalledWith(CERT_URL);
  });

  it('rejects an unexpected topic, a certificate past its validity and a certificate that is not one', async () => {
    expect(await outcome(() => verifySnsSignature(notification(), { ...options, topicArns: ['arn:aws:sns:us-east-1:1234567890:Other'] }))).toBe(
      'untrusted',
    );
    const later = Date.parse(new X509Certificate(SNS_TEST_CERT).validTo) + 1000;
    const late = signed({ ...notification(), Timestamp: new Date(later).toISOString() });
    expect(await outcome(() => verifySnsSignature(late, { ...options, now: later }))).toBe('untrusted');
    expect(await outcome(() => verifySnsSignature(notification(), { certificate: 'garbage', now: NOW, topicArns: [TOPIC] }))).toBe('untrusted');
  });

  it('names a missing field and refuses to run without a certificate source', async () => {
    const { Signature: _signature, ...unsigned } = notification();
    await expect(verifySnsSignature(unsigned, options)).rejects.toThrow('sns: Missing the SNS field `Signature`: the message is not signed');
    await expect(verifySnsSignature(notification(), { now: NOW, topicArns: [TOPIC] })).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
  });
});
