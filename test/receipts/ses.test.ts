import { describe, expect, it } from 'vitest';
import { sesReceipts } from 'cascade-router/receipts';
import { ses, snsEnvelope } from './fixtures/samples.js';

const ID = 'EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000';
const receipts = (message: string) => sesReceipts(snsEnvelope(message));

describe('sesReceipts', () => {
  it('reads Delivery from the SNS envelope (JSON inside JSON) with the delivery timestamp', () => {
    expect(receipts(ses.delivery)).toStrictEqual({
      kind: 'receipts',
      receipts: [{ provider: 'ses', providerMessageId: ID, status: 'delivered', at: Date.parse('2016-10-19T23:21:04.133Z') }],
    });
  });

  it('maps a permanent Bounce to failed with the bounce type and diagnostic code', () => {
    expect(receipts(ses.bounce)).toStrictEqual({
      kind: 'receipts',
      receipts: [
        {
          provider: 'ses', providerMessageId: ID,
          status: 'failed',
          at: Date.parse('2017-08-05T00:41:02.669Z'),
          error: { code: 'Permanent/General', message: 'smtp; 550 5.1.1 user unknown', fault: 'recipient' },
        },
      ],
    });
  });

  it('treats a Transient bounce as final too: SES sends it only after it stopped retrying', () => {
    const transient = ses.bounce.replace('"bounceType":"Permanent","bounceSubType":"General"', '"bounceType":"Transient","bounceSubType":"MailboxFull"');
    expect(receipts(transient)).toMatchObject({ receipts: [{ status: 'failed', error: { code: 'Transient/MailboxFull' } }] });
  });

  it('gives no receipt for DeliveryDelay (SES still retrying) and for complaints', () => {
    expect(receipts(ses.deliveryDelay)).toStrictEqual({ kind: 'receipts', receipts: [] });
    expect(receipts(ses.complaint)).toStrictEqual({ kind: 'receipts', receipts: [] });
    expect(receipts('{"notificationType":"AmazonSnsSubscriptionSucceeded","message":"You have successfully subscribed"}')).toStrictEqual({
      kind: 'receipts',
      receipts: [],
    });
  });

  it('maps Reject to failed at the mail timestamp, Open to read, Send to accepted, Rendering Failure to failed', () => {
    expect(receipts(ses.reject)).toStrictEqual({
      kind: 'receipts',
      receipts: [
        { provider: 'ses', providerMessageId: ID, status: 'failed', at: Date.parse('2016-10-14T17:38:15.211Z'), error: { code: 'Reject', message: 'Bad content' } },
      ],
    });
    expect(receipts(ses.open)).toStrictEqual({
      kind: 'receipts',
      receipts: [{ provider: 'ses', providerMessageId: ID, status: 'read', at: Date.parse('2017-08-09T22:00:19.652Z') }],
    });
    const mail = { messageId: 'm-1', timestamp: '2024-01-01T00:00:00.000Z' };
    expect(receipts(JSON.stringify({ eventType: 'Send', mail, send: {} }))).toStrictEqual({
      kind: 'receipts',
      receipts: [{ provider: 'ses', providerMessageId: 'm-1', status: 'accepted', at: Date.parse('2024-01-01T00:00:00.000Z') }],
    });
    const rendering = { eventType: 'Rendering Failure', mail, failure: { errorMessage: 'Attribute name is missing', templateName: 't' } };
    expect(receipts(JSON.stringify(rendering))).toMatchObject({
      receipts: [{ status: 'failed', error: { code: 'Rendering Failure', message: 'Attribute name is missing' } }],
    });
  });

  it('returns the subscription handshake with its SubscribeURL, never fetching it', () => {
    const body = {
      Type: 'SubscriptionConfirmation',
      MessageId: '165545c9-2a5c-472c-8df2-7ff2be2b3b1b',
      Token: '2336412f37f',
      TopicArn: 'arn:aws:sns:us-west-2:123456789012:MyTopic',
      Message: 'You have chosen to subscribe to the topic arn:aws:sns:us-west-2:123456789012:MyTopic.',
      SubscribeURL: 'https://sns.us-west-2.amazonaws.com/?Action=ConfirmSubscription&TopicArn=arn:aws:sns:us-west-2:123456789012:MyTopic&Token=2336412f37f',
      Timestamp: '2012-04-26T20:45:04.751Z',
      SignatureVersion: '1',
      Signature: 'EXAMPLE',
      SigningCertURL: 'https://sns.us-west-2.amazonaws.com/SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem',
    };
    expect(sesReceipts(body)).toStrictEqual({
      kind: 'subscription-confirmation',
      subscribeUrl: body.SubscribeURL,
      topicArn: body.TopicArn,
      token: '2336412f37f',
      message: body.Message,
    });
    expect(sesReceipts({ ...body, Type: 'UnsubscribeConfirmation' })).toMatchObject({ kind: 'unsubscribe-confirmation' });
  });

  it('throws for a Message that is not JSON, an unknown event type and an unknown envelope type', () => {
    expect(() => sesReceipts(snsEnvelope('Hello world!'))).toThrow('ses: Expected `Message` to be a JSON string, got "Hello world!"');
    expect(() => sesReceipts(snsEnvelope('{"eventType":"Teleport","mail":{"messageId":"m"}}'), { strict: true })).toThrow(
      'ses: Expected `Message.eventType` to be one of Send, Delivery, Open, Click, Bounce, Reject, Rendering Failure, DeliveryDelay, Complaint, Subscription, AmazonSnsSubscriptionSucceeded, got "Teleport"',
    );
    expect(() => sesReceipts(snsEnvelope(ses.delivery, { Type: 'Ping' }))).toThrow(
      'ses: Expected `Type` to be one of Notification, SubscriptionConfirmation, UnsubscribeConfirmation, got "Ping"',
    );
    expect(() => receipts('{"eventType":"Delivery"}')).toThrow('ses: Expected `Message.mail` to be an object, got undefined');
    expect(() => receipts('{"eventType":"Delivery","mail":{"messageId":"m"},"delivery":{"timestamp":"yesterday"}}')).toThrow(
      'ses: Expected `Message.delivery.timestamp` to be an ISO 8601 date-time with a time zone, got "yesterday"',
    );
  });
});
