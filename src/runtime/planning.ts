/**
 * Planning a send, and the learning around it: the planner's context as the router's options and pieces
 * have it now (open breakers, paced providers), what the store has learned about the recipient read by
 * statistics key and turned into the estimates the planner orders by, and, after the fact, what a stored
 * change carries back to the store (its outcomes, its ledger delta, a new plan's SMS-only counterfactual).
 */
import type { ResolvedChannel } from '../core/channels.js';
import { estimateChannel, isLost, revisionOf, statKey, streakKey, type ChannelStats, type Learned, type ResolvedLearning } from '../core/learning.js';
import type { Amount, Micros } from '../core/money.js';
import { buildPlan, successFor, type PlanContext } from '../core/planner.js';
import type { ChannelEstimate, Cascade, Message, Plan, Recipient } from '../core/types.js';
import type { CascadeStore, StatsUpdate } from '../store/types.js';
import type { Clock } from './clock.js';
import { call, type Operation } from './drive.js';
import type { Pacing } from './pacing.js';
import type { Health } from './provider-health.js';
import { smsOnlyCost, statsUpdate } from './stats-update.js';

type Channels = ReadonlyMap<string, ResolvedChannel>;

/** What `Planning` plans with: the router's resolved options and the pieces whose state a plan reads. */
export interface PlanningOptions {
  readonly channels: Channels;
  readonly store: CascadeStore;
  readonly clock: Clock;
  readonly consentRequired: ReadonlySet<string>;
  readonly valueOfTime: Amount | undefined;
  readonly learning: ResolvedLearning | undefined;
  readonly health: Health;
  readonly pacing: Pacing;
}

/** Plans for the router's sends (and its dry runs), and builds what a stored change carries for learning and the ledger. */
export class Planning {
  readonly #options: PlanningOptions;
  readonly #learnAs = (channel: string): string => this.#options.channels.get(channel)?.learnAs ?? channel;

  constructor(options: PlanningOptions) {
    this.#options = options;
  }

  /** Whether a plan reads what was learned first (`plan`); otherwise `planNow` gives it without a generator. */
  get learns(): boolean {
    return this.#options.learning !== undefined;
  }

  /** Plans with what the store has learned about the recipient (when learning). `capped`: the frequency cap it hit. */
  *plan(message: Message, recipient: Recipient, capped?: string): Operation<Plan> {
    const { learning, channels, store, clock } = this.#options;
    if (!learning) return this.planNow(message, recipient, capped);
    const context = this.#context(message, capped);
    const keys = statKeysFor(channels, message);
    const learned = yield* call(store.learned(recipient.id, learnedKeys(keys)));
    const now = clock.now();
    const estimates = estimatesFor(keys, learned, learning, now);
    // A literal, not `{ ...context, now, … }`: a spread that overrides a key leaves V8's fast clone (~5 µs a send).
    const { consentRequired, valueOfTime, unhealthy, paceWaits } = context;
    return buildPlan({ channels, consentRequired, now, valueOfTime, unhealthy, paceWaits, capped, estimates, minProbability: learning.minProbability, learned: true }, message, recipient);
  }

  /** The plan when not learning: nothing to read first. */
  planNow(message: Message, recipient: Recipient, capped: string | undefined): Plan {
    return buildPlan(this.#context(message, capped), message, recipient);
  }

  /** The ledger delta and the outcomes a stored change carries to the store (a new cascade: with its SMS-only counterfactual). */
  update(before: Cascade | undefined, after: Cascade): StatsUpdate | undefined {
    const smsOnly: Micros | undefined = before === undefined ? smsOnlyCost(this.#options.channels, after.plan, after.message, after.recipient) : undefined;
    return statsUpdate(before, after, this.#options.learning, this.#learnAs, smsOnly);
  }

  #context(message: Message, capped: string | undefined): PlanContext {
    const { channels, consentRequired, clock, valueOfTime, health, pacing } = this.#options;
    return {
      channels,
      consentRequired,
      now: clock.now(),
      valueOfTime,
      unhealthy: health.unhealthy(),
      paceWaits: pacing.isUrgent(message) ? undefined : pacing.waits(),
      capped,
    };
  }
}

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

