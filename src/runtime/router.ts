import { EventEmitter } from 'eventemitter3';
import { fastReceipt } from '../core/fast-parse.js';
import { Changes } from './changes.js';
import { resolveChannels, type ResolvedChannel } from '../core/channels.js';
import { SimulatedClock, systemClock, type Clock } from './clock.js';
import type { RouterContext } from './context.js';
import { Dispatcher } from './dispatch.js';
import { drive, type PendingWork } from './drive.js';
import { InvalidConfigError, InvalidReceiptError, OverloadedError, RouterClosedError } from '../core/errors.js';
import type { RouterEvents } from './events.js';
import { resolveHealth, type ProviderHealth } from '../core/health.js';
import { Inbox, type ReceiptResult } from './inbox.js';
import { Pacing } from './pacing.js';
import { Health } from './provider-health.js';
import { spendReport, type SpendReport } from '../core/ledger.js';
import { Liveness } from './liveness.js';
import { logObserver } from '../observe/log.js';
import type { Observer } from '../observe/observer.js';
import { telemetryObserver } from '../observe/telemetry.js';
import { Reporter } from './reporter.js';
import { Planning } from './planning.js';
import { parse, receiptSchema } from '../core/schema.js';
import { memoryStore } from '../store/memory.js';
import type { CascadeStore, HeldCounts } from '../store/types.js';
import { Timers } from './timers.js';
import { Starts } from './start.js';
import type { Transition } from '../core/transition.js';
import type { Cascade, Message, Plan, Receipt, Recipient } from '../core/types.js';
import { validateMessage, validateRecipient } from '../core/validate.js';

export type { ReceiptResult } from './inbox.js';
export type { Logger } from './reporter.js';
import { resolveRouterOptions, type CancelResult, type RouterListener, type RouterOptions, type SendOptions, type SendReceipt } from './options.js';
export type { CancelResult, RouterListener, RouterOptions, SendOptions, SendReceipt } from './options.js';

/**
 * The public API over the pure core. It wires the pieces from the options and owns none of their logic:
 * `Starts` (a send's start), `Planning` (plans, and what is learned), `Changes` (the write path), `Inbox`
 * (receipts), `Dispatcher` (sends), `Timers` (wake-ups, timers, take-overs), `Reporter` (events, errors,
 * logs). Every stored transition comes back through `#after`: reported, its timer armed, its effects carried out.
 */
export class Router {
  /** Its events: listened to through `on`, `once` and `off`; only the router emits them. */
  readonly #events = new EventEmitter<RouterEvents>();

  /** Calls `listener` for every `event` (see docs/api.md#events); `context` is its `this`. */
  on<E extends keyof RouterEvents>(event: E, listener: RouterListener<E>, context?: unknown): this {
    this.#events.on(event, listener, context);
    return this;
  }

  /** Calls `listener` for the next `event` only. */
  once<E extends keyof RouterEvents>(event: E, listener: RouterListener<E>, context?: unknown): this {
    this.#events.once(event, listener, context);
    return this;
  }

  /** Stops calling `listener` (added with that `context`, if one was given); without a listener, stops every listener of `event`. */
  off<E extends keyof RouterEvents>(event: E, listener?: RouterListener<E>, context?: unknown): this {
    this.#events.off(event, listener, context);
    return this;
  }

  /** This router's name among the instances sharing its store (`RouterOptions.instanceId`). */
  readonly instanceId: string;
  readonly #channels: ReadonlyMap<string, ResolvedChannel>;
  readonly #store: CascadeStore;
  readonly #ownsStore: boolean;
  readonly #clock: Clock;
  readonly #maxPending: number;
  /** Set when the store was passed in, so other instances may share it; a store the router made is its alone. */
  readonly #liveness: Liveness | undefined;
  readonly #detach: (() => void) | undefined;
  /** Stops the store's wake-ups (`CascadeStore.listen`), when it gives them. */
  readonly #unlisten: (() => void) | undefined;
  #busy = 0;
  readonly #pending: PendingWork = { enter: () => this.#busy++, leave: () => this.#busy-- };
  #closed = false;
  readonly #reporter: Reporter;
  readonly #changes: Changes;
  readonly #inbox: Inbox;
  readonly #dispatcher: Dispatcher;
  readonly #timers: Timers;
  readonly #health: Health;
  readonly #planning: Planning;
  readonly #starts: Starts;

