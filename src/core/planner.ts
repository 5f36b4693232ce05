/**
 * The planner: a message and a recipient in, the plan out (its steps in order, each with its wait, the channels
 * skipped with their reason, the deadline's budget). Pure: same input, same plan. Its parts are in plan/:
 * `candidates.ts` (which channels may carry it, priced), `order.ts` (price or learned order, waits),
 * `deadline.ts` (the last resort a deadline keeps room for), `content.ts` (what each channel sends); the money
 * sums are core/spend.ts's (`PlanBudget`).
 */
import { resolveChannels, type PhoneNumberOptions, type ResolvedChannel } from './channels.js';
import { toMs } from './duration.js';
import { stepCost } from './expected-cost.js';
import { toMicros, toMicrosPerMs, type Amount } from './money.js';
import { own } from './own.js';
import { eligible, type Candidate } from './plan/candidates.js';
import { quietHoursApply, successFor } from './plan/content.js';
import { lastResorts, MIN_WAIT_MS, within, type Reserve } from './plan/deadline.js';
import { chooseWaits, keepPriceOrderUnlessWorth, order, skipWorthless } from './plan/order.js';
import { endOfQuietHours } from './quiet-hours.js';
import { PlanBudget } from './spend.js';
import type { ChannelConfig, ChannelEstimate, Message, Plan, PlanProvider, PlanSkip, PlanStep, Recipient } from './types.js';
import { validateEstimates, validateMessage, validateProbability, validateRecipient } from './validate.js';

// Where callers have always found them.
export { contentFor, successFor } from './plan/content.js';
export { within } from './plan/deadline.js';
export { REORDER_MARGIN } from './plan/order.js';

/** Categories that need the recipient's consent unless the router is told otherwise. */
export const DEFAULT_CONSENT_REQUIRED: readonly string[] = Object.freeze(['marketing']);

// Shared by every plan that skips nothing, so such plans carry no array of their own.
const NONE_SKIPPED: readonly PlanSkip[] = Object.freeze([]);

export interface PlanContext {
  readonly channels: ReadonlyMap<string, ResolvedChannel>;
  readonly consentRequired: ReadonlySet<string>;
  readonly now: number;
  /** Learned estimates by channel name. A channel missing here has probability 1, latency 0 and its configured timeout. */
  readonly estimates?: ReadonlyMap<string, ChannelEstimate> | undefined;
  /** A channel whose estimated probability is below this is skipped as `unlikely`. Default 0: never. */
  readonly minProbability?: number | undefined;
  /**
   * True when the estimates are the router's own learning (a few outcomes per recipient, noisy) rather than
   * given: a learned order replaces the price order only for a margin (`keepPriceOrderUnlessWorth`), and a
   * channel below `minProbability` that can still deliver is skipped only when trying it costs more than it may
   * save (`skipWorthless`). Default false: the estimates are taken as they are.
   */
  readonly learned?: boolean | undefined;
  /** What a second of waiting is worth when the message's policy does not say. Default 0. */
  readonly valueOfTime?: Amount | undefined;
  /** Providers whose breaker is open: left out, and a channel with none left skipped (`provider-unhealthy`). */
  readonly unhealthy?: ReadonlySet<string> | undefined;
  /** Per provider, how long a send waits for its rate limit now: added to a step's projected start. */
  readonly paceWaits?: ReadonlyMap<string, number> | undefined;
  /** Set when the recipient's frequency cap for the category is reached (why): every channel is skipped. */
  readonly capped?: string | undefined;
}

/**
 * The plan for an already validated message and recipient: candidates ordered (plan/order.ts), then each step
 * placed in time and checked against the deadline (plan/deadline.ts) and the budget (`PlanBudget`).
 */
