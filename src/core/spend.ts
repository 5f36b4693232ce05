/**
 * Money summed in one place: what an attempt, a cascade and a plan cost, what the router paid twice, and what
 * a message would have cost by SMS alone. The transition, the events, the ledger, the report and the planner
 * read their amounts from here, so one rule holds everywhere. Integer micro-units only: every amount here is
 * a sum or difference of integers. (The stores add the deltas computed from these, e.g. Redis's HINCRBY.)
 */
import type { ResolvedChannel } from './channels.js';
import { projectCost } from './cost.js';
import type { Micros } from './money.js';
import { contentFor } from './plan/content.js';
import { STATUS_RANK, type Attempt, type AttemptStatusChange, type Cascade, type Message, type Plan, type PlanProvider, type PlanStep, type Recipient } from './types.js';

/** What a try through the step's `index`th provider is projected to cost (the step's own cost with one provider). */
export function tryCostMicros(planned: PlanStep, index: number): Micros {
  return planned.providers?.[index]?.costMicros ?? planned.costMicros;
}

/** What the tries an attempt moved on from (failover) cost, together. */
export function earlierTriesCostMicros(a: Attempt): Micros {
  let total = 0;
  if (a.failovers !== undefined) for (const t of a.failovers) total += t.costMicros;
  return total;
}

/** An attempt's cost: its earlier tries' and, once billed, its current try's (the provider's price, else projected). */
export function attemptCostMicros(a: Attempt, planned: PlanStep): Micros {
  let total = earlierTriesCostMicros(a);
  if (a.billed) total += a.priceMicros ?? tryCostMicros(planned, a.failovers?.length ?? 0);
  return total;
}

/** What an attempt's current try cost: its cost less its earlier tries'. */
export function currentTryCostMicros(a: Attempt): Micros {
  return a.costMicros - earlierTriesCostMicros(a);
}

/** A cascade's spend (`Cascade.spendMicros`): its attempts' costs. */
export function spendOf(attempts: readonly Attempt[]): Micros {
  let total = 0;
  for (const a of attempts) total += a.costMicros;
  return total;
}

/** Billed spend plus the projected cost of attempts still open and not yet billed (`projectedSpend` on events). */
export function projectedSpendMicros(cascade: Cascade): Micros {
  let total = cascade.spendMicros;
  for (const attempt of cascade.attempts) {
    if (!attempt.billed && attempt.phase !== 'ended') total += cascade.plan.steps[attempt.step]!.costMicros;
  }
  return total;
}

/** When a try first reached `success`, by the receipts' own times; undefined if it never did. */
export function deliveredAt(history: readonly AttemptStatusChange[], success: PlanStep['success']): number | undefined {
  const wanted = STATUS_RANK[success];
  for (const change of history) if (change.status !== 'failed' && STATUS_RANK[change.status] >= wanted) return change.at;
  return undefined;
}

/**
 * Double spend as the customer counts it (docs/cost-model.md#double-spend), `Cascade.doubleSpendMicros`: the
 * spend on attempts that reached the customer after another attempt had. Each delivered attempt but the first
 * by delivery time counts its whole cost. Deliveries stamped at the same instant go to the earlier step (the
 * customer was reached once; the other is the redundant one). Attempts that never reached the customer are not
 * double spend, whatever they cost; receipt order does not matter, only the receipts' times.
 *
 * Not the same rule as `Cascade.deliveredStep`, on purpose: that names the earliest step in the plan that
 * delivered in time (the cascade's result), while the customer was reached first by whichever delivery came
 * first in time, and only what reached them after that was paid for nothing.
 */
export function doubleSpendOf(attempts: readonly Attempt[], steps: readonly PlanStep[]): Micros {
  let firstAt = Infinity;
  let firstStep = -1;
  let delivered = 0;
  let total = 0;
  for (const a of attempts) {
    const at = deliveredAt(a.history, steps[a.step]!.success);
    if (at === undefined) continue;
    delivered++;
    total += a.costMicros;
    if (at < firstAt || (at === firstAt && a.step < firstStep)) {
      firstAt = at;
      firstStep = a.step;
    }
  }
  if (delivered < 2) return 0;
  const first = attempts.find((a) => a.step === firstStep)!;
  return total - first.costMicros;
}

/** What the cascade saved against sending by SMS only (negative when it cost more). */
export function savingMicros(totals: { readonly smsOnlyMicros: Micros; readonly spendMicros: Micros }): Micros {
  return totals.smsOnlyMicros - totals.spendMicros;
}

/** What this message would have cost on the cheapest SMS channel that has an address for the recipient. */
export function smsOnlyCost(channels: ReadonlyMap<string, ResolvedChannel>, plan: Plan, message: Message, recipient: Recipient): Micros | undefined {
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

/**
 * A plan's spend against the message's `maxCost` as the planner adds steps: each step at its first provider's
 * price (`spentMicros`), and at worst every provider each step may try (`worstMicros`, `Plan.maxSpendMicros`).
 */
export class PlanBudget {
  spentMicros: Micros = 0;
  worstMicros: Micros = 0;

  constructor(readonly maxMicros: number) {}

  /** The spend with one more step costing `costMicros`, and `reservedMicros` kept for a later step. */
  with(costMicros: Micros, reservedMicros: Micros = 0): Micros {
    return this.spentMicros + costMicros + reservedMicros;
  }

  fits(costMicros: Micros, reservedMicros: Micros = 0): boolean {
    return this.with(costMicros, reservedMicros) <= this.maxMicros;
  }

  /**
   * Adds a step that fits. With several providers, a failover provider is kept only if it too fits, after the
   * steps before at their first provider's price (the first is always kept): those kept are answered.
   */
  add(costMicros: Micros, providers: readonly PlanProvider[] | undefined): PlanProvider[] | undefined {
    const affordable = providers?.filter((p, i) => i === 0 || this.spentMicros + p.costMicros <= this.maxMicros);
    this.spentMicros += costMicros;
    if (affordable === undefined) this.worstMicros += costMicros;
    else for (const p of affordable) this.worstMicros += p.costMicros;
    return affordable;
  }
}
