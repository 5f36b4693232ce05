import type { Micros } from './money.js';
import { endOfQuietHours } from './quiet-hours.js';
import { TERMINAL, type Attempt, type AttemptOutcome, type Cascade, type Message, type Plan, type ReceiptStatus, type Recipient } from './types.js';

/** What can happen to a cascade. Every input carries the time: the core never reads a clock. */
export type CascadeInput =
  | { readonly type: 'tick'; readonly now: number }
  | { readonly type: 'sent'; readonly now: number; readonly step: number; readonly providerMessageId: string; readonly priceMicros?: Micros | undefined }
  | { readonly type: 'send-failed'; readonly now: number; readonly step: number; readonly error: { readonly message: string; readonly code?: string | undefined } }
  | { readonly type: 'receipt'; readonly now: number; readonly step: number; readonly status: ReceiptStatus; readonly at?: number | undefined; readonly priceMicros?: Micros | undefined; readonly error?: { readonly message: string; readonly code?: string | undefined } | undefined }
  | { readonly type: 'cancel'; readonly now: number };

/** Work for the runtime, carried out only after the new state is persisted. */
export type Effect =
  | { readonly type: 'send'; readonly step: number }
  | { readonly type: 'abort'; readonly step: number }
  | { readonly type: 'index'; readonly providerMessageId: string };

/** What changed, for the runtime to report as events. */
export type Note =
  | { readonly type: 'attempt'; readonly step: number }
  | { readonly type: 'sent'; readonly step: number }
  | { readonly type: 'receipt'; readonly step: number; readonly status: ReceiptStatus }
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

const RANK: Record<ReceiptStatus, number> = { accepted: 1, sent: 2, delivered: 3, read: 4, failed: 0 };

/** The state of a new cascade, with its first step started or scheduled. */
export function startCascade(init: {
  readonly id: string;
  readonly key: string;
  readonly message: Message;
  readonly recipient: Recipient;
  readonly plan: Plan;
  readonly now: number;
}): Transition {
  const cascade: Cascade = {
    ...init,
    status: 'scheduled',
    step: 0,
    attempts: [],
    createdAt: init.now,
    updatedAt: init.now,
    spendMicros: 0,
    doubleSpendMicros: 0,
    version: 0,
  };
  const draft = new Draft(cascade, init.now);
  draft.schedule(0, Math.max(init.now, init.plan.startAt));
  return draft.finish('applied');
}

/** The pure core: the next state of a cascade, and the effects to carry out once it is persisted. */
export function transition(cascade: Cascade, input: CascadeInput): Transition {
  const draft = new Draft(cascade, input.now);
  switch (input.type) {
    case 'tick':
      return draft.tick();
    case 'sent':
      return draft.sent(input.step, input.providerMessageId, input.priceMicros);
    case 'send-failed':
      return draft.sendFailed(input.step, input.error);
    case 'receipt':
      return draft.receipt(input);
    case 'cancel':
      return draft.cancel();
  }
}

/** A mutable working copy used inside one transition; it never escapes. */
class Draft {
  private c: Cascade;
  private readonly effects: Effect[] = [];
  private readonly notes: Note[] = [];
  private readonly original: Cascade;

  constructor(
    cascade: Cascade,
    private readonly now: number,
  ) {
    this.c = cascade;
    this.original = cascade;
  }

  finish(verdict: Verdict): Transition {
    if (verdict === 'duplicate' || verdict === 'stale' || verdict === 'unchanged') {
      return { cascade: this.original, effects: [], notes: [], verdict };
    }
    const attempts = this.c.attempts;
    let spend = 0;
    let double = 0;
    for (let i = 0; i < attempts.length; i++) {
      const cost = attempts[i]!.costMicros;
      spend += cost;
      if (this.c.deliveredBy !== undefined && i > this.c.deliveredBy) double += cost;
    }
    const cascade = { ...this.c, spendMicros: spend, doubleSpendMicros: double, updatedAt: this.now, version: this.original.version + 1 };
    return { cascade, effects: this.effects, notes: this.notes, verdict };
  }

  tick(): Transition {
    const c = this.c;
    if (TERMINAL.has(c.status) || c.timerAt === undefined || c.timerAt > this.now) return this.finish('unchanged');
    if (c.plan.deadlineAt !== undefined && this.now >= c.plan.deadlineAt) {
      this.endCurrent('timeout');
      this.end('expired');
      return this.finish('applied');
    }
    if (c.status === 'scheduled') {
      this.begin(c.step);
    } else {
      this.endCurrent('timeout');
      this.fallBack(c.step, 'timeout');
    }
    return this.finish('applied');
  }

  sent(step: number, providerMessageId: string, priceMicros: Micros | undefined): Transition {
    const attempt = this.c.attempts[step];
    if (!attempt || attempt.providerMessageId !== undefined) return this.finish('duplicate');
    this.patch(step, { providerMessageId, state: attempt.state === 'sending' ? 'waiting' : attempt.state });
    this.effects.push({ type: 'index', providerMessageId });
    this.notes.push({ type: 'sent', step });
    this.reach(step, 'accepted', this.now, 'send', priceMicros, undefined);
    return this.finish('applied');
  }

  sendFailed(step: number, error: { message: string; code?: string | undefined }): Transition {
    const attempt = this.c.attempts[step];
    if (!attempt || attempt.state !== 'sending') return this.finish('stale');
    const current = this.isCurrent(step);
    this.patch(step, { state: 'ended', error, outcome: attempt.outcome ?? 'send-error', endedAt: attempt.endedAt ?? this.now });
    if (current) this.fallBack(step, 'send-error');
    return this.finish('applied');
  }

