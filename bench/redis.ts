/**
 * Redis store throughput and memory: `npm run bench:redis` (add `-- --json` for one JSON object).
 * Needs a redis-server at REDIS_URL (default redis://127.0.0.1:6379); uses its own key prefix and drops it.
 *
 * A cascade here is the shortest real one: create, send, one delivered receipt (three state changes).
 * Two instances are two routers in this one process, each with its own connection (the client side
 * shares one core; the server is the same). Round trips are the commands the routers' connections send
 * per cascade: each waits for the answer before it, so each is one round trip (commands of different
 * cascades do share socket writes).
 *
 * Three workloads. The headline (`async`): the push adapter answers a later turn of the event loop
 * (`setImmediate`), as a real provider's HTTP call does, and the delivered receipt comes a turn after the
 * router recorded that answer (its `sent` event), as a provider's callback follows its acceptance. `earlyReceipts`:
 * the same adapter, but each receipt comes as soon as send() resolved, before the provider answered, so
 * every one is held until the commit that records the id (the worst case). `instantProvider`: the adapter
 * answers at once, so the send is recorded in the same tick as the create that started it.
 *
 * Throughput depends on what else the machine runs; CPU time per cascade much less. So one instance also
 * reports the CPU time this process (the client) and the Redis server spent per cascade (`INFO cpu`, which
 * counts whatever else that server does meanwhile): the cores a given rate needs.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type * as Library from 'cascade-router';
import type * as RedisEntry from 'cascade-router/redis';

/** `--dist <dir>`: another build to measure (an earlier commit's, for before/after on one machine). */
const distAt = process.argv.indexOf('--dist');
const dist = (file: string): string =>
  distAt === -1 ? new URL(`../dist/${file}`, import.meta.url).href : new URL(`file://${process.argv[distAt + 1]!.replace(/\/$/, '')}/${file}`).href;
const { createRouter } = (await import(dist('index.js'))) as typeof Library;
const { redisStore } = (await import(dist('redis.js'))) as typeof RedisEntry;

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

type Workload = 'async' | 'earlyReceipts' | 'instantProvider';
const answerLater: Library.SendFunction = ({ cascadeId }) => new Promise((resolve) => setImmediate(() => resolve(`p:${cascadeId}`)));
const sendPush: Record<Workload, Library.SendFunction> = {
  async: answerLater,
  earlyReceipts: answerLater,
  instantProvider: async ({ cascadeId }) => `p:${cascadeId}`,
};

/** A router on its own connection; every command it sends is one round trip (none are pipelined). */
function makeRouter(keyPrefix: string, workload: Workload): { router: Library.Router; store: Library.CascadeStore } {
  const client = new Redis(url, { enableOfflineQueue: true });
  const sendCommand = client.sendCommand.bind(client);
  client.sendCommand = (...args) => (roundTrips++, sendCommand(...args));
  const store = redisStore({ client, prefix: keyPrefix, pollMs: 0 });
  const dispose = store.dispose.bind(store);
  store.dispose = async () => (await dispose(), void (await client.quit()));
  const router = createRouter({
    store,
    channels: { push: { kind: 'push', send: sendPush[workload], confirm: { timeout: '10m' } } },
  });
  return { router, store };
}

interface Run {
  readonly cascadesPerSecond: number;
  /** CPU time of this process and of the Redis server per cascade, in microseconds. */
  readonly clientCpuUs: number;
  readonly redisCpuUs: number;
}

async function redisCpuSeconds(): Promise<number> {
  const info = await admin.info('cpu');
  return Number(/used_cpu_sys:([\d.]+)/.exec(info)![1]) + Number(/used_cpu_user:([\d.]+)/.exec(info)![1]);
}

/** Runs `CASCADES` cascades to delivered over the routers, IN_FLIGHT at a time. */
async function throughput(instances: number, run: number, workload: Workload): Promise<Run> {
  const keyPrefix = `${prefix}${instances}-${workload}-${run}:`;
  const routers = Array.from({ length: instances }, () => makeRouter(keyPrefix, workload));
  // Sends the router has recorded, and workers waiting for theirs (workload `async`).
  const sent = new Set<string>();
  const waiting = new Map<string, () => void>();
  if (workload === 'async') {
    for (const { router } of routers) {
      router.on('sent', ({ cascadeId }) => {
        sent.add(cascadeId);
        waiting.get(cascadeId)?.();
      });
    }
  }
  const recorded = (key: string): Promise<void> | undefined =>
    sent.has(key) ? undefined : new Promise<void>((resolve) => waiting.set(key, resolve));
  let next = 0;
  const worker = async (w: number): Promise<void> => {
    const { router } = routers[w % instances]!;
    while (next < CASCADES) {
      const key = `c${next++}`;
      await router.send(message(key), recipient);
      // The provider's callback: a turn of the loop after the router recorded its answer, never in that tick.
      if (workload === 'async') await recorded(key), await new Promise((resolve) => setImmediate(resolve));
      // The receipt arrives at whichever instance: here the next one. If it beats send()'s id it is
      // held, and the commit that records the id applies it.
      await routers[(w + 1) % instances]!.router.handleReceipt({ providerMessageId: `p:${key}`, status: 'delivered' });
    }
  };
  let delivered = 0;
  let allDelivered = (): void => {};
  const done = new Promise<void>((resolve) => (allDelivered = resolve));
  for (const { router } of routers) router.on('delivered', () => ++delivered === CASCADES && allDelivered());
  const redisBefore = await redisCpuSeconds();
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  await Promise.all(Array.from({ length: IN_FLIGHT }, (_, w) => worker(w)));
  await done;
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const redisCpu = (await redisCpuSeconds()) - redisBefore;
  for (const { router, store } of routers) await router.close(), await store.dispose();
  return { cascadesPerSecond: CASCADES / seconds, clientCpuUs: (cpu.user + cpu.system) / CASCADES, redisCpuUs: (redisCpu * 1e6) / CASCADES };
}

