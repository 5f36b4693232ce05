/**
 * A step's send: its result (`sent`, `send-failed`), a wait for its provider's rate (`paced`), and a take-over
 * from a router that died while sending it (`resume`). Only the router that owns the step decides its send.
 */
import type { Micros } from '../money.js';
import type { AttemptError } from '../types.js';
import type { Verdict } from '../transition.js';
import type { Draft } from './draft.js';
import { recordStatus } from './receipts.js';
import { failover, fallBack } from './steps.js';
import { fire } from './timers.js';

/** The provider accepted the send: the try has its id (indexed for receipts) and is `accepted`. */
export function sent(d: Draft, step: number, providerMessageId: string, priceMicros: Micros | undefined): Verdict {
  const attempt = d.list[step];
  if (!attempt || attempt.providerMessageId !== undefined) return 'duplicate';
  const a = d.attempt(step);
  a.providerMessageId = providerMessageId;
  if (a.phase === 'sending') a.phase = 'waiting';
  d.effect({ type: 'index', providerMessageId });
  d.note({ type: 'sent', step });
  recordStatus(d, step, 'accepted', d.now, 'send', priceMicros, undefined);
  return 'applied';
}

/** The send failed: the next provider (a provider's fault, or its breaker open), else the step ends and falls back. */
export function sendFailed(d: Draft, step: number, error: AttemptError, unhealthy: boolean): Verdict {
  const attempt = d.list[step];
  if (!attempt || attempt.phase !== 'sending') return 'stale';
  // The step passed to another instance (its owner was taken for dead): that one's send decides it.
  if (d.by !== undefined && attempt.owner !== undefined && attempt.owner !== d.by) return 'stale';
  const current = d.isCurrent(step);
  if (current && (unhealthy || error.fault === 'provider') && failover(d, step, unhealthy ? 'unhealthy' : 'send-error', error)) return 'applied';
  const a = d.attempt(step);
  a.phase = 'ended';
  a.error = error;
  a.outcome ??= 'send-error';
  a.endedAt ??= d.now;
  if (current) fallBack(d, step, 'send-error');
  return 'applied';
}

/** The current try, not sent yet, waits for its provider's rate until `until`. */
export function paced(d: Draft, step: number, until: number): Verdict {
  const c = d.c;
  const attempt = d.list[step];
  if (!d.isCurrent(step) || attempt?.phase !== 'sending' || attempt.providerMessageId !== undefined) return 'stale';
  if (d.by !== undefined && attempt.owner !== undefined && attempt.owner !== d.by) return 'stale';
  d.attempt(step).pacedUntil = until;
  c.timerAt = c.plan.deadlineAt === undefined ? until : Math.min(until, c.plan.deadlineAt);
  d.note({ type: 'paced', step, until });
  return 'applied';
}

/**
 * Takes over the current step, still `sending`, from `previousOwner`, and sends it again; or, when the
 * step's timer is already due, fires it instead (a step whose timeout has passed falls back rather than
 * being sent again). Only from that owner: of two instances that both found it dead, the one whose change
 * is stored second finds another owner. `previousOwner` may be the draft's router itself: a router that finds
 * a step claimed in its name that it is not sending (the claim was written although the write seemed to fail).
 */
export function resume(d: Draft, step: number, previousOwner: string | undefined, unsent: boolean): Verdict {
  const c = d.c;
  const attempt = d.list[step];
  if (!d.isCurrent(step) || attempt?.phase !== 'sending' || attempt.owner !== previousOwner || d.by === undefined) return 'stale';
  // Waiting for its provider's rate: nothing in flight to take over; its timer sends it.
  if (attempt.pacedUntil !== undefined) return 'stale';
  const deadlineAt = c.plan.deadlineAt;
  if (unsent && previousOwner === d.by && (deadlineAt === undefined || d.now < deadlineAt)) {
    c.timerAt = d.now + c.plan.steps[step]!.timeoutMs;
    if (deadlineAt !== undefined) c.timerAt = Math.min(c.timerAt, deadlineAt);
  } else if (c.timerAt !== undefined && c.timerAt <= d.now) return fire(d);
  d.attempt(step).owner = d.by;
  d.effect({ type: 'send', step });
  d.note({ type: 'resumed', step, previousOwner });
  return 'applied';
}
