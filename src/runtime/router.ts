import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'eventemitter3';
import { fastReceipt } from '../core/fast-parse.js';
import { Changes, type Created } from './changes.js';
import { resolveChannels, type ResolvedChannel } from '../core/channels.js';
import { SimulatedClock, systemClock, type Clock } from './clock.js';
import type { RouterContext } from './context.js';
import { Dispatcher } from './dispatch.js';
import { call, drive, type Operation, type PendingWork } from './drive.js';
import { toMs } from '../core/duration.js';
import { InvalidConfigError, InvalidReceiptError, OverloadedError, RouterClosedError } from '../core/errors.js';
import { eventBase, type RouterEvents } from './events.js';
import { resolveHealth, type ProviderHealth } from '../core/health.js';
import { Inbox, type ReceiptResult } from './inbox.js';
import { Pacing } from './pacing.js';
import { Health } from './provider-health.js';
import { resolveLearning, type ResolvedLearning } from '../core/learning.js';
import { spendReport, type SpendReport } from '../core/ledger.js';
import { Liveness } from './liveness.js';
import { toMicrosPerMs, type Amount, type Micros } from '../core/money.js';
import { buildPlan, DEFAULT_CONSENT_REQUIRED, type PlanContext } from '../core/planner.js';
import { logObserver } from '../observe/log.js';
import type { Observer } from '../observe/observer.js';
import { telemetryObserver } from '../observe/telemetry.js';
import { Reporter, type Logger } from './reporter.js';
import { estimatesFor, learnedKeys, smsOnlyCost, statKeysFor, statsUpdate } from './stats-update.js';
import { parse, receiptSchema } from '../core/schema.js';
import { memoryStore } from '../store/memory.js';
import type { CascadeStore, HeldCounts } from '../store/types.js';
import { Timers } from './timers.js';
import { startCascade, type Transition } from '../core/transition.js';
import type { Cascade, Message, Plan, Receipt, Recipient } from '../core/types.js';
import { validateMessage, validateRecipient } from '../core/validate.js';

export type { ReceiptResult } from './inbox.js';
export type { Logger } from './reporter.js';
import type { CancelResult, RouterListener, RouterOptions, SendOptions, SendReceipt } from './options.js';
export type { CancelResult, RouterListener, RouterOptions, SendOptions, SendReceipt } from './options.js';

const DEFAULT_MAX_PENDING = 10_000;

