/**
 * The router's one write path. Over the ~250 lines the house aims at because it is one piece read side by
 * side: `apply`, the generator that is the reference, and `applyNow`, the plain-function path the common
 * change takes, apply the same rules (held receipts taken in, lost writes recognised, heartbeat renewed) and
 * must be changed together. What a lost write is and how it is recognised is lost-writes.ts.
 */
import type { RouterContext } from './context.js';
import { isCascadeRouterError, StoreConflictError } from '../core/errors.js';
import { call, drive, type Operation } from './drive.js';
import { receiptInput } from '../core/receipt-input.js';
import { isPromise, type CascadeStore, type CommitResult, type HeldReceipt, type MaybePromise } from '../store/types.js';
import { transition, transitionAll, type CascadeInput, type Transition } from '../core/transition.js';
import type { Cascade } from '../core/types.js';
import { LostWrites } from './lost-writes.js';

const MAX_CONFLICT_RETRIES = 32;

export interface ApplyOptions {
  /**
   * A cascade to start from instead of a read. Unless `fresh` (just read), it is one this router committed:
   * only a commit then tells whether it is current, so any verdict but `applied` reads again.
   */
  readonly base?: Cascade | undefined;
  readonly fresh?: boolean | undefined;
  /** A read of the cascade already on its way (`applyNow`), used instead of reading. */
  readonly reading?: Promise<Cascade | undefined> | undefined;
  /** Receipts held for the change's provider id that refused its commit on `base` (`applyNow`): taken in at once. */
  readonly held?: readonly HeldReceipt[] | undefined;
}

/** What `Changes.create` answers: `created` also when the stored cascade is this router's own lost create (`recovered`). */
export interface Created {
  readonly created: boolean;
  readonly cascade: Cascade;
  readonly recovered?: Transition;
  readonly carried?: boolean;
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
  readonly #lost = new LostWrites();

  /** Called when a write's answer is lost, so the router reads that cascade again soon. */
  set onLost(onLost: (() => void) | undefined) {
    this.#lost.onLost = onLost;
  }

  constructor(ctx: RouterContext) {
    this.#ctx = ctx;
  }

  /** Cascades with a write of this router whose answer was lost, not yet seen again. */
  lost(): string[] {
    return this.#lost.ids();
  }

  /** Whether this router has a create or commit of this cascade in flight. */
  writing(cascadeId: string): boolean {
    return this.#writing.has(cascadeId);
  }

