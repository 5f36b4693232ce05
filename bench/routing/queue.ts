/**
 * The simulation's own future: receipts the fake providers will send, the backend's cancels, message
 * arrivals. A binary min-heap behind ONE clock timer (armed at its earliest event), like the memory
 * store's timer heap: the SimulatedClock scans its timers linearly, so 10^5 of them would be quadratic.
 */
import type { SimulatedClock } from './library.js';

interface Entry<T> {
  readonly at: number;
  readonly seq: number;
  readonly event: T;
}

export class EventQueue<T> {
  readonly #clock: SimulatedClock;
  readonly #handle: (event: T) => Promise<void>;
  readonly #heap: Entry<T>[] = [];
  #seq = 0;
  #timer: { at: number; handle: ReturnType<SimulatedClock['setTimer']> } | undefined;
  #draining: Promise<void> = Promise.resolve();

  /**
   * The clock waits for our work after each timer it fires, as it does for the routers'. Create the queue
   * before the routers: the clock then settles our work first and theirs (which ours started) after it.
   */
  constructor(clock: SimulatedClock, handle: (event: T) => Promise<void>) {
    this.#clock = clock;
    this.#handle = handle;
    clock.onSettle(() => this.#draining);
  }

  get size(): number {
    return this.#heap.length;
  }

  push(at: number, event: T): void {
    const entry = { at, seq: this.#seq++, event };
    const heap = this.#heap;
    heap.push(entry);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(entry, heap[parent]!)) break;
      heap[i] = heap[parent]!;
      i = parent;
    }
    heap[i] = entry;
    this.#arm();
  }

  #pop(): Entry<T> | undefined {
    const heap = this.#heap;
    const top = heap[0];
    const last = heap.pop();
    if (top === undefined || last === undefined || heap.length === 0) return top;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      const child = right < heap.length && before(heap[right]!, heap[left]!) ? right : left;
      if (!before(heap[child]!, last)) break;
      heap[i] = heap[child]!;
      i = child;
    }
    heap[i] = last;
    return top;
  }

  #arm(): void {
    const next = this.#heap[0];
    if (!next || (this.#timer && this.#timer.at <= next.at)) return;
    if (this.#timer) this.#clock.clearTimer(this.#timer.handle);
    const at = next.at;
    this.#timer = { at, handle: this.#clock.setTimer(at, () => this.#fire()) };
  }

  #fire(): void {
    this.#timer = undefined;
    this.#draining = this.#drain();
  }

  async #drain(): Promise<void> {
    const now = this.#clock.now();
    while (this.#heap.length > 0 && this.#heap[0]!.at <= now) await this.#handle(this.#pop()!.event);
    this.#arm();
  }
}

function before<T>(a: Entry<T>, b: Entry<T>): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}
