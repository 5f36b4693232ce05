/**
 * The working copy one transition changes: a cascade copied once, its attempts copied only when touched, the
 * effects and notes written so far, and the finish that turns it into the next cascade. The rules that change
 * it live beside it: `steps.ts` (a step starts, moves on, ends), `sends.ts` (a send's result, pacing, take-over),
 * `receipts.ts` (a receipt, and what a status implies), `timers.ts` (the due timer, a cancel).
 */
import { doubleSpendOf, spendOf } from '../spend.js';
import type { Attempt, Cascade } from '../types.js';
import type { Effect, Note, Transition, Verdict } from '../transition.js';

export type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** The scratch lists every `Draft` writes its effects and notes into (the slots past its counts are stale). */
const EFFECTS: Effect[] = [];
const NOTES: Note[] = [];

/** A mutable working copy used inside one transition; it never escapes before `finish()`. */
export class Draft {
  readonly c: Mutable<Cascade>;
  private attempts: Mutable<Attempt>[] | undefined;
  // Written into shared scratch lists and copied out at their size by `finish()`: a new `[]` grows to 17 slots on
  // its first push, for changes that have one to three. Safe to share: a transition runs to its end synchronously.
  private effectCount = 0;
  private noteCount = 0;

  constructor(
    private readonly original: Cascade,
    /** The input's time: the core never reads a clock. */
    readonly now: number,
    /** The router instance applying the input: a step the input begins is claimed by it. */
    readonly by: string | undefined,
  ) {
    this.c = cloneCascade(original);
  }

  /** The next cascade (one version on, its spend summed), or with any verdict but `applied`, the original. */
  finish(verdict: Verdict): Transition {
    if (verdict !== 'applied') return { cascade: this.original, effects: [], notes: [], verdict };
    const effects = EFFECTS.slice(0, this.effectCount);
    const notes = NOTES.slice(0, this.noteCount);
    const c = this.c;
    if (this.attempts) c.attempts = this.attempts;
    c.spendMicros = spendOf(c.attempts);
    c.doubleSpendMicros = doubleSpendOf(c.attempts, c.plan.steps);
    c.updatedAt = this.now;
    c.version = this.original.version + 1;
    return { cascade: c, effects: effects.length > 1 ? withoutCancelled(effects) : effects, notes, verdict };
  }

  effect(effect: Effect): void {
    EFFECTS[this.effectCount++] = effect;
  }

  note(note: Note): void {
    NOTES[this.noteCount++] = note;
  }

  /** Whether `step` is the step the cascade is on now. */
  isCurrent(step: number): boolean {
    return this.c.status === 'active' && this.c.step === step;
  }

  /** Whether `index` (undefined: the current one) is the step's current try. */
  isTry(step: number, index: number | undefined): boolean {
    return index === undefined || index === (this.list[step]?.failovers?.length ?? 0);
  }

  /** The attempts as this draft has them so far (read-only: change one through `attempt()`). */
  get list(): readonly Attempt[] {
    return this.attempts ?? this.c.attempts;
  }

  /** The attempt at `step`, copied once per transition so the original stays untouched. */
  attempt(step: number): Mutable<Attempt> {
    const attempts = this.attempts ?? (this.attempts = this.c.attempts.slice());
    const a = attempts[step]!;
    if (this.original.attempts[step] !== a) return a;
    const copy = cloneAttempt(a);
    attempts[step] = copy;
    return copy;
  }

  /** Makes `attempt` the one at its step, the last: attempts from an earlier run of the step on are dropped. */
  startAttempt(attempt: Mutable<Attempt>): void {
    this.attempts = append(this.list.slice(0, attempt.step), attempt);
  }
}

/**
 * A copy with one more item, allocated at its exact size: push() would reserve room for 16 more,
 * which every open cascade would carry, and concat() is slow.
 */
export function append<T>(list: readonly T[], item: T): T[] {
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
    deliveredStep: c.deliveredStep,
    version: c.version,
  };
}

function cloneAttempt(a: Attempt): Mutable<Attempt> {
  return {
    step: a.step,
    channel: a.channel,
    phase: a.phase,
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
