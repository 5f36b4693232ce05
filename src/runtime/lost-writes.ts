import type { Transition } from '../core/transition.js';
import type { Attempt, Cascade } from '../core/types.js';

/** At most this many lost writes are remembered; the oldest is forgotten first. */
const MAX_LOST = 10_000;

/**
 * A router's writes whose answer was lost (the store may have applied them after the client gave up), kept
 * by cascade id until a read shows that cascade at or past their version: then either it is this write,
 * carried out as if it had been answered, or another change won and it is forgotten.
 */
export class LostWrites {
  /** Cascade id → a change this router wrote whose answer was lost, oldest first. */
  readonly #lost = new Map<string, Transition>();

  /** Called when a write's answer is lost, so the router reads that cascade again soon. */
  onLost: (() => void) | undefined;

  get size(): number {
    return this.#lost.size;
  }

  ids(): string[] {
    return [...this.#lost.keys()];
  }

  remember(done: Transition): void {
    const id = done.cascade.id;
    this.#lost.delete(id);
    this.#lost.set(id, done);
    if (this.#lost.size > MAX_LOST) this.#lost.delete(this.#lost.keys().next().value!);
    this.onLost?.();
  }

  /** The lost change `stored` shows, if it is this router's: forgotten once a version at or past it is seen. */
  recognise(stored: Cascade): Transition | undefined {
    const lost = this.#lost.get(stored.id);
    if (lost === undefined || stored.version < lost.cascade.version) return undefined;
    this.#lost.delete(stored.id);
    return sameChange(stored, lost.cascade) ? lost : undefined;
  }
}

/** Whether `stored` is the change `written`: the same version, time and state of every attempt. */
export function sameChange(stored: Cascade, written: Cascade): boolean {
  if (
    stored.version !== written.version ||
    stored.updatedAt !== written.updatedAt ||
    stored.createdAt !== written.createdAt ||
    stored.status !== written.status ||
    stored.step !== written.step ||
    stored.timerAt !== written.timerAt ||
    stored.attempts.length !== written.attempts.length
  ) {
    return false;
  }
  return stored.attempts.every((a, i) => sameAttempt(a, written.attempts[i]!));
}

function sameAttempt(a: Attempt, b: Attempt): boolean {
  return (
    a.phase === b.phase &&
    a.owner === b.owner &&
    a.startedAt === b.startedAt &&
    a.providerMessageId === b.providerMessageId &&
    a.status === b.status &&
    a.outcome === b.outcome &&
    a.history.length === b.history.length
  );
}
