/**
 * The pure core's entry: a cascade and an input in, the next cascade, its effects and its notes out. The
 * working copy and its rules are in transition/: `draft.ts` (the copy and its finish), `steps.ts` (a step starts,
 * moves on, ends), `sends.ts`, `receipts.ts`, `timers.ts` (one kind of input each).
 */
import type { Micros } from './money.js';
import type { AttemptError, Cascade, FailoverReason, Message, Plan, ReceiptStatus, Recipient } from './types.js';
import { Draft } from './transition/draft.js';
import { receipt } from './transition/receipts.js';
import { paced, resume, sendFailed, sent } from './transition/sends.js';
import { cancel, schedule } from './transition/steps.js';
import { tick } from './transition/timers.js';

/**
 * What can happen to a cascade. Every input carries the time: the core never reads a clock. `by` names the
 * router instance applying it: a step that the input begins is claimed by it (`Attempt.owner`), since that
 * instance carries out the send.
 */
export type CascadeInput =
  | { readonly type: 'tick'; readonly now: number; readonly by?: string | undefined }
  /** A send's result. `try`: which try of the step it was (its failovers before it); undefined: the current one. */
  | { readonly type: 'sent'; readonly now: number; readonly by?: string | undefined; readonly step: number; readonly try?: number | undefined; readonly providerMessageId: string; readonly priceMicros?: Micros | undefined }
  /**
   * A send that failed. With `error.fault: 'provider'` the step moves to its channel's next provider, if it has
   * one; `unhealthy`: it was not sent at all, its provider's breaker being open.
   */
  | { readonly type: 'send-failed'; readonly now: number; readonly by?: string | undefined; readonly step: number; readonly try?: number | undefined; readonly error: AttemptError; readonly unhealthy?: boolean | undefined }
  /** A receipt for the step's current try, or (`try`) for an earlier one. */
  | { readonly type: 'receipt'; readonly now: number; readonly by?: string | undefined; readonly step: number; readonly try?: number | undefined; readonly status: ReceiptStatus; readonly at?: number | undefined; readonly priceMicros?: Micros | undefined; readonly error?: AttemptError | undefined }
  | { readonly type: 'cancel'; readonly now: number; readonly by?: string | undefined }
  /** The current try may not be sent before `until` (its provider's rate limit): it waits, its step's timer set to then. */
  | { readonly type: 'paced'; readonly now: number; readonly by?: string | undefined; readonly step: number; readonly try?: number | undefined; readonly until: number }
  /** The owner of a step still `sending` died: `by` takes the step over and sends it again (same idempotency key). */
  | {
      readonly type: 'resume';
      readonly now: number;
      readonly by: string;
      readonly step: number;
      readonly previousOwner: string | undefined;
      /**
       * The step was never sent: its owner finds its own claim, written although the write seemed to fail. It
       * is sent now with a fresh wait, even when its timer is due (nobody received it, so nothing times out).
       */
      readonly unsent?: boolean | undefined;
    };

/** Work for the runtime, carried out only after the new state is persisted. */
export type Effect =
  | { readonly type: 'send'; readonly step: number }
  | { readonly type: 'abort'; readonly step: number }
  | { readonly type: 'index'; readonly providerMessageId: string };

/** What changed, for the runtime to report as events. */
export type Note =
  | { readonly type: 'attempt'; readonly step: number }
  | { readonly type: 'resumed'; readonly step: number; readonly previousOwner: string | undefined }
  | { readonly type: 'sent'; readonly step: number }
  | { readonly type: 'receipt'; readonly step: number; readonly status: ReceiptStatus }
  | { readonly type: 'failover'; readonly step: number; readonly from: string; readonly to: string; readonly reason: FailoverReason }
  | { readonly type: 'paced'; readonly step: number; readonly until: number }
  | { readonly type: 'fallback'; readonly step: number; readonly reason: 'failed' | 'timeout' | 'send-error'; readonly next: number | undefined }
  | { readonly type: 'delivered'; readonly step: number }
  | { readonly type: 'late-receipt'; readonly step: number }
  | { readonly type: 'exhausted' }
  | { readonly type: 'cancelled' }
  | { readonly type: 'expired' };

/** How an input was taken: `unchanged` means the state is the same object as before. */
export type Verdict = 'applied' | 'duplicate' | 'stale' | 'unchanged';

export interface Transition {
  readonly cascade: Cascade;
  readonly effects: readonly Effect[];
  readonly notes: readonly Note[];
  readonly verdict: Verdict;
}

/** The state of a new cascade, with its first step started or scheduled. */
export function startCascade(init: {
  readonly id: string;
  readonly key: string;
  readonly message: Message;
  readonly recipient: Recipient;
  readonly plan: Plan;
  readonly now: number;
  /** The router instance that starts it: it claims the first step if that starts at once. */
  readonly by?: string | undefined;
  /**
   * Leave the first step to its timer even when it starts at once: the cascade is `scheduled`, due now, and
   * whichever router fires the timer begins it (a cascade written in the caller's transaction, which no
   * router may send before that transaction commits).
   */
  readonly defer?: boolean | undefined;
}): Transition {
  const cascade: Cascade = {
    id: init.id,
    key: init.key,
    message: init.message,
    recipient: init.recipient,
    plan: init.plan,
    status: 'scheduled',
    step: 0,
    attempts: [],
    createdAt: init.now,
    updatedAt: init.now,
    endedAt: undefined,
    timerAt: undefined,
    spendMicros: 0,
    doubleSpendMicros: 0,
    deliveredStep: undefined,
    version: 0,
  };
  const draft = new Draft(cascade, init.now, init.by);
  schedule(draft, 0, Math.max(init.now, init.plan.startAt), init.defer === true);
  return draft.finish('applied');
}

/** The pure core: the next state of a cascade, and the effects to carry out once it is persisted. */
export function transition(cascade: Cascade, input: CascadeInput): Transition {
  const draft = new Draft(cascade, input.now, input.by);
  return draft.finish(apply(draft, input));
}

/**
 * Several inputs applied in order as one change (one version step): a send's result together with the
 * receipts that were held for its provider id, so no other change can come between them. `applied` when
 * any input was; an input that does not apply leaves the draft as it was.
 */
export function transitionAll(cascade: Cascade, inputs: readonly CascadeInput[]): Transition {
  const first = inputs[0];
  if (first === undefined) return { cascade, effects: [], notes: [], verdict: 'unchanged' };
  const draft = new Draft(cascade, first.now, first.by);
  let verdict: Verdict | undefined;
  for (const input of inputs) {
    const taken = apply(draft, input);
    if (verdict === undefined || taken === 'applied') verdict = taken;
  }
  return draft.finish(verdict!);
}

/** Applies one input to the draft; anything but `applied` leaves the draft unchanged. */
function apply(d: Draft, input: CascadeInput): Verdict {
  switch (input.type) {
    case 'tick':
      return tick(d);
    case 'sent':
      return d.isTry(input.step, input.try) ? sent(d, input.step, input.providerMessageId, input.priceMicros) : 'stale';
    case 'send-failed':
      return d.isTry(input.step, input.try) ? sendFailed(d, input.step, input.error, input.unhealthy === true) : 'stale';
    case 'resume':
      return resume(d, input.step, input.previousOwner, input.unsent === true);
    case 'receipt':
      return receipt(d, input);
    case 'cancel':
      return cancel(d);
    case 'paced':
      return d.isTry(input.step, input.try) ? paced(d, input.step, input.until) : 'stale';
  }
}
