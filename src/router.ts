import { EventEmitter } from 'eventemitter3';
import { LazyAbort } from './abort.js';
import { drive, type Operation, type PendingWork } from './drive.js';
import { resolveChannels, type ResolvedChannel } from './channels.js';
import { SimulatedClock, systemClock, type Clock, type TimerHandle } from './clock.js';
import { toMs, type Duration } from './duration.js';
import { InvalidReceiptError, RouterClosedError, StoreConflictError } from './errors.js';
import { eventBase, eventFor, type RouterEvents } from './events.js';
import { toMicros, type Micros } from './money.js';
import { buildPlan, DEFAULT_CONSENT_REQUIRED, type PlanContext } from './planner.js';
import { parse, receiptSchema } from './schema.js';
import { runSend } from './send.js';
import { memoryStore } from './store/memory.js';
import { isPromise, type CascadeStore } from './store/types.js';

/** What a store method answers, once resolved: what `yield` gives back inside an operation. */
type Answer<K extends 'create' | 'get' | 'commit' | 'route'> = Awaited<ReturnType<CascadeStore[K]>>;
import { startCascade, transition, type CascadeInput, type Transition } from './transition.js';
import type { Cascade, CascadeStatus, ChannelConfig, Message, Plan, Receipt, Recipient } from './types.js';
import { validateMessage, validateRecipient } from './validate.js';

export interface RouterOptions {
  readonly channels: Readonly<Record<string, ChannelConfig>>;
  /** Default: a new `memoryStore()`, disposed on `close()`. */
  readonly store?: CascadeStore | undefined;
  /** Default: the system clock. Pass a `SimulatedClock` to run in simulated time. */
  readonly clock?: Clock | undefined;
  /** Message categories that need the recipient's consent. Default `['marketing']`. */
  readonly consentRequired?: readonly string[] | undefined;
  /** How long a receipt for an unknown provider id is held, in case its send() has not returned yet. Default 10m. */
  readonly holdUnknownReceipts?: Duration | undefined;
  /**
   * Makes a cascade's id from its message. Default: the message's idempotency key, so the id you
   * already hold is the one to `get()` or `cancel()`, and the store needs no separate key index.
   */
  readonly createId?: ((message: Message) => string) | undefined;
}

/** What `send()` resolves with. */
export interface SendReceipt {
  readonly cascadeId: string;
  readonly plan: Plan;
  /** False when the idempotency key had already started a cascade: this is that cascade. */
  readonly created: boolean;
  readonly status: CascadeStatus;
}

/** What `handleReceipt()` did with a receipt. */
export type ReceiptResult =
  | {
      /** The receipt moved its attempt forward. `late` when its cascade had already moved on. */
      readonly outcome: 'applied';
      readonly cascadeId: string;
      readonly channel: string;
      readonly status: CascadeStatus;
      readonly late: boolean;
    }
  | {
      /** The same status again (`duplicate`) or one behind what the attempt reached (`stale`): nothing changed. */
      readonly outcome: 'duplicate' | 'stale';
      readonly cascadeId: string;
      readonly channel: string;
      readonly status: CascadeStatus;
    }
  | {
      /** No cascade sent this id (yet): it is held until `heldUntil` in case its send() has not returned. */
      readonly outcome: 'unknown';
      readonly providerMessageId: string;
      readonly heldUntil: number;
    };

export type CancelResult =
  | { readonly outcome: 'cancelled'; readonly cascadeId: string; readonly status: 'cancelled' }
  | { readonly outcome: 'already-ended'; readonly cascadeId: string; readonly status: CascadeStatus }
  | { readonly outcome: 'not-found'; readonly cascadeId: string };

const TIMER_BATCH = 512;
const TIMER_RETRY_MS = 1000;
const MAX_CONFLICT_RETRIES = 32;

/** The runtime around the pure core: persists each transition, then emits its events and carries out its effects. */
export class Router extends EventEmitter<RouterEvents> {
  readonly #channels: ReadonlyMap<string, ResolvedChannel>;
  readonly #store: CascadeStore;
  readonly #ownsStore: boolean;
  readonly #clock: Clock;
  readonly #consentRequired: ReadonlySet<string>;
  readonly #holdMs: number;
  readonly #createId: (message: Message) => string;
  readonly #startedAt: number;
  readonly #inflight = new Map<string, LazyAbort>();
  readonly #detach: (() => void) | undefined;
  #busy = 0;
  readonly #pending: PendingWork = { enter: () => this.#busy++, leave: () => this.#busy-- };
  #timer: TimerHandle | undefined;
  #closed = false;

