import { isPromise, type MaybePromise } from '../store/types.js';

/**
 * A router operation: a generator that yields store calls' answers (plain values or promises) and is
 * resumed with the resolved value. Inside one, `yield* call(store.get(id))` gives that value, typed.
 * See docs/architecture.md for why operations are generators.
 */
export type Operation<T> = Generator<unknown, T, unknown>;

/** A store call's answer inside an operation: `const cascade = yield* call(store.get(id))`. */
export function* call<T>(answer: T): Operation<Awaited<T>> {
  return (yield answer) as Awaited<T>;
}

/** Counts operations that went asynchronous, so `settled()` can wait for them. */
export interface PendingWork {
  enter(): void;
  leave(): void;
}

/**
 * Runs an operation synchronously for as long as the store answers synchronously, and asynchronously
 * from its first promise on. The in-memory store so costs no promise per read and write (an async
 * function costs ~400 bytes of garbage per await), while a network store works unchanged.
 */
export function drive<T>(operation: Operation<T>, pending: PendingWork): MaybePromise<T> {
  let step = operation.next();
  while (!step.done) {
    if (isPromise(step.value)) return finish(operation, step.value, pending);
    step = operation.next(step.value);
  }
  return step.value;
}

async function finish<T>(operation: Operation<T>, answer: Promise<unknown>, pending: PendingWork): Promise<T> {
  pending.enter();
  try {
    let step = await resume(operation, answer);
    while (!step.done) step = isPromise(step.value) ? await resume(operation, step.value) : operation.next(step.value);
    return step.value;
  } finally {
    pending.leave();
  }
}

async function resume<T>(operation: Operation<T>, answer: Promise<unknown>): Promise<IteratorResult<unknown, T>> {
  let value: unknown;
  try {
    value = await answer;
  } catch (error) {
    return operation.throw(error);
  }
  return operation.next(value);
}
