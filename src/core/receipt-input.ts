import type { ResolvedChannel } from './channels.js';
import { InvalidReceiptError } from './errors.js';
import { toMicros, type Micros } from './money.js';
import type { CascadeInput } from './transition.js';
import type { Cascade, Receipt } from './types.js';

/** The provider a channel's try reports through: receipts for it must name this (undefined: none). */
export function receiptsScope(channel: ResolvedChannel | undefined, provider: string | undefined): string | undefined {
  if (channel === undefined) return undefined;
  return channel.multiProvider ? channel.providers.find((p) => p.name === provider)?.receipts : channel.providers[0]!.receipts;
}

/** A receipt that names another provider than the one its attempt's channel declares. */
export interface Misrouted {
  readonly step: number;
  readonly channel: string;
  /** The provider the receipt names (undefined: none). */
  readonly provider: string | undefined;
  /** The provider the channel declares (undefined: none). */
  readonly expected: string | undefined;
}

/**
 * The input a receipt makes for `cascade`: for the attempt that sent its provider id, if the receipt is
 * scoped to that attempt's channel (it names the channel's `provider`, or neither names one). `received`
 * is when it reached this router, its time when the provider gave none.
 */
export function receiptInput(
  channels: ReadonlyMap<string, ResolvedChannel>,
  cascade: Cascade,
  receipt: Receipt,
  received: number,
  now: number,
  by: string,
): { readonly input: CascadeInput } | { readonly misrouted: Misrouted } | undefined {
  const id = receipt.providerMessageId;
  let step = -1;
  let index: number | undefined;
  for (let i = 0; i < cascade.attempts.length && step === -1; i++) {
    const attempt = cascade.attempts[i]!;
    if (attempt.providerMessageId === id) step = i;
    else if (attempt.failovers !== undefined) {
      const earlier = attempt.failovers.findIndex((t) => t.providerMessageId === id);
      if (earlier !== -1) [step, index] = [i, earlier];
    }
  }
  if (step === -1) return undefined;
  const attempt = cascade.attempts[step]!;
  const channel = attempt.channel;
  const expected = receiptsScope(channels.get(channel), index === undefined ? attempt.provider : attempt.failovers![index]!.provider);
  if (receipt.provider !== expected) return { misrouted: { step, channel, provider: receipt.provider, expected } };
  const error = receipt.error ? { message: receipt.error.message ?? 'failed', code: receipt.error.code, fault: receipt.error.fault } : undefined;
  const at = receipt.at ?? received;
  return { input: { type: 'receipt', now, by, step, try: index, status: receipt.status, at, priceMicros: receiptPrice(receipt), error } };
}

/** The price a receipt reports, in micro-units; `InvalidReceiptError` when it is not an amount. */
export function receiptPrice(receipt: Receipt): Micros | undefined {
  if (receipt.price === undefined) return undefined;
  try {
    return toMicros(receipt.price, 'price');
  } catch (cause) {
    throw new InvalidReceiptError(`Invalid receipt: ${(cause as Error).message}`, { cause });
  }
}
