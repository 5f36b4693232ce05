/**
 * Redis store throughput and memory: `npm run bench:redis` (add `-- --json` for one JSON object).
 * Needs a redis-server at REDIS_URL (default redis://127.0.0.1:6379); uses its own key prefix and drops it.
 *
 * A cascade here is the shortest real one: create, send, one delivered receipt (three state changes).
 * Two instances are two routers in this one process, each with its own connection (the client side
 * shares one core; the server is the same). Round trips are the commands the routers' connections send
 * per cascade: each waits for the answer before it, so each is one round trip (commands of different
 * cascades do share socket writes). The push adapter here answers
 * at once, so the send is recorded in the tick of the create that started it, without a read: a real
 * provider adds one small read per cascade (see docs/stores.md).
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type * as Library from 'cascade-router';
import type * as RedisEntry from 'cascade-router/redis';

const { createRouter } = (await import(new URL('../dist/index.js', import.meta.url).href)) as typeof Library;
const { redisStore } = (await import(new URL('../dist/redis.js', import.meta.url).href)) as typeof RedisEntry;

const json = process.argv.includes('--json');
const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const CASCADES = Number(process.env.CASCADES ?? 4000);
const IN_FLIGHT = 200;
const RUNS = 3;
const admin = new Redis(url);
const prefix = `cr-bench:${randomUUID().slice(0, 8)}:`;
const log = (line: string): void => void (json || console.log(line));

const recipient = { id: 'r', addresses: { push: 'token' } };
const message = (key: string) => ({ key, category: 'transactional', content: { text: 'Hi' } });

let roundTrips = 0;

/** A router on its own connection; every command it sends is one round trip (none are pipelined). */
function makeRouter(keyPrefix: string): { router: Library.Router; store: Library.CascadeStore } {
  const client = new Redis(url, { enableOfflineQueue: true });
  const sendCommand = client.sendCommand.bind(client);
  client.sendCommand = (...args) => (roundTrips++, sendCommand(...args));
  const store = redisStore({ client, prefix: keyPrefix, pollMs: 0 });
  const dispose = store.dispose.bind(store);
  store.dispose = async () => (await dispose(), void (await client.quit()));
  const router = createRouter({
    store,
    channels: { push: { kind: 'push', send: async ({ cascadeId }) => `p:${cascadeId}`, confirm: { timeout: '10m' } } },
  });
  return { router, store };
}

/** Runs `CASCADES` cascades to delivered over the routers, IN_FLIGHT at a time; cascades per second. */
async function throughput(instances: number, run: number): Promise<number> {
  const keyPrefix = `${prefix}${instances}-${run}:`;
  const routers = Array.from({ length: instances }, () => makeRouter(keyPrefix));
  let next = 0;
  const worker = async (w: number): Promise<void> => {
    const { router } = routers[w % instances]!;
    while (next < CASCADES) {
      const key = `c${next++}`;
      await router.send(message(key), recipient);
      // The receipt arrives at whichever instance: here the next one. If it beats send()'s id it is
      // held, and the commit that records the id applies it.
      await routers[(w + 1) % instances]!.router.handleReceipt({ providerMessageId: `p:${key}`, status: 'delivered' });
    }
  };
  let delivered = 0;
  let allDelivered = (): void => {};
  const done = new Promise<void>((resolve) => (allDelivered = resolve));
  for (const { router } of routers) router.on('delivered', () => ++delivered === CASCADES && allDelivered());
  const started = performance.now();
  await Promise.all(Array.from({ length: IN_FLIGHT }, (_, w) => worker(w)));
  await done;
  const seconds = (performance.now() - started) / 1000;
  for (const { router, store } of routers) await router.close(), await store.dispose();
  return CASCADES / seconds;
}

async function usedMemory(): Promise<number> {
  const info = await admin.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)![1]);
}

const median = (values: number[]): number => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

try {
  const one: number[] = [];
  const two: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    one.push(await throughput(1, run));
    two.push(await throughput(2, run));
  }

  // Round trips: commands the routers' connections sent for a fixed batch of cascades.
  roundTrips = 0;
  await throughput(1, 99);
  const roundTripsPerCascade = roundTrips / CASCADES;

  // Memory per open cascade: cascades created and sent, waiting for a receipt.
  const openCount = 5000;
  const { router, store } = makeRouter(`${prefix}open:`);
  const memoryBefore = await usedMemory();
  for (let i = 0; i < openCount; i += 100) {
    await Promise.all(Array.from({ length: 100 }, (_, j) => router.send(message(`o${i + j}`), recipient)));
  }
  await router.settled();
  const redisBytesPerOpenCascade = Math.round((await usedMemory()) - memoryBefore) / openCount;
  await router.close();
  await store.dispose();

  const result = {
    oneInstance: { cascadesPerSecond: Math.round(median(one)) },
    twoInstances: { cascadesPerSecond: Math.round(median(two)) },
    roundTripsPerCascade: Math.round(roundTripsPerCascade * 100) / 100,
    redisBytesPerOpenCascade: Math.round(redisBytesPerOpenCascade),
  };
  if (json) console.log(JSON.stringify(result));
  else {
    log(`Redis store, ${CASCADES} cascades (create, send, delivered receipt), ${IN_FLIGHT} in flight, median of ${RUNS} runs`);
    log(`  one instance:   ${result.oneInstance.cascadesPerSecond} cascades/s`);
    log(`  two instances:  ${result.twoInstances.cascadesPerSecond} cascades/s`);
    log(`  round trips:    ${result.roundTripsPerCascade} per cascade (3 state changes)`);
    log(`  Redis memory:   ${result.redisBytesPerOpenCascade} bytes per open cascade`);
  }
} finally {
  let cursor = '0';
  do {
    const [nextCursor, keys] = await admin.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = nextCursor;
    if (keys.length > 0) await admin.del(...keys);
  } while (cursor !== '0');
  await admin.quit();
}
