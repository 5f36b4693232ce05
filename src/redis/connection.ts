import type { Cluster, Redis, RedisOptions } from 'ioredis';
import { durationOption, type Duration } from '../core/duration.js';

/** An ioredis client: a single server (`Redis`) or a Cluster. */
export type RedisClient = Redis | Cluster;

/** Options for the connection the store opens itself from a `url`. */
export interface ConnectionOptions {
  /** A command not answered within this long fails: `'2s'`, or milliseconds. Default 2 seconds. */
  readonly commandTimeout?: Duration | undefined;
  /** @deprecated The same as `commandTimeout`, in milliseconds. */
  readonly commandTimeoutMs?: number | undefined;
  /** Passed to ioredis as is, over the store's defaults. */
  readonly redisOptions?: RedisOptions | undefined;
}

/**
 * Opens a connection that fails fast instead of queueing: no offline queue, one retry per command,
 * a command timeout. ioredis keeps reconnecting in the background, so calls work again once Redis is back.
 * ioredis is imported here, on first use, so the main entry never loads it.
 */
export async function connect(url: string, options: ConnectionOptions): Promise<Redis> {
  const timeoutMs = durationOption(options, 'commandTimeout', 2000);
  const { Redis } = await import('ioredis');
  const client = new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: timeoutMs,
    connectTimeout: timeoutMs,
    ...options.redisOptions,
  });
  // Errors reach the callers as StoreUnavailableError; without a listener ioredis would also log each one.
  client.on('error', () => {});
  return client;
}

const firstConnects = new WeakMap<RedisClient, Promise<void>>();

/** Waits for the first connection of a lazily connecting client (once for all callers); later outages fail commands fast instead. */
export async function ready(client: RedisClient): Promise<void> {
  let pending = firstConnects.get(client);
  if (pending === undefined && client.status === 'wait') {
    pending = client.connect().finally(() => firstConnects.delete(client));
    firstConnects.set(client, pending);
  }
  if (pending !== undefined) await pending;
}

interface Corkable {
  cork(): void;
  uncork(): void;
  readonly writable?: boolean;
}

/**
 * Holds a connection's socket writes until the check phase of the event loop (`setImmediate`), then sends
 * them in one write: ioredis writes each command on its own, and with many cascades in flight one syscall
 * per command is most of the client's time. Not the end of the tick (`process.nextTick`): Node ends a tick
 * after every I/O callback and every `setImmediate` callback, so sends answered by a provider a turn of the
 * loop later (each its own callback) would each be written alone. A command waits at most for the callbacks
 * already due in this turn of the loop (the poll phase does not block while an immediate is queued, as
 * ioredis' own auto-pipelining relies on); replies and ordering are unchanged. Not for Cluster (a connection
 * per node).
 */
export function writeBatcher(): (client: RedisClient) => void {
  let corked: Corkable | undefined;
  const uncork = (): void => {
    const socket = corked!;
    corked = undefined;
    socket.uncork();
  };
  return (client) => {
    if (corked !== undefined || client.isCluster) return;
    const socket = (client as { stream?: Corkable }).stream;
    if (socket?.writable !== true) return;
    corked = socket;
    socket.cork();
    setImmediate(uncork);
  };
}
