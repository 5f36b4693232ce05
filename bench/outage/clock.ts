/**
 * A `SimulatedClock` whose timers sit in a binary heap. The library's clock scans its timers linearly,
 * which is right for tests and quadratic for a blast of 100,000 sends that each wait out a retry or for
 * tens of thousands of scheduled receipts. Same order of firing (time, then arming order), same settling
 * after each timer; it extends the library's class so the router attaches to it as to its own.
 */
import type { Library, SimulatedClock, TimerHandle } from './library.js';

interface HeapTimer extends TimerHandle {
  readonly seq: number;
  readonly fn: () => void;
  cancelled: boolean;
}

export function heapClock(lib: Library, start: number): SimulatedClock {
  class HeapClock extends lib.SimulatedClock {
    #now = start;
    #seq = 0;
    #live = 0;
    readonly #heap: HeapTimer[] = [];

    override now(): number {
      return this.#now;
    }

    override setTimer(at: number, fn: () => void): TimerHandle {
      const timer: HeapTimer = { at, seq: this.#seq++, fn, cancelled: false };
      const heap = this.#heap;
      let i = heap.push(timer) - 1;
      while (i > 0) {
        const parent = (i - 1) >> 1;
        if (!before(timer, heap[parent]!)) break;
        heap[i] = heap[parent]!;
        i = parent;
      }
      heap[i] = timer;
      this.#live++;
      return timer;
    }

    override clearTimer(handle: TimerHandle): void {
      const timer = handle as HeapTimer;
      if (timer.cancelled) return;
      timer.cancelled = true;
      this.#live--;
    }

    override get pendingTimers(): number {
      return this.#live;
    }

    override async advance(ms: number): Promise<void> {
      await this.advanceTo(this.#now + ms);
    }

    override async advanceTo(at: number): Promise<void> {
      await this.settle();
      for (let next = this.#due(at); next; next = this.#due(at)) {
        this.#now = Math.max(this.#now, next.at);
        next.cancelled = true;
        this.#live--;
        next.fn();
        await this.settle();
      }
      this.#now = Math.max(this.#now, at);
      await this.settle();
    }

    /** Fires timers until none is left within `maxMs`, leaving the time at the last one fired. */
    override async runAll(maxMs = 366 * 86_400_000): Promise<void> {
      const limit = this.#now + maxMs;
      for (let next = this.#peek(limit); next; next = this.#peek(limit)) await this.advanceTo(next.at);
      await this.settle();
    }

    #peek(limit: number): HeapTimer | undefined {
      const heap = this.#heap;
      while (heap.length > 0 && heap[0]!.cancelled) this.#pop();
      const top = heap[0];
      return top !== undefined && top.at <= limit ? top : undefined;
    }

    /** Takes the earliest live timer due by `limit` off the heap (dropping cancelled ones on the way). */
    #due(limit: number): HeapTimer | undefined {
      const heap = this.#heap;
      while (heap.length > 0) {
        const top = heap[0]!;
        if (!top.cancelled && top.at > limit) return undefined;
        this.#pop();
        if (!top.cancelled) return top;
      }
      return undefined;
    }

    #pop(): void {
      const heap = this.#heap;
      const last = heap.pop()!;
      if (heap.length === 0) return;
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
    }
  }
  return new HeapClock(start);
}

function before(a: HeapTimer, b: HeapTimer): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}
