import { doubleSpendOf } from './double-spend.js';
import type { Micros } from './money.js';
import { endOfQuietHours } from './quiet-hours.js';
import {
  STATUS_RANK,
  TERMINAL,
  type Attempt,
  type AttemptError,
  type AttemptOutcome,
  type Cascade,
  type FailoverReason,
  type Message,
  type Plan,
  type ProviderTry,
  type ReceiptStatus,
  type Recipient,
} from './types.js';

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
    deliveredBy: undefined,
    version: 0,
  };
  const draft = new Draft(cascade, init.now, init.by);
  draft.schedule(0, Math.max(init.now, init.plan.startAt), init.defer === true);
  return draft.finish('applied');
}

/** The pure core: the next state of a cascade, and the effects to carry out once it is persisted. */
export function transition(cascade: Cascade, input: CascadeInput): Transition {
  const draft = new Draft(cascade, input.now, input.by);
  return draft.finish(draft.apply(input));
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
    const taken = draft.apply(input);
    if (verdict === undefined || taken === 'applied') verdict = taken;
  }
  return draft.finish(verdict!);
}

/**
 * A copy with one more item, allocated at its exact size: push() would reserve room for 16 more,
 * which every open cascade would carry, and concat() is slow.
 */
function append<T>(list: readonly T[], item: T): T[] {
  switch (list.length) {
    case 0:
      return [item];
    case 1:
      return [list[0]!, item];
    case 2:
      return [list[0]!, list[1]!, item];
    default: {
      const out = list.slice();
      out.push(item);
      return out;
    }
  }
}

/** A step begun and ended within one change (several inputs) was never sent: drop its send and its abort. */
function withoutCancelled(effects: readonly Effect[]): readonly Effect[] {
  const aborted = new Set<number>();
  for (const effect of effects) if (effect.type === 'abort') aborted.add(effect.step);
  if (aborted.size === 0) return effects;
  const begun = new Set<number>();
  for (const effect of effects) if (effect.type === 'send' && aborted.has(effect.step)) begun.add(effect.step);
  if (begun.size === 0) return effects;
  return effects.filter((effect) => effect.type === 'index' || !begun.has(effect.step));
}

/** The scratch lists every `Draft` writes its effects and notes into (the slots past its counts are stale). */
const EFFECTS: Effect[] = [];
const NOTES: Note[] = [];

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

// Copies with every field in one fixed order, so all cascades and attempts share one hidden class.
function cloneCascade(c: Cascade): Mutable<Cascade> {
  return {
    id: c.id,
    key: c.key,
    message: c.message,
    recipient: c.recipient,
    plan: c.plan,
    status: c.status,
    step: c.step,
    attempts: c.attempts,
    createdAt: c.createdAt,
    updatedAt: c.updatedAt,
    endedAt: c.endedAt,
    timerAt: c.timerAt,
    spendMicros: c.spendMicros,
    doubleSpendMicros: c.doubleSpendMicros,
    deliveredBy: c.deliveredBy,
    version: c.version,
  };
}

function cloneAttempt(a: Attempt): Mutable<Attempt> {
  return {
    step: a.step,
    channel: a.channel,
    state: a.state,
    startedAt: a.startedAt,
    owner: a.owner,
    providerMessageId: a.providerMessageId,
    status: a.status,
    history: a.history,
    outcome: a.outcome,
    endedAt: a.endedAt,
    billed: a.billed,
    costMicros: a.costMicros,
    priceMicros: a.priceMicros,
    late: a.late,
    error: a.error,
    provider: a.provider,
    failovers: a.failovers,
    pacedUntil: a.pacedUntil,
  };
}

/** A mutable working copy used inside one transition; it never escapes before `finish()`. */
class Draft {
  private readonly c: Mutable<Cascade>;
  private attempts: Mutable<Attempt>[] | undefined;
  // Written into shared scratch lists and copied out at their size by `finish()`: a new `[]` grows to 17 slots on
  // its first push, for changes that have one to three. Safe to share: a transition runs to its end synchronously.
  private effectCount = 0;
  private noteCount = 0;

