/**
 * Learned reachability and receipt latency: what a store keeps, how it decays, and the estimates the
 * planner orders by. Pure functions; the stores hold the records and apply updates atomically (the memory
 * store updates its records in place with the `…Record` functions, the same arithmetic). One file over ~250
 * lines: what is counted and how it is read back are one model, kept together.
 * See docs/cost-model.md.
 */
import { toMs, type Duration } from './duration.js';
import { InvalidConfigError } from './errors.js';
import { STATUS_RANK, type Attempt, type Cascade, type ChannelEstimate, type SuccessLevel } from './types.js';

/** What the router learns from outcomes; `learning: true` takes every default. */
export interface LearningOptions {
  /** How fast old outcomes fade: an outcome this old counts half. Default `'7d'`. */
  readonly halfLife?: Duration | undefined;
  /** How many outcomes the channel-wide figure counts for in a recipient's own estimate. Default 1. */
  readonly priorWeight?: number | undefined;
  /**
   * A channel whose learned probability for a recipient is below this is skipped (`unlikely`) when it cannot
   * deliver (taken for lost) or when trying it costs more than it may save (docs/cost-model.md). Default 0.05.
   */
  readonly minProbability?: number | undefined;
  /**
   * The share of deliveries an adaptive wait covers at most. Default 1: the wait may run to the channel's
   * adaptive `max`, and the planner stops it earlier only where waiting on would cost more than falling back
   * (never without a value of time), so that no wait is shorter than money alone justifies. Below 1: a step
   * waits at most this quantile of the observed latency, within the bounds.
   */
  readonly quantile?: number | undefined;
  /** Deliveries observed on a channel before its wait adapts; until then it waits its configured timeout. Default 20. */
  readonly minSamples?: number | undefined;
}

export interface ResolvedLearning {
  readonly halfLifeMs: number;
  readonly priorWeight: number;
  readonly minProbability: number;
  readonly quantile: number;
  readonly minSamples: number;
}

/** What one outcome counts as. `skipped`: the planner left the channel out as unlikely to reach. */
export type LearnedOutcome = 'delivered' | 'failed' | 'timeout' | 'skipped';

/** One outcome of one channel for one recipient, as the router hands it to the store. */
export interface Observation {
  /** The statistics key: the channel name, with `:read` when the step waited for `read`. */
  readonly channel: string;
  readonly recipientId: string;
  readonly outcome: LearnedOutcome;
  /** When it happened: the store counts it at `weight · 2^-(now - at)/halfLife`. */
  readonly at: number;
  /** 1, or -1 to take back a `timeout` that a late receipt turned into a delivery. */
  readonly weight: number;
  /** Time from the send to success, for deliveries. */
  readonly latencyMs?: number | undefined;
}

/** Decayed outcome counts as of `at`. */
export interface OutcomeCounts {
  readonly at: number;
  readonly delivered: number;
  readonly failed: number;
  readonly timeout: number;
  readonly skipped: number;
}

/** Channel-wide counts with a decayed histogram of receipt latency (bucket → weight, see `latencyBucket`). */
export interface ChannelStats extends OutcomeCounts {
  readonly latency: Readonly<Record<number, number>>;
}

/** What a store knows for one recipient: every channel's figures and the recipient's own counts. */
export interface Learned {
  readonly channels: ReadonlyMap<string, ChannelStats>;
  readonly recipient: ReadonlyMap<string, OutcomeCounts>;
}

export const NOTHING_LEARNED: Learned = Object.freeze({ channels: new Map(), recipient: new Map() });

/** How many silent misses one hard failure counts as in a recipient's own estimate. */
export const HARD_FAILURE_WEIGHT = 3;

/**
 * A run of misses since the last delivery is kept under a second statistics key per recipient and channel,
 * `<key>#since` (see `streakKey`), in the same counts every store keeps: `timeout` and `failed` count the misses
 * of the run, `skipped` the messages planned without the channel since its last miss. A delivery resets all
 * three and a miss resets `skipped`, with a weight this large: every store floors a count at 0.
 */
export const RESET_WEIGHT = -1e12;

/**
 * A run of misses is taken for a lost channel when a channel still reaching the recipient as it did before the
 * run would miss that many times in a row at most this often (and the run is more than one silent miss).
 */
export const LOST_LIKELIHOOD = 0.05;

/** The chance of a miss a channel is credited with at least in that test: a phone is offline now and then. */
export const MIN_MISS_CHANCE = 0.1;

