/**
 * Two routers on one Redis (a store instance each, as two processes) share provider health, rate limits and
 * frequency caps (issue #15): the cases are in test/support/two-routers-sharing.ts.
 */
import { Redis } from 'ioredis';
import { afterAll } from 'vitest';
import { redisStore } from 'cascade-router/redis';
import { dropPrefix, REDIS_URL, requireRedis, uniquePrefix } from './redis/helpers.js';
import { twoRoutersSharing } from './support/two-routers-sharing.js';

const skip = await requireRedis('test/providers.redis.test.ts');
let admin: Redis | undefined;
afterAll(async () => {
  await admin?.quit();
});

twoRoutersSharing('two routers on one Redis', skip, () => ({
  space: async () => uniquePrefix('providers'),
  store: (prefix, clock) => redisStore({ url: REDIS_URL, prefix, pollMs: 1000, clock }),
  async drop(prefixes) {
    admin ??= new Redis(REDIS_URL);
    for (const prefix of prefixes) await dropPrefix(admin, prefix);
  },
}));
