/**
 * A claimed send, from its claim to its stored result. Over the ~250 lines the house aims at because it is one
 * send's life, each step a short method read in order: the stale-claim check, the breaker, the rate slot, the
 * adapter call (its retries are send.ts), the result stored until it lands, and the step's timeout while the
 * send is in flight.
 */
import { LazyAbort } from './abort.js';
import { isUnavailable, type Changes } from './changes.js';
import type { ResolvedChannel, ResolvedProvider } from '../core/channels.js';
import { sleep } from './clock.js';
import type { RouterContext } from './context.js';
import { isCascadeRouterError } from '../core/errors.js';
import type { Admission } from '../core/health.js';
import { tryKey } from './provider-health.js';
import { runSend, type SendOutcome } from './send.js';
import { isPromise, type MaybePromise } from '../store/types.js';
import type { CascadeInput, Transition } from '../core/transition.js';
import { TERMINAL, type Cascade } from '../core/types.js';

/** A send this router is carrying out: its step and when that step times out. */
interface InFlight {
  readonly abort: LazyAbort;
  readonly step: number;
  readonly timerAt: number | undefined;
}

/**
 * A claim older than this when its send starts is asked about again first: the store or this router's event
 * loop lagged (a backlog after a Redis pause), and another router may have ended the step meanwhile (a late
 * delivered receipt of an earlier step, a cancel). A fresh claim is sent at once, without the round trip.
 */
const STALE_CLAIM_MS = 100;

/** How long the first retry of a send's result that could not be stored waits, and the longest wait. */
const RECORD_RETRY_MS = 100;
const RECORD_RETRY_MAX_MS = 2000;

const DONE: Promise<void> = Promise.resolve();

/**
 * Carries out the sends this router claimed: calls the adapter (retrying transient errors, and asking the
 * store before every retry whether the step is still ours), then stores the result, retrying while the
 * store is away until it lands or the router closes: a provider that accepted a message must find it
 * recorded, or its receipt matches nothing and the cascade falls back although the customer was reached.
 * While a send is in flight its step's timer is this router's to fire (another router leaves it alone).
 */
export class Dispatcher {
  readonly #ctx: RouterContext;
  readonly #changes: Changes;
  readonly #arm: (at: number) => void;
  readonly #inflight = new Map<string, InFlight>();
  /** Cascades whose send returned and whose result is not stored yet. */
  readonly #recording = new Set<string>();

  constructor(ctx: RouterContext, changes: Changes, arm: (at: number) => void) {
    this.#ctx = ctx;
    this.#changes = changes;
    this.#arm = arm;
  }

  /** Whether this router is sending, or storing the result of, this cascade's current step. */
  has(cascadeId: string): boolean {
    return this.#inflight.has(cascadeId) || this.#recording.has(cascadeId);
  }

  /** Whether this router holds the result of this cascade's send, not stored yet. */
  recording(cascadeId: string): boolean {
    return this.#recording.has(cascadeId);
  }