/** A channel taken for lost is tried again (a probe) once this many messages were planned without it. */
export const PROBE_AFTER = 3;

/** The statistics key of a recipient's run of misses on a channel (see `RESET_WEIGHT`). */
export function streakKey(key: string): string {
  return `${key}#since`;
}

/** Four buckets per doubling of latency: a bucket's bounds are within 19% of each other. */
const BUCKETS_PER_OCTAVE = 4;
const MAX_BUCKET = 160; // 2^40 ms, ~35 years

/** The histogram bucket of a latency: `floor(4·log2(ms))`, 0 for anything up to 1 ms. */
export function latencyBucket(ms: number): number {
  if (!(ms > 1)) return 0;
  return Math.min(MAX_BUCKET, Math.floor(Math.log2(ms) * BUCKETS_PER_OCTAVE));
}

/** The upper bound of a bucket (ms). */
export function bucketUpperMs(bucket: number): number {
  return Math.round(2 ** ((bucket + 1) / BUCKETS_PER_OCTAVE));
}

/** The factor that ages a count from `from` to `to`. */
export function decay(from: number, to: number, halfLifeMs: number): number {
  return to <= from ? 1 : 2 ** (-(to - from) / halfLifeMs);
}

export function resolveLearning(options: boolean | LearningOptions | undefined): ResolvedLearning | undefined {
  if (options === undefined || options === false) return undefined;
  const o: LearningOptions = options === true ? {} : options;
  const halfLifeMs = toMs(o.halfLife ?? '7d', 'learning.halfLife', InvalidConfigError);
  const check = (value: number, field: string, min: number, max: number): number => {
    if (typeof value !== 'number' || !(value >= min && value <= max)) {
      throw new InvalidConfigError(`Expected \`learning.${field}\` to be a number from ${min} to ${max}, got ${String(value)}`);
    }
    return value;
  };
  if (halfLifeMs <= 0) throw new InvalidConfigError(`Expected \`learning.halfLife\` to be a positive duration, got ${String(o.halfLife)}`);
  return {
    halfLifeMs,
    priorWeight: check(o.priorWeight ?? 1, 'priorWeight', 0, 1e6),
    minProbability: check(o.minProbability ?? 0.05, 'minProbability', 0, 1),
    quantile: check(o.quantile ?? 1, 'quantile', 0.5, 1),
    minSamples: check(o.minSamples ?? 20, 'minSamples', 1, 1e9),
  };
}

const EMPTY_COUNTS: OutcomeCounts = Object.freeze({ at: 0, delivered: 0, failed: 0, timeout: 0, skipped: 0 });

/** Counts aged to `now`, with the observation added. Counts never go below zero. */
export function addToCounts(counts: OutcomeCounts | undefined, o: Observation, now: number, halfLifeMs: number): OutcomeCounts {
  const c = counts ?? EMPTY_COUNTS;
  const age = counts === undefined ? 1 : decay(c.at, now, halfLifeMs);
  const w = o.weight * decay(o.at, now, halfLifeMs);
  const at = Math.max(c.at, now);
  return {
    at,
    delivered: Math.max(0, c.delivered * age + (o.outcome === 'delivered' ? w : 0)),
    failed: Math.max(0, c.failed * age + (o.outcome === 'failed' ? w : 0)),
    timeout: Math.max(0, c.timeout * age + (o.outcome === 'timeout' ? w : 0)),
    skipped: Math.max(0, c.skipped * age + (o.outcome === 'skipped' ? w : 0)),
  };
}

/** Channel-wide figures aged to `now`, with the observation (and its latency) added. */
export function addToChannel(stats: ChannelStats | undefined, o: Observation, now: number, halfLifeMs: number): ChannelStats {
  const counts = addToCounts(stats, o, now, halfLifeMs);
  const age = stats === undefined ? 1 : decay(stats.at, now, halfLifeMs);
  const latency: Record<number, number> = {};
  // Integer keys: for-in walks them in order without the entry arrays and Number() parsing of Object.entries.
  if (stats) {
    const from = stats.latency as Record<string, number>;
    if (age === 1) for (const bucket in from) (latency as Record<string, number>)[bucket] = from[bucket]!;
    else for (const bucket in from) (latency as Record<string, number>)[bucket] = from[bucket]! * age;
  }
  if (o.latencyMs !== undefined && o.outcome === 'delivered') {
    const bucket = latencyBucket(o.latencyMs);
    latency[bucket] = Math.max(0, (latency[bucket] ?? 0) + o.weight * decay(o.at, now, halfLifeMs));
  }
  return { ...counts, latency };
}

