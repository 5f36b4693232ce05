/**
 * The steps of a plan placed in time: each step's start and wait around the last resort a deadline keeps room
 * for, with the skips that placing makes (a share under a second, past `maxCost`, not worth its share).
 */
import type { ResolvedChannel } from '../channels.js';
import { stepCost } from '../expected-cost.js';
import { PlanBudget } from '../spend.js';
import type { Message, PlanProvider, PlanSkip, PlanStep } from '../types.js';
import type { Candidate } from './candidates.js';
import { successFor } from './content.js';
import { MIN_WAIT_MS, within, type Reserve } from './deadline.js';

/** What placing the steps in time needs: the message, the order, the deadline and the budget. */
export interface Placing {
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
export function place(placing: Placing, reserve: Reserve | undefined, skipped: PlanSkip[]): { steps: PlanStep[]; skipped: PlanSkip[]; budget: PlanBudget } {
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
export function deliveryChance(steps: readonly PlanStep[]): number {
  let miss = 1;
  for (const step of steps) miss *= 1 - (step.probability ?? 1);
  return 1 - miss;
}
