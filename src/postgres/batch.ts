/**
 * Calls of one kind made during one turn of the event loop, sent together at its check phase (`setImmediate`),
 * as the Redis store holds its socket writes: with many cascades in flight one round trip and one commit per
 * call is most of the time both sides spend. `send` answers one result per call, in order; a failure fails them all.
 */
export class Batch<T> {
  #pending: { readonly args: readonly unknown[]; readonly resolve: (value: T) => void; readonly reject: (error: unknown) => void }[] = [];
  readonly #send: (calls: readonly (readonly unknown[])[]) => Promise<readonly T[]>;
  /** Most calls sent together: a larger batch runs on one connection, one item after another, holding its row locks. */
  readonly #max: number;

  constructor(send: (calls: readonly (readonly unknown[])[]) => Promise<readonly T[]>, max: number) {
    this.#send = send;
    this.#max = max;
  }

  add(args: readonly unknown[]): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.#pending.length === 0) setImmediate(() => this.#flush());
      this.#pending.push({ args, resolve, reject });
      if (this.#pending.length >= this.#max) this.#flush();
    });
  }

  #flush(): void {
    const calls = this.#pending;
    if (calls.length === 0) return;
    this.#pending = [];
    this.#send(calls.map((call) => call.args)).then(
      (results) => calls.forEach((call, i) => call.resolve(results[i]!)),
      (error: unknown) => calls.forEach((call) => call.reject(error)),
    );
  }
}

/** The `j`-th argument of every call: one array per parameter of a batched function. */
export function column(calls: readonly (readonly unknown[])[], j: number): unknown[] {
  return calls.map((call) => call[j]);
}
