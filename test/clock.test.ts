import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SimulatedClock, sleep, systemClock } from 'cascade-router';

describe('SimulatedClock', () => {
  it('fires timers in time order, ties in the order they were set, and only when advanced past them', async () => {
    const clock = new SimulatedClock(1_000);
    const fired: string[] = [];
    clock.setTimer(3_000, () => fired.push(`b@${clock.now()}`));
    clock.setTimer(2_000, () => fired.push(`a@${clock.now()}`));
    clock.setTimer(3_000, () => fired.push(`c@${clock.now()}`));
    await clock.advance(999);
    expect(fired).toEqual([]);
    await clock.advance(501);
    expect(fired).toEqual(['a@2000']);
    expect(clock.now()).toBe(2_500);
    await clock.advanceTo(3_000);
    expect(fired).toEqual(['a@2000', 'b@3000', 'c@3000']);
    expect(clock.pendingTimers).toBe(0);
  });

  it('does not fire a cleared timer, and fires timers that a timer sets within the same advance', async () => {
    const clock = new SimulatedClock(0);
    const fired: number[] = [];
    const cleared = clock.setTimer(10, () => fired.push(-1));
    clock.clearTimer(cleared);
    clock.setTimer(10, () => clock.setTimer(15, () => fired.push(clock.now())));
    await clock.advance(20);
    expect(fired).toEqual([15]);
  });

  it('runAll stops at the last timer instead of jumping to its limit', async () => {
    const clock = new SimulatedClock(0);
    clock.setTimer(5_000, () => undefined);
    await clock.runAll();
    expect(clock.now()).toBe(5_000);
  });

  it('waits for settle hooks after each timer, and stops waiting once unregistered', async () => {
    const clock = new SimulatedClock(0);
    const order: string[] = [];
    const off = clock.onSettle(async () => {
      order.push(`settle@${clock.now()}`);
    });
    clock.setTimer(1, () => order.push('timer@1'));
    await clock.advance(1);
    off();
    await clock.advance(1);
    expect(order).toEqual(['settle@0', 'timer@1', 'settle@1', 'settle@1']);
  });
});

describe('sleep', () => {
  it('resolves when the clock reaches the time and rejects with the reason when aborted first', async () => {
    const clock = new SimulatedClock(0);
    let woke = -1;
    const done = sleep(clock, 100).then(() => (woke = clock.now()));
    await clock.advance(99);
    expect(woke).toBe(-1);
    await clock.advance(1);
    await done;
    expect(woke).toBe(100);

    const controller = new AbortController();
    const aborted = sleep(clock, 100, controller.signal);
    controller.abort(new Error('stop'));
    await expect(aborted).rejects.toThrow('stop');
    expect(clock.pendingTimers).toBe(0);
    await expect(sleep(clock, 1, controller.signal)).rejects.toThrow('stop');
  });

  it('the system clock arms a real timer for a time in the past at once', async () => {
    await new Promise<void>((resolve) => systemClock.setTimer(systemClock.now() - 1_000, resolve));
  });
});

describe('SimulatedClock against a linear scan', () => {
  /** The reference: every armed timer in a list, the earliest (time, then order set) found by scanning it. */
  type Timer = { at: number; seq: number; fn: () => void };
  class LinearClock {
    #now: number;
    #seq = 0;
    #timers: Timer[] = [];
    constructor(start: number) {
      this.#now = start;
    }
    now = (): number => this.#now;
    setTimer = (at: number, fn: () => void) => {
      const timer = { at, seq: this.#seq++, fn };
      this.#timers.push(timer);
      return timer;
    };
    clearTimer = (handle: unknown): void => void (this.#timers = this.#timers.filter((t) => t !== handle));
    get pendingTimers(): number {
      return this.#timers.length;
    }
    #next(limit: number) {
      let best: Timer | undefined;
      for (const t of this.#timers) if (t.at <= limit && (!best || t.at < best.at || (t.at === best.at && t.seq < best.seq))) best = t;
      return best;
    }
    async advanceTo(at: number): Promise<void> {
      for (let next = this.#next(at); next; next = this.#next(at)) {
        this.#now = Math.max(this.#now, next.at);
        this.#timers = this.#timers.filter((t) => t !== next);
        next.fn();
      }
      this.#now = Math.max(this.#now, at);
    }
    async runAll(): Promise<void> {
      for (let next = this.#next(Infinity); next; next = this.#next(Infinity)) await this.advanceTo(next.at);
    }
  }

  it('fires in (time, order set) like a scan of every timer, with clears and timers armed while firing, and counts what is armed', async () => {
    type Op = { at: number; clear: number | undefined; nested: number | undefined };
    const op = fc.record({ at: fc.integer({ min: 0, max: 1000 }), clear: fc.option(fc.nat(), { nil: undefined }), nested: fc.option(fc.integer({ min: 0, max: 50 }), { nil: undefined }) });
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 60 }), fc.integer({ min: 0, max: 1200 }), async (ops: Op[], until) => {
        const run = async (clock: SimulatedClock | LinearClock): Promise<string[]> => {
          const log: string[] = [];
          const handles: unknown[] = [];
          ops.forEach(({ at, clear, nested }, i) => {
            handles.push(
              clock.setTimer(at, () => {
                log.push(`${i}@${clock.now()}`);
                if (nested !== undefined) clock.setTimer(clock.now() + nested, () => log.push(`${i}'@${clock.now()}`));
              }),
            );
            if (clear !== undefined) clock.clearTimer(handles[clear % handles.length] as never);
          });
          await clock.advanceTo(until);
          log.push(`pending ${clock.pendingTimers}`);
          await clock.runAll();
          log.push(`end ${clock.now()} ${clock.pendingTimers}`);
          return log;
        };
        expect(await run(new SimulatedClock(0))).toEqual(await run(new LinearClock(0)));
      }),
    );
  });
});