async function usedMemory(): Promise<number> {
  const info = await admin.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)![1]);
}

const median = (values: number[]): number => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** Commands the routers' connections sent per cascade, for a fixed batch of cascades. */
async function roundTripsPerCascade(workload: Workload): Promise<number> {
  roundTrips = 0;
  await throughput(1, 99, workload);
  return Math.round((roundTrips / CASCADES) * 100) / 100;
}

try {
  const workloads = ['async', 'earlyReceipts', 'instantProvider'] as const;
  const runs = { one: { async: [] as Run[], earlyReceipts: [] as Run[], instantProvider: [] as Run[] }, two: { async: [] as Run[], instantProvider: [] as Run[] } };
  for (let run = 0; run < RUNS; run++) {
    for (const workload of workloads) {
      runs.one[workload].push(await throughput(1, run, workload));
      if (workload !== 'earlyReceipts') runs.two[workload].push(await throughput(2, run, workload));
    }
  }
  const roundTrips = { async: 0, earlyReceipts: 0, instantProvider: 0 };
  for (const workload of workloads) roundTrips[workload] = await roundTripsPerCascade(workload);

  // Memory per open cascade: cascades created and sent, waiting for a receipt.
  const openCount = 5000;
  const { router, store } = makeRouter(`${prefix}open:`, 'instantProvider');
  const memoryBefore = await usedMemory();
  for (let i = 0; i < openCount; i += 100) {
    await Promise.all(Array.from({ length: 100 }, (_, j) => router.send(message(`o${i + j}`), recipient)));
  }
  await router.settled();
  const redisBytesPerOpenCascade = Math.round((await usedMemory()) - memoryBefore) / openCount;
  await router.close();
  await store.dispose();

  const rate = (values: Run[]): number => Math.round(median(values.map((r) => r.cascadesPerSecond)));
  const cpu = (values: Run[]) => ({
    clientCpuUsPerCascade: Math.round(median(values.map((r) => r.clientCpuUs))),
    redisCpuUsPerCascade: Math.round(median(values.map((r) => r.redisCpuUs))),
  });
  const one = (workload: Workload) => ({ cascadesPerSecond: rate(runs.one[workload]), ...cpu(runs.one[workload]), roundTripsPerCascade: roundTrips[workload] });
  const result = {
    oneInstance: { ...one('async'), earlyReceipts: one('earlyReceipts'), instantProvider: one('instantProvider') },
    twoInstances: { cascadesPerSecond: rate(runs.two.async), instantProvider: { cascadesPerSecond: rate(runs.two.instantProvider) } },
    roundTripsPerCascade: roundTrips.async,
    /** Each cascade here is three state changes (create, send recorded, delivered). */
    roundTripsPerStateChange: Math.round((roundTrips.async / 3) * 100) / 100,
    redisBytesPerOpenCascade: Math.round(redisBytesPerOpenCascade),
  };
  if (json) console.log(JSON.stringify(result));
  else {
    log(`Redis store, ${CASCADES} cascades (create, send, delivered receipt), ${IN_FLIGHT} in flight, median of ${RUNS} runs`);
    const { oneInstance: o, twoInstances: t } = result;
    log(`  provider answers a later turn | same, receipts before it answers | provider answers at once`);
    log(`  one instance:   ${o.cascadesPerSecond} | ${o.earlyReceipts.cascadesPerSecond} | ${o.instantProvider.cascadesPerSecond} cascades/s`);
    log(`    client CPU:   ${o.clientCpuUsPerCascade} | ${o.earlyReceipts.clientCpuUsPerCascade} | ${o.instantProvider.clientCpuUsPerCascade} µs per cascade`);
    log(`    Redis CPU:    ${o.redisCpuUsPerCascade} | ${o.earlyReceipts.redisCpuUsPerCascade} | ${o.instantProvider.redisCpuUsPerCascade} µs per cascade`);
    log(`    round trips:  ${o.roundTripsPerCascade} | ${o.earlyReceipts.roundTripsPerCascade} | ${o.instantProvider.roundTripsPerCascade} per cascade (3 state changes: ${result.roundTripsPerStateChange} per change, target ≤ 1.33)`);
    log(`  CPU per cascade, provider answering a later turn: client ${o.clientCpuUsPerCascade} µs (target ≤ 50) + Redis ${o.redisCpuUsPerCascade} µs (target ≤ 35)`);
    log(`  two instances:  ${t.cascadesPerSecond} | - | ${t.instantProvider.cascadesPerSecond} cascades/s`);
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
