/**
 * Receipts: whether one applies to its attempt (duplicate, stale or new), and what a status an attempt reaches
 * implies, by receipt or by the provider accepting the send: billing, delivery (in time, late, or past the
 * deadline), failover or fallback.
 */
import type { Micros } from '../money.js';
import { attemptCostMicros } from '../spend.js';
import { STATUS_RANK, TERMINAL, type AttemptError, type ReceiptStatus } from '../types.js';
import type { CascadeInput, Verdict } from '../transition.js';
import { append, type Draft } from './draft.js';
import { end, endCurrent, failover, fallBack } from './steps.js';

/** A `receipt` input: recorded when it moves its try's status on; a repeat is `duplicate`, one behind it `stale`. */
export function receipt(d: Draft, input: Extract<CascadeInput, { type: 'receipt' }>): Verdict {
  const attempt = d.list[input.step];
  if (!attempt) return 'stale';
  const tries = attempt.failovers?.length ?? 0;
  if (input.try !== undefined && input.try !== tries) {
    // A try the step moved on from ended failed (a failure receipt, or a send error: then it has no id to
    // match): whatever comes for it later is the same failure again or behind it.
    const earlier = attempt.failovers?.[input.try];
    return earlier?.status === input.status ? 'duplicate' : 'stale';
  }
  const previous = attempt.status;
  if (previous === input.status) return 'duplicate';
  if (previous === 'failed' || (input.status === 'failed' && previous !== undefined && STATUS_RANK[previous] >= STATUS_RANK.delivered)) {
    return 'stale';
  }
  if (input.status !== 'failed' && previous !== undefined && STATUS_RANK[input.status] <= STATUS_RANK[previous]) return 'stale';
  d.note({ type: 'receipt', step: input.step, status: input.status });
  recordStatus(d, input.step, input.status, input.at ?? d.now, 'receipt', input.priceMicros, input.error);
  return 'applied';
}

/**
 * Records that the attempt at `step` reached `status` (at `at`, by the provider accepting the send or by a
 * receipt) and does what that implies: billing, delivery, failover, fallback.
 */
export function recordStatus(
  d: Draft,
  step: number,
  status: ReceiptStatus,
  at: number,
  source: 'send' | 'receipt',
  priceMicros: Micros | undefined,
  error: AttemptError | undefined,
): void {
  const c = d.c;
  const a = d.attempt(step);
  const planned = c.plan.steps[step]!;
  const wasEnded = a.phase === 'ended';
  const before = a.status;
  if (a.status !== 'failed' && (a.status === undefined || status === 'failed' || STATUS_RANK[status] > STATUS_RANK[a.status])) a.status = status;
  a.history = append(a.history, { status, at, source });
  if (priceMicros !== undefined) a.priceMicros = priceMicros;
  if (error) a.error = error;
  if (!a.billed && status !== 'failed' && (planned.billing === 'sent' || STATUS_RANK[status] >= STATUS_RANK.delivered)) a.billed = true;
  if (a.billed) a.costMicros = attemptCostMicros(a, planned);

  if (status === 'failed') {
    if (d.isCurrent(step) && !wasEnded) {
      if (error?.fault === 'provider' && failover(d, step, 'failed', error)) return;
      a.phase = 'ended';
      a.outcome = 'failed';
      a.endedAt = d.now;
      fallBack(d, step, 'failed');
    }
    return;
  }
  if (STATUS_RANK[status] < STATUS_RANK[planned.success]) return;
  // Already successful (a `read` after the `delivered` that ended it): recorded above, nothing more.
  if (before !== undefined && before !== 'failed' && STATUS_RANK[before] >= STATUS_RANK[planned.success]) return;
  const deadlineAt = c.plan.deadlineAt;
  if (deadlineAt !== undefined && at > deadlineAt) {
    // It reached the customer after the message's deadline (an expired code): recorded and billed above,
    // but it does not deliver the message, so what was sent after it to meet the deadline is not double
    // spend. A current step is left to the deadline's own timer, which expires the cascade.
    a.late = true;
    d.note({ type: 'late-receipt', step });
    return;
  }
  const late = !d.isCurrent(step) || wasEnded;
  if (late) {
    a.late = true;
    d.note({ type: 'late-receipt', step });
  } else {
    a.phase = 'ended';
    a.outcome = 'delivered';
    a.endedAt = d.now;
  }
  if (c.deliveredStep === undefined || step < c.deliveredStep) c.deliveredStep = step;
  if (!TERMINAL.has(c.status)) {
    if (late) endCurrent(d, 'superseded');
    end(d, 'delivered', step);
  }
}
