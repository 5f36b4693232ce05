import type { ResolvedChannel, ResolvedProvider } from '../core/channels.js';
import type { Clock } from './clock.js';
import { InvalidConfigError } from '../core/errors.js';
import type { Reporter } from './reporter.js';
import { isPromise, type CascadeStore, type MaybePromise, type PaceAnswer } from '../store/types.js';
import type { Message } from '../core/types.js';

/** `RouterOptions.pacing`: which messages go first when a provider's rate is used up. */
export interface PacingOptions {
  /** Categories whose messages are urgent (so is any message with a `deadline`). Default `['otp', 'transactional']`. */
  readonly urgent?: readonly string[] | undefined;
  /** The share of each provider's rate kept for urgent messages: a blast of others never takes it. Default 0.2. */
  readonly reserve?: number | undefined;
}

/**
 * Provider rate limits, over every router on the store (`CascadeStore.pace`): a send beyond its provider's
 * rate waits its turn, persisted as the try's `pacedUntil`, and urgent messages (OTPs, transactional, any
 * with a deadline) take the share of the rate kept for them, so they never queue behind a blast. It also
 * remembers how long each provider's queue was when last asked, for the planner.
 */
export class Pacing {
  readonly #store: CascadeStore;
  readonly #clock: Clock;
  readonly #urgent: ReadonlySet<string>;
  readonly #reserve: number;
  /** Provider → how long the last deferred send had to wait. */
  readonly #waits = new Map<string, number>();

  constructor(store: CascadeStore, clock: Clock, options: PacingOptions | undefined, channels: ReadonlyMap<string, ResolvedChannel>, reporter: Reporter) {
    this.#store = store;
    this.#clock = clock;
    this.#urgent = new Set(options?.urgent ?? ['otp', 'transactional']);
    const reserve = options?.reserve ?? 0.2;
    if (typeof reserve !== 'number' || !(reserve >= 0 && reserve < 1)) throw new InvalidConfigError(`Expected \`pacing.reserve\` to be a number in [0, 1), got ${String(reserve)}`);
    this.#reserve = reserve;
    const limited = [...channels.values()].some((channel) => channel.providers.some((p) => p.rate !== undefined));
    if (limited && store.pace === undefined) reporter.warn({}, 'the store does not implement pace(): provider rate limits are not enforced');
  }

  isUrgent(message: Message): boolean {
    return message.deadline !== undefined || this.#urgent.has(message.category);
  }

  /**
   * Takes a slot of `provider`'s rate: undefined to send now, or when to try again. A `retry` of a send that
   * met a transient error counts against the rate like any call, and goes as urgent: it is a send already
   * under way, which the back of a blast's queue would hold past its step's wait.
   */
  take(provider: ResolvedProvider, message: Message, retry = false): MaybePromise<number | undefined> {
    const rate = provider.rate;
    if (rate === undefined || this.#store.pace === undefined) return undefined;
    const now = this.#clock.now();
    const reserve = Math.min(rate.limit - 1, Math.floor(rate.limit * this.#reserve));
    const urgent = retry || this.isUrgent(message);
    const read = (answer: PaceAnswer): number | undefined => {
      if (answer.go) {
        if (!retry) this.#waits.delete(provider.name);
        return undefined;
      }
      if (!urgent) this.#waits.set(provider.name, answer.retryAt - now);
      return answer.retryAt;
    };
    const answer = this.#store.pace({ provider: provider.name, limit: rate.limit, windowMs: rate.windowMs, reserve, urgent, now });
    return isPromise(answer) ? answer.then(read) : read(answer);
  }

  /** How long a message that is not urgent would wait for each provider with a queue, as last seen. */
  waits(): ReadonlyMap<string, number> | undefined {
    return this.#waits.size === 0 ? undefined : this.#waits;
  }
}