  constructor(options: RouterOptions) {
    if (typeof options !== 'object' || options === null) {
      throw new InvalidConfigError(`Expected router options with \`channels\`, got ${options === null ? 'null' : typeof options}`);
    }
    this.#channels = resolveChannels(options.channels, { phoneNumbers: options.phoneNumbers });
    this.#store = options.store ?? memoryStore();
    this.#ownsStore = options.store === undefined;
    this.#clock = options.clock ?? systemClock;
    const { consentRequired, holdMs, learning, maxPending, instanceId, ttlMs } = resolveRouterOptions(options);
    this.#maxPending = maxPending;
    this.instanceId = instanceId;
    this.#liveness = this.#ownsStore ? undefined : new Liveness(instanceId, this.#store, this.#clock, ttlMs);
    const observers = [
      options.logger === undefined ? undefined : logObserver(options.logger),
      telemetryObserver(options.telemetry, this.#channels, () => this.#clock.now()),
    ].filter((observer): observer is Observer => observer !== undefined);
    this.#reporter = new Reporter(this.#events, options.logger, observers);
    const ctx: Omit<RouterContext, 'health' | 'pacing'> & { health?: Health; pacing?: Pacing } = {
      store: this.#store,
      clock: this.#clock,
      channels: this.#channels,
      instanceId,
      liveness: this.#liveness,
      pending: this.#pending,
      reporter: this.#reporter,
      closed: () => this.#closed,
      update: (before, after) => this.#planning.update(before, after),
      after: (done, before) => this.#after(done, before),
    };
    this.#health = ctx.health = new Health(ctx as RouterContext, options.health === false ? undefined : resolveHealth(options.health));
    const pacing = (ctx.pacing = new Pacing(this.#store, this.#clock, options.pacing, this.#channels, this.#reporter));
    const { valueOfTime } = options;
    this.#planning = new Planning({ channels: this.#channels, store: this.#store, clock: this.#clock, consentRequired, valueOfTime, learning, health: this.#health, pacing });
    this.#changes = new Changes(ctx as RouterContext);
    this.#starts = new Starts(ctx as RouterContext, this.#changes, this.#planning, options.createId ?? ((message) => message.key), options.frequencyCaps);
    this.#inbox = new Inbox(ctx as RouterContext, this.#changes, holdMs);
    this.#timers = new Timers(ctx as RouterContext, this.#changes, this.#inbox);
    this.#dispatcher = new Dispatcher(ctx as RouterContext, this.#changes, (at) => this.#timers.arm(at));
    this.#timers.dispatcher = this.#dispatcher;
    this.#detach = this.#clock instanceof SimulatedClock ? this.#clock.onSettle(() => this.settled()) : undefined;
    // Work another instance (or a committed transaction) made due: look now rather than at the next poll.
    this.#unlisten = this.#ownsStore ? undefined : this.#store.listen?.(() => this.#timers.arm(this.#clock.now()));
    // On start with a shared store: heartbeat, fire overdue timers, take over what dead instances left sending.
    if (this.#liveness) void this.#timers.wake('resume');
  }

  /** The plan for a message without sending anything: a dry run of what it would cost (with what has been learned). */
  plan(message: Message, recipient: Recipient): Promise<Plan> {
    try {
      return Promise.resolve(drive(this.#planning.plan(validateMessage(message, this.#channels), validateRecipient(recipient)), this.#pending));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Spend per channel, double spend (by receipt times, docs/cost-model.md) and the SMS-only counterfactual, as the store has them. */
  async report(): Promise<SpendReport> {
    return spendReport(await this.#store.ledger());
  }

  /** Each provider's breaker as this router sees it: closed, open (routed around) or half-open (probing). */
  health(): ProviderHealth[] {
    return this.#health.view();
  }

  /** How many receipts for unknown provider ids the store holds, and how many it let go unmatched. */
  async heldReceipts(): Promise<HeldCounts> {
    return this.#store.heldCounts();
  }

  /**
   * Validates, plans, persists and starts a cascade. The same `message.key` never starts a second one. With
   * `options.transaction`, it is written in your transaction and starts once that commits (`status: 'scheduled'`).
   */
  send(message: Message, recipient: Recipient, options?: SendOptions): Promise<SendReceipt> {
    try {
      this.#admit();
      const validMessage = validateMessage(message, this.#channels);
      const validRecipient = validateRecipient(recipient);
      if (options?.transaction !== undefined) return this.#starts.startIn(options.transaction, validMessage, validRecipient);
      // The caller's trace context, taken now: the cascade's span is its child.
      const context = this.#reporter.context();
      return Promise.resolve(drive(this.#starts.start(validMessage, validRecipient, context), this.#pending));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Applies a normalized delivery callback. Throws `InvalidReceiptError` for a malformed one (and changes nothing). */
  handleReceipt(input: Receipt): Promise<ReceiptResult> {
    try {
      this.#admit();
      return Promise.resolve(this.#inbox.handle(fastReceipt(input) ?? (parse(receiptSchema, input, 'receipt', InvalidReceiptError) as Receipt)));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Stops a cascade (the customer bought): nothing more is sent; an in-flight send is aborted. */
  async cancel(cascadeId: string): Promise<CancelResult> {
    this.#admit();
    const done = await this.#changes.applyNow(cascadeId, () => ({ type: 'cancel', now: this.#clock.now(), by: this.instanceId }));
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

  /**
   * Stops timers, aborts in-flight sends and waits for pending work. With a shared store it then leaves: the
   * steps it left `sending` are sent again by another router on the store (one running, or the next to start).
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#timers.stop();
    this.#dispatcher.abortAll(new RouterClosedError());
    await this.settled();
    this.#detach?.();
    this.#unlisten?.();
    this.#reporter.close();
    // If the store cannot be reached, the heartbeat lapses on its own within instanceTtl.
    if (this.#liveness) await Promise.resolve(this.#liveness.leave()).catch(() => {});
    if (this.#ownsStore) await this.#store.dispose();
  }

  #admit(): void {
    if (this.#closed) throw new RouterClosedError();
    if (this.#busy >= this.#maxPending) throw new OverloadedError(this.#busy);
  }

  /** Once a transition is persisted: report it, arm its timer, carry out its effects. */
  #after(done: Transition, before?: Cascade | 'new'): void {
    const { cascade } = done;
    this.#reporter.report(done, before);
    this.#health.after(done);
    if (cascade.timerAt !== undefined) this.#timers.arm(cascade.timerAt);
    for (const effect of done.effects) {
      if (effect.type === 'send') void this.#dispatcher.dispatch(cascade, effect.step);
      else if (effect.type === 'abort') this.#dispatcher.abort(cascade.id);
    }
  }
}

/** Creates a router over the given channels. */
export function createRouter(options: RouterOptions): Router {
  return new Router(options);
}
