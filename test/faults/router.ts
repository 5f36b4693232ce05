/**
 * One router in its own process for the fault suite (test/faults.redis.test.ts, test/faults.postgres.test.ts),
 * on the store the environment names: Redis, a single server (`REDIS_URL`) or a Cluster (`REDIS_CLUSTER`,
 * comma-separated host:port seeds), or PostgreSQL (`PG_URL` and `PG_SCHEMA`; its connections are named
 * `APP_NAME` so a test can kill them). Its adapters call the provider simulator over HTTP (`PROVIDER_URL`),
 * which logs every call outside the routers: what the customer receives survives whatever is killed here.
 *
 * stdin, one JSON request a line: `{ id, op: 'send', key }`, `{ id, op: 'receipt', receipt }`, `{ id, op: 'close' }`.
 * stdout, one JSON line each: `{ ready }`, replies `{ id, ok, result | error: { code, message } }`, and events
 * `{ event, cascadeId, step, at, ended }` (`ended`: the steps ended in the cascade as persisted).
 * env: INSTANCE, PREFIX, PROVIDER_URL, INSTANCE_TTL, COMMAND_TIMEOUT_MS, LEASE_MS, POLL_MS, TIMEOUT_MS (each step's).
 */
import { createInterface } from 'node:readline';
import { Cluster, Redis } from 'ioredis';
import { createRouter, SendError, type CascadeStore, type Receipt, type RouterEvents, type SendRequest } from 'cascade-router';
import { postgresStore } from 'cascade-router/postgres';
import { redisStore } from 'cascade-router/redis';

const instance = process.env.INSTANCE!;
const commandTimeout = Number(process.env.COMMAND_TIMEOUT_MS ?? 1000);
const providerUrl = process.env.PROVIDER_URL!;
const timeout = Number(process.env.TIMEOUT_MS ?? 4000);
const pollMs = Number(process.env.POLL_MS ?? 200);
const claimLeaseMs = Number(process.env.LEASE_MS ?? 2000);

/** The store, and what ends its connection on close. */
function openStore(): { store: CascadeStore; ready: () => boolean; disconnect: () => void } {
  if (process.env.PG_URL) {
    const store = postgresStore({
      connectionString: process.env.PG_URL,
      schema: process.env.PG_SCHEMA!,
      commandTimeoutMs: commandTimeout,
      poolSize: 6,
      poolOptions: { application_name: process.env.APP_NAME ?? 'cascade-router' },
      pollMs,
      claimLeaseMs,
    });
    let up = false;
    void Promise.resolve(store.nextDueAt()).then(() => (up = true), () => (up = true));
    return { store, ready: () => up, disconnect: () => {} };
  }
  const client = process.env.REDIS_CLUSTER
    ? new Cluster(
        process.env.REDIS_CLUSTER.split(',').map((seed) => ({ host: seed.split(':')[0]!, port: Number(seed.split(':')[1]) })),
        {
          enableOfflineQueue: false,
          clusterRetryStrategy: () => 100,
          redisOptions: { commandTimeout, connectTimeout: commandTimeout, maxRetriesPerRequest: 1 },
          slotsRefreshTimeout: commandTimeout,
          // Without it a client learns of a failover only from a MOVED answer (see docs/stores.md).
          slotsRefreshInterval: 1000,
        },
      )
    : new Redis(process.env.REDIS_URL!, { enableOfflineQueue: false, commandTimeout, connectTimeout: commandTimeout, maxRetriesPerRequest: 1, retryStrategy: () => 100 });
  client.on('error', () => {});
  // REPLICAS: writes wait for that many replicas (WAIT), so a failover keeps every write a router was answered.
  const replicas = Number(process.env.REPLICAS ?? 0);
  const store = redisStore({ client, prefix: process.env.PREFIX!, pollMs, claimLeaseMs, replicas, replicaTimeout: commandTimeout / 2 });
  return { store, ready: () => client.status === 'ready', disconnect: () => client.disconnect() };
}

const { store, ready, disconnect } = openStore();

async function send(request: SendRequest): Promise<string> {
  const response = await fetch(`${providerUrl}/send`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ router: instance, channel: request.channel, key: request.idempotencyKey, try: request.try, cascadeId: request.cascadeId, calledAt: Date.now() }),
  });
  const answer = (await response.json()) as { id?: string; error?: string; permanent?: boolean };
  if (answer.id === undefined) throw new SendError(answer.error ?? 'provider error', { permanent: answer.permanent === true });
  return answer.id;
}

const retry = { retries: 1, minDelay: '1500ms' };
const router = createRouter({
  store,
  instanceId: instance,
  instanceTtl: process.env.INSTANCE_TTL ?? '1s',
  channels: {
    push: { kind: 'push', cost: 0, send, retry, confirm: { timeout } },
    email: { kind: 'email', cost: '0.001', send, retry, confirm: { timeout } },
    sms: { kind: 'sms', cost: '0.05', send, retry, confirm: { timeout } },
  },
});

const write = (line: unknown): void => void process.stdout.write(`${JSON.stringify(line)}\n`);
for (const event of ['attempt', 'sent', 'fallback', 'delivered', 'late-receipt', 'exhausted', 'cancelled', 'expired', 'resumed'] as const) {
  router.on(event, ((e: Parameters<RouterEvents['attempt']>[0]) => {
    const ended = e.cascade.attempts.filter((a) => a.phase === 'ended').map((a) => a.step);
    write({ event, cascadeId: e.cascadeId, step: 'step' in e ? e.step : undefined, at: Date.now(), ended, status: e.cascade.status });
  }) as never);
}
router.on('error', ({ error, during, cascadeId }) => write({ event: 'error', during, cascadeId, code: (error as { code?: string }).code, message: error.message, at: Date.now() }));

type Request = { id: number; op: 'send'; key: string } | { id: number; op: 'receipt'; receipt: Receipt } | { id: number; op: 'close' };

const recipient = { id: 'customer', addresses: { push: 'device-token', email: 'c@example.com', sms: '+380671234567' } };
const handle = async (request: Request): Promise<unknown> => {
  switch (request.op) {
    case 'send': {
      const { cascadeId, created } = await router.send(
        { key: request.key, category: 'transactional', content: { text: 'Your order has shipped' }, channels: ['push', 'email', 'sms'], policy: { order: 'message' } },
        recipient,
      );
      return { cascadeId, created };
    }
    case 'receipt':
      return router.handleReceipt(request.receipt);
    case 'close':
      await router.close();
      await store.dispose();
      disconnect();
      setImmediate(() => process.exit(0));
      return 'closed';
  }
};

createInterface({ input: process.stdin }).on('line', (line) => {
  const request = JSON.parse(line) as Request;
  const started = Date.now();
  handle(request).then(
    (result) => write({ id: request.id, ok: true, result, ms: Date.now() - started, at: Date.now() }),
    (error: Error & { code?: string }) => write({ id: request.id, ok: false, error: { code: error.code, message: error.message }, ms: Date.now() - started }),
  );
});
// Ready once connected: the parent starts the load then.
const announce = (): void => (ready() ? write({ ready: instance }) : void setTimeout(announce, 20));
announce();
