/**
 * One router instance in its own process, on a Redis store: the child side of the multi-process tests.
 * Reads JSON requests from stdin, one a line (`{ id, op, ... }`), answers `{ id, ok, result | error }` on stdout.
 * Every send() is recorded in the Redis list `<prefix>test:sends` (with this instance's name and the wall
 * time it was called), and returns `<channel>:<idempotencyKey>` as the provider id, the way a provider that
 * deduplicates by idempotency key answers a re-send. A send request with `hold: true` makes the adapter wait
 * for a `release` request naming its cascade. Every `resumed` event is recorded in `<prefix>test:resumed`.
 *
 * Messages go over `channels` of the request (default push then sms), in that order.
 * env: REDIS_URL, PREFIX, INSTANCE (a name, also the router's instanceId), PUSH_TIMEOUT and SMS_TIMEOUT
 * (default 1m), SEND_DELAY_MS (default 0), POLL_MS, LEASE_MS, INSTANCE_TTL (default 30s)
 */
import { createInterface } from 'node:readline';
import { Redis } from 'ioredis';
import { createRouter, type Message, type Recipient, type SendRequest } from 'cascade-router';
import { redisStore } from 'cascade-router/redis';

const prefix = process.env.PREFIX!;
const instance = process.env.INSTANCE ?? String(process.pid);
const sendDelayMs = Number(process.env.SEND_DELAY_MS ?? 0);
const log = new Redis(process.env.REDIS_URL!);

/** Cascades whose next send waits for a `release` request, and the releases waiting for them. */
const holds = new Map<string, () => void>();

async function send(request: SendRequest): Promise<string> {
  const { channel, idempotencyKey, cascadeId } = request;
  await log.rpush(`${prefix}test:sends`, JSON.stringify({ instance, cascadeId, channel, idempotencyKey, at: Date.now() }));
  if (holds.has(cascadeId)) await new Promise<void>((resolve) => holds.set(cascadeId, resolve));
  if (sendDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, Math.random() * sendDelayMs));
  return `${channel}:${idempotencyKey}`;
}

const store = redisStore({
  url: process.env.REDIS_URL!,
  prefix,
  pollMs: Number(process.env.POLL_MS ?? 100),
  claimLeaseMs: Number(process.env.LEASE_MS ?? 1000),
});
const router = createRouter({
  store,
  instanceId: instance,
  instanceTtl: process.env.INSTANCE_TTL ?? '30s',
  channels: {
    push: { kind: 'push', cost: 0, send, retry: false, confirm: { timeout: process.env.PUSH_TIMEOUT ?? '1m' } },
    email: { kind: 'email', cost: 0.001, send, retry: false, confirm: { timeout: '1m' } },
    sms: { kind: 'sms', cost: 0.05, send, retry: false, confirm: { timeout: process.env.SMS_TIMEOUT ?? '1m' } },
  },
});
router.on('error', ({ error, during }) => process.stderr.write(`[${instance}] ${during}: ${error.message}\n`));
router.on('resumed', ({ cascadeId, channel, previousOwner }) => {
  void log.rpush(`${prefix}test:resumed`, JSON.stringify({ instance, cascadeId, channel, previousOwner, at: Date.now() }));
});

const recipient: Recipient = { id: 'customer', addresses: { push: 'device-token', email: 'c@example.com', sms: '+380671234567' } };
const message = (key: string, channels: readonly string[]): Message => ({
  key,
  category: 'transactional',
  content: { text: 'Your order is ready' },
  channels,
  policy: { order: 'message' },
});

type Request =
  | { id: number; op: 'send'; key: string; channels?: readonly string[]; hold?: boolean }
  | { id: number; op: 'release'; cascadeId: string }
  | { id: number; op: 'receipt'; providerMessageId: string; status: 'delivered' | 'failed' }
  | { id: number; op: 'settled' }
  | { id: number; op: 'close' };

const handle = async (request: Request): Promise<unknown> => {
  switch (request.op) {
    case 'send':
      if (request.hold) holds.set(request.key, () => {});
      return router.send(message(request.key, request.channels ?? ['push', 'sms']), recipient);
    case 'release': {
      const release = holds.get(request.cascadeId);
      holds.delete(request.cascadeId);
      release?.();
      return release !== undefined;
    }
    case 'settled':
      await router.settled();
      return 'settled';
    case 'receipt':
      return router.handleReceipt({ providerMessageId: request.providerMessageId, status: request.status });
    case 'close':
      await router.close();
      await store.dispose();
      await log.quit();
      setImmediate(() => process.exit(0));
      return 'closed';
  }
};

createInterface({ input: process.stdin }).on('line', (line) => {
  const request = JSON.parse(line) as Request;
  handle(request).then(
    (result) => process.stdout.write(`${JSON.stringify({ id: request.id, ok: true, result })}\n`),
    (error: Error & { code?: string }) =>
      process.stdout.write(`${JSON.stringify({ id: request.id, ok: false, error: { name: error.name, code: error.code, message: error.message } })}\n`),
  );
});
process.stdout.write(`${JSON.stringify({ ready: instance })}\n`);
