import type { ResolvedChannel } from '../core/channels.js';
import type { RouterContext } from './context.js';
import { Breaker, type Admission, type BreakerState, type ProviderHealth, type ResolvedHealth } from '../core/health.js';
import type { SharedHealth } from '../store/types.js';
import type { Transition } from '../core/transition.js';
import type { Cascade } from '../core/types.js';

/** Shared health is read at least this often by a router that sends. */
const SYNC_MS = 1000;

/** The provider a try of `cascade`'s step goes through. */
function providerOf(channels: ReadonlyMap<string, ResolvedChannel>, cascade: Cascade, step: number): string | undefined {
  const attempt = cascade.attempts[step];
  if (attempt === undefined) return undefined;
  return attempt.provider ?? channels.get(attempt.channel)?.providers[0]?.name;
}

/**
 * The key a try of a cascade's step is known by in its provider's breaker: the cascade's id for the first try of
 * its first step (no string built for the common case), with the step and try after a NUL otherwise.
 */
export function tryKey(cascadeId: string, step: number, index: number): string {
  return step === 0 && index === 0 ? cascadeId : `${cascadeId}\u0000${step}\u0000${index}`;
}

/**
 * This router's view of its providers' health: a breaker each (src/core/health.ts), fed by its sends and by the
 * receipts it applies, shared through the store when the store can (a breaker one router opens, every
 * router adopts on its next wake-up), and reported as `provider-down` / `provider-up` events.
 */
export class Health {
  readonly #ctx: RouterContext;
  readonly #options: ResolvedHealth | undefined;
  readonly #breakers = new Map<string, Breaker>();
  #syncedAt = -Infinity;
  #syncing: Promise<void> | undefined;

  constructor(ctx: RouterContext, options: ResolvedHealth | undefined) {
    this.#ctx = ctx;
    this.#options = options;
  }

  get enabled(): boolean {
    return this.#options !== undefined;
  }

  #breaker(provider: string): Breaker | undefined {
    if (this.#options === undefined) return undefined;
    let breaker = this.#breakers.get(provider);
    if (breaker === undefined) this.#breakers.set(provider, (breaker = new Breaker(provider, this.#options, this.#ctx.clock.now())));
    return breaker;
  }

  // The hot calls below work on the breaker directly and report through `#moved`: no closure per send.

  /** Whether a send through `provider` may go now (`probe`: as one of a half-open breaker's probes). */
  admit(provider: string): Admission {
    this.#refresh();
    const breaker = this.#breaker(provider);
    if (breaker === undefined) return 'send';
    const now = this.#ctx.clock.now();
    const was = breaker.state;
    const admission = breaker.admit(now);
    if (breaker.state !== was) this.#moved(provider, breaker, was, now, true);
    return admission;
  }

  /** A send's answer (`key`: `tryKey()` of the try). */
  sent(provider: string, key: string, accepted: boolean, providerFault: boolean, probe: boolean): void {
    const breaker = this.#breaker(provider);
    if (breaker === undefined) return;
    const now = this.#ctx.clock.now();
    const was = breaker.state;
    breaker.sent(now, key, accepted, providerFault, probe);
    if (breaker.state !== was) this.#moved(provider, breaker, was, now, true);
  }

  /** Feeds the receipts a persisted change applied to the breakers of their providers. */
  after(done: Transition): void {
    if (this.#options === undefined) return;
    const cascade = done.cascade;
    for (const note of done.notes) {
      if (note.type !== 'receipt') continue;
      const provider = providerOf(this.#ctx.channels, cascade, note.step);
      const breaker = provider === undefined ? undefined : this.#breaker(provider);
      if (breaker === undefined) continue;
      const now = this.#ctx.clock.now();
      const was = breaker.state;
      breaker.received(now, tryKey(cascade.id, note.step, cascade.attempts[note.step]!.failovers?.length ?? 0));
      if (breaker.state !== was) this.#moved(provider!, breaker, was, now, true);
    }
  }

  /** Providers whose breaker is open now: the planner leaves them out. */
  unhealthy(): ReadonlySet<string> | undefined {
    this.#refresh();
    if (this.#breakers.size === 0) return undefined;
    let open: Set<string> | undefined;
    const now = this.#ctx.clock.now();
    // A breaker that moves on when looked at (cool-down over, probes unanswered) is reported.
    for (const [provider, breaker] of this.#breakers) {
      const was = breaker.state;
      if (breaker.isOpen(now)) (open ??= new Set()).add(provider);
      if (breaker.state !== was) this.#moved(provider, breaker, was, now, true);
    }
    return open;
  }

  view(): ProviderHealth[] {
    return [...this.#breakers.keys()].map((provider) => this.#look(provider)).sort((a, b) => a.provider.localeCompare(b.provider));
  }

  /**
   * A breaker's state now. Looking moves it on in time (open → half-open after the cool-down, half-open →
   * open when its probes went unanswered): through `#watch`, so a change seen here is reported and shared too.
   */
  #look(provider: string): ProviderHealth {
    return this.#watch(provider, (breaker, now) => breaker.view(now))!;
  }

  /** Adopts what other routers reported through the store (a no-op for a store that does not share it). */
  async sync(): Promise<void> {
    const { store, clock } = this.#ctx;
    if (this.#options === undefined || store.health === undefined) return;
    this.#syncedAt = clock.now();
    for (const shared of await store.health()) {
      this.#watch(shared.provider, (breaker) => breaker.adopt(clock.now(), shared.state, shared.reason, shared.until), false);
    }
  }

  /** Between wake-ups, a sync in the background at most once a second, so a busy router adopts within seconds. */
  #refresh(): void {
    const { store, clock, reporter } = this.#ctx;
    if (this.#options === undefined || store.health === undefined || this.#syncing || clock.now() - this.#syncedAt < SYNC_MS) return;
    this.#syncing = this.sync()
      .catch((error: unknown) => reporter.fail(error, undefined, 'timer'))
      .finally(() => (this.#syncing = undefined));
  }

  /** Runs `change` on a provider's breaker, then reports a state change as an event and to the store. */
  #watch<T>(provider: string, change: (breaker: Breaker, now: number) => T, share = true): T | undefined {
    const breaker = this.#breaker(provider);
    if (breaker === undefined) return undefined;
    const now = this.#ctx.clock.now();
    const was = breaker.state;
    const result = change(breaker, now);
    if (breaker.state !== was) this.#moved(provider, breaker, was, now, share);
    return result;
  }

  /** Reports a breaker that opened or closed, as an event and to the store (`share`). */
  #moved(provider: string, breaker: Breaker, was: BreakerState, now: number, share: boolean): void {
    const is = breaker.state;
    const opened = is === 'open' && was !== 'open';
    const closed = is === 'closed' && was !== 'closed';
    if (!opened && !closed) return;
    const { reporter, store } = this.#ctx;
    if (opened) {
      if (reporter.listening('provider-down')) reporter.emit('provider-down', { provider, reason: breaker.reason!, at: now, until: breaker.until! });
      reporter.warn({ provider, reason: breaker.reason, until: breaker.until }, `provider ${provider} is unhealthy (${breaker.reason}): routed around until ${new Date(breaker.until!).toISOString()}`);
    } else if (reporter.listening('provider-up')) reporter.emit('provider-up', { provider, at: now });
    if (share && store.reportHealth !== undefined) {
      const shared: SharedHealth = { provider, state: opened ? 'open' : 'closed', reason: breaker.reason, until: breaker.until, at: now };
      void Promise.resolve()
        .then(() => store.reportHealth!(shared))
        .catch((error: unknown) => reporter.fail(error, undefined, 'timer'));
    }
  }
}
