import type { Cascade } from '../core/types.js';

/**
 * What the database confirmed during this tick: cascades as a create, commit, read or route answer showed them
 * current, and provider ids a commit indexed. A read or route later in the same tick answers from here without a
 * round trip: no I/O comes between, so the answer is what a query made at that reply would have given. Dropped
 * at the end of the tick. A confirmation never replaces a newer one, and an answer that shows a change this
 * instance cannot place (a lost compare-and-set, a claimed timer, an orphan) blocks the id until the tick ends.
 * The same rule as the Redis store's (docs/stores.md, "answers confirmed in the same tick").
 */
export class TickCache {
  readonly #current = new Map<string, Cascade | null>();
  readonly #indexed = new Map<string, string>();

  #touch(): void {
    if (this.#current.size === 0 && this.#indexed.size === 0) {
      process.nextTick(() => {
        this.#current.clear();
        this.#indexed.clear();
      });
    }
  }

  /** The cascade confirmed this tick, if any. */
  cascade(id: string): Cascade | undefined {
    return this.#current.get(id) ?? undefined;
  }

  /** The cascade a commit this tick indexed this provider id for, if any. */
  indexed(providerId: string): string | undefined {
    return this.#indexed.get(providerId);
  }

  confirm(cascade: Cascade): void {
    this.#touch();
    const before = this.#current.get(cascade.id);
    if (before === null || (before !== undefined && before.version > cascade.version)) return;
    this.#current.set(cascade.id, cascade);
  }

  block(id: string): void {
    this.#touch();
    this.#current.set(id, null);
  }

  index(providerId: string, cascadeId: string): void {
    this.#touch();
    this.#indexed.set(providerId, cascadeId);
  }

  unindex(providerId: string): void {
    this.#indexed.delete(providerId);
  }
}