  /** Stores a new cascade unless its key is taken; `created` also when the stored one is this router's own lost create. */
  *create(started: Transition): Operation<Created> {
    const cascade = started.cascade;
    if (this.#mustBeat(started)) yield this.#ctx.liveness!.beat();
    const update = this.#ctx.update(undefined, cascade);
    let creating: ReturnType<CascadeStore['create']>;
    try {
      creating = this.#ctx.store.create(cascade, update);
    } catch (error) {
      throw this.#unanswered(error, started);
    }
    const answer = isPromise(creating) ? yield* this.#awaitWrite(cascade.id, started, creating) : creating;
    if (answer.created) return answer;
    const recovered = this.#lost.recognise(answer.cascade);
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
   * `drive(apply(...))`, with the common case taken without a generator: a store that answers at once, no lost
   * write to recognise, no heartbeat to renew, and a commit that lands. Anything else is handed to `apply`,
   * from the cascade read here (or, on a refused commit, from a fresh read: `input` is asked again).
   */
  applyNow(cascadeId: string, input: (cascade: Cascade) => CascadeInput | undefined, options?: ApplyOptions): MaybePromise<Transition | undefined> {
    const ctx = this.#ctx;
    let before = options?.base;
    const assumed = before !== undefined && options?.fresh !== true;
    if (before === undefined) {
      const reading = ctx.store.get(cascadeId);
      if (isPromise(reading)) return drive(this.apply(cascadeId, input, { reading }), ctx.pending);
      before = reading;
    }
    if (!before) return undefined;
    if (!assumed && this.#lost.size > 0) return drive(this.apply(cascadeId, input, { base: before, fresh: true }), ctx.pending);
    const event = input(before);
    // Nothing to apply to an assumed copy may be something to apply to the current one: read it.
    if (!event) return assumed ? drive(this.apply(cascadeId, input), ctx.pending) : undefined;
    const done = transition(before, event);
    if (done.verdict !== 'applied') return assumed ? drive(this.apply(cascadeId, input), ctx.pending) : done;
    if (this.#mustBeat(done)) return drive(this.apply(cascadeId, input, { base: before, fresh: !assumed }), ctx.pending);
    const update = ctx.update(before, done.cascade);
    let committing: ReturnType<CascadeStore['commit']>;
    try {
      committing = ctx.store.commit(done.cascade, indexed(done), update, undefined);
    } catch (error) {
      throw this.#unanswered(error, done);
    }
    if (isPromise(committing)) return drive(this.#committing(cascadeId, input, before, assumed, done, committing), ctx.pending);
    return this.#committed(cascadeId, input, before, assumed, done, committing);
  }

  /** `applyNow` waiting for its commit's answer (driven, so counted as the router's pending work). */
  *#committing(cascadeId: string, input: (cascade: Cascade) => CascadeInput | undefined, before: Cascade, assumed: boolean, done: Transition, committing: Promise<CommitResult>): Operation<Transition | undefined> {
    const result = yield* this.#awaitWrite(cascadeId, done, committing);
    const carried = this.#committed(cascadeId, input, before, assumed, done, result);
    return isPromise(carried) ? yield* call(carried) : carried;
  }

  /** After `applyNow`'s commit: carried out, or (refused) handed to `apply`, which takes held receipts in or reads again. */
  #committed(cascadeId: string, input: (cascade: Cascade) => CascadeInput | undefined, before: Cascade, assumed: boolean, done: Transition, result: CommitResult): MaybePromise<Transition | undefined> {
    if (result.ok) {
      this.#ctx.after(done, before);
      return done;
    }
    // Refused for receipts held for the provider id it indexes: the same change again, with them in it.
    const options = result.held.length > 0 ? { base: before, fresh: !assumed, held: result.held } : undefined;
    return drive(this.apply(cascadeId, input, options), this.#ctx.pending);
  }

  /**
   * Applies `input` (built from the current cascade) by compare-and-set, reading again on a conflict.
   * Undefined when the cascade is gone or `input` gives nothing for it.
   */
  *apply(cascadeId: string, input: (cascade: Cascade) => CascadeInput | undefined, options?: ApplyOptions): Operation<Transition | undefined> {
    let base = options?.base;
    let fresh = options?.fresh === true;
    const store = this.#ctx.store;
    for (let tries = 0; tries < MAX_CONFLICT_RETRIES; tries++) {
      let before = base;
      if (before === undefined) {
        // A read `applyNow` began is awaited here, once.
        const reading = tries === 0 && options?.reading !== undefined ? options.reading : store.get(cascadeId);
        before = isPromise(reading) ? yield* call(reading) : reading;
      }
      const assumed = base !== undefined && !fresh;
      base = undefined;
      fresh = false;
      if (!before) return undefined;
      if (!assumed && this.#lost.size > 0) {
        const recovered = this.#lost.recognise(before);
        if (recovered && this.#claims(recovered)) {
          // It claimed a step that was never sent. Claimed again by compare-and-set, so a change that came
          // since this read (a receipt ending the cascade) wins, and sent with a fresh wait: its timer may
          // have passed while the write was lost, and nobody received it.
          this.#ctx.reporter.report(recovered);
          yield* this.#sendUnsent(cascadeId, before);
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
      // Only allocated when receipts held for the change's provider id are taken into it.
      let inputs: CascadeInput[] | undefined;
      let heldThrough: number | undefined;
      const held = tries === 0 ? options?.held : undefined;
      if (held !== undefined && held.length > 0) {
        inputs = this.#withHeld(cascadeId, event, transition(before, event).cascade, held);
        heldThrough = held[held.length - 1]!.seq;
      }
      for (;;) {
        const done = inputs === undefined ? transition(before, event) : transitionAll(before, inputs);
        // Only a commit tells whether an assumed cascade is current: any other verdict is decided on a read.
        if (done.verdict !== 'applied') {
          if (assumed) break;
          return done;
        }
        const providerIds = indexed(done);
        if (this.#mustBeat(done)) yield this.#ctx.liveness!.beat();
        const update = this.#ctx.update(before, done.cascade);
        let committing: ReturnType<CascadeStore['commit']>;
        try {
          committing = store.commit(done.cascade, providerIds, update, heldThrough);
        } catch (error) {
          throw this.#unanswered(error, done);
        }
        const result = isPromise(committing) ? yield* this.#awaitWrite(cascadeId, done, committing) : committing;
        if (result.ok) {
          this.#ctx.after(done, before);
          return done;
        }
        if (result.held.length === 0) break;
        // Receipts came for the provider id before its send returned: take them into this very change.
        inputs = this.#withHeld(cascadeId, event, done.cascade, result.held);
        heldThrough = result.held[result.held.length - 1]!.seq;
      }
    }
    throw new StoreConflictError(cascadeId, MAX_CONFLICT_RETRIES);
  }

  /** `event` and the receipts held for the provider id it indexes in `indexed` (a misrouted one is ignored, with a warning). */
  #withHeld(cascadeId: string, event: CascadeInput, indexed: Cascade, held: readonly HeldReceipt[]): CascadeInput[] {
    const inputs = [event];
    for (const { receipt, receivedAt } of held) {
      const taken = receiptInput(this.#ctx.channels, indexed, receipt, receivedAt, event.now, this.#ctx.instanceId);
      if (taken && 'input' in taken) inputs.push(taken.input);
      else if (taken) this.#ctx.reporter.warn({ cascadeId, ...taken.misrouted }, 'a held receipt names another provider than its channel declares: ignored');
    }
    return inputs;
  }

  /**
   * A write's answer awaited: counted in flight (`writing()`) meanwhile, and `done` remembered when the answer
   * is lost. Only for an answer that is a promise: one given at once leaves no time for anyone to ask. The
   * count ends in the same synchronous step that carries the answer on (`after`), so other work never finds
   * the write out of flight yet not carried out (a claimed step neither being written nor being sent).
   */
  *#awaitWrite<T>(cascadeId: string, done: Transition, writing: Promise<T>): Operation<T> {
    this.#enter(cascadeId);
    try {
      return yield* call(writing);
    } catch (error) {
      throw this.#unanswered(error, done);
    } finally {
      this.#leave(cascadeId);
    }
  }

  /** A write failed with `error`: when the store did not answer (it may have applied it), `done` is remembered. */
  #unanswered(error: unknown, done: Transition): unknown {
    if (isUnavailable(error)) this.#lost.remember(done);
    return error;
  }

  /** A write of this cascade starts (`writing()` is true until it ends). */
  #enter(cascadeId: string): void {
    this.#writing.set(cascadeId, (this.#writing.get(cascadeId) ?? 0) + 1);
  }

  #leave(cascadeId: string): void {
    const left = this.#writing.get(cascadeId)! - 1;
    if (left === 0) this.#writing.delete(cascadeId);
    else this.#writing.set(cascadeId, left);
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

const NO_IDS: readonly string[] = Object.freeze([]);

/** The provider ids a change indexes: usually none or one, so no growing array. */
function indexed(done: Transition): readonly string[] {
  let ids: readonly string[] = NO_IDS;
  for (const effect of done.effects) {
    if (effect.type !== 'index') continue;
    ids = ids.length === 0 ? [effect.providerMessageId] : [...ids, effect.providerMessageId];
  }
  return ids;
}
