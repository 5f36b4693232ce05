/**
 * Double spend as the customer counts it (docs/cost-model.md#double-spend): the message reached the customer
 * with the first delivery in time, so what was paid for every attempt that reached them after it was paid
 * for nothing. One definition, used by the cascade (`doubleSpendMicros`, which the ledger and the spend
 * report add up in every store) and by the `late-receipt` event.
 */
import type { Micros } from './money.js';
import { STATUS_RANK, type Attempt, type AttemptStatusChange, type PlanStep } from './types.js';

/** When a try first reached `success`, by the receipts' own times; undefined if it never did. */
export function deliveredAt(history: readonly AttemptStatusChange[], success: PlanStep['success']): number | undefined {
  const wanted = STATUS_RANK[success];
  for (const change of history) if (change.status !== 'failed' && STATUS_RANK[change.status] >= wanted) return change.at;
  return undefined;
}

/**
 * The spend on attempts that reached the customer after another attempt had: each delivered attempt but the
 * first by delivery time counts its whole cost. Deliveries stamped at the same instant go to the earlier step
 * (the customer was reached once; the other is the redundant one). Attempts that never reached the customer
 * are not double spend, whatever they cost; receipt order does not matter, only the receipts' times.
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
