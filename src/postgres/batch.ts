/** Most calls sent together: a larger batch holds its row locks longer and delays every caller in it. */
const MAX_BATCH = Number(process.env.CR_PG_BATCH ?? 32);

/**
 * Calls of one kind made during one turn of the event loop, sent together at its check phase (`setImmediate`),
 * as the Redis store holds its socket writes: with many cascades in flight one round trip and one commit per
 * call is most of the time both sides spend. `send` answers one result per call, in order; a failure fails them all.
 */
export class Batch<T> {
  #pending: { readonly args: readonly unknown[]; readonly resolve: (value: T) => void; readonly reject: (error: unknown) => void }[] = [];
  readonly #send: (calls: readonly (readonly unknown[])[]) => Promise<readonly T[]>;

  constructor(send: (calls: readonly (readonly unknown[])[]) => Promise<readonly T[]>) {
    this.#send = send;
  }

  add(args: readonly unknown[]): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.#pending.length === 0) setImmediate(() => this.#flush());
      this.#pending.push({ args, resolve, reject });
      if (this.#pending.length >= MAX_BATCH) this.#flush();
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
