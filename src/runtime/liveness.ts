import type { Clock } from './clock.js';
import { isPromise, type CascadeStore, type MaybePromise } from '../store/types.js';

/**
 * One router instance's liveness in a store that other instances share. A step the router claims is
 * `sending` in its name until its send is recorded; another instance sends it again only once this one is
 * dead, that is once its heartbeat has lapsed (`ttlMs`) or it left. So the router heartbeats every third of
 * `ttlMs` while it has sends in flight, and before it claims a step when its last heartbeat is older than that:
 * a claim is never stored in the name of an instance that others could take for dead.
 */
export class Liveness {
  readonly #store: CascadeStore;
  readonly #clock: Clock;
  readonly #ttlMs: number;
  /** How often the heartbeat is renewed, and orphaned sends looked for. */
  readonly intervalMs: number;
  #freshUntil = -Infinity;
  #beating: Promise<void> | undefined;
  #scanAt = -Infinity;
  #beaten = false;
  #holdOffUntil = -Infinity;

  constructor(
    readonly instanceId: string,
    store: CascadeStore,
    clock: Clock,
    ttlMs: number,
  ) {
    this.#store = store;
    this.#clock = clock;
    this.#ttlMs = ttlMs;
    this.intervalMs = Math.max(1, Math.floor(ttlMs / 3));
  }

  /** Router clock time until which the last acknowledged heartbeat counts as fresh. */
  get freshUntil(): number {
    return this.#freshUntil;
  }

  /** True when a claim made now must wait for a heartbeat first. */
  get stale(): boolean {
    return this.#clock.now() >= this.#freshUntil;
  }

  /**
   * True for one ttl after a heartbeat found this instance's previous one lapsed: it was cut off from the
   * store (an outage, a pause) and so, likely, were the others, which renew as soon as they can. Until then
   * it takes none of their sends over.
   */
  get holdingOff(): boolean {
    return this.#clock.now() < this.#holdOffUntil;
  }

  /** When the heartbeat must be renewed, if sends are still in flight then. */
  get renewAt(): number {
    return Math.max(this.#freshUntil, this.#clock.now());
  }

  /** Renews the heartbeat; concurrent callers share one call. Fresh for an interval from when it was sent. */
  beat(): MaybePromise<void> {
    if (this.#beating) return this.#beating;
    const sentAt = this.#clock.now();
    const answer = this.#store.heartbeat(this.instanceId, this.#ttlMs, sentAt);
    const beat = (continued: boolean): void => {
      this.#freshUntil = sentAt + this.intervalMs;
      if (this.#beaten && !continued) this.#holdOffUntil = sentAt + this.#ttlMs;
      this.#beaten = true;
    };
    if (!isPromise(answer)) return beat(answer);
    this.#beating = answer.then(
      (continued) => {
        beat(continued);
        this.#beating = undefined;
      },
      (error: unknown) => {
        this.#beating = undefined;
        throw error;
      },
    );
    return this.#beating;
  }

  /** True at most once an interval: time to look for sends whose owner died. */
  scanDue(): boolean {
    const now = this.#clock.now();
    if (now < this.#scanAt) return false;
    this.#scanAt = now + this.intervalMs;
    return true;
  }

  /** Marks this instance dead at once, so others take over what it leaves `sending`. */
  leave(): MaybePromise<void> {
    this.#freshUntil = -Infinity;
    return this.#store.leave(this.instanceId);
  }
}
