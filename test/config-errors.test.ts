// Configuration mistakes are INVALID_CONFIG wherever docs/errors.md says so, at the moment the thing is made.
import { describe, expect, it } from 'vitest';
import { byPrefix, createRouter, memoryStore, smsPerSegment } from 'cascade-router';
import { redisStore } from 'cascade-router/redis';

const send = async () => 'id';
const invalidConfig = expect.objectContaining({ code: 'INVALID_CONFIG' });

describe('INVALID_CONFIG where the docs promise it', () => {
  it('the router: a duration like "2 min", an amount finer than a millionth, a learning half-life that is not a duration', () => {
    expect(() => createRouter({ channels: { sms: { kind: 'sms', send, confirm: { timeout: '2 min' } } } })).toThrow(invalidConfig);
    expect(() => createRouter({ channels: { sms: { kind: 'sms', send, cost: 1e-8 } } })).toThrow(invalidConfig);
    expect(() => createRouter({ channels: { sms: { kind: 'sms', send } }, learning: { halfLife: '2 weeks' } })).toThrow(invalidConfig);
  });

  it('cost models, when they are made: a bad per-segment price or price table', () => {
    expect(() => smsPerSegment('abc')).toThrow(invalidConfig);
    expect(() => smsPerSegment({ default: '0.05', prefixes: { '+380': 'x' } })).toThrow(invalidConfig);
    expect(() => byPrefix({ default: -1 })).toThrow(invalidConfig);
  });

  it('stores: bad durations and counts, both names of one option, a missing ioredis named when the store is made', () => {
    expect(() => memoryStore({ retention: '1 day' })).toThrow(invalidConfig);
    expect(() => memoryStore({ maxHeldPerId: 0 })).toThrow(invalidConfig);
    expect(() => redisStore({ url: 'redis://127.0.0.1:1', retention: '1d', retentionMs: 5 })).toThrow(invalidConfig);
    expect(() => redisStore({ url: 'redis://127.0.0.1:1', commandTimeout: 'soon' })).toThrow(invalidConfig);
    expect(() => redisStore({ url: 'redis://127.0.0.1:1', claimLease: 0 })).toThrow(invalidConfig);
  });

  it('store durations take the router\'s forms: "30s" is the same as 30000 ms', async () => {
    // A finished cascade kept for retention '1s' is gone after 1000 ms of store time, and not at 999.
    const store = memoryStore({ retention: '1s' });
    // A clock that moves only when told, with timers that never fire: the store's retention alone decides.
    let t = 0;
    const router = createRouter({ channels: { sms: { kind: 'sms', send, confirm: { by: 'acceptance' } } }, store, clock: { now: () => t, setTimer: (at) => ({ at }), clearTimer: () => {} } });
    await router.send({ key: 'a', category: 'transactional', content: { text: 'x' } }, { id: 'r', addresses: { sms: '+380501234567' } });
    await router.settled();
    expect((await router.get('a'))?.status).toBe('delivered');
    const endedAt = (await router.get('a'))!.endedAt!;
    t = endedAt + 999;
    await router.send({ key: 'b', category: 'transactional', content: { text: 'x' } }, { id: 'r', addresses: { sms: '+380501234567' } });
    await router.settled();
    expect(await router.get('a')).toBeDefined();
    t = endedAt + 1000;
    await router.send({ key: 'c', category: 'transactional', content: { text: 'x' } }, { id: 'r', addresses: { sms: '+380501234567' } });
    await router.settled();
    expect(await router.get('a')).toBeUndefined();
    await router.close();
    await store.dispose();
  });
});
