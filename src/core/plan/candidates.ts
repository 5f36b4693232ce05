/**
 * Which channels may carry a message to a recipient, and at what price: each channel is kept as a candidate or
 * skipped with its reason (not allowed, opted out, no consent, no content, no or an invalid address, unlikely,
 * its providers unhealthy, the frequency cap), and a channel with several providers has them ordered.
 */
import type { ResolvedChannel, ResolvedProvider } from '../channels.js';
import { projectCost } from '../cost.js';
import { keyOf } from '../expected-cost.js';
import type { Micros } from '../money.js';
import { own } from '../own.js';
import type { PlanContext } from '../planner.js';
import type { ChannelEstimate, Message, PlanProvider, PlanSkip, Recipient } from '../types.js';
import { contentFor } from './content.js';

/** A channel that may carry the message: its address, its price and, when learned, its estimate. */
export interface Candidate {
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

/** The channels that may carry the message, priced; the others pushed to `skipped` with their reason. */
export function eligible(
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
