import { randomUUID, sign } from 'node:crypto';
import { selfSignedCertificate } from './certificate.js';
import type { SignedWebhook } from './request.js';

const DAY = 86_400_000;

export interface SnsSignerOptions {
  /** The topic the messages come from. Default `arn:aws:sns:us-east-1:123456789012:cascade-router-test`. */
  readonly topicArn?: string | undefined;
  /** The region of the `SigningCertURL` host. Default that of the topic. */
  readonly region?: string | undefined;
  /** The certificate is valid from a day before this to a year after (ms). Default: now. */
  readonly now?: number | undefined;
}

export interface SnsMessageOptions {
  readonly type?: 'Notification' | 'SubscriptionConfirmation' | 'UnsubscribeConfirmation' | undefined;
  /** 1: SHA1withRSA (SNS's default), 2: SHA256withRSA. Default 1. */
  readonly signatureVersion?: '1' | '2' | undefined;
  readonly subject?: string | undefined;
  /** `Timestamp` (ms). Default: now. */
  readonly now?: number | undefined;
  readonly url?: string | undefined;
}

/** Signs Amazon SNS messages with a throwaway certificate; `options` is what `verifySnsSignature` needs to accept them. */
export interface SnsSigner {
  /** The self-signed certificate (PEM) standing in for AWS's; not Amazon's, trusted only where you pass it. */
  readonly certificate: string;
  readonly certificateUrl: string;
  readonly topicArn: string;
  /** `verifySnsSignature(body, { ...signer.options, now })` accepts every message this signer makes. */
  readonly options: { readonly certificate: string; readonly topicArns: readonly string[] };
  /** An SNS HTTP/S delivery of `message` (an SES event's JSON, say), as SNS posts it. */
  sign(message: string, options?: SnsMessageOptions): SignedWebhook;
}

const SIGNED = {
  Notification: ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type'],
  SubscriptionConfirmation: ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'],
  UnsubscribeConfirmation: ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'],
} as const;

/** A signer for Amazon SNS with a fresh RSA key and certificate (a few hundred milliseconds to make: make one per suite). */
export function snsSigner(options: SnsSignerOptions = {}): SnsSigner {
  const topicArn = options.topicArn ?? 'arn:aws:sns:us-east-1:123456789012:cascade-router-test';
  const region = options.region ?? topicArn.split(':')[3] ?? 'us-east-1';
  const now = options.now ?? Date.now();
  const { certificate, privateKey } = selfSignedCertificate('sns.amazonaws.com (cascade-router/testing, not Amazon)', now - DAY, now + 365 * DAY);
  const certificateUrl = `https://sns.${region}.amazonaws.com/SimpleNotificationService-cascade-router-testing.pem`;
  return {
    certificate,
    certificateUrl,
    topicArn,
    options: { certificate, topicArns: [topicArn] },
    sign(message, messageOptions = {}) {
      const type = messageOptions.type ?? 'Notification';
      const version = messageOptions.signatureVersion ?? '1';
      const fields: Record<string, string> = {
        Type: type,
        MessageId: randomUUID(),
        TopicArn: topicArn,
        Message: message,
        Timestamp: new Date(messageOptions.now ?? Date.now()).toISOString(),
      };
      if (messageOptions.subject !== undefined && type === 'Notification') fields['Subject'] = messageOptions.subject;
      if (type !== 'Notification') {
        fields['Token'] = randomUUID().replace(/-/g, '');
        fields['SubscribeURL'] = `https://sns.${region}.amazonaws.com/?Action=ConfirmSubscription&TopicArn=${encodeURIComponent(topicArn)}&Token=${fields['Token']}`;
      }
      let canonical = '';
      for (const name of SIGNED[type]) if (fields[name] !== undefined) canonical += `${name}\n${fields[name]}\n`;
      const signature = sign(version === '1' ? 'sha1' : 'sha256', Buffer.from(canonical, 'utf8'), privateKey).toString('base64');
      const body = JSON.stringify({ ...fields, SignatureVersion: version, Signature: signature, SigningCertURL: certificateUrl });
      const headers = {
        // SNS sends its JSON as text/plain.
        'Content-Type': 'text/plain; charset=UTF-8',
        'x-amz-sns-message-type': type,
        'x-amz-sns-message-id': fields['MessageId']!,
        'x-amz-sns-topic-arn': topicArn,
      };
      return { method: 'POST', url: messageOptions.url ?? 'https://example.com/webhooks/ses', headers, body };
    },
  };
}
