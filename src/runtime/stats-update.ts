/**
 * What the router hands the store and the planner around learning and the spend ledger: the statistics
 * keys a message reads, the estimates the planner orders by, the update a persisted change carries, and
 * the SMS-only counterfactual of a new message. Plain functions over the router's resolved channels.
 */
import type { ResolvedChannel } from '../core/channels.js';
import { projectCost } from '../core/cost.js';
import { estimateChannel, isLost, observe, revisionOf, statKey, streakKey, streakObservations, type ChannelStats, type Learned, type ResolvedLearning } from '../core/learning.js';
import { ledgerDelta } from '../core/ledger.js';
import type { Micros } from '../core/money.js';
import { contentFor, successFor } from '../core/planner.js';
import type { StatsUpdate } from '../store/types.js';
import type { Cascade, ChannelEstimate, Message, Plan, Recipient } from '../core/types.js';

type Channels = ReadonlyMap<string, ResolvedChannel>;

// Most messages name no channels and no success level: their keys depend on the channels alone, so they
// are worked out once per router (its channel map) and shared. Read only.
const defaultKeys = new WeakMap<Channels, Map<ResolvedChannel, string>>();
const keyLists = new WeakMap<ReadonlyMap<ResolvedChannel, string>, string[]>();

/** The channels this message may use, each with its statistics key (`learnAs`, and `:read` when it waits for read). */
export function statKeysFor(channels: Channels, message: Message): ReadonlyMap<ResolvedChannel, string> {
  const shared = message.channels === undefined && message.success === undefined;
  if (shared) {
    const known = defaultKeys.get(channels);
    if (known !== undefined) return known;
  }
  const keys = new Map<ResolvedChannel, string>();
  for (const channel of channels.values()) {
    if (message.channels === undefined || message.channels.includes(channel.name)) keys.set(channel, statKey(channel.learnAs, successFor(message, channel)));
  }
  if (shared) defaultKeys.set(channels, keys);
  return keys;
}

/**
 * The last estimates made for a recipient with no history of their own: they depend only on the channel-wide
 * figures and the time, so every such recipient planned at the same instant with the same figures gets
 * them (a burst of new recipients between two outcomes). `figures` holds, per channel, the figures read at
 * its key and base key and their revisions: a store hands out new figures on each update, or updates a record
 * in place with `addToChannelRecord` (as src/core/learning.ts's histogram cache assumes too).
 */
let lastWide: { keys: ReadonlyMap<ResolvedChannel, string>; learning: ResolvedLearning; now: number; figures: unknown[]; estimates: Map<string, ChannelEstimate> } | undefined;

/** Whether the channel-wide figures are the ones `figures` recorded (the same objects, not updated since). */
function sameFigures(figures: readonly unknown[], keys: ReadonlyMap<ResolvedChannel, string>, learned: Learned): boolean {
  let i = 0;
  const same = (stats: ChannelStats | undefined): boolean => figures[i++] === stats && figures[i++] === (stats === undefined ? 0 : revisionOf(stats));
  for (const [channel, key] of keys) if (!same(learned.channels.get(key)) || !same(learned.channels.get(channel.learnAs))) return false;
  return true;
}

function figuresOf(keys: ReadonlyMap<ResolvedChannel, string>, learned: Learned): unknown[] {
  const figures: unknown[] = [];
  for (const [channel, key] of keys) {
    for (const stats of [learned.channels.get(key), learned.channels.get(channel.learnAs)] as (ChannelStats | undefined)[]) figures.push(stats, stats === undefined ? 0 : revisionOf(stats));
  }
  return figures;
}

/** The planner's estimate for each of those channels, from what the store has learned. */
export function estimatesFor(keys: ReadonlyMap<ResolvedChannel, string>, learned: Learned, learning: ResolvedLearning, now: number): ReadonlyMap<string, ChannelEstimate> {
  const wide = learned.recipient.size === 0;
  if (wide && lastWide !== undefined && lastWide.keys === keys && lastWide.learning === learning && lastWide.now === now && sameFigures(lastWide.figures, keys, learned)) {
    return lastWide.estimates;
  }
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
  if (wide) lastWide = { keys, learning, now, figures: figuresOf(keys, learned), estimates };
  return estimates;
}

/** What a plan reads from the store: the statistics keys, and per channel its base key and run of misses (`streakKey`). */
export function learnedKeys(keys: ReadonlyMap<ResolvedChannel, string>): readonly string[] {
  const known = keyLists.get(keys);
  if (known !== undefined) return known;
  const out = new Set<string>();
  for (const [channel, key] of keys) out.add(key).add(channel.learnAs).add(streakKey(channel.learnAs));
  const list = [...out];
  keyLists.set(keys, list);
  return list;
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

/** What this message would have cost on the cheapest SMS channel that has an address for the recipient. */
export function smsOnlyCost(channels: Channels, plan: Plan, message: Message, recipient: Recipient): Micros | undefined {
  let best: Micros | undefined;
  for (const step of plan.steps) if (step.kind === 'sms' && (best === undefined || step.costMicros < best)) best = step.costMicros;
  if (best !== undefined) return best;
  for (const channel of channels.values()) {
    if (channel.kind !== 'sms') continue;
    const address = channel.address(recipient);
    if (address === undefined || address === '') continue;
    const cost = channel.fixedCostMicros ?? projectCost(channel.cost, { channel: channel.name, message, recipient, address, content: contentFor(message, channel) });
    if (best === undefined || cost < best) best = cost;
  }
  return best;
}
