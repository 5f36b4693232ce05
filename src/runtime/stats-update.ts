/**
 * What the router hands the store and the planner around learning and the spend ledger: the statistics
 * keys a message reads, the estimates the planner orders by, the update a persisted change carries, and
 * the SMS-only counterfactual of a new message (computed in core/spend.ts). Plain functions over the router's
 * resolved channels.
 */
import type { ResolvedChannel } from '../core/channels.js';
import { estimateChannel, isLost, observe, statKey, streakKey, streakObservations, type Learned, type ResolvedLearning } from '../core/learning.js';
import { ledgerDelta } from '../core/ledger.js';
import type { Micros } from '../core/money.js';
import { successFor } from '../core/plan/content.js';
import type { StatsUpdate } from '../store/types.js';
import type { Cascade, ChannelEstimate, Message } from '../core/types.js';

type Channels = ReadonlyMap<string, ResolvedChannel>;

/** The channels this message may use, each with its statistics key (`learnAs`, and `:read` when it waits for read). */
export function statKeysFor(channels: Channels, message: Message): Map<ResolvedChannel, string> {
  const keys = new Map<ResolvedChannel, string>();
  for (const channel of channels.values()) {
    if (message.channels === undefined || message.channels.includes(channel.name)) keys.set(channel, statKey(channel.learnAs, successFor(message, channel)));
  }
  return keys;
}

/** The planner's estimate for each of those channels, from what the store has learned. */
export function estimatesFor(keys: ReadonlyMap<ResolvedChannel, string>, learned: Learned, learning: ResolvedLearning, now: number): Map<string, ChannelEstimate> {
  const estimates = new Map<string, ChannelEstimate>();
  for (const [channel, key] of keys) {
    const wait = { timeoutMs: channel.timeoutMs, minMs: channel.adaptive?.minMs, maxMs: channel.adaptive?.maxMs };
    // The run of misses is kept per channel (`learnAs`), whatever level a step waits for, and tested against the
    // recipient's counts at that base key (at `read`, reach would look low and no run would ever be a loss).
    const base = channel.learnAs;
    const baseOwn = learned.recipient.get(base);
    const lost = isLost(learned.channels.get(base), baseOwn ?? learned.recipient.get(key), learned.recipient.get(streakKey(base)), learning, now);
    estimates.set(channel.name, estimateChannel(learned.channels.get(key), learned.recipient.get(key), wait, learning, now, lost));
  }
  return estimates;
}

/** What a plan reads from the store: the statistics keys, and per channel its base key and run of misses (`streakKey`). */
export function learnedKeys(keys: ReadonlyMap<ResolvedChannel, string>): string[] {
  const out = new Set<string>();
  for (const [channel, key] of keys) out.add(key).add(channel.learnAs).add(streakKey(channel.learnAs));
  return [...out];
}

/** The ledger delta and (when learning) the outcomes a persisted change carries; undefined when there are none. */
export function statsUpdate(
  before: Cascade | undefined,
  after: Cascade,
  learning: ResolvedLearning | undefined,
  learnAs: (channel: string) => string,
  smsOnlyMicros?: Micros | undefined,
): StatsUpdate | undefined {
  const ledger = ledgerDelta(before, after, smsOnlyMicros);
  if (learning) {
    const observations = observe(before, after, learnAs);
    const all = [...observations, ...streakObservations(before, after, learnAs)];
    if (all.length > 0) return { ledger, observations: all, halfLifeMs: learning.halfLifeMs };
  }
  return ledger && { ledger };
}

/** What a new message would have cost by SMS only, for the ledger (core/spend.ts). */
export { smsOnlyCost } from '../core/spend.js';
