// The bound on receipts held in all is `maxHeldTotal` on every store; `maxHeldReceipts`, its older name, still works.
import { describe, expect, it } from 'vitest';
import { memoryStore, type CascadeStore } from 'cascade-router';
import { postgresStore } from 'cascade-router/postgres';
import { redisStore } from 'cascade-router/redis';

const T0 = Date.UTC(2026, 0, 8, 10, 0);
const invalidConfig = expect.objectContaining({ code: 'INVALID_CONFIG' });

/** Holds three receipts for three ids and answers how many the store still holds. */
async function heldAfterThree(store: CascadeStore): Promise<number> {
  for (const [i, id] of ['p1', 'p2', 'p3'].entries()) await store.route({ providerMessageId: id, status: 'delivered' }, T0 + i, T0 + 600_000);
  return (await store.heldCounts()).held;
}

describe('held receipts in all: maxHeldTotal, or maxHeldReceipts', () => {
  it('memoryStore holds at most maxHeldTotal receipts, as it does maxHeldReceipts', async () => {
    expect(await heldAfterThree(memoryStore({ maxHeldTotal: 2 }))).toBe(2);
    expect(await heldAfterThree(memoryStore({ maxHeldReceipts: 2 }))).toBe(2);
    expect(await heldAfterThree(memoryStore())).toBe(3);
  });

  it('every store refuses both names at once, and a bound that is not a positive integer under the name it was given', () => {
    const stores = [
      (options: object) => memoryStore(options),
      (options: object) => redisStore({ url: 'redis://127.0.0.1:1', ...options } as never),
      (options: object) => postgresStore({ connectionString: 'postgres://127.0.0.1:1/none', ...options } as never),
    ];
    for (const make of stores) {
      expect(() => make({ maxHeldTotal: 5, maxHeldReceipts: 5 })).toThrow(invalidConfig);
      expect(() => make({ maxHeldTotal: 0 })).toThrow(/`maxHeldTotal`/);
      expect(() => make({ maxHeldReceipts: 1.5 })).toThrow(/`maxHeldReceipts`/);
    }
  });
});
