import { resolveChannels, type PhoneNumberOptions, type ResolvedChannel, type ResolvedProvider } from './channels.js';
import { projectCost } from './cost.js';
import { toMs } from './duration.js';
import { expectedCost, keyOf, stepCost, stepTime } from './expected-cost.js';
import { toMicros, toMicrosPerMs, type Amount, type Micros } from './money.js';
import { own } from './own.js';
import { endOfQuietHours } from './quiet-hours.js';
import type {
  ChannelConfig,
  ChannelEstimate,
  ChannelKind,
  Content,
  Message,
  Plan,
  PlanProvider,
  PlanSkip,
  PlanStep,
  Recipient,
  SuccessLevel,
} from './types.js';
import { validateEstimates, validateMessage, validateProbability, validateRecipient } from './validate.js';

/** Categories that need the recipient's consent unless the router is told otherwise. */
export const DEFAULT_CONSENT_REQUIRED: readonly string[] = Object.freeze(['marketing']);

/** A learned order replaces the price order only when it is expected to cost this share less (see `keepPriceOrderUnlessWorth`). */
export const REORDER_MARGIN = 0.25;

/** A shortened step shorter than this is not worth sending: it is skipped instead. */
const MIN_WAIT_MS = 1000;

// Shared by every plan that skips nothing, so such plans carry no array of their own.
const NONE_SKIPPED: readonly PlanSkip[] = Object.freeze([]);

const KIND_RANK: Record<ChannelKind, number> = { push: 0, email: 1, messenger: 2, sms: 3, custom: 4 };

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

interface Candidate {
  readonly channel: ResolvedChannel;
  readonly address: string;
  /** The first provider's cost. */
  readonly costMicros: Micros;
  /** A channel with several providers: all of them in the order the step tries them, with their costs. */
  readonly providers: readonly PlanProvider[] | undefined;
  /** Replaced by `chooseWaits` when it picks a shorter wait from `arrival`. */
  estimate: ChannelEstimate | undefined;
  /** What the order sorts by: the price without an estimate, (e + λ·τ)/p with one (see expected-cost.ts). */
  readonly key: number;
  /** Its estimated probability is below `minProbability` (and above 0): see `skipWorthless`. */
  readonly below: boolean;
}

/** The content a channel sends: SMS text for SMS channels, then the channel's own overrides. */
export function contentFor(message: Message, channel: ResolvedChannel): Content {
  const base = message.content;
  const override = own(base.channels, channel.name);
  if (!override && (channel.kind !== 'sms' || base.sms === undefined)) return base;
  const text = channel.kind === 'sms' && base.sms !== undefined ? base.sms : base.text;
  return { text: override?.text ?? text, subject: override?.subject ?? base.subject, html: override?.html ?? base.html };
}

/** The plan for an already validated message and recipient. Pure: same input, same plan. */
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
  const maxCost = message.maxCost === undefined ? Infinity : toMicros(message.maxCost, 'maxCost');
  const respectQuiet = quietHoursApply(message, recipient);

  const steps: PlanStep[] = new Array<PlanStep>();
  let spend = 0;
  // Every step billed, and with several providers, every provider a step may try.
  let worst = 0;
  let t = startAt;
  const startOf = (channel: ResolvedChannel, providers: readonly PlanProvider[] | undefined, from: number): { start: number; delayMs: number } => {
    const delay = own(message.delays, channel.name);
    const delayMs = delay === undefined ? 0 : toMs(delay, `delays.${channel.name}`);
    const paceMs = context.paceWaits?.get(providers?.[0]?.name ?? channel.providers[0]!.name) ?? 0;
    const start = respectQuiet ? endOfQuietHours(from + delayMs + paceMs, recipient.quietHours!, recipient.timeZone) : from + delayMs + paceMs;
    return { start, delayMs };
  };
  // Under a deadline, the last resort: the last step in the order that could still deliver before the deadline
  // were it tried first. It always stays in the plan; the steps before it share the time that leaves it room.
  const skipLong = message.policy?.deadline === 'skip';
  const reserve = deadlineAt === undefined ? undefined : lastResort(ordered, startAt, deadlineAt, maxCost, startOf, microsPerMs, skipLong);
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
      if (spend + costMicros + reserve.costMicros > maxCost) {
        skipped.push({ channel: channel.name, reason: 'over-budget', detail: `it could take spend to ${spend + costMicros + reserve.costMicros} micro-units with the last resort, past maxCost ${maxCost}` });
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
    if (spend + costMicros > maxCost) {
      skipped.push({ channel: channel.name, reason: 'over-budget', detail: `it could take spend to ${spend + costMicros} micro-units, past maxCost ${maxCost}` });
      continue;
    }
    // A failover provider is planned only if it too fits the budget, after the steps before at their first provider's price.
    const affordable = providers?.filter((p, i) => i === 0 || spend + p.costMicros <= maxCost);
    spend += costMicros;
    worst += affordable === undefined ? costMicros : affordable.reduce((sum, p) => sum + p.costMicros, 0);
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
  return {
    createdAt: context.now,
    startAt,
    deadlineAt,
    steps,
    skipped: skipped.length === 0 ? NONE_SKIPPED : skipped,
    maxSpendMicros: worst,
    bestSpendMicros: steps[0]?.costMicros ?? 0,
    quietHours: respectQuiet,
  };
}

