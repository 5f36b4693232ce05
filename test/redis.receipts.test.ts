/** Receipts on the Redis store committed against the copy a router holds: the cases of test/support/receipt-copies.ts. */
import { afterAll, beforeAll, describe } from 'vitest';
import { Redis } from 'ioredis';
import { createRouter } from 'cascade-router';
import { redisStore } from 'cascade-router/redis';
import { dropPrefix, REDIS_URL, requireRedis, uniquePrefix } from './redis/helpers.js';
import { channels, receiptCopyCases } from './support/receipt-copies.js';

const skip = await requireRedis('test/redis.receipts.test.ts');

describe.skipIf(skip)('Redis store: receipts for cascades this router sent', () => {
  let admin: Redis;
  const prefixes: string[] = [];

  beforeAll(() => {
    admin = new Redis(REDIS_URL);
  });
  afterAll(async () => {
    for (const prefix of prefixes) await dropPrefix(admin, prefix);
    await admin.quit();
  });

  receiptCopyCases(
    {
      async space(label) {
        const prefix = uniquePrefix(label);
        prefixes.push(prefix);
        return prefix;
      },
      router(prefix, clock, cacheSize) {
        const client = new Redis(REDIS_URL);
        const sent: string[] = [];
        const sendCommand = client.sendCommand.bind(client);
        client.sendCommand = (command, ...rest) => (sent.push(command.name), sendCommand(command, ...rest));
        const router = createRouter({ store: redisStore({ client, prefix, clock, poll: 0, ...(cacheSize === undefined ? {} : { cacheSize }) }), clock, channels });
        return { router, calls: () => sent.splice(0), close: async () => (await router.close(), client.disconnect()) };
      },
    },
    // Routed: route, read, commit.
    { withCopy: ['evalsha'], routed: ['evalsha', 'evalsha', 'evalsha'] },
  );
});