  /** Whether a send is in flight whose step has not ended (an aborted one no longer counts). */
  sending(): boolean {
    for (const { abort } of this.#inflight.values()) if (!abort.aborted) return true;
    return false;
  }

  abort(cascadeId: string, reason?: unknown): void {
    this.#inflight.get(cascadeId)?.abort.abort(reason);
  }

  abortAll(reason: unknown): void {
    for (const { abort } of this.#inflight.values()) abort.abort(reason);
  }

  /** The earliest timeout of a step this router is sending. */
  nextTimeout(): number | undefined {
    let next: number | undefined;
    for (const { timerAt, abort } of this.#inflight.values()) {
      if (timerAt !== undefined && !abort.aborted && (next === undefined || timerAt < next)) next = timerAt;
    }
    return next;
  }

  /** Fires the due timers of steps this router is still sending (timing them out aborts the send). */
  async fireTimeouts(now: number): Promise<void> {
    const due: [string, InFlight][] = [];
    for (const entry of this.#inflight) if (entry[1].timerAt !== undefined && entry[1].timerAt <= now && !entry[1].abort.aborted) due.push(entry);
    await Promise.all(due.map(([id, { step }]) => this.#tick(id, step)));
  }

  /**
   * Sends a claimed step and stores its result. Not an async function: the common case (a fresh claim, no
   * rate) costs one promise chain on the send, not an async frame held across it.
   */
  dispatch(cascade: Cascade, step: number): Promise<void> {
    try {
      const ctx = this.#ctx;
      const planned = cascade.plan.steps[step]!;
      const attempt = cascade.attempts[step]!;
      const index = attempt.failovers?.length ?? 0;
      const channel = ctx.channels.get(planned.channel);
      const provider = channel?.multiProvider ? channel.providers.find((p) => p.name === attempt.provider) : channel?.providers[0];
      if (!channel || !provider) {
        const what = channel ? `provider "${attempt.provider}" of channel "${planned.channel}"` : `channel "${planned.channel}"`;
        const error = { message: `${what} is no longer declared`, code: channel ? 'UNKNOWN_PROVIDER' : 'UNKNOWN_CHANNEL', fault: 'provider' as const };
        return this.#record(cascade, step, index, { ok: false, error });
      }
      // One in-flight send per cascade: a step starts only after the one before it has ended.
      const entry: InFlight = { abort: new LazyAbort(), step, timerAt: cascade.timerAt };
      this.#inflight.set(cascade.id, entry);
      const liveness = ctx.liveness;
      // Wake to renew the heartbeat while the send is in flight, and to time the step out if it hangs.
      if (liveness) this.#arm(liveness.renewAt);
      if (entry.timerAt !== undefined) this.#arm(entry.timerAt);
      if (ctx.clock.now() - cascade.updatedAt > STALE_CLAIM_MS) return this.#dispatchStale(cascade, step, index, channel, provider, entry);
      return this.#go(cascade, step, index, channel, provider, entry);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** `dispatch` for a claim that is asked about again first: see `STALE_CLAIM_MS`. */
  async #dispatchStale(cascade: Cascade, step: number, index: number, channel: ResolvedChannel, provider: ResolvedProvider, entry: InFlight): Promise<void> {
    if (!(await this.#stillOursOrUnknown(cascade.id, step, index))) {
      // Ended or taken over since the claim: whoever ended it recorded why; nothing to send or record here.
      // Asked before the breaker and the rate are: a probe or a slot is taken only for a send that goes out at once after it.
      if (this.#inflight.get(cascade.id) === entry) this.#inflight.delete(cascade.id);
      return;
    }
    return this.#go(cascade, step, index, channel, provider, entry);
  }

  /** Past the claim check: the breaker, the rate, the send, and storing its result. */
  #go(cascade: Cascade, step: number, index: number, channel: ResolvedChannel, provider: ResolvedProvider, entry: InFlight): Promise<void> {
    const ctx = this.#ctx;
    const admission = ctx.health.admit(provider.name);
    if (admission === 'skip') {
      this.#inflight.delete(cascade.id);
      const error = { message: `provider "${provider.name}" is unhealthy: its breaker is open`, code: 'PROVIDER_UNHEALTHY', fault: 'provider' as const };
      return this.#record(cascade, step, index, { ok: false, error }, true);
    }
    if (provider.rate !== undefined) return this.#paced(cascade, step, index, channel, provider, entry, admission);
    return this.#send(cascade, step, index, channel, provider, entry, admission);
  }

  /** Takes a slot of the provider's rate, then sends; or defers the try until a slot frees. */
  async #paced(cascade: Cascade, step: number, index: number, channel: ResolvedChannel, provider: ResolvedProvider, entry: InFlight, admission: Admission): Promise<void> {
    const ctx = this.#ctx;
    let until: number | undefined;
    try {
      const taking = ctx.pacing.take(provider, cascade.message);
      until = isPromise(taking) ? await this.#counted(taking) : taking;
    } catch (error) {
      // The store cannot count the rate now: sending beats losing the message.
      ctx.reporter.fail(error, cascade.id, 'send');
    }
    if (until !== undefined) {
      this.#inflight.delete(cascade.id);
      return this.#defer(cascade, step, index, until);
    }
    return this.#send(cascade, step, index, channel, provider, entry, admission);
  }

  /** Calls the adapter (with its retries), then feeds the breaker and stores the result. */
  #send(cascade: Cascade, step: number, index: number, channel: ResolvedChannel, provider: ResolvedProvider, entry: InFlight, admission: Admission): Promise<void> {
    const ctx = this.#ctx;
    const target = { channel, provider, index };
    const beforeRetry = provider.rate === undefined ? () => this.#stillOurs(cascade.id, step, index) : () => this.#retrySlot(cascade, step, index, provider, entry.abort);
    return runSend(target, cascade, step, entry.abort, ctx.clock, beforeRetry).then((outcome) => {
      if (this.#inflight.get(cascade.id) === entry) this.#inflight.delete(cascade.id);
      if (outcome.ok === false && (outcome.ended || ctx.closed())) return;
      ctx.health.sent(provider.name, tryKey(cascade.id, step, index), outcome.ok, !outcome.ok && outcome.error.fault === 'provider', admission === 'probe');
      return this.#record(cascade, step, index, outcome);
    });
  }

  /** Whether the step (at this try) is still current, `sending` and this router's, as the store has it now. */
  #stillOurs(cascadeId: string, step: number, index: number): boolean | Promise<boolean> {
    const check = (cascade: Cascade | undefined): boolean => {
      const attempt = cascade?.attempts[step];
      return (
        cascade?.status === 'active' &&
        cascade.step === step &&
        attempt?.phase === 'sending' &&
        attempt.owner === this.#ctx.instanceId &&
        (attempt.failovers?.length ?? 0) === index
      );
    };
    const read = this.#ctx.store.get(cascadeId);
    return isPromise(read) ? read.then(check) : check(read);
  }

  /**
   * A store call on the way to a send, counted as the router's pending work like its other store calls: a
   * rate slot is taken at the clock's time and the send must follow it, so a simulated clock that waits for
   * settled work does not move on while the answer is on its way (the send would go out later than its slot).
   */
  async #counted<T>(answer: Promise<T>): Promise<T> {
    this.#ctx.pending.enter();
    try {
      return await answer;
    } finally {
      this.#ctx.pending.leave();
    }
  }

  /** `#stillOurs`, true when the store cannot answer now: sending beats losing the message (its idempotency key guards a repeat). */
  async #stillOursOrUnknown(cascadeId: string, step: number, index: number): Promise<boolean> {
    try {
      const ours = this.#stillOurs(cascadeId, step, index);
      return isPromise(ours) ? await this.#counted(ours) : ours;
    } catch {
      return true;
    }
  }

  /**
   * Before a retry through a provider with a rate: the step is still ours, and the retry has a slot of the
   * rate (it waits for one, within the step's abort signal). False when the step ended meanwhile.
   */
  async #retrySlot(cascade: Cascade, step: number, index: number, provider: ResolvedProvider, abort: LazyAbort): Promise<boolean> {
    const ctx = this.#ctx;
    for (;;) {
      const ours = this.#stillOurs(cascade.id, step, index);
      if (!(isPromise(ours) ? await ours : ours)) return false;
      let until: number | undefined;
      try {
        const taking = ctx.pacing.take(provider, cascade.message, true);
        until = isPromise(taking) ? await this.#counted(taking) : taking;
      } catch (error) {
        // The store cannot count the rate now: sending beats losing the message, as for the first try.
        ctx.reporter.fail(error, cascade.id, 'send');
        return true;
      }
      if (until === undefined) return true;
      try {
        await sleep(ctx.clock, Math.max(0, until - ctx.clock.now()), abort.signal);
      } catch {
        return false;
      }
    }
  }

  /**
   * Stores a send's result, retrying while the store is away; then fires the step's timer if it came due
   * meanwhile. The first try is made here, without an async frame: with an in-process store it is done at once.
   */
  #record(cascade: Cascade, step: number, index: number, outcome: SendOutcome, unhealthy = false): Promise<void> {
    const ctx = this.#ctx;
    const input = (): CascadeInput =>
      outcome.ok
        ? { type: 'sent', now: ctx.clock.now(), by: ctx.instanceId, step, try: index, providerMessageId: outcome.providerMessageId, priceMicros: outcome.priceMicros }
        : { type: 'send-failed', now: ctx.clock.now(), by: ctx.instanceId, step, try: index, error: outcome.error, unhealthy };
    this.#recording.add(cascade.id);
    let applying: MaybePromise<Transition | undefined>;
    try {
      // Starts from the cascade that began this step: unless another router changed it meanwhile, the
      // result is one compare-and-set, without a read first.
      applying = this.#changes.applyNow(cascade.id, input, { base: cascade });
    } catch (error) {
      applying = Promise.reject(error);
    }
    if (isPromise(applying)) return this.#recordAgain(cascade, step, input, applying);
    this.#recording.delete(cascade.id);
    return this.#due(applying) ? this.#tick(cascade.id, step) : DONE;
  }

  /** Whether a stored change left its timer due (it came due while the result was being stored, and was left to this router). */
  #due(done: Transition | undefined): boolean {
    return done?.cascade.timerAt !== undefined && done.cascade.timerAt <= this.#ctx.clock.now() && !TERMINAL.has(done.cascade.status);
  }