/** Counts a store keeps as one record and updates in place (the memory store), instead of a new object per outcome. */
export interface CountsRecord {
  at: number;
  delivered: number;
  failed: number;
  timeout: number;
  skipped: number;
}

/** A channel's figures kept as one record: its counts and its latency histogram, both updated in place. */
export interface ChannelRecord extends CountsRecord {
  readonly latency: Record<number, number>;
}

/** A record for a key nothing was counted for yet: aging it to `now` leaves it as it is, as `addToCounts` starts. */
export function newCountsRecord(now: number): CountsRecord {
  return { at: now, delivered: 0, failed: 0, timeout: 0, skipped: 0 };
}

export function newChannelRecord(now: number): ChannelRecord {
  return { at: now, delivered: 0, failed: 0, timeout: 0, skipped: 0, latency: {} };
}

/** `addToCounts`, written into the record: the same figures, in the same order of operations. */
export function addToCountsRecord(c: CountsRecord, o: Observation, now: number, halfLifeMs: number): void {
  const age = decay(c.at, now, halfLifeMs);
  const w = o.weight * decay(o.at, now, halfLifeMs);
  c.at = Math.max(c.at, now);
  c.delivered = Math.max(0, c.delivered * age + (o.outcome === 'delivered' ? w : 0));
  c.failed = Math.max(0, c.failed * age + (o.outcome === 'failed' ? w : 0));
  c.timeout = Math.max(0, c.timeout * age + (o.outcome === 'timeout' ? w : 0));
  c.skipped = Math.max(0, c.skipped * age + (o.outcome === 'skipped' ? w : 0));
}

// How many times each record was updated: a record stays the same object, so what is derived from it is
// keyed by the object and this count.
const revisions = new WeakMap<ChannelStats, number>();

/** A number that changes whenever `addToChannelRecord` updates the figures (0 for figures never updated in place). */
export function revisionOf(stats: ChannelStats): number {
  return revisions.get(stats) ?? 0;
}

/** `addToChannel`, written into the record: the histogram is aged and added to where it is, not copied. */
export function addToChannelRecord(stats: ChannelRecord, o: Observation, now: number, halfLifeMs: number): void {
  revisions.set(stats, revisionOf(stats) + 1);
  const age = decay(stats.at, now, halfLifeMs);
  addToCountsRecord(stats, o, now, halfLifeMs);
  const latency = stats.latency as Record<string, number>;
  const added = o.latencyMs !== undefined && o.outcome === 'delivered';
  if (age === 1 && !added) return;
  // The record is the same object with other weights: its sorted histogram is stale.
  histograms.delete(stats);
  if (age !== 1) for (const bucket in latency) latency[bucket] = latency[bucket]! * age;
  if (added) {
    const bucket = latencyBucket(o.latencyMs!);
    stats.latency[bucket] = Math.max(0, (stats.latency[bucket] ?? 0) + o.weight * decay(o.at, now, halfLifeMs));
  }
}

/** How one channel is configured to wait, for `estimateChannel`. */
export interface WaitBounds {
  /** The configured timeout: the wait until enough latencies are known. */
  readonly timeoutMs: number;
  /** Adaptive bounds, or undefined when the channel's wait does not adapt. */
  readonly minMs: number | undefined;
  readonly maxMs: number | undefined;
}

/**
 * The estimate for one channel and one recipient. The channel-wide probability has one optimistic
 * pseudo-outcome (a channel nobody has tried yet is expected to work); a recipient's own counts are
 * weighed against `priorWeight` pseudo-outcomes at the channel-wide figure. Counts are aged to `now`.
 */
