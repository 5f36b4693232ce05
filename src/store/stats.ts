import { addToChannel, addToCounts, type ChannelStats, type OutcomeCounts } from '../core/learning.js';
import { EMPTY_LEDGER, LedgerTotals, type Ledger } from '../core/ledger.js';
import type { StatsUpdate } from './types.js';

/**
 * The statistics a store keeps, as plain values: the spend ledger's totals, each channel's figures and each
 * recipient's own counts (by recipient id, then statistics key). A store for another database reads the
 * parts an update touches (`statsTouched`), applies the update with `applyStatsUpdate`, and writes them back
 * in the same transaction as the change the update came with.
 */
export interface StoreStats {
  readonly ledger: Ledger;
  readonly channels: ReadonlyMap<string, ChannelStats>;
  readonly recipients: ReadonlyMap<string, ReadonlyMap<string, OutcomeCounts>>;
}

/** Nothing counted yet. */
export function emptyStoreStats(): StoreStats {
  return { ledger: EMPTY_LEDGER, channels: new Map(), recipients: new Map() };
}

/** Ledgers added up (counts and micro-units, exactly). */
export function addLedgers(a: Ledger, b: Ledger): Ledger {
  const totals = new LedgerTotals();
  totals.add(a);
  totals.add(b);
  return totals.snapshot();
}

/** The channel figures and recipient counts an update changes: what to read before `applyStatsUpdate`. */
export function statsTouched(update: StatsUpdate | undefined): { readonly channels: readonly string[]; readonly recipients: readonly (readonly [recipientId: string, channel: string])[] } {
  const channels = new Set<string>();
  const recipients = new Map<string, readonly [string, string]>();
  for (const o of update?.observations ?? []) {
    channels.add(o.channel);
    recipients.set(`${o.recipientId}\u0000${o.channel}`, [o.recipientId, o.channel]);
  }
  return { channels: [...channels], recipients: [...recipients.values()] };
}

/**
 * Applies what a change adds to the statistics, as every store must (the contract suite checks it): the
 * ledger delta is added; each observation ages the counts it lands on by the update's half-life to `now`
 * (the change's `updatedAt`) and is added at its own age; latencies of deliveries go to the channel's
 * histogram. Pure: returns new statistics and leaves `stats` as it was.
 */
export function applyStatsUpdate(stats: StoreStats, update: StatsUpdate | undefined, now: number): StoreStats {
  if (update === undefined) return stats;
  const ledger = update.ledger === undefined ? stats.ledger : addLedgers(stats.ledger, update.ledger);
  if (update.observations === undefined || update.observations.length === 0) return { ...stats, ledger };
  const channels = new Map(stats.channels);
  const recipients = new Map(stats.recipients);
  for (const o of update.observations) {
    channels.set(o.channel, addToChannel(channels.get(o.channel), o, now, update.halfLifeMs));
    const own = new Map(recipients.get(o.recipientId) ?? []);
    own.set(o.channel, addToCounts(own.get(o.channel), o, now, update.halfLifeMs));
    recipients.set(o.recipientId, own);
  }
  return { ledger, channels, recipients };
}
