import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'eventemitter3';
import { LazyAbort } from './abort.js';
import { drive, type Operation, type PendingWork } from './drive.js';
import { resolveChannels, type ResolvedChannel } from './channels.js';
import { SimulatedClock, systemClock, type Clock, type TimerHandle } from './clock.js';
import { toMs, type Duration } from './duration.js';
import { InvalidConfigError, InvalidReceiptError, RouterClosedError, StoreConflictError } from './errors.js';
import { eventBase, eventFor, type RouterEvents } from './events.js';
import { Liveness } from './liveness.js';
import { toMicros, toMicrosPerMs, type Amount, type Micros } from './money.js';
import { resolveLearning, type LearningOptions, type ResolvedLearning } from './learning.js';
import { spendReport, type SpendReport } from './ledger.js';
import { estimatesFor, smsOnlyCost, statKeysFor, statsUpdate } from './router-stats.js';
import { buildPlan, DEFAULT_CONSENT_REQUIRED, type PlanContext } from './planner.js';
import { parse, receiptSchema } from './schema.js';
import { runSend } from './send.js';
import { memoryStore } from './store/memory.js';
import { isPromise, type CascadeStore, type StatsUpdate } from './store/types.js';

/** What a store method answers, once resolved: what `yield` gives back inside an operation. */
type Answer<K extends 'create' | 'get' | 'commit' | 'route' | 'learned'> = Awaited<ReturnType<CascadeStore[K]>>;
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
  /**
   * Learn each channel's reachability per recipient and its receipt latency from outcomes, and plan with
   * them: order by expected cost, skip channels that keep failing, adapt waits. Off by default. See docs/cost-model.md.
   */
  readonly learning?: boolean | LearningOptions | undefined;
  /**
   * What a second of a customer's waiting is worth, for messages whose `policy.valueOfTime` does not say:
   * with learning, it weighs time against money in the order and the waits. Default 0.
   */
  readonly valueOfTime?: Amount | undefined;
  /**
   * Names this router among the instances sharing its store: the steps it claims are `sending` in this name
   * until their send is recorded. Unique among live routers and not reused by a later process. Default: 12 random characters.
   */
  readonly instanceId?: string | undefined;
  /**
   * How long this router counts as alive after its last heartbeat, with a store it shares (one passed as
   * `store`). A step left `sending` by a router dead this long is sent again by another (same idempotency
   * key). It heartbeats every third of this while it has sends in flight. Default 30s.
   */
  readonly instanceTtl?: Duration | undefined;
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
  /** This router's name among the instances sharing its store (`RouterOptions.instanceId`). */
  readonly instanceId: string;
  readonly #channels: ReadonlyMap<string, ResolvedChannel>;
  readonly #store: CascadeStore;
  readonly #ownsStore: boolean;
  readonly #clock: Clock;
  readonly #consentRequired: ReadonlySet<string>;
  readonly #holdMs: number;
  readonly #createId: (message: Message) => string;
  readonly #learning: ResolvedLearning | undefined;
  readonly #valueOfTime: Amount | undefined;
  /** Set when the store was passed in, so other instances may share it; a store the router made is its alone. */
  readonly #liveness: Liveness | undefined;
  readonly #inflight = new Map<string, LazyAbort>();
  readonly #detach: (() => void) | undefined;
  readonly #learnAs = (channel: string): string => this.#channels.get(channel)?.learnAs ?? channel;
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
    this.#learning = resolveLearning(options.learning);
    if (options.valueOfTime !== undefined) toMicrosPerMs(options.valueOfTime, 'valueOfTime', InvalidConfigError);
    this.#valueOfTime = options.valueOfTime;
    // 72 random bits, short: every attempt carries its owner's id.
    const instanceId = options.instanceId ?? randomBytes(9).toString('base64url');
    if (typeof instanceId !== 'string' || instanceId === '') {
      throw new InvalidConfigError(`Expected \`instanceId\` to be a non-empty string, got ${JSON.stringify(instanceId)}`);
    }
    this.instanceId = instanceId;
    const ttlMs = toMs(options.instanceTtl ?? '30s', 'instanceTtl');
    if (ttlMs === 0) throw new InvalidConfigError('Expected `instanceTtl` to be a positive duration, got 0');
    this.#liveness = this.#ownsStore ? undefined : new Liveness(instanceId, this.#store, this.#clock, ttlMs);
    this.#detach = this.#clock instanceof SimulatedClock ? this.#clock.onSettle(() => this.settled()) : undefined;
    // On start with a shared store: heartbeat, fire overdue timers, take over what dead instances left sending.
    if (this.#liveness) void this.#fireDue('resume');
  }

  /** The plan for a message without sending anything: a dry run of what it would cost (with what has been learned). */
  plan(message: Message, recipient: Recipient): Promise<Plan> {
    try {
      return Promise.resolve(drive(this.#plan(validateMessage(message, this.#channels), validateRecipient(recipient)), this.#pending));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Spend per channel, double spend from late receipts and the SMS-only counterfactual, as the store has them. */
  async report(): Promise<SpendReport> {
    return spendReport(await this.#store.ledger());
  }

  /** Validates, plans, persists and starts a cascade. The same `message.key` never starts a second one. */
  send(message: Message, recipient: Recipient): Promise<SendReceipt> {
    try {
      if (this.#closed) throw new RouterClosedError();
      const validMessage = validateMessage(message, this.#channels);
      const validRecipient = validateRecipient(recipient);
      return Promise.resolve(drive(this.#start(validMessage, validRecipient), this.#pending));
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
    const done = await drive(this.#apply(cascadeId, () => ({ type: 'cancel', now: this.#clock.now(), by: this.instanceId })), this.#pending);
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
    if (this.#timer) this.#clock.clearTimer(this.#timer);
    this.#timer = undefined;
    for (const controller of this.#inflight.values()) controller.abort(new RouterClosedError());
    await this.settled();
    this.#detach?.();
    // If the store cannot be reached, the heartbeat lapses on its own within instanceTtl.
    if (this.#liveness) await Promise.resolve(this.#liveness.leave()).catch(() => {});
    if (this.#ownsStore) await this.#store.dispose();
  }

  /** Plans with what the store has learned about the recipient (when learning). */
  *#plan(message: Message, recipient: Recipient): Operation<Plan> {
    const context: PlanContext = { channels: this.#channels, consentRequired: this.#consentRequired, now: this.#clock.now(), valueOfTime: this.#valueOfTime };
    if (!this.#learning) return buildPlan(context, message, recipient);
    const keys = statKeysFor(this.#channels, message);
    const learned = (yield this.#store.learned(recipient.id, [...new Set(keys.values())])) as Answer<'learned'>;
    const now = this.#clock.now();
    const estimates = estimatesFor(keys, learned, this.#learning, now);
    return buildPlan({ ...context, now, estimates, minProbability: this.#learning.minProbability }, message, recipient);
  }

  /** The ledger delta and the outcomes a persisted change carries to the store. */
  #update(before: Cascade | undefined, after: Cascade, smsOnlyMicros?: Micros | undefined): StatsUpdate | undefined {
    return statsUpdate(before, after, this.#learning, this.#learnAs, smsOnlyMicros);
  }

  *#start(message: Message, recipient: Recipient): Operation<SendReceipt> {
    const plan = yield* this.#plan(message, recipient);
    const started = startCascade({ id: this.#createId(message), key: message.key, message, recipient, plan, now: plan.createdAt, by: this.instanceId });
    const cascade = started.cascade;
    const update = this.#update(undefined, cascade, smsOnlyCost(this.#channels, plan, message, recipient));
    if (this.#mustBeat(started)) yield this.#liveness!.beat();
    const { created, cascade: stored } = (yield this.#store.create(cascade, update)) as Answer<'create'>;
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
      return { type: 'receipt', now: this.#clock.now(), by: this.instanceId, step, status: receipt.status, at: receipt.at, priceMicros, error };
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
      if (this.#mustBeat(done)) yield this.#liveness!.beat();
      const { ok, held } = (yield this.#store.commit(done.cascade, providerIds, this.#update(before, done.cascade))) as Answer<'commit'>;
      if (!ok) continue;
      this.#after(done);
      for (const { receipt, receivedAt } of held) {
        yield* this.#route(receipt.at === undefined ? { ...receipt, at: receivedAt } : receipt, receiptPrice(receipt));
      }
      return done;
    }
    throw new StoreConflictError(cascadeId, MAX_CONFLICT_RETRIES);
  }

  /** A transition that claims a step in this instance's name is stored only while its heartbeat is fresh. */
  #mustBeat(done: Transition): boolean {
    if (this.#liveness === undefined) return false;
    for (const effect of done.effects) if (effect.type === 'send') return this.#liveness.stale;
    return false;
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
      await drive(this.#apply(cascade.id, () => ({ type: 'send-failed', now: this.#clock.now(), by: this.instanceId, step, error })), this.#pending);
      return;
    }
    // One in-flight send per cascade: a step starts only after the one before it has ended.
    const abort = new LazyAbort();
    this.#inflight.set(cascade.id, abort);
    // Wake to renew the heartbeat while the send is in flight (#fireDue does it).
    if (this.#liveness && !(this.#timer && this.#timer.at <= this.#liveness.freshUntil)) this.#arm(this.#liveness.renewAt);
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
              ? { type: 'sent', now: this.#clock.now(), by: this.instanceId, step, providerMessageId: outcome.providerMessageId, priceMicros: outcome.priceMicros }
              : { type: 'send-failed', now: this.#clock.now(), by: this.instanceId, step, error: outcome.error },
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

  /** Heartbeats if due, fires due timers, looks for orphaned sends, and arms the next wake-up. */
  async #fireDue(during: 'timer' | 'resume' = 'timer'): Promise<void> {
    this.#busy++;
    try {
      const liveness = this.#liveness;
      if (liveness?.stale) await liveness.beat();
      const now = this.#clock.now();
      for (let due = await this.#store.claimDue(now, TIMER_BATCH); due.length > 0; due = await this.#store.claimDue(now, TIMER_BATCH)) {
        await Promise.all(
          due.map(async (id) => {
            try {
              await drive(this.#apply(id, () => ({ type: 'tick', now: this.#clock.now(), by: this.instanceId })), this.#pending);
            } catch (error) {
              this.#fail(error, id, 'timer');
            }
          }),
        );
      }
      // After the due timers: a step whose timeout is due now falls back rather than being sent again.
      if (liveness?.scanDue()) await this.#takeOverOrphans();
      const next = await this.#store.nextDueAt();
      if (next !== undefined) this.#arm(next);
      if (liveness && this.#sending()) this.#arm(liveness.renewAt);
    } catch (error) {
      this.#fail(error, undefined, during);
      // The store failed (Redis down): look again shortly rather than never.
      this.#arm(this.#clock.now() + TIMER_RETRY_MS);
    } finally {
      this.#busy--;
    }
  }

  /**
   * Sends again, in this instance's name, each step still `sending` for an instance that is not alive. The
   * take-over is a compare-and-set naming the dead owner, so of several instances that find it, one sends.
   */
  async #takeOverOrphans(): Promise<void> {
    const orphans: { cascadeId: string; owner: string | undefined }[] = [];
    for await (const orphan of this.#store.orphans(this.#clock.now())) {
      // Not this instance's own: it is alive, whatever its heartbeat says (a lapse it will renew).
      if (orphan.owner !== this.instanceId) orphans.push(orphan);
    }
    await Promise.all(
      orphans.map(async ({ cascadeId, owner }) => {
        if (this.#closed) return;
        try {
          await drive(
            this.#apply(cascadeId, (cascade): CascadeInput => ({ type: 'resume', now: this.#clock.now(), by: this.instanceId, step: cascade.step, previousOwner: owner })),
            this.#pending,
          );
        } catch (error) {
          this.#fail(error, cascadeId, 'resume');
        }
      }),
    );
  }

  /** Whether a send of this instance is in flight and its step not ended (an aborted one no longer counts). */
  #sending(): boolean {
    for (const abort of this.#inflight.values()) if (!abort.aborted) return true;
    return false;
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