/** The last resort under a deadline and what it needs: see `buildPlan`. */
interface Reserve {
  readonly index: number;
  readonly channel: string;
  /** Time to leave before the deadline for it: its delay (and pacing) and the time its receipts need. */
  readonly roomMs: number;
  readonly costMicros: Micros;
  /** What trying it costs in expectation (e + λ·τ): what an earlier step that delivers saves. */
  readonly costOfTryMicros: number;
}

/**
 * The last resort under a deadline: of the steps that could still deliver before it were they tried first (a
 * second of wait at least, or their whole wait if shorter or with `policy.deadline: 'skip'`; within `maxCost` on
 * their own), the likeliest to deliver within the time its
 * receipts need (on a tie, as without estimates, the dearest, then the latest in the order). And the room it needs: the wait within which its learned
 * receipts mostly come (95% of its deliveries within its wait), or, with no latency known, half the time it would have.
 */
function lastResort(
  ordered: readonly Candidate[],
  startAt: number,
  deadlineAt: number,
  maxCost: number,
  startOf: (channel: ResolvedChannel, providers: readonly PlanProvider[] | undefined, from: number) => { start: number },
  microsPerMs: number,
  skipLong: boolean,
): Reserve | undefined {
  let best: Reserve | undefined;
  let bestP = -1;
  for (let i = ordered.length - 1; i >= 0; i--) {
    const c = ordered[i]!;
    const { start } = startOf(c.channel, c.providers, startAt);
    const left = deadlineAt - start;
    const full = c.estimate?.waitMs ?? c.channel.timeoutMs;
    // With `policy.deadline: 'skip'` a step is never shortened: it needs its whole wait.
    if (c.costMicros > maxCost || left < Math.min(MIN_WAIT_MS, full) || (skipLong && full > left)) continue;
    const wait = Math.min(full, left);
    const needMs = skipLong ? full : Math.max(Math.min(MIN_WAIT_MS, full), Math.min(wait, receiptsNeedMs(c.estimate, left)));
    const e = c.estimate === undefined ? undefined : within(c.estimate, needMs);
    const p = e?.probability ?? 1;
    if (p < bestP || (p === bestP && c.costMicros <= best!.costMicros)) continue;
    bestP = p;
    best = {
      index: i,
      channel: c.channel.name,
      roomMs: start - startAt + needMs,
      costMicros: c.costMicros,
      costOfTryMicros: stepCost(c.costMicros, c.channel.billing, p, e?.latencyMs ?? 0, needMs, microsPerMs, e?.failure ?? 0),
    };
  }
  return best;
}

/** How long a channel's receipts need: 95% of its learned deliveries within its wait; 3× the mean latency; else half of `leftMs`. */
function receiptsNeedMs(estimate: ChannelEstimate | undefined, leftMs: number): number {
  const arrival = estimate?.arrival;
  if (arrival !== undefined && arrival.length > 0) {
    const full = arrival[arrival.length - 1]![1];
    for (const [w, p] of arrival) if (p >= 0.95 * full) return w;
  }
  if (estimate !== undefined && estimate.latencyMs > 0) return 3 * estimate.latencyMs;
  return Math.floor(leftMs / 2);
}

/**
 * An estimate for a wait shortened to `waitMs`: the chance of success within it and the mean latency of those
 * successes, from the learned arrival curve (the longest offered wait that fits; below the shortest, that point
 * scaled by the share of its wait). Without a curve the estimate stands as it is.
 */
