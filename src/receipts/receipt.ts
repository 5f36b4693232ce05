import type { Receipt, ReceiptStatus } from '../types.js';

export interface ReceiptExtras {
  readonly at?: number | undefined;
  readonly errorCode?: string | number | undefined;
  readonly errorMessage?: string | undefined;
  readonly price?: string | undefined;
}

/** Builds a receipt without `undefined` or empty fields, so receipts compare and serialize cleanly. */
export function receipt(providerMessageId: string, status: ReceiptStatus, extras: ReceiptExtras = {}): Receipt {
  const code = extras.errorCode === undefined || extras.errorCode === '' ? undefined : String(extras.errorCode);
  const message = extras.errorMessage === '' ? undefined : extras.errorMessage;
  const error =
    code === undefined && message === undefined
      ? undefined
      : { ...(code === undefined ? {} : { code }), ...(message === undefined ? {} : { message }) };
  return {
    providerMessageId,
    status,
    ...(extras.at === undefined ? {} : { at: extras.at }),
    ...(error === undefined ? {} : { error }),
    ...(extras.price === undefined ? {} : { price: extras.price }),
  };
}
