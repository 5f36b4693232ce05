/**
 * How a cascade moves through its plan: a step is scheduled and begun, moves to its channel's next provider
 * (failover) or falls back to the next step, and the cascade ends. Every function changes the draft it is given.
 */
import { endOfQuietHours } from '../quiet-hours.js';
import { attemptCostMicros, tryCostMicros } from '../spend.js';
import { TERMINAL, type AttemptError, type AttemptOutcome, type FailoverReason, type ProviderTry } from '../types.js';
import type { Verdict } from '../transition.js';
import { append, type Draft } from './draft.js';

/** Starts `step` at `earliest`, or later if that falls in the recipient's quiet hours; `defer`: by its timer even if that is now. */
export function schedule(d: Draft, step: number, earliest: number, defer = false): void {
  const c = d.c;
  if (!c.plan.steps[step]) {
    end(d, 'exhausted');
    return;
  }
  const quiet = c.plan.quietHours ? c.recipient.quietHours : undefined;
  const start = quiet ? endOfQuietHours(earliest, quiet, c.recipient.timeZone) : earliest;
  if (start <= d.now && !defer) {
    begin(d, step);
    return;
  }
  c.status = 'scheduled';
  c.step = step;
  c.timerAt = c.plan.deadlineAt === undefined ? start : Math.min(start, c.plan.deadlineAt);
}

/** Begins `step` now: a new attempt, claimed by the draft's router, with a `send` effect and its timeout set. */
export function begin(d: Draft, step: number): void {
  const c = d.c;
  const planned = c.plan.steps[step]!;
  const deadlineAt = c.plan.deadlineAt;
  d.startAttempt({
    step,
    channel: planned.channel,
    phase: 'sending',
    startedAt: d.now,
    owner: d.by,
    providerMessageId: undefined,
    status: undefined,
    history: [],
    outcome: undefined,
    endedAt: undefined,
    billed: false,
    costMicros: 0,
    priceMicros: undefined,
    late: undefined,
    error: undefined,
    provider: planned.providers?.[0]?.name,
    failovers: undefined,
    pacedUntil: undefined,
  });
  c.status = 'active';
  c.step = step;
  c.timerAt = d.now + planned.timeoutMs;
  if (deadlineAt !== undefined) {
    // A step shortened for the deadline that starts early may use the slack, up to its planned end,
    // so the steps after it still get the time the plan gave them.
    const plannedEnd = step === c.plan.steps.length - 1 ? deadlineAt : planned.startAt + planned.waitMs;
    c.timerAt = Math.min(c.timerAt, Math.max(d.now + planned.waitMs, plannedEnd), deadlineAt);
  }
  d.effect({ type: 'send', step });
  d.note({ type: 'attempt', step });
}

/**
 * Moves `step` to its channel's next provider, in the same step (its timer keeps running): the current try
 * goes into `failovers`. False when the step has no provider left.
 */
export function failover(d: Draft, step: number, reason: FailoverReason, error: AttemptError | undefined): boolean {
  const planned = d.c.plan.steps[step]!;
  const index = d.list[step]!.failovers?.length ?? 0;
  const next = planned.providers?.[index + 1];
  if (next === undefined) return false;
  const a = d.attempt(step);
  const tried: ProviderTry = {
    provider: a.provider ?? planned.providers![index]!.name,
    startedAt: a.failovers?.[index - 1]?.endedAt ?? a.startedAt,
    endedAt: d.now,
    reason,
    providerMessageId: a.providerMessageId,
    status: a.status,
    history: a.history,
    billed: a.billed,
    costMicros: a.billed ? (a.priceMicros ?? tryCostMicros(planned, index)) : 0,
    priceMicros: a.priceMicros,
    error: error ?? a.error,
  };
  a.failovers = append(a.failovers ?? [], tried);
  a.provider = next.name;
  a.phase = 'sending';
  a.owner = d.by;
  a.providerMessageId = undefined;
  a.status = undefined;
  a.history = [];
  a.billed = false;
  a.priceMicros = undefined;
  a.late = undefined;
  a.error = undefined;
  a.costMicros = attemptCostMicros(a, planned);
  d.effect({ type: 'send', step });
  d.note({ type: 'failover', step, from: tried.provider, to: next.name, reason });
  return true;
}

/** Moves on after `step` ended without success: the next step, or the end. */
export function fallBack(d: Draft, step: number, reason: 'failed' | 'timeout' | 'send-error'): void {
  const steps = d.c.plan.steps;
  const next = step + 1 < steps.length ? step + 1 : undefined;
  d.note({ type: 'fallback', step, reason, next });
  if (next === undefined) end(d, 'exhausted');
  else schedule(d, next, d.now + steps[next]!.delayMs);
}

/** Ends the current attempt, if one is open, with `outcome`; a send still in flight is aborted. */
export function endCurrent(d: Draft, outcome: AttemptOutcome): void {
  const c = d.c;
  if (c.status !== 'active') return;
  const current = d.list[c.step];
  if (!current || current.phase === 'ended') return;
  if (current.phase === 'sending') d.effect({ type: 'abort', step: c.step });
  const a = d.attempt(c.step);
  a.phase = 'ended';
  a.outcome = outcome;
  a.endedAt = d.now;
}

/** Ends the cascade; `step`: the one that delivered. */
export function end(d: Draft, status: 'delivered' | 'exhausted' | 'cancelled' | 'expired', step?: number): void {
  const c = d.c;
  c.status = status;
  c.timerAt = undefined;
  c.endedAt = d.now;
  d.note(status === 'delivered' ? { type: 'delivered', step: step! } : { type: status });
}

/** A `cancel` input: the current attempt and the cascade end, unless it has ended already. */
export function cancel(d: Draft): Verdict {
  if (TERMINAL.has(d.c.status)) return 'unchanged';
  endCurrent(d, 'cancelled');
  end(d, 'cancelled');
  return 'applied';
}