export function within(estimate: ChannelEstimate, waitMs: number): ChannelEstimate {
  const arrival = estimate.arrival;
  if (arrival === undefined || arrival.length === 0 || waitMs >= (estimate.waitMs ?? Infinity)) return estimate;
  let pick: readonly [number, number, number] | undefined;
  for (const point of arrival) if (point[0] <= waitMs) pick = point;
  const [w, p, latency] = pick ?? [waitMs, arrival[0]![1] * Math.min(1, waitMs / arrival[0]![0]), Math.min(arrival[0]![2], waitMs)];
  return { ...estimate, probability: p, latencyMs: latency, waitMs: w };
}

/**
 * A channel's providers in the order a step tries them, with their costs: cheapest first (ties in declared
 * order), or by weight: the first chosen by weight from a hash of the message key and channel (the same
 * message always gets the same order, and a provider's share of first tries is its share of the weight),
 * the rest by weight.
 */
function orderProviders(channel: ResolvedChannel, providers: readonly ResolvedProvider[], message: Message, recipient: Recipient, address: string): PlanProvider[] {
  const costed = providers.map((p, i) => ({
    name: p.name,
    costMicros: p.fixedCostMicros ?? projectCost(p.cost, { channel: channel.name, message, recipient, address, content: contentFor(message, channel) }),
    weight: p.weight,
    i,
  }));
  if (channel.providerOrder === 'price') costed.sort((a, b) => a.costMicros - b.costMicros || a.i - b.i);
  else {
    costed.sort((a, b) => b.weight - a.weight || a.i - b.i);
    let pick = unitHash(`${message.key}\u0000${channel.name}`) * costed.reduce((sum, p) => sum + p.weight, 0);
    const first = costed.findIndex((p) => (pick -= p.weight) < 0);
    if (first > 0) costed.unshift(...costed.splice(first, 1));
  }
  return costed.map(({ name, costMicros }) => ({ name, costMicros }));
}

/** A number in [0, 1) from a string (FNV-1a): stable across runs and processes. */
function unitHash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return (h >>> 0) / 4294967296;
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

function eligible(
  context: PlanContext,
  message: Message,
  recipient: Recipient,
  skipped: PlanSkip[],
  estimates: ReadonlyMap<string, ChannelEstimate> | undefined,
  microsPerMs: number,
): Candidate[] {
  const minProbability = context.minProbability ?? 0;
  const allowed = message.channels === undefined ? undefined : new Set(message.channels);
  const consent = context.consentRequired.has(message.category) ? (own(recipient.consent, message.category) ?? false) : true;
  const candidates: Candidate[] = [];
  for (const channel of context.channels.values()) {
    const name = channel.name;
    if (context.capped !== undefined) {
      skipped.push({ channel: name, reason: 'frequency-capped', detail: `the recipient's frequency cap: ${context.capped}` });
    } else if (allowed && !allowed.has(name)) {
      skipped.push({ channel: name, reason: 'not-allowed', detail: 'the message does not allow this channel' });
    } else if (recipient.optedOut?.includes(name)) {
      skipped.push({ channel: name, reason: 'opted-out', detail: 'the recipient opted out of this channel' });
    } else if (consent !== true && !(Array.isArray(consent) && consent.includes(name))) {
      skipped.push({ channel: name, reason: 'no-consent', detail: `no consent for category "${message.category}" on this channel` });
    } else if (message.content.text === '' && contentFor(message, channel).text === '') {
      skipped.push({ channel: name, reason: 'no-content', detail: 'the message has no text for this channel' });
    } else {
      const given = channel.address(recipient);
      if (given === undefined || given === '') {
        skipped.push({ channel: name, reason: 'no-address', detail: 'the recipient has no address for this channel' });
        continue;
      }
      // Phone numbers are checked before anything is priced or sent, and sent as E.164.
      const number = channel.checkAddress?.(given, recipient);
      if (number?.ok === false) {
        skipped.push({ channel: name, reason: 'invalid-address', detail: number.detail });
        continue;
      }
      const address = number?.number ?? given;
      const estimate = estimates?.get(name);
      // With learned estimates the planner keeps a channel that can still deliver for now: `skipWorthless`
      // drops it once the order shows whether trying it costs more than it may save.
      const below = estimate !== undefined && estimate.probability < minProbability;
      if (below && !(context.learned === true && estimate.probability > 0)) {
        skipped.push({ channel: name, reason: 'unlikely', detail: `its estimated probability ${estimate.probability} is below minProbability ${minProbability}` });
        continue;
      }
      const unhealthy = context.unhealthy;
      const healthy = unhealthy === undefined ? channel.providers : channel.providers.filter((p) => !unhealthy.has(p.name));
      if (healthy.length === 0) {
        skipped.push({ channel: name, reason: 'provider-unhealthy', detail: `its provider${channel.providers.length > 1 ? 's are' : ' is'} unhealthy (breaker open)` });
        continue;
      }
      const providers = channel.multiProvider ? orderProviders(channel, healthy, message, recipient, address) : undefined;
      const costMicros =
        providers?.[0]!.costMicros ??
        channel.fixedCostMicros ??
        projectCost(channel.cost, { channel: name, message, recipient, address, content: contentFor(message, channel) });
      // Without a value of time, a channel the recipient has no history on keeps its price as its key (the
      // default plan's order): channel-wide averages mix the customers a channel reaches with those it never
      // does, and ordering a new customer's channels by them can cost more than not learning.
      const key =
        estimate === undefined || (microsPerMs === 0 && estimate.personal === false)
          ? costMicros
          : keyOf(costMicros, channel.billing, estimate.probability, estimate.latencyMs, estimate.waitMs ?? channel.timeoutMs, microsPerMs, estimate.failure ?? 0);
      candidates.push({ channel, address, costMicros, providers, estimate, key, below });
    }
  }
  return candidates;
}

