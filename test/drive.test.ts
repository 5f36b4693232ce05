import { describe, expect, it } from 'vitest';
import { drive, type Operation } from '../src/runtime/drive.js';

function counter() {
  const pending = { active: 0, max: 0 };
  return {
    pending,
    work: {
      enter: () => {
        pending.active++;
        pending.max = Math.max(pending.max, pending.active);
      },
      leave: () => pending.active--,
    },
  };
}

function* sum(answers: unknown[]): Operation<number> {
  let total = 0;
  for (const answer of answers) total += (yield answer) as number;
  return total;
}

describe('drive', () => {
  it('runs an operation synchronously while every answer is a plain value', () => {
    const { pending, work } = counter();
    expect(drive(sum([1, 2, 3]), work)).toBe(6);
    expect(pending.max).toBe(0);
  });

  it('goes asynchronous from the first promise, counting itself as pending until it ends', async () => {
    const { pending, work } = counter();
    const result = drive(sum([1, Promise.resolve(2), 3, Promise.resolve(4)]), work);
    expect(result).toBeInstanceOf(Promise);
    expect(pending.active).toBe(1);
    expect(await result).toBe(10);
    expect(pending.active).toBe(0);
  });

  it('throws a rejected answer into the operation, where it can be caught', async () => {
    function* guarded(): Operation<string> {
      try {
        yield Promise.reject(new Error('store down'));
        return 'unreachable';
      } catch (error) {
        return `caught ${(error as Error).message}`;
      }
    }
    const { work } = counter();
    expect(await drive(guarded(), work)).toBe('caught store down');
    await expect(Promise.resolve(drive(sum([Promise.reject(new Error('boom'))]), work))).rejects.toThrow('boom');
  });
});
