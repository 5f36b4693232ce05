import { CascadeRouterError } from '../core/errors.js';

/**
 * The providers whose callbacks this module reads or verifies. A receipt's `provider` is one of these (`sns`
 * only signs: SES receipts name `ses`); a channel fed by a normalizer declares the same name.
 */
export type WebhookProvider =
  | 'twilio'
  | 'sendgrid'
  | 'mailgun'
  | 'ses'
  | 'sns'
  | 'whatsapp'
  | 'vonage'
  | 'vonage-sms'
  | 'infobip'
  | 'viber'
  | 'telnyx'
  | 'plivo'
  | 'postmark'
  | 'resend'
  | 'brevo';

/**
 * A webhook body could not be turned into receipts: malformed, missing a field, too large, or (in strict
 * mode) carrying a status this library does not know. Nothing was guessed. Answer the provider with a 4xx or 5xx.
 */
export class WebhookError extends CascadeRouterError {
  readonly provider: WebhookProvider;
  /** The offending field as a path into the body (`entry[0].changes[0].value.statuses[1].status`). */
  readonly field: string;

  constructor(provider: WebhookProvider, field: string, message: string, options?: { cause?: unknown }) {
    super('INVALID_WEBHOOK', `${provider}: ${message}`, options);
    this.provider = provider;
    this.field = field;
  }
}

/**
 * One event carries a status this library does not know (a new provider status, WhatsApp `deleted`, a new
 * SendGrid event type). By default the event is skipped and reported to `onUnknown`, and the rest of the
 * batch is read; with `strict: true` it is thrown.
 */
export class UnknownStatusError extends WebhookError {
  /** The provider's status as it was sent (`deleted`, `failed/severity=odd`, `groupId=9`). */
  readonly status: string;
  /** The event's message id, when it could be read. */
  readonly providerMessageId: string | undefined;

  constructor(provider: WebhookProvider, field: string, status: string, known: readonly string[], providerMessageId?: string) {
    super(provider, field, `Expected \`${field}\` to be one of ${known.join(', ')}, got ${JSON.stringify(status.length > 60 ? `${status.slice(0, 60)}…` : status)}`);
    this.status = status;
    this.providerMessageId = providerMessageId;
  }
}

/** Why a signature check failed. */
export type SignatureFailure =
  /** A header (or signed body field) the provider always sends is absent. */
  | 'missing'
  /** A header, key, token or certificate URL is not in the provider's format. */
  | 'malformed'
  /** The signature does not match: forged, tampered with, or signed with another secret. */
  | 'mismatch'
  /** The signed timestamp is outside the replay window, or the token's `exp`/`nbf` says it is not valid now. */
  | 'expired'
  /** The signing certificate or topic is not one the library may trust (not an SNS host, not https, another topic). */
  | 'untrusted';

/** A webhook failed authentication. Do not process its body; see `webhookRejection()` for the answer. */
export class SignatureError extends CascadeRouterError {
  readonly provider: WebhookProvider;
  readonly reason: SignatureFailure;

  constructor(provider: WebhookProvider, reason: SignatureFailure, message: string, options?: { cause?: unknown }) {
    super('INVALID_SIGNATURE', `${provider}: ${message}`, options);
    this.provider = provider;
    this.reason = reason;
  }
}