/**
 * A learned order is kept only when, by the estimates, it is expected to cost at least `REORDER_MARGIN` less
 * than the price order (the default plan's, with channels learned to be lost, probability 0, still last);
 * else the price order stands. A recipient's few outcomes often cannot tell a channel that no longer reaches
 * them from a phone offline this once, and a reorder on such noise costs more than not learning.
 */
function keepPriceOrderUnlessWorth(ordered: Candidate[], message: Message, recipient: Recipient, microsPerMs: number): Candidate[] {
  if (ordered.length < 2 || ordered.every((c) => c.estimate === undefined)) return ordered;
  const byPrice = order(
    ordered.map((c) => ({ ...c, key: c.estimate !== undefined && !(c.estimate.probability > 0) ? Infinity : c.costMicros })),
    message,
    recipient,
  );
  if (byPrice.every((c, i) => c.channel === ordered[i]!.channel)) return ordered;
  const cost = (list: readonly Candidate[]): number =>
    expectedCost(
      list.map((c) => ({
        costMicros: c.costMicros,
        billing: c.channel.billing,
        probability: c.estimate?.probability,
        latencyMs: c.estimate?.latencyMs,
        failure: c.estimate?.failure,
        waitMs: c.estimate?.waitMs ?? c.channel.timeoutMs,
      })),
      microsPerMs,
    );
  if (cost(ordered) <= (1 - REORDER_MARGIN) * cost(byPrice)) return ordered;
  const byName = new Map(ordered.map((c) => [c.channel, c]));
  return byPrice.map((c) => byName.get(c.channel)!);
}

/**
 * Of the channels below `minProbability` that can still deliver, the router skips (`unlikely`) those whose try
 * is expected to cost more than it may save: its expected price and waiting (e + λ·τ) against its probability
 * times the expected cost of the steps after it. A free channel is never skipped for money alone: trying it
 * costs nothing, and the SMS it may save is dear (skipping it only moved spend earlier, before a purchase could
 * cancel the cascade). Going from the last step back, as `chooseWaits` does: leaving a step out leaves the
 * expected cost of those after it as it was.
 */
function skipWorthless(ordered: Candidate[], skipped: PlanSkip[], minProbability: number, microsPerMs: number): Candidate[] {
  if (!ordered.some((c) => c.below)) return ordered;
  const kept: Candidate[] = [];
  const dropped: PlanSkip[] = [];
  let rest = 0;
  for (let i = ordered.length - 1; i >= 0; i--) {
    const c = ordered[i]!;
    const e = c.estimate;
    const p = e?.probability ?? 1;
    const own = stepCost(c.costMicros, c.channel.billing, p, e?.latencyMs ?? 0, e?.waitMs ?? c.channel.timeoutMs, microsPerMs, e?.failure ?? 0);
    if (c.below && own > p * rest) {
      dropped.unshift({ channel: c.channel.name, reason: 'unlikely', detail: `its estimated probability ${p} is below minProbability ${minProbability}, and trying it costs ${Math.round(own)} micro-units against ${Math.round(p * rest)} it may save` });
      continue;
    }
    kept.unshift(c);
    rest = own + (1 - p) * rest;
  }
  skipped.push(...dropped);
  return kept;
}

