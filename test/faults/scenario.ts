/**
 * Runs one fault scenario: starts routers on a store the suite owns (Redis or PostgreSQL, see `Backend`), sends a stream of messages through
 * random routers (a refused send is tried again, as a caller would), lets the provider simulator post
 * receipts to random routers, injects the fault, waits (bounded) until every accepted message has ended
 * and every receipt was accepted, then audits what the customer received.
 */
import { Cluster, Redis } from 'ioredis';
import type { Cascade, CascadeStore } from 'cascade-router';
import { postgresStore } from 'cascade-router/postgres';
import { redisStore } from 'cascade-router/redis';
import { waitFor } from '../redis/helpers.js';
import { audit, type Audit, type Refusal } from './audit.js';
import { prng, ProviderSimulator, RouterProcess, type RouterEventLine } from './harness.js';

export interface ScenarioOptions {
  readonly name: string;
  readonly seed: number;
  /** Where the routers keep their cascades. */
  readonly backend: Backend;
  readonly routers: number;
  readonly env: Readonly<Record<string, string>>;
  /** How long messages keep coming, and how many a second. */
  readonly loadMs: number;
  readonly perSecond: number;
  /** The fault, started with the load; it gets the live routers and a way to replace one. */
  readonly fault: (run: ScenarioRun) => Promise<void>;
  /** Longest wait for every message to end after the load (default 90 s). */
  readonly drainMs?: number;
}

/** A store the routers share: the environment a router process opens it from, and how the suite reads it back. */
export interface Backend {
  readonly env: Readonly<Record<string, string>>;
  /** A store on the same data for the audit (opened after the load), and what closes it. */
  reader(): { readonly store: CascadeStore; close(): Promise<void> };
}

/** Redis: a single server's URL, or a cluster's seeds (`host:port,...`), under `prefix`. */
export function redisBackend(redis: { readonly url: string } | { readonly cluster: string }, prefix: string): Backend {
  return {
    env: { ...('url' in redis ? { REDIS_URL: redis.url } : { REDIS_CLUSTER: redis.cluster }), PREFIX: prefix },
    reader() {
      // Bounded: a read that cannot be answered fails after five seconds and is tried again, never hangs the suite.
      const redisOptions = { commandTimeout: 5000, connectTimeout: 5000, maxRetriesPerRequest: 2 };
      const client =
        'url' in redis
          ? new Redis(redis.url, redisOptions)
          : new Cluster(redis.cluster.split(',').map((seed) => ({ host: '127.0.0.1', port: Number(seed.split(':')[1]) })), { redisOptions, slotsRefreshTimeout: 5000, slotsRefreshInterval: 1000 });
      client.on('error', () => {});
      const store = redisStore({ client, prefix, pollMs: 0, cacheSize: 0 });
      return { store, close: async () => (await store.dispose(), client.disconnect()) };
    },
  };
}

/** PostgreSQL at `url`, in `schema` (migrated before the routers start); router connections named `appName`. */
export function postgresBackend(url: string, schema: string, appName: string): Backend {
  return {
    env: { PG_URL: url, PG_SCHEMA: schema, APP_NAME: appName },
    reader() {
      const store = postgresStore({ connectionString: url, schema, pollMs: 0, cacheSize: 0, listen: false, poolSize: 2, commandTimeoutMs: 10_000 });
      return { store, close: () => store.dispose() };
    },
  };
}

export interface ScenarioRun {
  readonly routers: RouterProcess[];
  readonly random: () => number;
  /** Kills `router` with SIGKILL and starts a new one in its place. */
  replace(router: RouterProcess): Promise<void>;
  /** True until the load stops. */
  loading(): boolean;
}

export async function runScenario(options: ScenarioOptions): Promise<Audit> {
  const random = prng(options.seed);
  const events: RouterEventLine[] = [];
  const routers: RouterProcess[] = [];
  const everyRouter: RouterProcess[] = [];
  const provider = new ProviderSimulator(options.seed + 1, () => routers);
  await provider.start();
  let started = 0;
  const start = async (): Promise<RouterProcess> => {
    const router = new RouterProcess(`${options.name}-r${started++}`, { ...options.backend.env, ...options.env, PROVIDER_URL: provider.url }, events);
    everyRouter.push(router);
    await router.ready;
    routers.push(router);
    return router;
  };
  const killed = new Map<string, number>();
  const accepted = new Set<string>();
  const refusals: Refusal[] = [];
  let loading = true;
  const run: ScenarioRun = {
    routers,
    random,
    loading: () => loading,
    async replace(router) {
      routers.splice(routers.indexOf(router), 1);
      await router.kill();
      killed.set(router.name, router.killedAt!);
      await start();
    },
  };
  try {
    await Promise.all(Array.from({ length: options.routers }, start));
    const sends: Promise<void>[] = [];
    const unaccepted: string[] = [];
    let giveUpAt = Infinity; // set when the load and the fault are over: a minute more for the store to come back
    const sendUntilAccepted = async (key: string): Promise<void> => {
      for (;;) {
        if (Date.now() > giveUpAt) return void unaccepted.push(key);
        const live = routers.filter((r) => r.alive);
        const router = live[Math.floor(random() * live.length)];
        const at = Date.now();
        try {
          const reply = router ? await router.request('send', { key }) : undefined;
          if (reply?.ok) return void accepted.add(key);
          if (reply) refusals.push({ op: 'send', code: reply.error?.code, ms: reply.ms });
        } catch {
          refusals.push({ op: 'send', code: undefined, ms: Date.now() - at });
        }
        await new Promise((resolve) => setTimeout(resolve, 300)); // a caller's backoff before trying again
      }
    };
    const fault = options.fault(run);
    const until = Date.now() + options.loadMs;
    for (let i = 0; Date.now() < until; i++) {
      sends.push(sendUntilAccepted(`${options.name}-m${i}`));
      await new Promise((resolve) => setTimeout(resolve, 1000 / options.perSecond)); // the pace of the load
    }
    loading = false;
    await fault;
    giveUpAt = Date.now() + 60_000;
    await Promise.all(sends);

    const { store, close } = options.backend.reader();
    const cascades = new Map<string, Cascade | undefined>();
    try {
      const ended = (c: Cascade | undefined): boolean => c !== undefined && ['delivered', 'exhausted', 'cancelled', 'expired'].includes(c.status);
      await waitFor(
        'every accepted message to end and every receipt to be accepted',
        async () => {
          for (const key of accepted) if (!ended(cascades.get(key))) cascades.set(key, await Promise.resolve().then(() => store.get(key)).catch(() => undefined));
          return [...accepted].every((key) => ended(cascades.get(key))) && provider.pending === 0;
        },
        options.drainMs ?? 90_000,
        250,
      ).catch((error: unknown) => void (error as Error));
      const read = async <T>(what: string, query: () => Promise<T>): Promise<T> => {
        let value: T | undefined;
        const answered = async (): Promise<boolean> => query().then((v) => ((value = v), true), () => false);
        await waitFor(what, answered, 30_000, 250);
        return value as T;
      };
      for (const key of accepted) cascades.set(key, await read(`cascade ${key}`, async () => store.get(key)));
      const ledger = await read('the ledger', async () => store.ledger());
      return audit({ accepted, cascades, calls: provider.calls, receipts: provider.accepted, events, killed, ledgerSpendMicros: ledger.spendMicros, refusals, unaccepted });
    } finally {
      await close();
    }
  } finally {
    loading = false;
    await Promise.all(everyRouter.map((router) => router.close()));
    await provider.stop();
  }
}
