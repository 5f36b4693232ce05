/**
 * The order a plan tries its channels in, and how long each waits: by price or learned expected cost
 * (docs/cost-model.md), a learned order kept only when it is worth its margin, channels too unlikely to be
 * worth trying dropped, and with a value of time each step's wait chosen from its arrival curve.
 */
import type { ChannelKind, Message, PlanSkip, Recipient } from '../types.js';
import { expectedCost, stepCost, stepTime } from '../expected-cost.js';
import type { Candidate } from './candidates.js';

/** A learned order replaces the price order only when it is expected to cost this share less (see `keepPriceOrderUnlessWorth`). */
export const REORDER_MARGIN = 0.25;

const KIND_RANK: Record<ChannelKind, number> = { push: 0, email: 1, messenger: 2, sms: 3, custom: 4 };

/** The candidates sorted: a strict order the message's policy asks for, then by key, kind, the recipient's preference and declaration. */
export function order(candidates: Candidate[], message: Message, recipient: Recipient): Candidate[] {
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
 * A learned order is kept only when, by the estimates, it is expected to cost at least `REORDER_MARGIN` less
 * than the price order (the default plan's, with channels learned to be lost, probability 0, still last);
 * else the price order stands. A recipient's few outcomes often cannot tell a channel that no longer reaches
 * them from a phone offline this once, and a reorder on such noise costs more than not learning.
 */
export function keepPriceOrderUnlessWorth(ordered: Candidate[], message: Message, recipient: Recipient, microsPerMs: number): Candidate[] {
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
export function skipWorthless(ordered: Candidate[], skipped: PlanSkip[], minProbability: number, microsPerMs: number): Candidate[] {
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
export function chooseWaits(ordered: Candidate[], microsPerMs: number): void {
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