export function estimateChannel(
  channel: ChannelStats | undefined,
  recipient: OutcomeCounts | undefined,
  wait: WaitBounds,
  learning: ResolvedLearning,
  now: number,
  lost = false,
): ChannelEstimate {
  const { halfLifeMs, priorWeight } = learning;
  const channelAge = channel ? decay(channel.at, now, halfLifeMs) : 1;
  const tried = channel ? (channel.delivered + channel.failed + channel.timeout) * channelAge : 0;
  const wide = ((channel ? channel.delivered * channelAge : 0) + 1) / (tried + 1);
  const wideFailure = (channel ? channel.failed * channelAge : 0) / (tried + 1);
  let eventual = wide;
  let failure = wideFailure;
  if (recipient) {
    const age = decay(recipient.at, now, halfLifeMs);
    // A hard failure (a failure receipt, a permanent send error: a bounce, an unregistered token, not on the
    // messenger) says more about this recipient than silence, which may be a phone offline this once: in the
    // recipient's posterior it counts as `HARD_FAILURE_WEIGHT` misses.
    const own = (recipient.delivered + HARD_FAILURE_WEIGHT * recipient.failed + recipient.timeout) * age;
    const seen = (recipient.delivered + recipient.failed + recipient.timeout) * age;
    eventual = (recipient.delivered * age + priorWeight * wide) / (own + priorWeight);
    failure = (recipient.failed * age + priorWeight * wideFailure) / (seen + priorWeight);
  }
  if (lost) eventual = 0;

  // Ageing scales every bucket alike, so quantiles and shares need only the stored weights; only the
  // sample count is aged.
  const { buckets, total } = channel ? histogram(channel) : NO_HISTOGRAM;
  let waitMs = wait.timeoutMs;
  const adapts = wait.minMs !== undefined && total * channelAge >= learning.minSamples;
  if (adapts) {
    // Every receipt seen (the default): the curve runs to the longest wait allowed, for the planner to stop
    // it earlier only where that is worth it (with no value of time, never: the receipts no sample has
    // shown yet, after the slowest seen, would otherwise each pay for a fallback as well).
    const upto = learning.quantile === 1 ? (wait.maxMs ?? wait.timeoutMs) : quantileMs(buckets, total, learning.quantile);
    waitMs = Math.min(Math.max(upto, wait.minMs!), wait.maxMs ?? Infinity);
  }
  // Only a recipient's own outcomes get a channel skipped: on channel-wide figures alone (a provider's bad
  // hour) everyone would stop trying it, and nothing new would ever be learned to bring it back.
  // A channel taken for lost (by the recipient's run of misses at its base key) gets no floor either.
  const floor = recipient || lost ? 0 : learning.minProbability;
  // Probability of success within the wait, and the mean latency of those successes; with an adaptive
  // wait, the same at every shorter wait from the minimum (the bucket bounds), for the planner to choose from.
  let within = 0;
  let latencySum = 0;
  const arrival: [number, number, number][] | undefined = adapts ? [] : undefined;
  const point = (w: number): [number, number, number] => [
    w,
    Math.max(floor, clamp01(eventual * (total > 0 ? within / total : 1))),
    within > 0 ? latencySum / within : 0,
  ];
  // Between buckets the chance of success is flat, so the waits worth offering are the minimum and the
  // upper bound of each bucket from there on: the start of each flat stretch.
  for (const [bucket, weight] of buckets) {
    const upper = bucketUpperMs(bucket);
    if (upper > waitMs) break;
    if (arrival && arrival.length === 0 && upper > wait.minMs!) arrival.push(point(wait.minMs!));
    within += weight;
    latencySum += weight * midpointMs(bucket);
    if (arrival && upper >= wait.minMs! && upper < waitMs) arrival.push(point(upper));
  }
  const [, probability, latencyMs] = point(waitMs);
  if (arrival) arrival.push([waitMs, probability, latencyMs]);
  return {
    probability,
    latencyMs,
    waitMs: adapts ? waitMs : undefined,
    failure: clamp01(failure),
    arrival: arrival && arrival.length > 1 ? arrival : undefined,
    personal: lost || (recipient !== undefined && recipient.delivered + recipient.failed + recipient.timeout > 0),
  };
}

/**
 * A recipient's run of misses on a channel since its last delivery (`streak`, kept under `streakKey` of the
 * channel's base statistics key: a step waiting for `read` that got a delivery receipt is no miss), read as a
 * change point against the reach the recipient had before the run: its own counts at that key without the
 * run's misses, weighed against the channel-wide figure as in `estimateChannel`. True when the run is too
 * long for a channel with that reach to have made by chance (`LOST_LIKELIHOOD`): the channel is taken for
 * lost. A lost channel that more than `PROBE_AFTER - 1` plans (aged) went without is not lost for the next
 * plan: it is probed with the estimate its counts give (a channel that never reached the recipient stays
 * `unlikely` by its counts alone).
 */