function order(candidates: Candidate[], message: Message, recipient: Recipient): Candidate[] {
  const preferred = recipient.preferredOrder ?? [];
  const rank = (name: string, list: readonly string[]): number => {
    const index = list.indexOf(name);
    return index === -1 ? list.length : index;
  };
  // Keys may be +Infinity (probability 0), so they are compared, not subtracted.
  const byCost = (a: Candidate, b: Candidate): number =>
    (a.key < b.key ? -1 : a.key > b.key ? 1 : 0) ||
    KIND_RANK[a.channel.kind] - KIND_RANK[b.channel.kind] ||
    rank(a.channel.name, preferred) - rank(b.channel.name, preferred) ||
    a.channel.order - b.channel.order;
  const policy = message.policy?.order ?? 'cost';
  const strict = policy === 'recipient' ? preferred : policy === 'message' ? message.channels ?? [] : [];
  if (candidates.length < 2) return candidates;
  return candidates.sort((a, b) => rank(a.channel.name, strict) - rank(b.channel.name, strict) || byCost(a, b));
}

/**
 * With a value of time λ, how long each step that has steps after it should wait. Waiting longer on step i
 * costs λ per ms while no receipt has come and bills a channel billed on delivery more often; falling back
 * costs R, the expected cost of the steps after it. For each wait w the estimate offers (success within w
 * with probability P(w), mean latency L(w)):
 *
 *   cost(w) = e(P) + λ·(P·L + (1 − P − F)·w) + (1 − P)·R,   e(P) = P·c billed on delivery, c billed on send
 *
 * where F is the chance it fails at once (a failure receipt, a permanent send error): only the silent rest waits w.
 *
 * and the step takes the cheapest. Going from the last step back, R is `expectedCost` of the steps after
 * it with the waits already chosen. The last step keeps its wait: after it there is nothing to fall back to.
 * When receipts stop coming (P flat), waiting on only costs time: the step stops there; when falling back is
 * dear (SMS next), it waits on for the late receipts that would otherwise be paid twice.
 */
function chooseWaits(ordered: Candidate[], microsPerMs: number): void {
  // `rest`: the expected cost of the steps after the current one, built up from the last step back.
  let rest = 0;
  for (let i = ordered.length - 1; i >= 0; i--) {
    const candidate = ordered[i]!;
    const { costMicros, channel } = candidate;
    const estimate = candidate.estimate;
    const failure = estimate?.failure ?? 0;
    const arrival = estimate?.arrival;
    if (i < ordered.length - 1 && arrival !== undefined && arrival.length > 1) {
      let best = Infinity;
      let pick = arrival[arrival.length - 1]!;
      // A channel billed on delivery is billed for a late delivery too: whatever the wait, it pays for every
      // message that eventually arrives (at least those within its longest wait), and a shorter wait only
      // adds the fallback's cost.
      const billedP = arrival[arrival.length - 1]![1];
      for (const point of arrival) {
        const [w, p, latency] = point;
        const spend = channel.billing === 'delivered' ? billedP * costMicros : costMicros;
        const cost = spend + microsPerMs * stepTime(p, latency, w, failure) + (1 - p) * rest;
        // Without a value of time, on a tie the longer wait: it costs nothing more and catches a receipt
        // slower than any seen so far. With one, the shorter: the model's time is not all the time there is.
        if (cost < best || (cost === best && microsPerMs === 0)) {
          best = cost;
          pick = point;
        }
      }
      candidate.estimate = { probability: pick[1], latencyMs: pick[2], waitMs: pick[0], failure, arrival };
    }
    const chosen = candidate.estimate;
    const p = chosen?.probability ?? 1;
    rest = stepCost(costMicros, channel.billing, p, chosen?.latencyMs ?? 0, chosen?.waitMs ?? channel.timeoutMs, microsPerMs, failure) + (1 - p) * rest;
  }
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

/** The success level a message wants on a channel. */
export function successFor(message: Message, channel: ResolvedChannel): SuccessLevel {
  if (channel.confirmBy === 'acceptance') return 'accepted';
  const wanted = message.success;
  if (wanted === undefined) return channel.success;
  if (typeof wanted === 'string') return wanted;
  return own(wanted, channel.name) ?? channel.success;
}

function quietHoursApply(message: Message, recipient: Recipient): boolean {
  if (!recipient.quietHours) return false;
  const policy = message.policy?.quietHours ?? (message.category === 'otp' ? 'ignore' : 'respect');
  return policy === 'respect';
}

