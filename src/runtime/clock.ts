/**
 * The only place that reads the time or arms timers. Everything else asks a `Clock`,
 * so tests, the demo and benchmarks run days of cascades in simulated time.
 */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  /** Calls `fn` once at (or soon after) the instant `at`. */
  setTimer(at: number, fn: () => void): TimerHandle;
  clearTimer(handle: TimerHandle): void;
}

export interface TimerHandle {
  readonly at: number;
}

/** Something a simulated clock waits on after each timer it fires, such as a router's pending work. */
export type SettleHook = () => Promise<void>;

// Node caps setTimeout at 2^31-1 ms; longer waits re-arm.
const MAX_DELAY = 2_147_483_647;

interface SystemTimer extends TimerHandle {
  timeout: ReturnType<typeof setTimeout> | undefined;
}

/** The wall clock. Timers are unref'd so an idle router never keeps the process alive. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(at, fn) {
    const timer: SystemTimer = { at, timeout: undefined };
    const arm = (): void => {
      const delay = at - Date.now();
      if (delay > MAX_DELAY) {
        timer.timeout = setTimeout(arm, MAX_DELAY);
      } else {
        timer.timeout = setTimeout(fn, Math.max(0, delay));
      }
      timer.timeout.unref?.();
    };
    arm();
    return timer;
  },
  clearTimer(handle) {
    clearTimeout((handle as SystemTimer).timeout);
  },
};

interface SimulatedTimer extends TimerHandle {
  readonly seq: number;
  readonly fn: () => void;
  cancelled: boolean;
}

/**
 * A clock that only moves when told to. `advance()` fires due timers in time order and,
 * after each, waits for the attached routers to finish the work it started.
 */
export class SimulatedClock implements Clock {
  #now: number;
  #seq = 0;
  /** Armed timers in a binary min-heap by (at, seq); a cleared one stays until it reaches the top. */
  readonly #heap: SimulatedTimer[] = [];
  #armed = 0;
  #hooks = new Set<SettleHook>();

  constructor(start: number | Date = Date.UTC(2026, 0, 1)) {
    this.#now = typeof start === 'number' ? start : start.getTime();
  }

  now(): number {
    return this.#now;
  }

  setTimer(at: number, fn: () => void): TimerHandle {
    const timer: SimulatedTimer = { at, seq: this.#seq++, fn, cancelled: false };
    const heap = this.#heap;
    let i = heap.push(timer) - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(timer, heap[parent]!)) break;
      heap[i] = heap[parent]!;
      i = parent;
    }
    heap[i] = timer;
    this.#armed++;
    return timer;
  }

  clearTimer(handle: TimerHandle): void {
    const timer = handle as SimulatedTimer;
    if (timer.cancelled) return;
    timer.cancelled = true;
    this.#armed--;
  }

  /** Registers work to wait for after each timer fires; returns a function that unregisters it. */
  onSettle(hook: SettleHook): () => void {
    this.#hooks.add(hook);
    return () => this.#hooks.delete(hook);
  }

  /** Number of armed timers. */
  get pendingTimers(): number {
    return this.#armed;
  }

  /** Moves time forward by `ms`, firing every timer that falls due on the way. */
  async advance(ms: number): Promise<void> {
    await this.advanceTo(this.#now + ms);
  }

  /** Moves time forward to `at`, firing every timer that falls due on the way. */
  async advanceTo(at: number): Promise<void> {
    await this.settle();
    for (let next = this.#nextDue(at); next; next = this.#nextDue(at)) {
      this.#now = Math.max(this.#now, next.at);
      this.#take();
      next.fn();
      await this.settle();
    }
    this.#now = Math.max(this.#now, at);
    await this.settle();
  }

  /** Fires timers until none is left (bounded by `maxMs` of simulated time). */
  async runAll(maxMs = 366 * 86_400_000): Promise<void> {
    const limit = this.#now + maxMs;
    for (let next = this.#nextDue(limit); next; next = this.#nextDue(limit)) await this.advanceTo(next.at);
    await this.settle();
  }

  /** Waits until every attached router has finished the work already started. */
  async settle(): Promise<void> {
    for (const hook of this.#hooks) await hook();
  }

  /** The earliest armed timer due by `limit` (cleared ones on top are dropped on the way). */
  #nextDue(limit: number): SimulatedTimer | undefined {
    const heap = this.#heap;
    while (heap.length > 0 && heap[0]!.cancelled) this.#pop();
    const top = heap[0];
    return top !== undefined && top.at <= limit ? top : undefined;
  }

  /** Takes the top timer (the one `#nextDue` returned) off the heap as fired. */
  #take(): void {
    this.#heap[0]!.cancelled = true;
    this.#armed--;
    this.#pop();
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

/** Fire order: earlier time first, then the one set first. */
function before(a: SimulatedTimer, b: SimulatedTimer): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

/** Resolves after `ms` on `clock`; rejects with the signal's reason if it is aborted first. */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clock.clearTimer(timer);
      reject(signal!.reason);
    };
    const timer = clock.setTimer(clock.now() + ms, () => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    });
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
