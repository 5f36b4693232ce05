import { CascadeRouterError } from '../errors.js';

/** The providers whose callbacks this module reads or verifies. */
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
  | 'viber';

/**
 * A webhook body could not be turned into receipts: malformed, missing a field, or carrying a
 * status this library does not know. Nothing was guessed. Answer the provider with a 4xx or 5xx.
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

/** Why a signature check failed. */
export type SignatureFailure =
  /** A header (or signed body field) the provider always sends is absent. */
  | 'missing'
  /** A header, key, token or certificate URL is not in the provider's format. */
  | 'malformed'
  /** The signature does not match: forged, tampered with, or signed with another secret. */
  | 'mismatch'
  /** The signed timestamp is outside the replay window. */
  | 'expired'
  /** The signing certificate is not one the library may trust (not an SNS host, not https). */
  | 'untrusted';

/** A webhook failed authentication. Do not process its body; answer 401 or 403. */
export class SignatureError extends CascadeRouterError {
  readonly provider: WebhookProvider;
  readonly reason: SignatureFailure;

  constructor(provider: WebhookProvider, reason: SignatureFailure, message: string, options?: { cause?: unknown }) {
    super('INVALID_SIGNATURE', `${provider}: ${message}`, options);
    this.provider = provider;
    this.reason = reason;
  }
}
