import type { RouterContext } from './context.js';
import { isCascadeRouterError, StoreConflictError } from './errors.js';
import type { Operation } from './drive.js';
import { receiptInput } from './receipt-input.js';
import type { CascadeStore, CommitResult } from './store/types.js';
import { transition, transitionAll, type CascadeInput, type Transition } from './transition.js';
import type { Attempt, Cascade } from './types.js';

/** What a store method answers, once resolved: what `yield` gives back inside an operation. */
export type Answer<K extends keyof CascadeStore> = CascadeStore[K] extends (...args: never[]) => infer R ? Awaited<R> : never;

const MAX_CONFLICT_RETRIES = 32;
/** Writes whose answer was lost that this router remembers, to recognise them when it reads their cascade again. */
const MAX_LOST = 10_000;

export interface ApplyOptions {
  /**
   * A cascade to start from instead of a read. Unless `fresh` (just read), it is one this router committed:
   * only a commit then tells whether it is current, so any verdict but `applied` reads again.
   */
  readonly base?: Cascade | undefined;
  readonly fresh?: boolean | undefined;
}

/** True for the error a store gives when it did not answer: the write may still have been applied. */
export function isUnavailable(error: unknown): boolean {
  return isCascadeRouterError(error) && error.code === 'STORE_UNAVAILABLE';
}

/**
 * The router's one write path: read, transition, compare-and-set, and read again on a conflict. It also
 * takes in receipts that were held for a provider id the change indexes (the store refuses the change until
 * they are in it), and it recognises its own writes whose answer was lost (the store applied them after the
 * client gave up): when it reads such a cascade again, it carries that change out as if it had been answered.
 */
export class Changes {
  readonly #ctx: RouterContext;
  /** Cascade id → writes of it in flight from this router. */
  readonly #writing = new Map<string, number>();
  /** Cascade id → a change this router wrote whose answer was lost, oldest first. */
  readonly #lost = new Map<string, Transition>();

  /** Called when a write's answer is lost, so the router reads that cascade again soon. */
  onLost: (() => void) | undefined;

  constructor(ctx: RouterContext) {
    this.#ctx = ctx;
  }

