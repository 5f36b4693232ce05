/**
 * The spend ledger: what the router has spent per channel, what late receipts made it pay twice, and
 * what the same messages would have cost by SMS alone. Integer micro-units throughout, so the sums are
 * exact however many messages go through. The router computes a delta per committed change; the store
 * adds it in the same atomic write as the change. The amounts are core/spend.ts's; this takes their differences.
 */
import { formatMicros, type Micros } from './money.js';
import { currentTryCostMicros, savingMicros } from './spend.js';
import type { Attempt, Cascade } from './types.js';

export interface ChannelLedger {
  /** Sends the provider accepted. */
  readonly sent: number;
  /** Attempts that reached their success level (late ones too). */
  readonly delivered: number;
  readonly spendMicros: Micros;
  /** A channel with several providers: the same figures per provider (each try counted by its own provider). */
  readonly providers?: Readonly<Record<string, ProviderLedger>> | undefined;
}

export interface ProviderLedger {
  readonly sent: number;
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
  /** Spend on attempts that reached the customer after the first delivery by receipt time (docs/cost-model.md#double-spend). */
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
  let channels: Record<string, { sent: number; delivered: number; spendMicros: number; providers?: Record<string, ProviderLedger> }> | undefined;
  const was = before?.attempts;
  for (let i = 0; i < after.attempts.length; i++) {
    const a = after.attempts[i]!;
    const b = was?.[i];
    if (a === b) continue;
    const sent = triesSent(a) - (b === undefined ? 0 : triesSent(b));
    const reached = (a.outcome === 'delivered' || a.late === true) && !(b && (b.outcome === 'delivered' || b.late === true)) ? 1 : 0;
    const spend = a.costMicros - (b?.costMicros ?? 0);
    if (sent === 0 && reached === 0 && spend === 0) continue;
    // A plain object (kept in fast mode, unlike one made by Object.create(null)), but null-prototyped for a channel named `__proto__`.
    if (channels === undefined) channels = a.channel === '__proto__' ? Object.create(null) : {};
    else if (a.channel === '__proto__' && Object.getPrototypeOf(channels) !== null) channels = Object.assign(Object.create(null), channels);
    let c = channels![a.channel];
    if (c === undefined || !Object.hasOwn(channels!, a.channel)) channels![a.channel] = c = { sent: 0, delivered: 0, spendMicros: 0 };
    c.sent += sent;
    c.delivered += reached;
    c.spendMicros += spend;
    if (a.provider !== undefined) addProviders(c, a, b);
    changed = true;
  }
  const messages = before === undefined ? 1 : 0;
  const delivered = after.deliveredStep !== undefined && before?.deliveredStep === undefined ? 1 : 0;
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

/** The tries of an attempt through its providers, earliest first, each with what it counts in the ledger. */
function tries(a: Attempt): { provider: string; sent: number; delivered: number; spendMicros: number }[] {
  const out = (a.failovers ?? []).map((t) => ({
    provider: t.provider,
    sent: t.providerMessageId === undefined ? 0 : 1,
    delivered: 0, // a try is left only once it failed
    spendMicros: t.costMicros,
  }));
  out.push({
    provider: a.provider!,
    sent: a.providerMessageId === undefined ? 0 : 1,
    delivered: a.outcome === 'delivered' || a.late === true ? 1 : 0,
    spendMicros: currentTryCostMicros(a),
  });
  return out;
}

/** Sends the provider accepted, over every try of an attempt. */
function triesSent(a: Attempt): number {
  let sent = a.providerMessageId === undefined ? 0 : 1;
  if (a.failovers !== undefined) for (const t of a.failovers) if (t.providerMessageId !== undefined) sent++;
  return sent;
}

/** Adds what changed per provider between `b` and `a` (the same attempt) to the channel's delta. */
function addProviders(c: { providers?: Record<string, ProviderLedger> }, a: Attempt, b: Attempt | undefined): void {
  const now = tries(a);
  const then = b?.provider === undefined ? [] : tries(b);
  for (let i = 0; i < now.length; i++) {
    const x = now[i]!;
    const y = then[i]?.provider === x.provider ? then[i] : undefined;
    const d = { sent: x.sent - (y?.sent ?? 0), delivered: x.delivered - (y?.delivered ?? 0), spendMicros: x.spendMicros - (y?.spendMicros ?? 0) };
    if (d.sent === 0 && d.delivered === 0 && d.spendMicros === 0) continue;
    c.providers ??= Object.create(null) as Record<string, ProviderLedger>;
    const p = c.providers[x.provider];
    c.providers[x.provider] = p ? { sent: p.sent + d.sent, delivered: p.delivered + d.delivered, spendMicros: p.spendMicros + d.spendMicros } : d;
  }
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
      let c = this.#channels.get(name);
      if (!c) this.#channels.set(name, (c = { sent: 0, delivered: 0, spendMicros: 0 }));
      c.sent += d.sent;
      c.delivered += d.delivered;
      c.spendMicros += d.spendMicros;
      for (const provider in d.providers) {
        const dp = d.providers[provider]!;
        const providers = (c.providers ??= Object.create(null) as Record<string, ProviderLedger>) as Record<string, ProviderLedger>;
        const p = providers[provider];
        providers[provider] = p ? { sent: p.sent + dp.sent, delivered: p.delivered + dp.delivered, spendMicros: p.spendMicros + dp.spendMicros } : { ...dp };
      }
    }
  }

  /** A copy of the totals. */
  snapshot(): Ledger {
    const channels: Record<string, ChannelLedger> = {};
    for (const [name, c] of this.#channels) channels[name] = c.providers ? { ...c, providers: { ...c.providers } } : { ...c };
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
  readonly channels: Readonly<Record<string, ChannelReport>>;
  /** The same figures in micro-units. */
  readonly micros: Ledger;
}

/** A channel's line of the report: sends accepted, deliveries, spend, and with several providers the same per provider. */
export interface ChannelReport {
  readonly sent: number;
  readonly delivered: number;
  readonly spend: string;
  readonly providers?: Readonly<Record<string, { readonly sent: number; readonly delivered: number; readonly spend: string }>> | undefined;
}

export function spendReport(ledger: Ledger): SpendReport {
  const channels: Record<string, ChannelReport> = {};
  for (const name of Object.keys(ledger.channels).sort()) {
    const c = ledger.channels[name]!;
    const line = { sent: c.sent, delivered: c.delivered, spend: formatMicros(c.spendMicros) };
    if (c.providers === undefined) {
      channels[name] = line;
      continue;
    }
    const providers: Record<string, { sent: number; delivered: number; spend: string }> = {};
    for (const p of Object.keys(c.providers).sort()) providers[p] = { sent: c.providers[p]!.sent, delivered: c.providers[p]!.delivered, spend: formatMicros(c.providers[p]!.spendMicros) };
    channels[name] = { ...line, providers };
  }
  return {
    messages: ledger.messages,
    delivered: ledger.delivered,
    spend: formatMicros(ledger.spendMicros),
    doubleSpend: formatMicros(ledger.doubleSpendMicros),
    smsOnly: formatMicros(ledger.smsOnlyMicros),
    saving: formatMicros(savingMicros(ledger)),
    withoutSms: ledger.withoutSms,
    channels,
    micros: ledger,
  };
}