  /** `#record` past its first try: waits for it (`first`), and while the store is away, tries again with backoff. */
  async #recordAgain(cascade: Cascade, step: number, input: () => CascadeInput, first: Promise<Transition | undefined>): Promise<void> {
    const ctx = this.#ctx;
    let waitMs = RECORD_RETRY_MS;
    try {
      for (let failures = 0; ; failures++) {
        try {
          const applying = failures === 0 ? first : this.#changes.applyNow(cascade.id, input);
          const done = isPromise(applying) ? await applying : applying;
          // Its timer came due while the result was being stored (and was left to this router): fire it now.
          if (this.#due(done)) {
            this.#recording.delete(cascade.id);
            await this.#tick(cascade.id, step);
          }
          return;
        } catch (error) {
          const retryable = isUnavailable(error) || (isCascadeRouterError(error) && error.code === 'STORE_CONFLICT');
          if (failures === 0 || !retryable) ctx.reporter.fail(error, cascade.id, 'send');
          if (!retryable || ctx.closed()) return;
          await sleep(ctx.clock, waitMs);
          waitMs = Math.min(2 * waitMs, RECORD_RETRY_MAX_MS);
        }
      }
    } finally {
      this.#recording.delete(cascade.id);
    }
  }

  /** Records that the try waits for its provider's rate until `until` (its timer then sends it, on any router). */
  async #defer(cascade: Cascade, step: number, index: number, until: number): Promise<void> {
    const ctx = this.#ctx;
    try {
      const deferring = this.#changes.applyNow(cascade.id, () => ({ type: 'paced', now: ctx.clock.now(), by: ctx.instanceId, step, try: index, until }), { base: cascade });
      if (isPromise(deferring)) await deferring;
    } catch (error) {
      // Left `sending` in this router's name: its own-claims scan sends it again later.
      ctx.reporter.fail(error, cascade.id, 'send');
    }
  }

  /** Fires the cascade's timer as the owner of its step; aborts the send if the step turns out ended by another. */
  async #tick(cascadeId: string, step: number): Promise<void> {
    const ctx = this.#ctx;
    try {
      const ticking = this.#changes.applyNow(cascadeId, () => ({ type: 'tick', now: ctx.clock.now(), by: ctx.instanceId }));
      const done = isPromise(ticking) ? await ticking : ticking;
      const attempt = done?.cascade.attempts[step];
      if (!done || done.cascade.status !== 'active' || done.cascade.step !== step || attempt?.phase !== 'sending' || attempt.owner !== ctx.instanceId) {
        this.abort(cascadeId);
      }
    } catch (error) {
      ctx.reporter.fail(error, cascadeId, 'timer');
    }
  }
}