  receipt(input: Extract<CascadeInput, { type: 'receipt' }>): Transition {
    const attempt = this.c.attempts[input.step];
    if (!attempt) return this.finish('stale');
    const previous = attempt.status;
    if (previous === input.status) return this.finish('duplicate');
    if (previous === 'failed' || (input.status === 'failed' && previous !== undefined && RANK[previous] >= RANK.delivered)) {
      return this.finish('stale');
    }
    if (input.status !== 'failed' && previous !== undefined && RANK[input.status] <= RANK[previous]) return this.finish('stale');
    this.notes.push({ type: 'receipt', step: input.step, status: input.status });
    this.reach(input.step, input.status, input.at ?? this.now, 'receipt', input.priceMicros, input.error);
    return this.finish('applied');
  }

  cancel(): Transition {
    if (TERMINAL.has(this.c.status)) return this.finish('unchanged');
    this.endCurrent('cancelled');
    this.end('cancelled');
    return this.finish('applied');
  }

  /** Records a status for an attempt and does what it implies: billing, delivery, fallback. */
  private reach(step: number, status: ReceiptStatus, at: number, source: 'send' | 'receipt', priceMicros: Micros | undefined, error: Attempt['error']): void {
    const attempt = this.c.attempts[step]!;
    const planned = this.c.plan.steps[step]!;
    const forward = attempt.status === undefined || status === 'failed' || RANK[status] > RANK[attempt.status];
    const billNow = !attempt.billed && status !== 'failed' && (planned.billing === 'sent' || RANK[status] >= RANK.delivered);
    const price = priceMicros ?? attempt.priceMicros;
    this.patch(step, {
      status: forward ? status : attempt.status,
      history: [...attempt.history, { status, at, source }],
      priceMicros: price,
      ...(billNow || attempt.billed ? { billed: true, costMicros: price ?? planned.costMicros } : {}),
      ...(error ? { error } : {}),
    });

    if (status === 'failed') {
      if (this.isCurrent(step) && attempt.state !== 'ended') {
        this.patch(step, { state: 'ended', outcome: 'failed', endedAt: this.now });
        this.fallBack(step, 'failed');
      }
      return;
    }
    if (RANK[status] < RANK[planned.success]) return;
    const late = !this.isCurrent(step) || attempt.state === 'ended';
    if (late) this.patch(step, { late: true });
    else this.patch(step, { state: 'ended', outcome: 'delivered', endedAt: this.now });
    if (this.c.deliveredBy === undefined || step < this.c.deliveredBy) this.c = { ...this.c, deliveredBy: step };
    if (late) this.notes.push({ type: 'late-receipt', step });
    if (!TERMINAL.has(this.c.status)) {
      if (late) this.endCurrent('superseded');
      this.end('delivered', step);
    }
  }

  /** Moves on after `step` ended without success. */
  private fallBack(step: number, reason: 'failed' | 'timeout' | 'send-error'): void {
    const next = step + 1 < this.c.plan.steps.length ? step + 1 : undefined;
    this.notes.push({ type: 'fallback', step, reason, next });
    if (next === undefined) this.end('exhausted');
    else this.schedule(next, this.now + this.c.plan.steps[next]!.delayMs);
  }

  /** Starts `step` at `earliest`, or later if that falls in the recipient's quiet hours. */
  schedule(step: number, earliest: number): void {
    const planned = this.c.plan.steps[step];
    if (!planned) {
      this.end('exhausted');
      return;
    }
    const { recipient, plan } = this.c;
    const start = plan.quietHours && recipient.quietHours ? endOfQuietHours(earliest, recipient.quietHours, recipient.timeZone) : earliest;
    if (start <= this.now) {
      this.begin(step);
      return;
    }
    const timerAt = plan.deadlineAt === undefined ? start : Math.min(start, plan.deadlineAt);
    this.c = { ...this.c, status: 'scheduled', step, timerAt };
  }

  private begin(step: number): void {
    const planned = this.c.plan.steps[step]!;
    const deadlineAt = this.c.plan.deadlineAt;
    const timerAt = deadlineAt === undefined ? this.now + planned.waitMs : Math.min(this.now + planned.waitMs, deadlineAt);
    const attempt: Attempt = { step, channel: planned.channel, state: 'sending', startedAt: this.now, history: [], billed: false, costMicros: 0 };
    const attempts = this.c.attempts.slice(0, step);
    attempts[step] = attempt;
    this.c = { ...this.c, status: 'active', step, timerAt, attempts };
    this.effects.push({ type: 'send', step });
    this.notes.push({ type: 'attempt', step });
  }

  private endCurrent(outcome: AttemptOutcome): void {
    const attempt = this.c.status === 'active' ? this.c.attempts[this.c.step] : undefined;
    if (!attempt || attempt.state === 'ended') return;
    if (attempt.state === 'sending') this.effects.push({ type: 'abort', step: attempt.step });
    this.patch(attempt.step, { state: 'ended', outcome, endedAt: this.now });
  }

  private end(status: 'delivered' | 'exhausted' | 'cancelled' | 'expired', step?: number): void {
    this.c = { ...this.c, status, timerAt: undefined, endedAt: this.now };
    this.notes.push(status === 'delivered' ? { type: 'delivered', step: step! } : { type: status });
  }

  private isCurrent(step: number): boolean {
    return this.c.status === 'active' && this.c.step === step;
  }

  private patch(step: number, change: Partial<Attempt>): void {
    const attempts = this.c.attempts.slice();
    attempts[step] = { ...attempts[step]!, ...change };
    this.c = { ...this.c, attempts };
  }
}