/**
 * The runtime around the pure core: persists each transition, then emits its events and carries out its
 * effects. Its pieces: `Changes` (the write path), `Inbox` (receipts), `Dispatcher` (sends), `Timers`
 * (wake-ups, timers and take-overs), `Reporter` (events, errors, logs). What is left here is the public
 * API, the wiring of those pieces from the options, and the start of a cascade (plan, create, report):
 * about 300 lines, over the ~250 the house aims at because a third of them are the public methods'
 * documentation, which belongs beside them.
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
  readonly #consentRequired: ReadonlySet<string>;
  readonly #createId: (message: Message) => string;
  readonly #learning: ResolvedLearning | undefined;
  readonly #valueOfTime: Amount | undefined;
  readonly #maxPending: number;
  /** Set when the store was passed in, so other instances may share it; a store the router made is its alone. */
  readonly #liveness: Liveness | undefined;
  readonly #detach: (() => void) | undefined;
  /** Stops the store's wake-ups (`CascadeStore.listen`), when it gives them. */
  readonly #unlisten: (() => void) | undefined;
  readonly #learnAs = (channel: string): string => this.#channels.get(channel)?.learnAs ?? channel;
  #busy = 0;
  readonly #pending: PendingWork = { enter: () => this.#busy++, leave: () => this.#busy-- };
  #closed = false;
  readonly #reporter: Reporter;
  readonly #changes: Changes;
  readonly #inbox: Inbox;
  readonly #dispatcher: Dispatcher;
  readonly #timers: Timers;
  readonly #health: Health;
  readonly #pacing: Pacing;
  readonly #caps: ReadonlyMap<string, { readonly max: number; readonly windowMs: number }>;

  constructor(options: RouterOptions) {
    if (typeof options !== 'object' || options === null) {
      throw new InvalidConfigError(`Expected router options with \`channels\`, got ${options === null ? 'null' : typeof options}`);
    }
    this.#channels = resolveChannels(options.channels, { phoneNumbers: options.phoneNumbers });
    this.#store = options.store ?? memoryStore();
    this.#ownsStore = options.store === undefined;
    this.#clock = options.clock ?? systemClock;
    this.#consentRequired = new Set(options.consentRequired ?? DEFAULT_CONSENT_REQUIRED);
    const holdMs = toMs(options.holdUnknownReceipts ?? '10m', 'holdUnknownReceipts', InvalidConfigError);
    this.#createId = options.createId ?? ((message) => message.key);
    this.#learning = resolveLearning(options.learning);
    if (options.valueOfTime !== undefined) toMicrosPerMs(options.valueOfTime, 'valueOfTime', InvalidConfigError);
    this.#valueOfTime = options.valueOfTime;
    this.#maxPending = options.maxPending ?? DEFAULT_MAX_PENDING;
    if (!(this.#maxPending >= 1)) throw new InvalidConfigError(`Expected \`maxPending\` to be a positive number, got ${String(options.maxPending)}`);
    // 72 random bits, short: every attempt carries its owner's id.
    const instanceId = options.instanceId ?? randomBytes(9).toString('base64url');
    if (typeof instanceId !== 'string' || instanceId === '') {
      throw new InvalidConfigError(`Expected \`instanceId\` to be a non-empty string, got ${JSON.stringify(instanceId)}`);
    }
    this.instanceId = instanceId;
    const ttlMs = toMs(options.instanceTtl ?? '30s', 'instanceTtl', InvalidConfigError);
    if (ttlMs === 0) throw new InvalidConfigError('Expected `instanceTtl` to be a positive duration, got 0');
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
      update: (before, after) => this.#update(before, after),
      after: (done, before) => this.#after(done, before),
    };
    this.#health = ctx.health = new Health(ctx as RouterContext, options.health === false ? undefined : resolveHealth(options.health));
    this.#pacing = ctx.pacing = new Pacing(this.#store, this.#clock, options.pacing, this.#channels, this.#reporter);
    this.#caps = resolveCaps(options.frequencyCaps);
    if (this.#caps.size > 0 && this.#store.admit === undefined) this.#reporter.warn({}, 'the store does not implement admit(): frequency caps are not enforced');
    this.#changes = new Changes(ctx as RouterContext);
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
      return Promise.resolve(drive(this.#plan(validateMessage(message, this.#channels), validateRecipient(recipient)), this.#pending));
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
      if (options?.transaction !== undefined) return this.#startIn(options.transaction, validMessage, validRecipient);
      // The caller's trace context, taken now: the cascade's span is its child.
      const context = this.#reporter.context();
      return Promise.resolve(drive(this.#start(validMessage, validRecipient, context), this.#pending));
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

  /** Plans with what the store has learned about the recipient (when learning). `capped`: the frequency cap it hit. */
  *#plan(message: Message, recipient: Recipient, capped?: string): Operation<Plan> {
    if (!this.#learning) return this.#planNow(message, recipient, capped);
    const context = this.#context(message, capped);
    const keys = statKeysFor(this.#channels, message);
    const learned = yield* call(this.#store.learned(recipient.id, learnedKeys(keys)));
    const now = this.#clock.now();
    const estimates = estimatesFor(keys, learned, this.#learning, now);
    return buildPlan({ ...context, now, estimates, minProbability: this.#learning.minProbability, learned: true }, message, recipient);
  }

  /** The plan when not learning: nothing to read first, so no generator. */
  #planNow(message: Message, recipient: Recipient, capped: string | undefined): Plan {
    return buildPlan(this.#context(message, capped), message, recipient);
  }

  #context(message: Message, capped: string | undefined): PlanContext {
    return {
      channels: this.#channels,
      consentRequired: this.#consentRequired,
      now: this.#clock.now(),
      valueOfTime: this.#valueOfTime,
      unhealthy: this.#health.unhealthy(),
      paceWaits: this.#pacing.isUrgent(message) ? undefined : this.#pacing.waits(),
      capped,
    };
  }

  /** The ledger delta and the outcomes a persisted change carries to the store (a new cascade: with its SMS-only counterfactual). */
  #update(before: Cascade | undefined, after: Cascade): ReturnType<typeof statsUpdate> {
    const smsOnly: Micros | undefined = before === undefined ? smsOnlyCost(this.#channels, after.plan, after.message, after.recipient) : undefined;
    return statsUpdate(before, after, this.#learning, this.#learnAs, smsOnly);
  }

  *#start(message: Message, recipient: Recipient, context: unknown): Operation<SendReceipt> {
    const cap = this.#caps.get(message.category);
    let capped: string | undefined;
    if (cap !== undefined && this.#store.admit !== undefined) {
      const request = { recipientId: recipient.id, category: message.category, key: message.key, max: cap.max, windowMs: cap.windowMs, now: this.#clock.now() };
      if (!(yield* call(this.#store.admit(request)))) capped = `at most ${cap.max} "${message.category}" messages in ${cap.windowMs} ms`;
    }
    const plan = this.#learning ? yield* this.#plan(message, recipient, capped) : this.#planNow(message, recipient, capped);
    const started = startCascade({ id: this.#createId(message), key: message.key, message, recipient, plan, now: plan.createdAt, by: this.instanceId });
    const answer = yield* this.#changes.create(started);
    return this.#started(started, answer, context);
  }

  /** A start stored (or found taken): its events and effects, and what `send()` answers. */
  #started(started: Transition, answer: Created, context: unknown): SendReceipt {
    const { created, cascade: stored, recovered, carried } = answer;
    if (!created) return { cascadeId: stored.id, plan: stored.plan, created: false, status: stored.status };
    const begun = recovered ?? started;
    const cascade = begun.cascade;
    this.#reporter.started(cascade, context);
    if (this.#events.listenerCount('planned') > 0) this.#reporter.emit('planned', { ...eventBase(cascade, cascade.createdAt), plan: cascade.plan });
    if (this.#events.listenerCount('skipped') > 0) {
      for (const skip of cascade.plan.skipped) this.#reporter.emit('skipped', { ...eventBase(cascade, cascade.createdAt), ...skip });
    }
    if (!carried) this.#after(begun, 'new');
    return { cascadeId: cascade.id, plan: cascade.plan, created: true, status: stored.status };
  }

  /**
   * A start inside the caller's transaction: the cascade is written there, scheduled due now and claimed by
   * nobody, so no router sees it before the commit; then the one that claims its timer begins the first step.
   * No events here: the transaction may still roll back.
   */
  async #startIn(transaction: unknown, message: Message, recipient: Recipient): Promise<SendReceipt> {
    const store = this.#store;
    if (store.createInTransaction === undefined) {
      throw new InvalidConfigError('`send()` with a `transaction` needs a store that can write in your transaction, such as postgresStore() from cascade-router/postgres');
    }
    this.#pending.enter();
    try {
      const plan = await drive(this.#plan(message, recipient), this.#pending);
      const { cascade } = startCascade({ id: this.#createId(message), key: message.key, message, recipient, plan, now: plan.createdAt, defer: true });
      const { created, cascade: stored } = await store.createInTransaction(transaction, cascade, this.#update(undefined, cascade));
      return { cascadeId: stored.id, plan: stored.plan, created, status: stored.status };
    } finally {
      this.#pending.leave();
    }
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

function resolveCaps(caps: RouterOptions['frequencyCaps']): Map<string, { max: number; windowMs: number }> {
  const resolved = new Map<string, { max: number; windowMs: number }>();
  for (const [category, cap] of Object.entries(caps ?? {})) {
    if (!Number.isInteger(cap?.max) || cap.max < 0) throw new InvalidConfigError(`Expected \`frequencyCaps.${category}.max\` to be a non-negative integer, got ${String(cap?.max)}`);
    const windowMs = toMs(cap.per, `frequencyCaps.${category}.per`, InvalidConfigError);
    if (windowMs <= 0) throw new InvalidConfigError(`Expected \`frequencyCaps.${category}.per\` to be a positive duration, got ${String(cap.per)}`);
    resolved.set(category, { max: cap.max, windowMs });
  }
  return resolved;
}

/** Creates a router over the given channels. */
export function createRouter(options: RouterOptions): Router {
  return new Router(options);
}