  /** Cascades with a write of this router whose answer was lost, not yet seen again. */
  lost(): string[] {
    return [...this.#lost.keys()];
  }

  /** Whether this router has a create or commit of this cascade in flight. */
  writing(cascadeId: string): boolean {
    return this.#writing.has(cascadeId);
  }

  /** Stores a new cascade unless its key is taken; `created` also when the stored one is this router's own lost create. */
  *create(started: Transition): Operation<{ readonly created: boolean; readonly cascade: Cascade; readonly recovered?: Transition; readonly carried?: boolean }> {
    const cascade = started.cascade;
    if (this.#mustBeat(started)) yield this.#ctx.liveness!.beat();
    const answer = (yield* this.#write(cascade.id, started, () => this.#ctx.store.create(cascade, this.#ctx.update(undefined, cascade)))) as Answer<'create'>;
    if (answer.created) return answer;
    const recovered = this.#recognise(answer.cascade);
    if (recovered === undefined) return answer;
    if (!this.#claims(recovered)) return { created: true, cascade: answer.cascade, recovered };
    // Its first step was claimed but never sent: claimed again by compare-and-set (a change that came since
    // wins) and sent with a fresh wait (its timer may have passed while the write was lost).
    this.#ctx.reporter.report(recovered);
    yield* this.#sendUnsent(cascade.id, answer.cascade);
    return { created: true, cascade: answer.cascade, recovered, carried: true };
  }

  /** Sends a step this router claimed in a write whose answer was lost, with a fresh wait. */
  *#sendUnsent(cascadeId: string, base: Cascade): Operation<Transition | undefined> {
    const { clock, instanceId } = this.#ctx;
    return yield* this.apply(cascadeId, (c) => ({ type: 'resume', now: clock.now(), by: instanceId, step: c.step, previousOwner: instanceId, unsent: true }), { base, fresh: true });
  }

  /**
   * Applies `input` (built from the current cascade) by compare-and-set, reading again on a conflict.
   * Undefined when the cascade is gone or `input` gives nothing for it.
   */
  *apply(cascadeId: string, input: (cascade: Cascade) => CascadeInput | undefined, options: ApplyOptions = {}): Operation<Transition | undefined> {
    let base = options.base;
    let fresh = options.fresh === true;
    for (let tries = 0; tries < MAX_CONFLICT_RETRIES; tries++) {
      const before = base ?? ((yield this.#ctx.store.get(cascadeId)) as Answer<'get'>);
      const assumed = base !== undefined && !fresh;
      base = undefined;
      fresh = false;
      if (!before) return undefined;
      if (!assumed && this.#lost.size > 0) {
        const recovered = this.#recognise(before);
        if (recovered && this.#claims(recovered)) {
          // It claimed a step that was never sent. Claimed again by compare-and-set, so a change that came
          // since this read (a receipt ending the cascade) wins, and sent with a fresh wait: its timer may
          // have passed while the write was lost, and nobody received it.
          this.#ctx.reporter.report(recovered);
          yield* this.#sendUnsent(cascadeId, before);
          base = undefined;
          continue;
        }
        if (recovered) this.#ctx.after(recovered);
      }
      const event = input(before);
      // Nothing to apply to an assumed copy may be something to apply to the current one: read it.
      if (!event) {
        if (assumed) continue;
        return undefined;
      }
      const inputs: CascadeInput[] = [event];
      let heldThrough: number | undefined;
      for (;;) {
        const done = inputs.length === 1 ? transition(before, event) : transitionAll(before, inputs);
        // Only a commit tells whether an assumed cascade is current: any other verdict is decided on a read.
        if (done.verdict !== 'applied') {
          if (assumed) break;
          return done;
        }
        const providerIds: string[] = [];
        for (const effect of done.effects) if (effect.type === 'index') providerIds.push(effect.providerMessageId);
        if (this.#mustBeat(done)) yield this.#ctx.liveness!.beat();
        const update = this.#ctx.update(before, done.cascade);
        const result = (yield* this.#write(cascadeId, done, () => this.#ctx.store.commit(done.cascade, providerIds, update, heldThrough))) as CommitResult;
        if (result.ok) {
          this.#ctx.after(done, before);
          return done;
        }
        if (result.held.length === 0) break;
        // Receipts came for the provider id before its send returned: take them into this very change.
        inputs.length = 1;
        for (const held of result.held) {
          const taken = receiptInput(this.#ctx.channels, done.cascade, held.receipt, held.receivedAt, event.now, this.#ctx.instanceId);
          if (taken && 'input' in taken) inputs.push(taken.input);
          else if (taken) this.#ctx.reporter.warn({ cascadeId, ...taken.misrouted }, 'a held receipt names another provider than its channel declares: ignored');
        }
        heldThrough = result.held[result.held.length - 1]!.seq;
      }
    }
    throw new StoreConflictError(cascadeId, MAX_CONFLICT_RETRIES);
  }

  /** A store write, counted as in flight; when its answer is lost, remembered to be recognised later. */
  *#write<T>(cascadeId: string, done: Transition, write: () => T): Operation<Awaited<T>> {
    this.#writing.set(cascadeId, (this.#writing.get(cascadeId) ?? 0) + 1);
    try {
      return (yield write()) as Awaited<T>;
    } catch (error) {
      if (isUnavailable(error)) this.#remember(done);
      throw error;
    } finally {
      const left = this.#writing.get(cascadeId)! - 1;
      if (left === 0) this.#writing.delete(cascadeId);
      else this.#writing.set(cascadeId, left);
    }
  }

  #remember(done: Transition): void {
    const id = done.cascade.id;
    this.#lost.delete(id);
    this.#lost.set(id, done);
    if (this.#lost.size > MAX_LOST) this.#lost.delete(this.#lost.keys().next().value!);
    this.onLost?.();
  }

  /** The lost change `stored` shows, if it is this router's: forgotten once a version at or past it is seen. */
  #recognise(stored: Cascade): Transition | undefined {
    const lost = this.#lost.get(stored.id);
    if (lost === undefined || stored.version < lost.cascade.version) return undefined;
    this.#lost.delete(stored.id);
    return sameChange(stored, lost.cascade) ? lost : undefined;
  }

  /** Whether `done` claimed a step (to be sent by this router). */
  #claims(done: Transition): boolean {
    return done.effects.some((effect) => effect.type === 'send');
  }

  /** A transition that claims a step in this instance's name is stored only while its heartbeat is fresh. */
  #mustBeat(done: Transition): boolean {
    const liveness = this.#ctx.liveness;
    if (liveness === undefined) return false;
    for (const effect of done.effects) if (effect.type === 'send') return liveness.stale;
    return false;
  }
}

/** Whether `stored` is the change `written`: the same version, time and state of every attempt. */
export function sameChange(stored: Cascade, written: Cascade): boolean {
  if (
    stored.version !== written.version ||
    stored.updatedAt !== written.updatedAt ||
    stored.createdAt !== written.createdAt ||
    stored.status !== written.status ||
    stored.step !== written.step ||
    stored.timerAt !== written.timerAt ||
    stored.attempts.length !== written.attempts.length
  ) {
    return false;
  }
  return stored.attempts.every((a, i) => sameAttempt(a, written.attempts[i]!));
}

function sameAttempt(a: Attempt, b: Attempt): boolean {
  return (
    a.state === b.state &&
    a.owner === b.owner &&
    a.startedAt === b.startedAt &&
    a.providerMessageId === b.providerMessageId &&
    a.status === b.status &&
    a.outcome === b.outcome &&
    a.history.length === b.history.length
  );
}
