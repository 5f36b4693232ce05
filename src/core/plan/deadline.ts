/**
 * A deadline's budget of time: the last resort that must keep its room before the deadline, the time a
 * channel's receipts need, and what an estimate is worth on a wait the deadline shortens.
 */
import type { ResolvedChannel } from '../channels.js';
import { stepCost } from '../expected-cost.js';
import type { Micros } from '../money.js';
import type { ChannelEstimate, PlanProvider } from '../types.js';
import type { Candidate } from './candidates.js';

/** A shortened step shorter than this is not worth sending: it is skipped instead. */
export const MIN_WAIT_MS = 1000;

/** The last resort under a deadline and what it needs: see `buildPlan`. */
export interface Reserve {
  readonly index: number;
  readonly channel: string;
  /** Time to leave before the deadline for it: its delay (and pacing) and the time its receipts need. */
  readonly roomMs: number;
  readonly costMicros: Micros;
  /** What trying it costs in expectation (e + λ·τ): what an earlier step that delivers saves. */
  readonly costOfTryMicros: number;
}

/**
 * The last resorts under a deadline, best first: of the steps that could still deliver before it were they
 * tried first (a second of wait at least, or their whole wait if shorter or with `policy.deadline: 'skip'`;
 * within `maxCost` on their own), the likeliest to deliver within the time its receipts need first (on a tie,
 * as without estimates, the dearest, then the latest in the order). And the room each needs: the wait within
 * which its learned receipts mostly come (95% of its deliveries within its wait), or, with no latency known,
 * half the time it would have. The planner keeps the one whose plan is likeliest to deliver in time.
 */
export function lastResorts(
  ordered: readonly Candidate[],
  startAt: number,
  deadlineAt: number,
  maxCost: number,
  startOf: (channel: ResolvedChannel, providers: readonly PlanProvider[] | undefined, from: number) => { start: number },
  microsPerMs: number,
  skipLong: boolean,
): Reserve[] {
  const ranked: { reserve: Reserve; p: number }[] = [];
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
    const reserve: Reserve = {
      index: i,
      channel: c.channel.name,
      roomMs: start - startAt + needMs,
      costMicros: c.costMicros,
      costOfTryMicros: stepCost(c.costMicros, c.channel.billing, p, e?.latencyMs ?? 0, needMs, microsPerMs, e?.failure ?? 0),
    };
    // From the last in the order back: a later one stays ahead of an earlier one that is no likelier and no dearer.
    let at = ranked.length;
    while (at > 0 && (p > ranked[at - 1]!.p || (p === ranked[at - 1]!.p && c.costMicros > ranked[at - 1]!.reserve.costMicros))) at--;
    ranked.splice(at, 0, { reserve, p });
  }
  return ranked.map((r) => r.reserve);
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