export function buildPlan(context: PlanContext, message: Message, recipient: Recipient): Plan {
  const skipped: PlanSkip[] = [];
  // Without estimates every key is the price, and the value of time cannot change the order: skip its parse.
  const estimates = context.estimates === undefined || context.estimates.size === 0 ? undefined : context.estimates;
  const valueOfTime = estimates === undefined ? undefined : (message.policy?.valueOfTime ?? context.valueOfTime);
  const microsPerMs = valueOfTime === undefined ? 0 : microsPerMsOf(valueOfTime);
  const candidates = eligible(context, message, recipient, skipped, estimates, microsPerMs);
  let ordered = order(candidates, message, recipient);
  if (context.learned === true) ordered = keepPriceOrderUnlessWorth(ordered, message, recipient, microsPerMs);
  if (microsPerMs > 0) chooseWaits(ordered, microsPerMs);
  if (context.learned === true) ordered = skipWorthless(ordered, skipped, context.minProbability ?? 0, microsPerMs);

  const startAt = Math.max(context.now, message.sendAt === undefined ? context.now : +message.sendAt);
  const deadlineAt = message.deadline === undefined ? undefined : startAt + toMs(message.deadline, 'deadline');
  const maxMicros = message.maxCost === undefined ? Infinity : toMicros(message.maxCost, 'maxCost');
  const respectQuiet = quietHoursApply(message, recipient);

  const startOf = (channel: ResolvedChannel, providers: readonly PlanProvider[] | undefined, from: number): { start: number; delayMs: number } => {
    const delay = own(message.delays, channel.name);
    const delayMs = delay === undefined ? 0 : toMs(delay, `delays.${channel.name}`);
    const paceMs = context.paceWaits?.get(providers?.[0]?.name ?? channel.providers[0]!.name) ?? 0;
    const start = respectQuiet ? endOfQuietHours(from + delayMs + paceMs, recipient.quietHours!, recipient.timeZone) : from + delayMs + paceMs;
    return { start, delayMs };
  };
  const placing: Placing = { message, ordered, startAt, deadlineAt, maxMicros, microsPerMs, startOf };
  // Under a deadline, the last resort: a step that could still deliver before the deadline were it tried first.
  // It always stays in the plan; the steps before it share the time that leaves it room. Of the candidates,
  // the one whose plan is likeliest to deliver in time (by the estimates; without them every plan ties and the
  // first candidate, the dearest, is kept).
  const reserves = deadlineAt === undefined ? [] : lastResorts(ordered, startAt, deadlineAt, maxMicros, startOf, microsPerMs, message.policy?.deadline === 'skip');
  const tries = estimates !== undefined && reserves.length > 1;
  let placed = place(placing, reserves[0], tries ? skipped.slice() : skipped);
  if (tries) {
    let best = deliveryChance(placed.steps);
    for (let r = 1; r < reserves.length && best < 1; r++) {
      const other = place(placing, reserves[r], skipped.slice());
      const chance = deliveryChance(other.steps);
      if (chance > best) {
        best = chance;
        placed = other;
      }
    }
  }
  const { steps, budget } = placed;
  const allSkipped = placed.skipped;
  return {
    createdAt: context.now,
    startAt,
    deadlineAt,
    steps,
    skipped: allSkipped.length === 0 ? NONE_SKIPPED : allSkipped,
    maxSpendMicros: budget.worstMicros,
    bestSpendMicros: steps[0]?.costMicros ?? 0,
    quietHours: respectQuiet,
  };
}

/** Dry run: what the router would do for this message and recipient, without sending anything. */
export function planCascade(input: {
  readonly channels: Readonly<Record<string, ChannelConfig>>;
  readonly message: Message;
  readonly recipient: Recipient;
  readonly now: number;
  readonly consentRequired?: readonly string[] | undefined;
  /** Learned estimates by channel name (see `ChannelEstimate`). */
  readonly estimates?: ReadonlyMap<string, ChannelEstimate> | undefined;
  /** Skip channels whose estimated probability is below this (reason `unlikely`). Default 0. */
  readonly minProbability?: number | undefined;
  /** What a second of waiting is worth when the message's policy does not say. Default 0. */
  readonly valueOfTime?: Amount | undefined;
  /** Check phone numbers (as `RouterOptions.phoneNumbers`). */
  readonly phoneNumbers?: PhoneNumberOptions | boolean | undefined;
}): Plan {
  const channels = resolveChannels(input.channels, { phoneNumbers: input.phoneNumbers });
  const message = validateMessage(input.message, channels);
  const recipient = validateRecipient(input.recipient);
  const consentRequired = new Set(input.consentRequired ?? DEFAULT_CONSENT_REQUIRED);
  const estimates = input.estimates === undefined ? undefined : validateEstimates(input.estimates);
  const minProbability = input.minProbability === undefined ? undefined : validateProbability(input.minProbability, 'minProbability');
  if (input.valueOfTime !== undefined) toMicrosPerMs(input.valueOfTime, 'valueOfTime');
  return buildPlan({ channels, consentRequired, now: input.now, estimates, minProbability, valueOfTime: input.valueOfTime }, message, recipient);
}

// The value of time is mostly one amount for every message: parse it once, not per plan (a string costs ~1 µs).
let lastValueOfTime: Amount | undefined;
let lastMicrosPerMs = 0;

/** A value of time per second as micro-units per millisecond. */
function microsPerMsOf(valueOfTime: Amount): number {
  if (valueOfTime !== lastValueOfTime) {
    lastMicrosPerMs = toMicrosPerMs(valueOfTime, 'valueOfTime');
    lastValueOfTime = valueOfTime;
  }
  return lastMicrosPerMs;
}

