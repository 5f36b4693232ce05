// The bound on receipts held in all is `maxHeldTotal` on every store; `maxHeldReceipts`, its older name, still works.
import { describe, expect, it } from 'vitest';
import pg from 'pg';
import { memoryStore, SimulatedClock, type CascadeStore } from 'cascade-router';
import { postgresStore } from 'cascade-router/postgres';
import { redisStore } from 'cascade-router/redis';
import { dropSchema, PG_URL, requirePostgres, uniqueSchema } from './postgres/helpers.js';

const noPostgres = await requirePostgres('test/store.options.test.ts');

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

describe('store durations: `retention`, `claimLease`, `poll`, `commandTimeout` (and `maintenance` on PostgreSQL) as `30s` or ms, or their older `…Ms` names', () => {
  const stores = [
    (options: object) => memoryStore(options),
    (options: object) => redisStore({ url: 'redis://127.0.0.1:1', ...options } as never),
    (options: object) => postgresStore({ connectionString: 'postgres://127.0.0.1:1/none', ...options } as never),
  ];

  it('every store takes a duration string and refuses one name given twice or a bad duration, naming the field', () => {
    for (const make of stores) {
      expect(() => make({ retention: '2h' })).not.toThrow();
      expect(() => make({ retention: '2h', retentionMs: 5 })).toThrow(invalidConfig);
      expect(() => make({ retention: '-1s' })).toThrow(/`retention`/);
      expect(() => make({ retentionMs: -1 })).toThrow(/`retentionMs`/);
    }
    for (const make of stores.slice(1)) {
      expect(() => make({ claimLease: '45s', poll: '250ms' })).not.toThrow();
      expect(() => make({ poll: '1s', pollMs: 1000 })).toThrow(invalidConfig);
      expect(() => make({ claimLease: 'soon' })).toThrow(/`claimLease`/);
    }
    for (const make of stores.slice(1)) expect(() => make({ commandTimeout: '1s', commandTimeoutMs: 1000 })).toThrow(invalidConfig);
    expect(() => stores[2]!({ maintenance: '1m', commandTimeout: '750ms' })).not.toThrow();
    expect(() => stores[2]!({ maintenance: '1m', maintenanceMs: 60_000 })).toThrow(invalidConfig);
  });

  it.skipIf(noPostgres)('a PostgreSQL store polls as often as `poll` says, whichever name gives it', async () => {
    const clock = new SimulatedClock(T0);
    const schema = uniqueSchema('durations');
    const admin = new pg.Pool({ connectionString: PG_URL, max: 1 });
    try {
      for (const options of [{ poll: '2s' }, { pollMs: 2000 }]) {
        const store = postgresStore({ connectionString: PG_URL, schema, clock, poolSize: 1, ...options });
        await store.migrate();
        // No timer stored: nextDueAt() answers the polling hint, a poll from now.
        expect(await store.nextDueAt()).toBe(T0 + 2000);
        await store.dispose();
      }
    } finally {
      await dropSchema(admin, schema);
      await admin.end();
    }
  });
});
