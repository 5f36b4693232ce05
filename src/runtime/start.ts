import type { Changes, Created } from './changes.js';
import type { RouterContext } from './context.js';
import { call, drive, type Operation } from './drive.js';
import { toMs } from '../core/duration.js';
import { InvalidConfigError } from '../core/errors.js';
import { eventBase } from './events.js';
import type { Planning } from './planning.js';
import { startCascade, type Transition } from '../core/transition.js';
import type { Message, Recipient } from '../core/types.js';
import type { RouterOptions, SendReceipt } from './options.js';

/** A frequency cap of a category, resolved: at most `max` messages per `windowMs`. */
interface Cap {
  readonly max: number;
  readonly windowMs: number;
}

/**
 * The start of a cascade: the recipient's frequency cap (`store.admit`), the plan, the cascade at version 1
 * (`startCascade`) created through `Changes`, and once it is stored, its first events and effects. Or, in
 * the caller's transaction, the cascade written there for whichever router claims it after the commit.
 */
export class Starts {
  readonly #ctx: RouterContext;
  readonly #changes: Changes;
  readonly #planning: Planning;
  readonly #createId: (message: Message) => string;
  readonly #caps: ReadonlyMap<string, Cap>;

  constructor(ctx: RouterContext, changes: Changes, planning: Planning, createId: (message: Message) => string, caps: RouterOptions['frequencyCaps']) {
    this.#ctx = ctx;
    this.#changes = changes;
    this.#planning = planning;
    this.#createId = createId;
    this.#caps = resolveCaps(caps);
    if (this.#caps.size > 0 && ctx.store.admit === undefined) ctx.reporter.warn({}, 'the store does not implement admit(): frequency caps are not enforced');
  }

  /** Plans, stores and starts a cascade; `context`: the caller's trace context, taken at `send()`. */
  *start(message: Message, recipient: Recipient, context: unknown): Operation<SendReceipt> {
    const { store, clock, instanceId } = this.#ctx;
    const cap = this.#caps.get(message.category);
    let capped: string | undefined;
    if (cap !== undefined && store.admit !== undefined) {
      const request = { recipientId: recipient.id, category: message.category, key: message.key, max: cap.max, windowMs: cap.windowMs, now: clock.now() };
      if (!(yield* call(store.admit(request)))) capped = `at most ${cap.max} "${message.category}" messages in ${cap.windowMs} ms`;
    }
    const planning = this.#planning;
    const plan = planning.learns ? yield* planning.plan(message, recipient, capped) : planning.planNow(message, recipient, capped);
    const started = startCascade({ id: this.#createId(message), key: message.key, message, recipient, plan, now: plan.createdAt, by: instanceId });
    const answer = yield* this.#changes.create(started);
    return this.#started(started, answer, context);
  }

  /** A start stored (or found taken): its events and effects, and what `send()` answers. */
  #started(started: Transition, answer: Created, context: unknown): SendReceipt {
    const { created, cascade: stored, recovered, carried } = answer;
    if (!created) return { cascadeId: stored.id, plan: stored.plan, created: false, status: stored.status };
    const begun = recovered ?? started;
    const cascade = begun.cascade;
    const reporter = this.#ctx.reporter;
    reporter.started(cascade, context);
    if (reporter.listening('planned')) reporter.emit('planned', { ...eventBase(cascade, cascade.createdAt), plan: cascade.plan });
    if (reporter.listening('skipped')) {
      for (const skip of cascade.plan.skipped) reporter.emit('skipped', { ...eventBase(cascade, cascade.createdAt), ...skip });
    }
    if (!carried) this.#ctx.after(begun, 'new');
    return { cascadeId: cascade.id, plan: cascade.plan, created: true, status: stored.status };
  }

  /**
   * A start inside the caller's transaction: the cascade is written there, scheduled due now and claimed by
   * nobody, so no router sees it before the commit; then the one that claims its timer begins the first step.
   * No events here: the transaction may still roll back.
   */
  async startIn(transaction: unknown, message: Message, recipient: Recipient): Promise<SendReceipt> {
    const { store, pending } = this.#ctx;
    if (store.createInTransaction === undefined) {
      throw new InvalidConfigError('`send()` with a `transaction` needs a store that can write in your transaction, such as postgresStore() from cascade-router/postgres');
    }
    pending.enter();
    try {
      const plan = await drive(this.#planning.plan(message, recipient), pending);
      const { cascade } = startCascade({ id: this.#createId(message), key: message.key, message, recipient, plan, now: plan.createdAt, defer: true });
      const { created, cascade: stored } = await store.createInTransaction(transaction, cascade, this.#ctx.update(undefined, cascade));
      return { cascadeId: stored.id, plan: stored.plan, created, status: stored.status };
    } finally {
      pending.leave();
    }
  }
}

function resolveCaps(caps: RouterOptions['frequencyCaps']): Map<string, Cap> {
  const resolved = new Map<string, Cap>();
  for (const [category, cap] of Object.entries(caps ?? {})) {
    if (!Number.isInteger(cap?.max) || cap.max < 0) throw new InvalidConfigError(`Expected \`frequencyCaps.${category}.max\` to be a non-negative integer, got ${String(cap?.max)}`);
    const windowMs = toMs(cap.per, `frequencyCaps.${category}.per`, InvalidConfigError);
    if (windowMs <= 0) throw new InvalidConfigError(`Expected \`frequencyCaps.${category}.per\` to be a positive duration, got ${String(cap.per)}`);
    resolved.set(category, { max: cap.max, windowMs });
  }
  return resolved;
}