/** What placing the steps in time needs: the message, the order, the deadline and the budget. */
interface Placing {
  readonly message: Message;
  readonly ordered: readonly Candidate[];
  readonly startAt: number;
  readonly deadlineAt: number | undefined;
  readonly maxMicros: number;
  readonly microsPerMs: number;
  readonly startOf: (channel: ResolvedChannel, providers: readonly PlanProvider[] | undefined, from: number) => { start: number; delayMs: number };
}

/**
 * The steps placed in time around a last resort (under a deadline): each waits its wait, shortened to leave the
 * last resort its room or to end by the deadline, skipped when that leaves under a second, when it would pass
 * `maxCost`, or when it is not worth its share. Its skips are added to `skipped`.
 */
function place(placing: Placing, reserve: Reserve | undefined, skipped: PlanSkip[]): { steps: PlanStep[]; skipped: PlanSkip[]; budget: PlanBudget } {
  const { message, ordered, startAt, deadlineAt, microsPerMs, startOf } = placing;
  const skipLong = message.policy?.deadline === 'skip';
  const budget = new PlanBudget(placing.maxMicros);
  const steps: PlanStep[] = new Array<PlanStep>();
  let t = startAt;
  for (let i = 0; i < ordered.length; i++) {
    const { channel, address, costMicros, providers } = ordered[i]!;
    let estimate = ordered[i]!.estimate;
    const { start, delayMs } = startOf(channel, providers, t);
    const timeoutMs = estimate?.waitMs ?? channel.timeoutMs;
    let waitMs = timeoutMs;
    if (deadlineAt !== undefined && reserve !== undefined && i < reserve.index) {
      // An earlier step: it may wait only as long as leaves the last resort its room (its delay and the time
      // its receipts need) before the deadline.
      const share = deadlineAt - reserve.roomMs - start;
      if (message.policy?.deadline === 'skip' ? start + waitMs > deadlineAt - reserve.roomMs : share < MIN_WAIT_MS) {
        skipped.push({ channel: channel.name, reason: 'deadline', detail: `its ${timeoutMs} ms wait does not fit the ${Math.max(0, share)} ms its share of the deadline leaves (the last resort, ${reserve.channel}, needs ${reserve.roomMs} ms)` });
        continue;
      }
      if (waitMs > share) {
        waitMs = share;
        if (estimate !== undefined) estimate = within(estimate, waitMs);
      }
      if (!budget.fits(costMicros, reserve.costMicros)) {
        skipped.push({ channel: channel.name, reason: 'over-budget', detail: `it could take spend to ${budget.with(costMicros, reserve.costMicros)} micro-units with the last resort, past maxCost ${budget.maxMicros}` });
        continue;
      }
      // Worth its share only if what it costs is less than what it is expected to save on the last resort.
      if (estimate !== undefined) {
        const p = estimate.probability;
        const own = stepCost(costMicros, channel.billing, p, estimate.latencyMs, waitMs, microsPerMs, estimate.failure ?? 0);
        if (own > p * reserve.costOfTryMicros) {
          skipped.push({ channel: channel.name, reason: 'deadline', detail: `not worth its share of the deadline: it costs ${Math.round(own)} micro-units and saves ${Math.round(p * reserve.costOfTryMicros)} on the last resort` });
          continue;
        }
      }
    } else if (deadlineAt !== undefined && start + waitMs > deadlineAt) {
      const left = deadlineAt - start;
      if (skipLong || left < MIN_WAIT_MS) {
        skipped.push({ channel: channel.name, reason: 'deadline', detail: `its ${timeoutMs} ms wait does not fit the ${Math.max(0, left)} ms left before the deadline` });
        continue;
      }
      waitMs = left;
      if (estimate !== undefined) estimate = within(estimate, waitMs);
    }
    if (!budget.fits(costMicros)) {
      skipped.push({ channel: channel.name, reason: 'over-budget', detail: `it could take spend to ${budget.with(costMicros)} micro-units, past maxCost ${budget.maxMicros}` });
      continue;
    }
    // A failover provider is planned only if it too fits the budget, after the steps before at their first provider's price.
    const affordable = budget.add(costMicros, providers);
    steps.push({
      channel: channel.name,
      kind: channel.kind,
      address,
      delayMs,
      waitMs,
      timeoutMs,
      success: successFor(message, channel),
      billing: channel.billing,
      costMicros,
      probability: estimate?.probability,
      ...(estimate === undefined ? {} : { latencyMs: estimate.latencyMs, failure: estimate.failure ?? 0 }),
      startAt: start,
      ...(affordable === undefined ? {} : { providers: affordable }),
    });
    t = start + waitMs;
  }
  return { steps, skipped, budget };
}

/** The chance a plan delivers, by its steps' estimates (taken as independent); a step without one counts as sure. */
function deliveryChance(steps: readonly PlanStep[]): number {
  let miss = 1;
  for (const step of steps) miss *= 1 - (step.probability ?? 1);
  return 1 - miss;
}