  constructor(
    private readonly original: Cascade,
    private readonly now: number,
    private readonly by: string | undefined,
  ) {
    this.c = cloneCascade(original);
  }

  /** Applies one input to the draft; anything but `applied` leaves the draft unchanged. */
  apply(input: CascadeInput): Verdict {
    switch (input.type) {
      case 'tick':
        return this.tick();
      case 'sent':
        return this.isTry(input.step, input.try) ? this.sent(input.step, input.providerMessageId, input.priceMicros) : 'stale';
      case 'send-failed':
        return this.isTry(input.step, input.try) ? this.sendFailed(input.step, input.error, input.unhealthy === true) : 'stale';
      case 'resume':
        return this.resume(input.step, input.previousOwner, input.unsent === true);
      case 'receipt':
        return this.receipt(input);
      case 'cancel':
        return this.cancel();
      case 'paced':
        return this.isTry(input.step, input.try) ? this.paced(input.step, input.until) : 'stale';
    }
  }

  finish(verdict: Verdict): Transition {
    if (verdict !== 'applied') return { cascade: this.original, effects: [], notes: [], verdict };
    const effects = EFFECTS.slice(0, this.effectCount);
    const notes = NOTES.slice(0, this.noteCount);
    const c = this.c;
    if (this.attempts) c.attempts = this.attempts;
    let spend = 0;
    for (const a of c.attempts) spend += a.costMicros;
    c.spendMicros = spend;
    c.doubleSpendMicros = doubleSpendOf(c.attempts, c.plan.steps);
    c.updatedAt = this.now;
    c.version = this.original.version + 1;
    return { cascade: c, effects: effects.length > 1 ? withoutCancelled(effects) : effects, notes, verdict };
  }

  private effect(effect: Effect): void {
    EFFECTS[this.effectCount++] = effect;
  }

  private note(note: Note): void {
    NOTES[this.noteCount++] = note;
  }

  /**
   * Fires the cascade's timer if it is due. A step still `sending` under another router is left to that
   * router (it holds the send, and perhaps its result not yet stored) or to whoever takes it over (`resume`).
   */
  private tick(): Verdict {
    const c = this.c;
    if (TERMINAL.has(c.status) || c.timerAt === undefined || c.timerAt > this.now) return 'unchanged';
    const current = c.status === 'active' ? this.list[c.step] : undefined;
    // A try waiting for its provider's rate is sent (or expired by the deadline) by whichever router fires its
    // timer: nothing is in flight.
    if (current?.pacedUntil !== undefined) return c.plan.deadlineAt !== undefined && this.now >= c.plan.deadlineAt ? this.fire() : this.unpace(c.step);
    if (current?.state === 'sending' && this.by !== undefined && current.owner !== undefined && current.owner !== this.by) return 'unchanged';
    return this.fire();
  }

  /** The current try, not sent yet, waits for its provider's rate until `until`. */
  private paced(step: number, until: number): Verdict {
    const c = this.c;
    const attempt = this.list[step];
    if (!this.isCurrent(step) || attempt?.state !== 'sending' || attempt.providerMessageId !== undefined) return 'stale';
    if (this.by !== undefined && attempt.owner !== undefined && attempt.owner !== this.by) return 'stale';
    this.attempt(step).pacedUntil = until;
    c.timerAt = c.plan.deadlineAt === undefined ? until : Math.min(until, c.plan.deadlineAt);
    this.note({ type: 'paced', step, until });
    return 'applied';
  }

  /** Its time come, a paced try is sent (claimed by `by`), and its wait for a receipt starts now. */
  private unpace(step: number): Verdict {
    const c = this.c;
    const a = this.attempt(step);
    const planned = c.plan.steps[step]!;
    a.pacedUntil = undefined;
    a.owner = this.by;
    c.timerAt = this.now + planned.timeoutMs;
    if (c.plan.deadlineAt !== undefined) c.timerAt = Math.min(c.timerAt, c.plan.deadlineAt);
    this.effect({ type: 'send', step });
    this.note({ type: 'attempt', step });
    return 'applied';
  }

