import { z } from 'zod';
import type { Receipt, ReceiptError, ReceiptStatus } from '../core/types.js';
import { WebhookError, type WebhookProvider } from './errors.js';

/** Longest message id a normalizer accepts: provider ids are far shorter (a wamid ~60, a Mailgun Message-Id ~80). */
export const MAX_ID_LENGTH = 256;
/** Error codes and messages are cut to these lengths (with `…`): a provider's diagnostic is never worth more. */
export const MAX_CODE_LENGTH = 64;
export const MAX_MESSAGE_LENGTH = 1024;

/** A provider message id in a body schema: a non-empty string of at most `MAX_ID_LENGTH` characters. */
export const providerId = z.string().min(1).max(MAX_ID_LENGTH);

export interface ReceiptExtras {
  readonly at?: number | undefined;
  readonly errorCode?: string | number | undefined;
  readonly errorMessage?: string | undefined;
  readonly fault?: ReceiptError['fault'];
  readonly price?: string | undefined;
  /** Where the id was read, for the error when it is too long. Default `id`. */
  readonly idField?: string | undefined;
}

function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/**
 * Builds a receipt naming its provider, without `undefined` or empty fields, so receipts compare and
 * serialize cleanly. An id longer than `MAX_ID_LENGTH` throws; codes and messages are cut to their caps.
 */
export function receipt(provider: WebhookProvider, providerMessageId: string, status: ReceiptStatus, extras: ReceiptExtras = {}): Receipt {
  if (providerMessageId === '' || providerMessageId.length > MAX_ID_LENGTH) {
    const field = extras.idField ?? 'id';
    throw new WebhookError(provider, field, `Expected \`${field}\` to be a non-empty string of at most ${MAX_ID_LENGTH} characters, got ${providerMessageId.length} characters`);
  }
  const code = extras.errorCode === undefined || extras.errorCode === '' ? undefined : cut(String(extras.errorCode), MAX_CODE_LENGTH);
  const message = extras.errorMessage === undefined || extras.errorMessage === '' ? undefined : cut(extras.errorMessage, MAX_MESSAGE_LENGTH);
  const fault = status === 'failed' ? extras.fault : undefined;
  const error =
    code === undefined && message === undefined && fault === undefined
      ? undefined
      : { ...(code === undefined ? {} : { code }), ...(message === undefined ? {} : { message }), ...(fault === undefined ? {} : { fault }) };
  return {
    providerMessageId,
    status,
    ...(extras.at === undefined ? {} : { at: extras.at }),
    ...(error === undefined ? {} : { error }),
    ...(extras.price === undefined ? {} : { price: extras.price }),
    provider,
  };
}
