import { isUnavailable, type Changes } from './changes.js';
import type { TimerHandle } from './clock.js';
import type { RouterContext } from './context.js';
import type { Dispatcher } from './dispatch.js';
import { call, drive, type Operation } from './drive.js';
import type { ErrorStage } from './events.js';
import type { Inbox } from './inbox.js';
import { sendingAttempt } from '../store/types.js';
import type { CascadeInput, Transition } from '../core/transition.js';
import type { Cascade } from '../core/types.js';

const TIMER_BATCH = 512;
/** After a store failure, look again this soon rather than never. */
const RETRY_MS = 1000;

/**
 * This router's wake-ups: it heartbeats when due, fires due timers (claimed from the store, so one router
 * fires each), fires the timeouts of its own sends in flight, and now and then takes over sends that no
 * live router is carrying out: a dead router's (sent again with the same idempotency key, or timed out if
 * their timer is due), and its own claims that it has no send for (written although the write seemed to fail).
 */
export class Timers {
  readonly #ctx: RouterContext;
  readonly #changes: Changes;
  readonly #inbox: Inbox;
  #dispatcher: Dispatcher | undefined;
  #timer: TimerHandle | undefined;
  /** Timers claimed whose change could not be stored: fired again on the next wake-up. */
  readonly #retry = new Set<string>();

  constructor(ctx: RouterContext, changes: Changes, inbox: Inbox) {
    this.#ctx = ctx;
    this.#changes = changes;
    this.#inbox = inbox;
    changes.onLost = () => this.arm(ctx.clock.now() + RETRY_MS);
  }

  set dispatcher(dispatcher: Dispatcher) {
    this.#dispatcher = dispatcher;
  }

  /** Wakes at `at` (or earlier, if already armed earlier). */
  arm(at: number): void {
    if (this.#ctx.closed() || (this.#timer && this.#timer.at <= at)) return;
    const clock = this.#ctx.clock;
    if (this.#timer) clock.clearTimer(this.#timer);
    this.#timer = clock.setTimer(at, () => {
      this.#timer = undefined;
      void this.wake();
    });
  }