export function isLost(
  channel: ChannelStats | undefined,
  recipient: OutcomeCounts | undefined,
  streak: OutcomeCounts | undefined,
  learning: ResolvedLearning,
  now: number,
): boolean {
  if (streak === undefined) return false;
  const { halfLifeMs, priorWeight } = learning;
  const channelAge = channel ? decay(channel.at, now, halfLifeMs) : 1;
  const tried = channel ? (channel.delivered + channel.failed + channel.timeout) * channelAge : 0;
  const wide = ((channel ? channel.delivered * channelAge : 0) + 1) / (tried + 1);
  const runAge = decay(streak.at, now, halfLifeMs);
  const silent = streak.timeout * runAge;
  const hard = streak.failed * runAge;
  // One silent miss is never a loss (MIN_MISS_CHANCE > LOST_LIKELIHOOD): it may be a phone offline this once.
  const misses = silent + HARD_FAILURE_WEIGHT * hard;
  const age = recipient ? decay(recipient.at, now, halfLifeMs) : 0;
  const delivered = recipient ? recipient.delivered * age : 0;
  const weighed = recipient ? delivered + HARD_FAILURE_WEIGHT * Math.max(0, recipient.failed * age - hard) + Math.max(0, recipient.timeout * age - silent) : 0;
  // A channel that has reached the recipient was working for them: its prior is a working channel's rate (it
  // misses `MIN_MISS_CHANCE` of the time), not the channel-wide rate, which mixes in the customers it never reaches.
  const prior = delivered > 0 ? Math.max(wide, 1 - MIN_MISS_CHANCE) : wide;
  const before = weighed + priorWeight > 0 ? (delivered + priorWeight * prior) / (weighed + priorWeight) : prior;
  const q = Math.max(MIN_MISS_CHANCE, 1 - before);
  // Skips are aged too: three plans without the channel a day apart count 2.47 a day after the last, two never more than 2.
  return q ** misses <= LOST_LIKELIHOOD && streak.skipped * runAge <= PROBE_AFTER - 1;
}

interface Histogram {
  readonly buckets: readonly (readonly [bucket: number, weight: number])[];
  readonly total: number;
}

const NO_HISTOGRAM: Histogram = { buckets: [], total: 0 };
// Stores replace a channel's figures on every update, or update a record in place and drop its entry here
// (`addToChannelRecord`), so one sort serves every plan until the next one.
const histograms = new WeakMap<ChannelStats, Histogram>();

function histogram(stats: ChannelStats): Histogram {
  let h = histograms.get(stats);
  if (h) return h;
  let total = 0;
  const buckets: [number, number][] = [];
  for (const [bucket, weight] of Object.entries(stats.latency)) {
    if (weight > 0) {
      buckets.push([Number(bucket), weight]);
      total += weight;
    }
  }
  buckets.sort((a, b) => a[0] - b[0]);
  h = { buckets, total };
  histograms.set(stats, h);
  return h;
}

function quantileMs(buckets: readonly (readonly [number, number])[], total: number, q: number): number {
  const target = q * total;
  let seen = 0;
  for (const [bucket, weight] of buckets) {
    seen += weight;
    if (seen >= target) return bucketUpperMs(bucket);
  }
  return bucketUpperMs(buckets[buckets.length - 1]![0]);
}

function midpointMs(bucket: number): number {
  return 2 ** ((bucket + 0.5) / BUCKETS_PER_OCTAVE);
}

function clamp01(x: number): number {
  return x < 0 ? 0 : x > 1 ? 1 : x;
}

/** The statistics key of a step: outcomes at `read` are kept apart from outcomes at `delivered`. */
export function statKey(channel: string, success: SuccessLevel): string {
  return success === 'read' ? `${channel}:read` : channel;
}

/**
 * The observations that keep each recipient's run of misses (see `RESET_WEIGHT`) for a committed change, under
 * `streakKey` of each channel's base statistics key (`learnAs`, without `:read`): an attempt that reached the
 * recipient (its step's success level, or `delivered` for a step waiting for `read`; a late receipt too, and a
 * `delivered` that reaches a step waiting for `read` after its wait) resets the run; one that failed or timed out without reaching adds a miss and resets the count of plans without
 * the channel; a new cascade's `unlikely` skips each count one plan without the channel.
 */
