import { z } from 'zod';
import type { Receipt, ReceiptStatus } from '../core/types.js';
import { WebhookError } from './errors.js';
import { smtpFault, type Fault } from './fault.js';
import { check, jsonBody, readStatus, show, type ReceiptOptions } from './input.js';
import { providerId, receipt, type ReceiptExtras } from './receipt.js';
import { fromIso } from './time.js';

/** SES `eventType` (or `notificationType`) → receipt status; `null`: deliberately no receipt. */
const STATUS = new Map<string, ReceiptStatus | null>([
  ['Send', 'accepted'],
  ['Delivery', 'delivered'],
  ['Open', 'read'],
  ['Click', 'read'],
  // Transient bounces arrive only after SES stopped retrying, so every bounce is final.
  ['Bounce', 'failed'],
  ['Reject', 'failed'],
  ['Rendering Failure', 'failed'],
  // Temporary: SES keeps retrying until `expirationTime`, then sends Bounce or Delivery.
  ['DeliveryDelay', null],
  // Feedback after delivery and SES's own "topic subscribed" notice are not delivery statuses.
  ['Complaint', null],
  ['Subscription', null],
  ['AmazonSnsSubscriptionSucceeded', null],
]);

/**
 * `bounceType/bounceSubType` → whose fault: a permanent bounce (no such address, suppressed) and a full mailbox
 * are the recipient's; content and size refusals are about the message, so they stay unknown, as does
 * `Transient/General` and `Undetermined` unless the recipient's SMTP status code says (see `smtpFault`).
 */
const BOUNCE_FAULT = new Map<string, Fault>([
  ['Permanent/General', 'recipient'],
  ['Permanent/NoEmail', 'recipient'],
  ['Permanent/Suppressed', 'recipient'],
  ['Permanent/OnAccountSuppressionList', 'recipient'],
  ['Transient/MailboxFull', 'recipient'],
]);

/** The event object that carries the event's own timestamp, per event type. */
const DETAIL = new Map<string | undefined, 'delivery' | 'open' | 'click' | 'bounce'>([
  ['Delivery', 'delivery'],
  ['Open', 'open'],
  ['Click', 'click'],
  ['Bounce', 'bounce'],
]);

const SnsEnvelope = z.looseObject({
  Type: z.enum(['Notification', 'SubscriptionConfirmation', 'UnsubscribeConfirmation']),
  MessageId: z.string(),
  TopicArn: z.string(),
  Message: z.string(),
  Timestamp: z.string(),
  Token: z.string().optional(),
  SubscribeURL: z.string().optional(),
});

const stamped = z.looseObject({ timestamp: z.string().optional() }).optional();

const SesEvent = z.looseObject({
  eventType: z.string().optional(),
  notificationType: z.string().optional(),
  mail: z.looseObject({ messageId: providerId, timestamp: z.string().optional() }).optional(),
  delivery: stamped,
  open: stamped,
  click: stamped,
  bounce: z
    .looseObject({
      bounceType: z.string(),
      bounceSubType: z.string().optional(),
      timestamp: z.string().optional(),
      bouncedRecipients: z
        .array(z.looseObject({ status: z.string().optional(), diagnosticCode: z.string().optional() }))
        .optional(),
    })
    .optional(),
  reject: z.looseObject({ reason: z.string().optional() }).optional(),
  failure: z.looseObject({ errorMessage: z.string().optional() }).optional(),
});

/** What an SNS POST carrying SES events turned out to be. */
export type SesWebhookResult =
  | { readonly kind: 'receipts'; readonly receipts: Receipt[] }
  /**
   * The SNS subscription handshake. Confirm it by fetching `subscribeUrl` yourself, after
   * `verifySnsSignature()` and a check that `topicArn` is yours; this library never fetches URLs.
   */
  | {
      readonly kind: 'subscription-confirmation' | 'unsubscribe-confirmation';
      readonly subscribeUrl: string;
      readonly topicArn: string;
      readonly token: string;
      readonly message: string;
    };

/**
 * Reads an Amazon SNS HTTP(S) POST carrying an SES event (`Content-Type: text/plain`, so pass the raw
 * text, bytes or the parsed envelope). The SES event inside `Message` is JSON-in-a-string.
 */
export function sesReceipts(body: unknown, options: ReceiptOptions = {}): SesWebhookResult {
  const envelope = check('ses', SnsEnvelope, jsonBody('ses', body));
  if (envelope.Type !== 'Notification') {
    const field = envelope.SubscribeURL === undefined ? 'SubscribeURL' : 'Token';
    if (envelope.SubscribeURL === undefined || envelope.Token === undefined) {
      throw new WebhookError('ses', field, `Expected \`${field}\` to be a string, got undefined`);
    }
    return {
      kind: envelope.Type === 'SubscriptionConfirmation' ? 'subscription-confirmation' : 'unsubscribe-confirmation',
      subscribeUrl: envelope.SubscribeURL,
      topicArn: envelope.TopicArn,
      token: envelope.Token,
      message: envelope.Message,
    };
  }
  let inner: unknown;
  try {
    inner = JSON.parse(envelope.Message);
  } catch (cause) {
    throw new WebhookError('ses', 'Message', `Expected \`Message\` to be a JSON string, got ${show(envelope.Message)}`, { cause });
  }
  const event = check('ses', SesEvent, inner, 'Message');
  const typeField = event.eventType === undefined ? 'Message.notificationType' : 'Message.eventType';
  const type = event.eventType ?? event.notificationType;
  const status = readStatus('ses', typeField, type, STATUS, options, event.mail?.messageId);
  if (status === undefined || status === null) return { kind: 'receipts', receipts: [] };
  if (event.mail === undefined) {
    throw new WebhookError('ses', 'Message.mail', 'Expected `Message.mail` to be an object, got undefined');
  }
  const detailKey = DETAIL.get(type);
  // Send, Reject and Rendering Failure happen at submission: the mail's own timestamp is theirs.
  const stamp = detailKey === undefined ? event.mail.timestamp : event[detailKey]?.timestamp;
  const stampField = detailKey === undefined ? 'Message.mail.timestamp' : `Message.${detailKey}.timestamp`;
  const at = stamp === undefined ? undefined : fromIso('ses', stampField, stamp);
  const id = event.mail.messageId;
  const idField = 'Message.mail.messageId';
  if (status !== 'failed') return { kind: 'receipts', receipts: [receipt('ses', id, status, { at, idField })] };
  return { kind: 'receipts', receipts: [receipt('ses', id, status, { at, idField, ...failure(type, event) })] };
}

function failure(type: string | undefined, event: z.infer<typeof SesEvent>): Pick<ReceiptExtras, 'errorCode' | 'errorMessage' | 'fault'> {
  if (type === 'Bounce') {
    const bounce = event.bounce;
    if (bounce === undefined) {
      throw new WebhookError('ses', 'Message.bounce', 'Expected `Message.bounce` to be an object, got undefined');
    }
    const first = bounce.bouncedRecipients?.[0];
    const errorCode = [bounce.bounceType, bounce.bounceSubType].filter(Boolean).join('/');
    return { errorCode, errorMessage: first?.diagnosticCode, fault: BOUNCE_FAULT.get(errorCode) ?? smtpFault(first?.status) };
  }
  return { errorCode: type, errorMessage: type === 'Reject' ? event.reject?.reason : event.failure?.errorMessage };
}