  /** The due timer's work: start a scheduled step, or end the current one by timeout (or the deadline). */
  private fire(): Verdict {
    const c = this.c;
    if (c.plan.deadlineAt !== undefined && this.now >= c.plan.deadlineAt) {
      this.endCurrent('timeout');
      this.end('expired');
    } else if (c.status === 'scheduled') {
      this.begin(c.step);
    } else {
      this.endCurrent('timeout');
      this.fallBack(c.step, 'timeout');
    }
    return 'applied';
  }

  private sent(step: number, providerMessageId: string, priceMicros: Micros | undefined): Verdict {
    const attempt = this.list[step];
    if (!attempt || attempt.providerMessageId !== undefined) return 'duplicate';
    const a = this.attempt(step);
    a.providerMessageId = providerMessageId;
    if (a.state === 'sending') a.state = 'waiting';
    this.effect({ type: 'index', providerMessageId });
    this.note({ type: 'sent', step });
    this.reach(step, 'accepted', this.now, 'send', priceMicros, undefined);
    return 'applied';
  }

  private sendFailed(step: number, error: AttemptError, unhealthy: boolean): Verdict {
    const attempt = this.list[step];
    if (!attempt || attempt.state !== 'sending') return 'stale';
    // The step passed to another instance (its owner was taken for dead): that one's send decides it.
    if (this.by !== undefined && attempt.owner !== undefined && attempt.owner !== this.by) return 'stale';
    const current = this.isCurrent(step);
    if (current && (unhealthy || error.fault === 'provider') && this.failover(step, unhealthy ? 'unhealthy' : 'send-error', error)) return 'applied';
    const a = this.attempt(step);
    a.state = 'ended';
    a.error = error;
    a.outcome ??= 'send-error';
    a.endedAt ??= this.now;
    if (current) this.fallBack(step, 'send-error');
    return 'applied';
  }

  /**
   * Takes over the current step, still `sending`, from `previousOwner`, and sends it again; or, when the
   * step's timer is already due, fires it instead (a step whose timeout has passed falls back rather than
   * being sent again). Only from that owner: of two instances that both found it dead, the one whose change
   * is stored second finds another owner. `previousOwner` may be `by` itself: a router that finds a step
   * claimed in its name that it is not sending (the claim was written although the write seemed to fail).
   */
  private resume(step: number, previousOwner: string | undefined, unsent: boolean): Verdict {
    const c = this.c;
    const attempt = this.list[step];
    if (!this.isCurrent(step) || attempt?.state !== 'sending' || attempt.owner !== previousOwner || this.by === undefined) return 'stale';
    // Waiting for its provider's rate: nothing in flight to take over; its timer sends it.
    if (attempt.pacedUntil !== undefined) return 'stale';
    const deadlineAt = c.plan.deadlineAt;
    if (unsent && previousOwner === this.by && (deadlineAt === undefined || this.now < deadlineAt)) {
      c.timerAt = this.now + c.plan.steps[step]!.timeoutMs;
      if (deadlineAt !== undefined) c.timerAt = Math.min(c.timerAt, deadlineAt);
    } else if (c.timerAt !== undefined && c.timerAt <= this.now) return this.fire();
    this.attempt(step).owner = this.by;
    this.effect({ type: 'send', step });
    this.note({ type: 'resumed', step, previousOwner });
    return 'applied';
  }

  private receipt(input: Extract<CascadeInput, { type: 'receipt' }>): Verdict {
    const attempt = this.list[input.step];
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
    this.note({ type: 'receipt', step: input.step, status: input.status });
    this.reach(input.step, input.status, input.at ?? this.now, 'receipt', input.priceMicros, input.error);
    return 'applied';
  }

  private cancel(): Verdict {
    if (TERMINAL.has(this.c.status)) return 'unchanged';
    this.endCurrent('cancelled');
    this.end('cancelled');
    return 'applied';
  }

