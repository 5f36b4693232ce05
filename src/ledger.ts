/**
 * The spend ledger: what the router has spent per channel, what late receipts made it pay twice, and
 * what the same messages would have cost by SMS alone. Integer micro-units throughout, so the sums are
 * exact however many messages go through. The router computes a delta per committed change; the store
 * adds it in the same atomic write as the change.
 */
import { formatMicros, type Micros } from './money.js';
import type { Cascade } from './types.js';

export interface ChannelLedger {
  /** Sends the provider accepted. */
  readonly sent: number;
  /** Attempts that reached their success level (late ones too). */
  readonly delivered: number;
  readonly spendMicros: Micros;
}

/** Counters, as a delta to add or as the running totals a store keeps. */
export interface Ledger {
  /** Cascades started. */
  readonly messages: number;
  /** Cascades whose message reached the customer (late receipts too). */
  readonly delivered: number;
  readonly spendMicros: Micros;
  /** Spend on attempts after the one that turned out to deliver. */
  readonly doubleSpendMicros: Micros;
  /** What the messages that had an SMS address would have cost sent by SMS only. */
  readonly smsOnlyMicros: Micros;
  /** Messages whose recipient had no address on any SMS channel: left out of `smsOnlyMicros`. */
  readonly withoutSms: number;
  readonly channels: Readonly<Record<string, ChannelLedger>>;
}

export const EMPTY_LEDGER: Ledger = Object.freeze({
  messages: 0,
  delivered: 0,
  spendMicros: 0,
  doubleSpendMicros: 0,
  smsOnlyMicros: 0,
  withoutSms: 0,
  channels: Object.freeze({}),
});

/**
 * What changed in the ledger from `before` to `after` (undefined for a new cascade, whose SMS-only
 * counterfactual is `smsOnlyMicros`, or undefined when it has no SMS address). Undefined when nothing did.
 */
export function ledgerDelta(before: Cascade | undefined, after: Cascade, smsOnlyMicros?: Micros | undefined): Ledger | undefined {
  let changed = false;
  let channels: Record<string, { sent: number; delivered: number; spendMicros: number }> | undefined;
  const was = before?.attempts;
  for (let i = 0; i < after.attempts.length; i++) {
    const a = after.attempts[i]!;
    const b = was?.[i];
    if (a === b) continue;
    const sent = a.providerMessageId !== undefined && b?.providerMessageId === undefined ? 1 : 0;
    const reached = (a.outcome === 'delivered' || a.late === true) && !(b && (b.outcome === 'delivered' || b.late === true)) ? 1 : 0;
    const spend = a.costMicros - (b?.costMicros ?? 0);
    if (sent === 0 && reached === 0 && spend === 0) continue;
    channels ??= {};
    const c = (channels[a.channel] ??= { sent: 0, delivered: 0, spendMicros: 0 });
    c.sent += sent;
    c.delivered += reached;
    c.spendMicros += spend;
    changed = true;
  }
  const messages = before === undefined ? 1 : 0;
  const delivered = after.deliveredBy !== undefined && before?.deliveredBy === undefined ? 1 : 0;
  const spendMicros = after.spendMicros - (before?.spendMicros ?? 0);
  const doubleSpendMicros = after.doubleSpendMicros - (before?.doubleSpendMicros ?? 0);
  if (!changed && messages === 0 && delivered === 0 && spendMicros === 0 && doubleSpendMicros === 0) return undefined;
  return {
    messages,
    delivered,
    spendMicros,
    doubleSpendMicros,
    smsOnlyMicros: messages === 1 ? (smsOnlyMicros ?? 0) : 0,
    withoutSms: messages === 1 && smsOnlyMicros === undefined ? 1 : 0,
    channels: channels ?? EMPTY_LEDGER.channels,
  };
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** Running totals that a store adds deltas into, in place. */
export class LedgerTotals {
  readonly #totals: Mutable<Ledger> = { ...EMPTY_LEDGER };
  readonly #channels = new Map<string, Mutable<ChannelLedger>>();

  add(delta: Ledger): void {
    const t = this.#totals;
    t.messages += delta.messages;
    t.delivered += delta.delivered;
    t.spendMicros += delta.spendMicros;
    t.doubleSpendMicros += delta.doubleSpendMicros;
    t.smsOnlyMicros += delta.smsOnlyMicros;
    t.withoutSms += delta.withoutSms;
    for (const name in delta.channels) {
      const d = delta.channels[name]!;
      const c = this.#channels.get(name);
      if (c) {
        c.sent += d.sent;
        c.delivered += d.delivered;
        c.spendMicros += d.spendMicros;
      } else {
        this.#channels.set(name, { ...d });
      }
    }
  }

  /** A copy of the totals. */
  snapshot(): Ledger {
    const channels: Record<string, ChannelLedger> = {};
    for (const [name, c] of this.#channels) channels[name] = { ...c };
    return { ...this.#totals, channels };
  }
}

/** `router.report()`: the ledger with amounts as exact decimal strings and the saving against SMS only. */
export interface SpendReport {
  readonly messages: number;
  readonly delivered: number;
  readonly spend: string;
  readonly doubleSpend: string;
  /** What the same messages would have cost by SMS only (those with an SMS address; see `withoutSms`). */
  readonly smsOnly: string;
  /** `smsOnly - spend`: what the cascade saved. Negative when it cost more. */
  readonly saving: string;
  readonly withoutSms: number;
  readonly channels: Readonly<Record<string, { readonly sent: number; readonly delivered: number; readonly spend: string }>>;
  /** The same figures in micro-units. */
  readonly micros: Ledger;
}

export function spendReport(ledger: Ledger): SpendReport {
  const channels: Record<string, { sent: number; delivered: number; spend: string }> = {};
  for (const name of Object.keys(ledger.channels).sort()) {
    const c = ledger.channels[name]!;
    channels[name] = { sent: c.sent, delivered: c.delivered, spend: formatMicros(c.spendMicros) };
  }
  return {
    messages: ledger.messages,
    delivered: ledger.delivered,
    spend: formatMicros(ledger.spendMicros),
    doubleSpend: formatMicros(ledger.doubleSpendMicros),
    smsOnly: formatMicros(ledger.smsOnlyMicros),
    saving: formatMicros(ledger.smsOnlyMicros - ledger.spendMicros),
    withoutSms: ledger.withoutSms,
    channels,
    micros: ledger,
  };
}
