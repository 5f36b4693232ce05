/**
 * What a stored change carries to the store for learning and the spend ledger: its outcomes, its ledger
 * delta, and a new message's SMS-only counterfactual. Plain functions over the router's resolved channels;
 * what a plan reads back (statistics keys, estimates) is in planning.ts.
 */
import type { ResolvedChannel } from '../core/channels.js';
import { projectCost } from '../core/cost.js';
import { observe, streakObservations, type ResolvedLearning } from '../core/learning.js';
import { ledgerDelta } from '../core/ledger.js';
import type { Micros } from '../core/money.js';
import { contentFor } from '../core/planner.js';
import type { StatsUpdate } from '../store/types.js';
import type { Cascade, Message, Plan, Recipient } from '../core/types.js';

type Channels = ReadonlyMap<string, ResolvedChannel>;

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
