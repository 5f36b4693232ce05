import { InvalidReceiptError, isCascadeRouterError } from '../core/errors.js';
import { SignatureError, WebhookError } from './errors.js';

/** The HTTP answer to a callback that could not be taken. */
export interface WebhookRejection {
  readonly status: 400 | 401 | 403 | 406 | 503;
  /** The error's message: it names the provider and the field, never a secret. */
  readonly message: string;
}

/**
 * How to answer a callback that a verifier or normalizer refused, per provider (docs/webhooks.md, "What to
 * answer"); `undefined` for any other error, which deserves a 500 so the provider retries.
 *
 * - A missing signature is 401, any other signature failure 403; but an unsigned Vonage callback is 503:
 *   Vonage sends one only "in the rare case of an internal error", and a 5xx makes it retry signed.
 * - An authentic but unreadable body is 400; for Mailgun 406, the one answer it documents as "rejected, do
 *   not retry" (anything else it retries for 8 hours, failing the same way).
 * - A router shedding load beyond `maxPending` (`OVERLOADED`), or a store that did not answer
 *   (`STORE_UNAVAILABLE`), is 503: the provider retries later, and applying a receipt twice is harmless.
 */
export function webhookRejection(error: unknown): WebhookRejection | undefined {
  if (error instanceof SignatureError) {
    if (error.reason === 'missing') return { status: error.provider === 'vonage' ? 503 : 401, message: error.message };
    return { status: 403, message: error.message };
  }
  if (error instanceof WebhookError) return { status: error.provider === 'mailgun' ? 406 : 400, message: error.message };
  if (error instanceof InvalidReceiptError) return { status: 400, message: error.message };
  if (isCascadeRouterError(error) && (error.code === 'OVERLOADED' || error.code === 'STORE_UNAVAILABLE')) return { status: 503, message: error.message };
  return undefined;
}