  /** Records a status for an attempt and does what it implies: billing, delivery, fallback. */
  private reach(step: number, status: ReceiptStatus, at: number, source: 'send' | 'receipt', priceMicros: Micros | undefined, error: AttemptError | undefined): void {
    const a = this.attempt(step);
    const planned = this.c.plan.steps[step]!;
    const wasEnded = a.state === 'ended';
    const before = a.status;
    if (a.status !== 'failed' && (a.status === undefined || status === 'failed' || STATUS_RANK[status] > STATUS_RANK[a.status])) a.status = status;
    a.history = append(a.history, { status, at, source });
    if (priceMicros !== undefined) a.priceMicros = priceMicros;
    if (error) a.error = error;
    if (!a.billed && status !== 'failed' && (planned.billing === 'sent' || STATUS_RANK[status] >= STATUS_RANK.delivered)) a.billed = true;
    if (a.billed) a.costMicros = this.stepCost(a, step);

    if (status === 'failed') {
      if (this.isCurrent(step) && !wasEnded) {
        if (error?.fault === 'provider' && this.failover(step, 'failed', error)) return;
        a.state = 'ended';
        a.outcome = 'failed';
        a.endedAt = this.now;
        this.fallBack(step, 'failed');
      }
      return;
    }
    if (STATUS_RANK[status] < STATUS_RANK[planned.success]) return;
    // Already successful (a `read` after the `delivered` that ended it): recorded above, nothing more.
    if (before !== undefined && before !== 'failed' && STATUS_RANK[before] >= STATUS_RANK[planned.success]) return;
    const deadlineAt = this.c.plan.deadlineAt;
    if (deadlineAt !== undefined && at > deadlineAt) {
      // It reached the customer after the message's deadline (an expired code): recorded and billed above,
      // but it does not deliver the message, so what was sent after it to meet the deadline is not double
      // spend. A current step is left to the deadline's own timer, which expires the cascade.
      a.late = true;
      this.note({ type: 'late-receipt', step });
      return;
    }
    const late = !this.isCurrent(step) || wasEnded;
    if (late) {
      a.late = true;
      this.note({ type: 'late-receipt', step });
    } else {
      a.state = 'ended';
      a.outcome = 'delivered';
      a.endedAt = this.now;
    }
    if (this.c.deliveredBy === undefined || step < this.c.deliveredBy) this.c.deliveredBy = step;
    if (!TERMINAL.has(this.c.status)) {
      if (late) this.endCurrent('superseded');
      this.end('delivered', step);
    }
  }

  /**
   * Moves `step` to its channel's next provider, in the same step (its timer keeps running): the current try
   * goes into `failovers`. False when the step has no provider left.
   */
  private failover(step: number, reason: FailoverReason, error: AttemptError | undefined): boolean {
    const planned = this.c.plan.steps[step]!;
    const index = this.list[step]!.failovers?.length ?? 0;
    const next = planned.providers?.[index + 1];
    if (next === undefined) return false;
    const a = this.attempt(step);
    const tried: ProviderTry = {
      provider: a.provider ?? planned.providers![index]!.name,
      startedAt: a.failovers?.[index - 1]?.endedAt ?? a.startedAt,
      endedAt: this.now,
      reason,
      providerMessageId: a.providerMessageId,
      status: a.status,
      history: a.history,
      billed: a.billed,
      costMicros: a.billed ? (a.priceMicros ?? this.providerCost(step, index)) : 0,
      priceMicros: a.priceMicros,
      error: error ?? a.error,
    };
    a.failovers = append(a.failovers ?? [], tried);
    a.provider = next.name;
    a.state = 'sending';
    a.owner = this.by;
    a.providerMessageId = undefined;
    a.status = undefined;
    a.history = [];
    a.billed = false;
    a.priceMicros = undefined;
    a.late = undefined;
    a.error = undefined;
    a.costMicros = this.stepCost(a, step);
    this.effect({ type: 'send', step });
    this.note({ type: 'failover', step, from: tried.provider, to: next.name, reason });
    return true;
  }

  /** What a try through the step's `index`th provider is projected to cost. */
  private providerCost(step: number, index: number): Micros {
    const planned = this.c.plan.steps[step]!;
    return planned.providers?.[index]?.costMicros ?? planned.costMicros;
  }