  stop(): void {
    if (this.#timer) this.#ctx.clock.clearTimer(this.#timer);
    this.#timer = undefined;
  }

  /** Heartbeats if due, fires due timers, looks for sends to take over, and arms the next wake-up. */
  async wake(during: ErrorStage = 'timer'): Promise<void> {
    const { store, clock, liveness, pending } = this.#ctx;
    const dispatcher = this.#dispatcher!;
    pending.enter();
    try {
      if (liveness?.stale) await liveness.beat();
      await this.#ctx.health.sync();
      const now = clock.now();
      const retry = [...this.#retry];
      this.#retry.clear();
      await Promise.all(retry.map((id) => this.#fire(id)));
      // Writes whose answer was lost: reading their cascades again carries them out if they were stored.
      await Promise.all(this.#changes.lost().map((id) => this.#changes.applyNow(id, () => undefined)));
      for (let due = await store.claimDue(now, TIMER_BATCH); due.length > 0; due = await store.claimDue(now, TIMER_BATCH)) {
        await Promise.all(due.map((id) => this.#fire(id)));
      }
      await dispatcher.fireTimeouts(now);
      // After the due timers: a step whose timeout is due falls back rather than being sent again.
      if (liveness?.scanDue()) await this.#takeOver();
      const next = await store.nextDueAt();
      if (next !== undefined) this.arm(next);
      const timeout = dispatcher.nextTimeout();
      if (timeout !== undefined) this.arm(timeout);
      if (liveness && dispatcher.sending()) this.arm(liveness.renewAt);
      if (this.#retry.size > 0 || this.#changes.lost().length > 0) this.arm(clock.now() + RETRY_MS);
    } catch (error) {
      this.#ctx.reporter.fail(error, undefined, during);
      this.arm(clock.now() + RETRY_MS);
    } finally {
      pending.leave();
    }
  }

  async #fire(cascadeId: string): Promise<void> {
    try {
      await drive(this.#tick(cascadeId), this.#ctx.pending);
    } catch (error) {
      if (isUnavailable(error)) this.#retry.add(cascadeId);
      this.#ctx.reporter.fail(error, cascadeId, 'timer');
    }
  }

  /**
   * A due timer; when receipts for the step it would time out are being applied here, after them. Not while
   * this router holds the step's send result unstored: that comes first, and fires the timer itself.
   */
  *#tick(cascadeId: string): Operation<Transition | undefined> {
    const ctx = this.#ctx;
    if (this.#dispatcher!.recording(cascadeId)) return undefined;
    const input = (): CascadeInput => ({ type: 'tick', now: ctx.clock.now(), by: ctx.instanceId });
    const cascade = yield* call(ctx.store.get(cascadeId));
    if (!cascade) return undefined;
    // A step claimed in this router's name that it is not sending was never sent (its claim's write seemed to
    // fail): it goes out now, rather than timing out unsent.
    if (sendingAttempt(cascade)?.owner === ctx.instanceId && !this.#dispatcher!.has(cascadeId) && !this.#changes.writing(cascadeId)) {
      return yield* this.#changes.apply(cascadeId, this.#ownClaim(cascadeId), { base: cascade, fresh: true });
    }
    const providerId = cascade.status === 'active' ? cascade.attempts[cascade.step]?.providerMessageId : undefined;
    const queued = providerId === undefined ? undefined : this.#inbox.queued(providerId);
    if (queued === undefined) return yield* this.#changes.apply(cascadeId, input, { base: cascade, fresh: true });
    // A step's timeout is judged by when its receipts reached this router, not when they are applied.
    yield queued;
    return yield* this.#changes.apply(cascadeId, input);
  }

  /** The input that sends a step claimed in this router's name that it has no send for: never sent, so with a fresh wait. */
  #ownClaim(cascadeId: string): (cascade: Cascade) => CascadeInput | undefined {
    const { clock, instanceId } = this.#ctx;
    return (cascade) => {
      if (sendingAttempt(cascade)?.owner !== instanceId || this.#dispatcher!.has(cascadeId) || this.#changes.writing(cascadeId)) return undefined;
      return { type: 'resume', now: clock.now(), by: instanceId, step: cascade.step, previousOwner: instanceId, unsent: true };
    };
  }

  /**
   * Sends again, in this router's name, each step still `sending` for a router that is not alive (or fires
   * its timer when due): a compare-and-set naming the dead owner, so of several routers that find it, one
   * does. Its own claims that it holds no send for are taken over the same way. After this router was cut
   * off from the store for longer than its heartbeat lasts, it leaves others' sends alone for one
   * `instanceTtl`: they were cut off too, and renew as soon as they can.
   */
  async #takeOver(): Promise<void> {
    const { store, clock, instanceId, liveness } = this.#ctx;
    const dispatcher = this.#dispatcher!;
    const holdingOff = liveness?.holdingOff ?? false;
    const orphans: { cascadeId: string; owner: string | undefined }[] = [];
    for await (const orphan of store.orphans(clock.now(), instanceId)) {
      const own = orphan.owner === instanceId;
      if (own ? dispatcher.has(orphan.cascadeId) || this.#changes.writing(orphan.cascadeId) : holdingOff) continue;
      orphans.push(orphan);
    }
    await Promise.all(
      orphans.map(async ({ cascadeId, owner }) => {
        if (this.#ctx.closed()) return;
        const input = (cascade: Cascade): CascadeInput | undefined => {
          if (owner === instanceId) return this.#ownClaim(cascadeId)(cascade);
          if (sendingAttempt(cascade)?.owner !== owner) return undefined;
          return { type: 'resume', now: clock.now(), by: instanceId, step: cascade.step, previousOwner: owner };
        };
        try {
          await this.#changes.applyNow(cascadeId, input);
        } catch (error) {
          this.#ctx.reporter.fail(error, cascadeId, 'resume');
        }
      }),
    );
  }
}
