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