  /** An attempt's cost: its earlier tries' and, once billed, its current try's. */
  private stepCost(a: Attempt, step: number): Micros {
    let total = 0;
    if (a.failovers !== undefined) for (const t of a.failovers) total += t.costMicros;
    if (a.billed) total += a.priceMicros ?? this.providerCost(step, a.failovers?.length ?? 0);
    return total;
  }

  /** Whether `index` (undefined: the current one) is the step's current try. */
  private isTry(step: number, index: number | undefined): boolean {
    return index === undefined || index === (this.list[step]?.failovers?.length ?? 0);
  }

  /** Moves on after `step` ended without success. */
  private fallBack(step: number, reason: 'failed' | 'timeout' | 'send-error'): void {
    const next = step + 1 < this.c.plan.steps.length ? step + 1 : undefined;
    this.note({ type: 'fallback', step, reason, next });
    if (next === undefined) this.end('exhausted');
    else this.schedule(next, this.now + this.c.plan.steps[next]!.delayMs);
  }

  /** Starts `step` at `earliest`, or later if that falls in the recipient's quiet hours; `defer`: by its timer even if that is now. */
  schedule(step: number, earliest: number, defer = false): void {
    const c = this.c;
    if (!c.plan.steps[step]) {
      this.end('exhausted');
      return;
    }
    const quiet = c.plan.quietHours ? c.recipient.quietHours : undefined;
    const start = quiet ? endOfQuietHours(earliest, quiet, c.recipient.timeZone) : earliest;
    if (start <= this.now && !defer) {
      this.begin(step);
      return;
    }
    c.status = 'scheduled';
    c.step = step;
    c.timerAt = c.plan.deadlineAt === undefined ? start : Math.min(start, c.plan.deadlineAt);
  }

  private begin(step: number): void {
    const c = this.c;
    const planned = c.plan.steps[step]!;
    const deadlineAt = c.plan.deadlineAt;
    this.attempts = append(this.list.slice(0, step), {
      step,
      channel: planned.channel,
      state: 'sending',
      startedAt: this.now,
      owner: this.by,
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
    c.timerAt = this.now + planned.timeoutMs;
    if (deadlineAt !== undefined) {
      // A step shortened for the deadline that starts early may use the slack, up to its planned end,
      // so the steps after it still get the time the plan gave them.
      const plannedEnd = step === c.plan.steps.length - 1 ? deadlineAt : planned.startAt + planned.waitMs;
      c.timerAt = Math.min(c.timerAt, Math.max(this.now + planned.waitMs, plannedEnd), deadlineAt);
    }
    this.effect({ type: 'send', step });
    this.note({ type: 'attempt', step });
  }

  private endCurrent(outcome: AttemptOutcome): void {
    const c = this.c;
    if (c.status !== 'active') return;
    const current = this.list[c.step];
    if (!current || current.state === 'ended') return;
    if (current.state === 'sending') this.effect({ type: 'abort', step: c.step });
    const a = this.attempt(c.step);
    a.state = 'ended';
    a.outcome = outcome;
    a.endedAt = this.now;
  }

  private end(status: 'delivered' | 'exhausted' | 'cancelled' | 'expired', step?: number): void {
    const c = this.c;
    c.status = status;
    c.timerAt = undefined;
    c.endedAt = this.now;
    this.note(status === 'delivered' ? { type: 'delivered', step: step! } : { type: status });
  }

  private isCurrent(step: number): boolean {
    return this.c.status === 'active' && this.c.step === step;
  }

  /** The attempts as this draft has them so far. */
  private get list(): readonly Attempt[] {
    return this.attempts ?? this.c.attempts;
  }

  /** The attempt at `step`, copied once per transition so the original stays untouched. */
  private attempt(step: number): Mutable<Attempt> {
    const attempts = this.attempts ?? (this.attempts = this.c.attempts.slice());
    const a = attempts[step]!;
    if (this.original.attempts[step] !== a) return a;
    const copy = cloneAttempt(a);
    attempts[step] = copy;
    return copy;
  }
}