export function streakObservations(before: Cascade | undefined, after: Cascade, learnAs: (channel: string) => string = (c) => c): Observation[] {
  const out: Observation[] = [];
  const recipientId = after.recipient.id;
  if (before === undefined) {
    for (const skip of after.plan.skipped) {
      if (skip.reason === 'unlikely') out.push({ channel: streakKey(learnAs(skip.channel)), recipientId, outcome: 'skipped', at: after.createdAt, weight: 1 });
    }
  }
  const was = before?.attempts;
  for (let i = 0; i < after.attempts.length; i++) {
    const a = after.attempts[i]!;
    const b = was?.[i];
    if (a === b || (a.endedAt === undefined && !a.late)) continue;
    const channel = streakKey(learnAs(a.channel));
    const planned = after.plan.steps[a.step]!;
    const level: SuccessLevel = planned.success === 'read' ? 'delivered' : planned.success;
    const reset = (at: number, outcome: LearnedOutcome): void => void out.push({ channel, recipientId, outcome, at, weight: RESET_WEIGHT });
    const reached = (at: number): void => {
      reset(at, 'timeout');
      reset(at, 'failed');
      reset(at, 'skipped');
    };
    if (a.late && !b?.late) {
      reached(reachedAt(a, level) ?? after.updatedAt);
      continue;
    }
    if (b?.phase === 'ended' && a.phase === 'ended') {
      // A step waiting for read that got its `delivered` receipt only after its wait: no late delivery of the
      // message (below its success level), but the channel reached the device, so the run ends.
      const got = reachedAt(a, level);
      if (got !== undefined && reachedAt(b, level) === undefined) reached(got);
      continue;
    }
    if (a.phase !== 'ended') continue;
    const at = a.endedAt!;
    const got = reachedAt(a, level);
    if (got !== undefined || a.outcome === 'delivered') {
      reached(got ?? at);
      continue;
    }
    if (a.outcome === 'failed' || a.outcome === 'send-error' || a.outcome === 'timeout') {
      out.push({ channel, recipientId, outcome: a.outcome === 'timeout' ? 'timeout' : 'failed', at, weight: 1 });
      reset(at, 'skipped');
    }
  }
  return out;
}

/** When an attempt first reached its step's success level, from its status history. */
function reachedAt(attempt: Attempt, success: SuccessLevel): number | undefined {
  for (const change of attempt.history) if (change.status !== 'failed' && STATUS_RANK[change.status] >= STATUS_RANK[success]) return change.at;
  return undefined;
}

/**
 * What a committed change teaches: outcomes of attempts that ended or were delivered late.
 * A timeout that a late receipt turns into a delivery is taken back (weight -1 at the time it was counted).
 * `before` is undefined for a new cascade: its plan's `unlikely` skips are counted.
 */
export function observe(before: Cascade | undefined, after: Cascade, learnAs: (channel: string) => string = (c) => c): Observation[] {
  const out: Observation[] = [];
  const recipientId = after.recipient.id;
  if (before === undefined) {
    for (const skip of after.plan.skipped) {
      if (skip.reason === 'unlikely') out.push({ channel: learnAs(skip.channel), recipientId, outcome: 'skipped', at: after.createdAt, weight: 1 });
    }
  }
  const was = before?.attempts;
  for (let i = 0; i < after.attempts.length; i++) {
    const a = after.attempts[i]!;
    const b = was?.[i];
    if (a === b || (a.endedAt === undefined && !a.late)) continue;
    const planned = after.plan.steps[a.step]!;
    const channel = statKey(learnAs(a.channel), planned.success);
    const delivered = (at: number): void => {
      const reached = reachedAt(a, planned.success) ?? at;
      out.push({ channel, recipientId, outcome: 'delivered', at: reached, weight: 1, latencyMs: Math.max(0, reached - a.startedAt) });
    };
    if (a.late && !b?.late) {
      // A positive receipt after the step ended: the channel did reach the customer, only slowly;
      // the timeout (or send error) counted when it ended is taken back.
      delivered(after.updatedAt);
      if (b?.phase === 'ended' && (a.outcome === 'timeout' || a.outcome === 'send-error')) {
        out.push({ channel, recipientId, outcome: a.outcome === 'timeout' ? 'timeout' : 'failed', at: a.endedAt!, weight: -1 });
      }
      continue;
    }
    if (a.phase !== 'ended' || b?.phase === 'ended') continue;
    switch (a.outcome) {
      case 'delivered':
        delivered(a.endedAt!);
        break;
      case 'failed':
      case 'send-error':
        out.push({ channel, recipientId, outcome: 'failed', at: a.endedAt!, weight: 1 });
        break;
      case 'timeout':
        out.push({ channel, recipientId, outcome: 'timeout', at: a.endedAt!, weight: 1 });
        break;
      default:
        // cancelled or superseded: says nothing about the channel
        break;
    }
  }
  return out;
}