  constructor(options: RouterOptions) {
    super();
    this.#channels = resolveChannels(options.channels);
    this.#store = options.store ?? memoryStore();
    this.#ownsStore = options.store === undefined;
    this.#clock = options.clock ?? systemClock;
    this.#consentRequired = new Set(options.consentRequired ?? DEFAULT_CONSENT_REQUIRED);
    this.#holdMs = toMs(options.holdUnknownReceipts ?? '10m', 'holdUnknownReceipts');
    this.#createId = options.createId ?? ((message) => message.key);
    this.#startedAt = this.#clock.now();
    this.#detach = this.#clock instanceof SimulatedClock ? this.#clock.onSettle(() => this.settled()) : undefined;
    if (!this.#ownsStore) void this.#resume();
  }

  /** The plan for a message without sending anything: a dry run of what it would cost. */
  plan(message: Message, recipient: Recipient): Plan {
    return buildPlan(this.#planContext(), validateMessage(message, this.#channels), validateRecipient(recipient));
  }

  /** Validates, plans, persists and starts a cascade. The same `message.key` never starts a second one. */
  send(message: Message, recipient: Recipient): Promise<SendReceipt> {
    try {
      if (this.#closed) throw new RouterClosedError();
      const validMessage = validateMessage(message, this.#channels);
      const validRecipient = validateRecipient(recipient);
      const plan = buildPlan(this.#planContext(), validMessage, validRecipient);
      return Promise.resolve(drive(this.#start(validMessage, validRecipient, plan), this.#pending));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Applies a normalized delivery callback. Throws `InvalidReceiptError` for a malformed one (and changes nothing). */
  handleReceipt(input: Receipt): Promise<ReceiptResult> {
    try {
      if (this.#closed) throw new RouterClosedError();
      const receipt = parse(receiptSchema, input, 'receipt', InvalidReceiptError) as Receipt;
      return Promise.resolve(drive(this.#route(receipt, receiptPrice(receipt)), this.#pending));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Stops a cascade (the customer bought): nothing more is sent; an in-flight send is aborted. */
  async cancel(cascadeId: string): Promise<CancelResult> {
    if (this.#closed) throw new RouterClosedError();
    const done = await drive(this.#apply(cascadeId, () => ({ type: 'cancel', now: this.#clock.now() })), this.#pending);
    if (!done) return { outcome: 'not-found', cascadeId };
    if (done.verdict === 'applied') return { outcome: 'cancelled', cascadeId, status: 'cancelled' };
    return { outcome: 'already-ended', cascadeId, status: done.cascade.status };
  }

  /** The cascade with its plan and full attempt history. */
  async get(cascadeId: string): Promise<Cascade | undefined> {
    return this.#store.get(cascadeId);
  }

  /** Resolves once the work already started (store writes, events, effects) has finished. Adapter calls are not waited for. */
  async settled(): Promise<void> {
    do await new Promise<void>((resolve) => setImmediate(resolve));
    while (this.#busy > 0);
  }

  /** Stops timers, aborts in-flight sends (their attempts resume on the next start) and waits for pending work. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer) this.#clock.clearTimer(this.#timer);
    this.#timer = undefined;
    for (const controller of this.#inflight.values()) controller.abort(new RouterClosedError());
    await this.settled();
    this.#detach?.();
    if (this.#ownsStore) await this.#store.dispose();
  }

  #planContext(): PlanContext {
    return { channels: this.#channels, consentRequired: this.#consentRequired, now: this.#clock.now() };
  }

  *#start(message: Message, recipient: Recipient, plan: Plan): Operation<SendReceipt> {
    const started = startCascade({ id: this.#createId(message), key: message.key, message, recipient, plan, now: plan.createdAt });
    const cascade = started.cascade;
    const { created, cascade: stored } = (yield this.#store.create(cascade)) as Answer<'create'>;
    if (!created) return { cascadeId: stored.id, plan: stored.plan, created: false, status: stored.status };
    if (this.listenerCount('planned') > 0) this.#emit('planned', { ...eventBase(cascade, plan.createdAt), plan });
    if (this.listenerCount('skipped') > 0) {
      for (const skip of plan.skipped) this.#emit('skipped', { ...eventBase(cascade, plan.createdAt), ...skip });
    }
    this.#after(started);
    return { cascadeId: cascade.id, plan, created: true, status: cascade.status };
  }

  /** Finds the cascade for a receipt and applies it; held receipts come back through here once their id is known. */
  *#route(receipt: Receipt, priceMicros: Micros | undefined): Operation<ReceiptResult> {
    const now = this.#clock.now();
    const cascadeId = (yield this.#store.route(receipt, now, now + this.#holdMs)) as Answer<'route'>;
    const unknown = { outcome: 'unknown', providerMessageId: receipt.providerMessageId, heldUntil: now + this.#holdMs } as const;
    if (cascadeId === undefined) return unknown;
    const id = receipt.providerMessageId;
    let step = -1;
    const done = yield* this.#apply(cascadeId, (cascade): CascadeInput | undefined => {
      step = cascade.attempts.findIndex((attempt) => attempt.providerMessageId === id);
      if (step === -1) return undefined;
      const error = receipt.error ? { message: receipt.error.message ?? 'failed', code: receipt.error.code } : undefined;
      return { type: 'receipt', now: this.#clock.now(), step, status: receipt.status, at: receipt.at, priceMicros, error };
    });
    if (!done) return unknown;
    const { cascade, verdict, notes } = done;
    const channel = cascade.attempts[step]?.channel ?? '';
    if (verdict === 'applied') {
      return { outcome: 'applied', cascadeId, channel, status: cascade.status, late: notes.some((n) => n.type === 'late-receipt') };
    }
    return { outcome: verdict === 'duplicate' ? 'duplicate' : 'stale', cascadeId, channel, status: cascade.status };
  }

  /**
   * Read, transition, compare-and-set; on a conflict, read again. Undefined when the cascade or input is gone.
   * `base` is a cascade this router itself committed: the first try starts from it instead of a read, and a
   * compare-and-set that fails (another instance changed it since) reads it as usual.
   */
  *#apply(cascadeId: string, input: (cascade: Cascade) => CascadeInput | undefined, base?: Cascade): Operation<Transition | undefined> {
    for (let tries = 0; tries < MAX_CONFLICT_RETRIES; tries++) {
      const before = base ?? ((yield this.#store.get(cascadeId)) as Answer<'get'>);
      const assumed = base !== undefined;
      base = undefined;
      if (!before) return undefined;
      const event = input(before);
      if (!event) return undefined;
      const done = transition(before, event);
      // Only a commit tells whether an assumed cascade is current: any other verdict is decided on a read.
      if (done.verdict !== 'applied') {
        if (assumed) continue;
        return done;
      }
      const providerIds: string[] = [];
      for (const effect of done.effects) if (effect.type === 'index') providerIds.push(effect.providerMessageId);
      const { ok, held } = (yield this.#store.commit(done.cascade, providerIds)) as Answer<'commit'>;
      if (!ok) continue;
      this.#after(done);
      for (const { receipt, receivedAt } of held) {
        yield* this.#route(receipt.at === undefined ? { ...receipt, at: receivedAt } : receipt, receiptPrice(receipt));
      }
      return done;
    }
    throw new StoreConflictError(cascadeId, MAX_CONFLICT_RETRIES);
  }

  /** Once a transition is persisted: report it, arm its timer, carry out its effects. */
  #after(done: Transition): void {
    const { cascade } = done;
    this.#report(done);
    if (cascade.timerAt !== undefined) this.#arm(cascade.timerAt);
    for (const effect of done.effects) {
      if (effect.type === 'send') void this.#dispatch(cascade, effect.step);
      else if (effect.type === 'abort') this.#inflight.get(cascade.id)?.abort();
    }
  }

  async #dispatch(cascade: Cascade, step: number): Promise<void> {
    const planned = cascade.plan.steps[step]!;
    const channel = this.#channels.get(planned.channel);
    if (!channel) {
      const error = { message: `channel "${planned.channel}" is no longer declared`, code: 'UNKNOWN_CHANNEL' };
      await drive(this.#apply(cascade.id, () => ({ type: 'send-failed', now: this.#clock.now(), step, error })), this.#pending);
      return;
    }
    // One in-flight send per cascade: a step starts only after the one before it has ended.
    const abort = new LazyAbort();
    this.#inflight.set(cascade.id, abort);
    const outcome = await runSend(channel, cascade, step, abort, this.#clock);
    if (this.#inflight.get(cascade.id) === abort) this.#inflight.delete(cascade.id);
    if (this.#closed && !outcome.ok) return;
    try {
      // Starts from the cascade that began this step: unless another instance changed it meanwhile, the
      // outcome is one compare-and-set, without a read first.
      const applying = drive(
        this.#apply(
          cascade.id,
          (): CascadeInput =>
            outcome.ok
              ? { type: 'sent', now: this.#clock.now(), step, providerMessageId: outcome.providerMessageId, priceMicros: outcome.priceMicros }
              : { type: 'send-failed', now: this.#clock.now(), step, error: outcome.error },
          cascade,
        ),
        this.#pending,
      );
      if (isPromise(applying)) await applying;
    } catch (error) {
      this.#fail(error, cascade.id, 'send');
    }
  }

  #arm(at: number): void {
    if (this.#closed || (this.#timer && this.#timer.at <= at)) return;
    if (this.#timer) this.#clock.clearTimer(this.#timer);
    this.#timer = this.#clock.setTimer(at, () => {
      this.#timer = undefined;
      void this.#fireDue();
    });
  }

  async #fireDue(): Promise<void> {
    this.#busy++;
    try {
      const now = this.#clock.now();
      for (let due = await this.#store.claimDue(now, TIMER_BATCH); due.length > 0; due = await this.#store.claimDue(now, TIMER_BATCH)) {
        await Promise.all(
          due.map(async (id) => {
            try {
              await drive(this.#apply(id, () => ({ type: 'tick', now: this.#clock.now() })), this.#pending);
            } catch (error) {
              this.#fail(error, id, 'timer');
            }
          }),
        );
      }
      const next = await this.#store.nextDueAt();
      if (next !== undefined) this.#arm(next);
    } catch (error) {
      this.#fail(error, undefined, 'timer');
      // The store failed (Redis down): look again shortly rather than never.
      this.#arm(this.#clock.now() + TIMER_RETRY_MS);
    } finally {
      this.#busy--;
    }
  }

  /** On start with a store that has open cascades: re-send claimed but unanswered steps, arm due timers. */
  async #resume(): Promise<void> {
    this.#busy++;
    try {
      for await (const cascade of this.#store.open()) {
        const attempt = cascade.status === 'active' ? cascade.attempts[cascade.step] : undefined;
        if (attempt?.state === 'sending' && attempt.startedAt < this.#startedAt && !this.#inflight.has(cascade.id)) {
          void this.#dispatch(cascade, cascade.step);
        }
      }
      const next = await this.#store.nextDueAt();
      if (next !== undefined) this.#arm(next);
    } catch (error) {
      this.#fail(error, undefined, 'resume');
    } finally {
      this.#busy--;
    }
  }

  #report(done: Transition): void {
    for (const note of done.notes) {
      if (this.listenerCount(note.type) > 0) this.#emit(note.type, eventFor(note, done.cascade) as never);
    }
  }

  #emit<K extends keyof RouterEvents>(name: K, event: Parameters<RouterEvents[K]>[0]): void {
    try {
      (this.emit as (name: K, event: unknown) => boolean)(name, event);
    } catch (error) {
      if (name !== 'error') this.#fail(error, 'cascadeId' in event ? (event.cascadeId as string) : undefined, 'listener');
    }
  }

  #fail(error: unknown, cascadeId: string | undefined, during: 'send' | 'timer' | 'receipt' | 'listener' | 'resume'): void {
    const err = error instanceof Error ? error : new Error(String(error));
    this.#emit('error', { error: err, cascadeId, during });
  }

}

function receiptPrice(receipt: Receipt): Micros | undefined {
  if (receipt.price === undefined) return undefined;
  try {
    return toMicros(receipt.price, 'price');
  } catch (cause) {
    throw new InvalidReceiptError(`Invalid receipt: ${(cause as Error).message}`, { cause });
  }
}

/** Creates a router over the given channels. */
export function createRouter(options: RouterOptions): Router {
  return new Router(options);
}
