/**
 * A cascade stored by the previous release reads back in this release's shape: `Cascade.deliveredBy` is now
 * `deliveredStep` (docs/CHANGELOG.md, "Renamed"). The stored encodings are written here by hand in the old
 * shape (the JSON a 0.1.0 store wrote), not by the code under test, and read by a store that never held them.
 */
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planCascade, startCascade, transition, type Cascade, type ChannelConfig, type Message, type Recipient } from 'cascade-router';
import { postgresStore } from 'cascade-router/postgres';
import { redisStore } from 'cascade-router/redis';
import { readStoredCascade } from '../src/core/stored.js';
import { dropSchema, PG_URL, requirePostgres, uniqueSchema } from './postgres/helpers.js';
import { dropPrefix, REDIS_URL, requireRedis, uniquePrefix } from './redis/helpers.js';

const T0 = Date.UTC(2026, 0, 8, 10, 0);
const send = async (): Promise<string> => 'unused';
const CHANNELS = {
  push: { kind: 'push', send, confirm: { timeout: '2m' } },
  sms: { kind: 'sms', send, cost: '0.05', confirm: { timeout: '2m' } },
} satisfies Record<string, ChannelConfig>;
const RECIPIENT: Recipient = { id: 'r1', addresses: { push: 'token', sms: '+14155550100' } };

/** A cascade whose second step (the SMS) delivered: `deliveredStep` 1, a value the default (undefined, 0) is not. */
function deliveredOnSms(key: string): Cascade {
  const message: Message = { key, category: 'transactional', content: { text: 'Hi' } };
  const plan = planCascade({ channels: CHANNELS, message, recipient: RECIPIENT, now: T0 });
  let c = startCascade({ id: key, key, message, recipient: RECIPIENT, plan, now: T0 }).cascade;
  const inputs = [
    { type: 'sent', now: T0 + 1, step: 0, providerMessageId: `push-${key}` },
    { type: 'tick', now: T0 + 2 * 60_000 },
    { type: 'sent', now: T0 + 2 * 60_000 + 1, step: 1, providerMessageId: `sms-${key}` },
    { type: 'receipt', now: T0 + 2 * 60_000 + 2, step: 1, status: 'delivered' },
  ] as const;
  for (const input of inputs) c = transition(c, input).cascade;
  expect([c.status, c.deliveredStep]).toEqual(['delivered', 1]);
  return c;
}

/** The stored JSON `text` as the previous release wrote it: the field under its old name. */
function asPreviousRelease(text: string): string {
  const old = text.replace('"deliveredStep":', '"deliveredBy":').replaceAll('"phase":', '"state":');
  expect(old).toContain('"deliveredBy":1');
  expect(old).toContain('"state":"ended"');
  return old;
}

describe('a cascade stored under the previous release names', () => {
  it('reads deliveredBy as deliveredStep and keeps no deliveredBy', () => {
    const part = readStoredCascade(JSON.parse('{"status":"delivered","deliveredBy":1,"version":5}') as Partial<Cascade>);
    expect(part).toEqual({ status: 'delivered', deliveredStep: 1, version: 5 });
    expect(Object.hasOwn(part, 'deliveredBy')).toBe(false);
  });

  it("reads an attempt's state as its phase and keeps no state", () => {
    const part = readStoredCascade(JSON.parse('{"attempts":[{"step":0,"state":"ended"},{"step":1,"state":"waiting"}]}') as Partial<Cascade>);
    expect(part).toEqual({ attempts: [{ step: 0, phase: 'ended' }, { step: 1, phase: 'waiting' }] });
  });

  it('leaves a cascade in the current shape as it is (and one that delivered nothing)', () => {
    expect(readStoredCascade({ deliveredStep: 0, version: 2 })).toEqual({ deliveredStep: 0, version: 2 });
    expect(readStoredCascade({ version: 2 })).toEqual({ version: 2 });
  });
});

const noRedis = await requireRedis('test/stored-cascade.test.ts');
describe.skipIf(noRedis)('redisStore reads a cascade the previous release stored', () => {
  let admin: Redis;
  const prefix = uniquePrefix('stored');
  beforeAll(() => {
    admin = new Redis(REDIS_URL);
  });
  afterAll(async () => {
    await dropPrefix(admin, prefix);
    await admin.quit();
  });

  it('with deliveredStep from its deliveredBy, each attempt\'s phase from its state', async () => {
    const writer = redisStore({ url: REDIS_URL, prefix, pollMs: 0 });
    const c = deliveredOnSms('old-redis');
    await writer.create(c);
    await writer.dispose();
    const key = `${prefix}c:{${c.id}}`;
    await admin.hset(key, 'm', asPreviousRelease((await admin.hget(key, 'm'))!));

    const reader = redisStore({ url: REDIS_URL, prefix, pollMs: 0 });
    try {
      const read = (await reader.get(c.id))!;
      expect([read.status, read.deliveredStep, read.spendMicros, read.version]).toEqual(['delivered', 1, c.spendMicros, c.version]);
      expect(Object.hasOwn(read, 'deliveredBy')).toBe(false);
      expect(read.attempts.map((a) => [a.phase, Object.hasOwn(a, 'state')])).toEqual(c.attempts.map(() => ['ended', false]));
    } finally {
      await reader.dispose();
    }
  });
});

const noPostgres = await requirePostgres('test/stored-cascade.test.ts');
describe.skipIf(noPostgres)('postgresStore reads a cascade the previous release stored', () => {
  let admin: pg.Pool;
  const schema = uniqueSchema('stored');
  beforeAll(() => {
    admin = new pg.Pool({ connectionString: PG_URL, max: 1 });
  });
  afterAll(async () => {
    await dropSchema(admin, schema);
    await admin.end();
  });

  it('with deliveredStep from its deliveredBy, each attempt\'s phase from its state', async () => {
    const writer = postgresStore({ connectionString: PG_URL, schema, pollMs: 0, poolSize: 2 });
    await writer.migrate();
    const c = deliveredOnSms('old-postgres');
    await writer.create(c);
    await writer.dispose();
    const { rows } = await admin.query<{ state: string }>(`SELECT state FROM ${schema}.cascades WHERE id = $1`, [c.id]);
    await admin.query(`UPDATE ${schema}.cascades SET state = $2 WHERE id = $1`, [c.id, asPreviousRelease(rows[0]!.state)]);

    const reader = postgresStore({ connectionString: PG_URL, schema, pollMs: 0, poolSize: 2 });
    try {
      const read = (await reader.get(c.id))!;
      expect([read.status, read.deliveredStep, read.spendMicros, read.version]).toEqual(['delivered', 1, c.spendMicros, c.version]);
      expect(Object.hasOwn(read, 'deliveredBy')).toBe(false);
      expect(read.attempts.map((a) => [a.phase, Object.hasOwn(a, 'state')])).toEqual(c.attempts.map(() => ['ended', false]));
    } finally {
      await reader.dispose();
    }
  });
});
