/**
 * The store's way to Redis: the first connection (and the layout's format checked on it), each call with an
 * outage turned into `StoreUnavailableError`, scripts, and scripts whose write waits for replicas.
 */
import { InvalidConfigError, StoreUnavailableError } from '../core/errors.js';
import { connect, ready, writeBatcher, type RedisClient } from './connection.js';
import { toStoreError } from './errors.js';
import { FORMAT, type Keys } from './keys.js';
import type { RedisStoreOptions, ResolvedRedisOptions } from './options.js';
import { formatScript } from './scripts/format.js';
import { runScript, runScriptReplicated, type LuaScript, type PipelineClient } from './scripts/script.js';

/** A Redis call of the store: `operation` names it in the error an outage gives. */
export interface RedisCalls {
  call<T>(operation: string, fn: (redis: RedisClient) => Promise<T>): Promise<T>;
  script(operation: string, lua: LuaScript, scriptKeys: string[], args: (string | number)[]): Promise<unknown>;
  /**
   * A script that may write what the store must not lose: with `replicas`, its write waits for them, and a
   * reply that shows it wrote (`wrote`) without their acknowledgement fails as an outage would.
   */
  durable(operation: string, lua: LuaScript, scriptKeys: string[], args: (string | number)[], wrote: (reply: unknown) => boolean): Promise<unknown>;
  /** Closes the connection the store opened (`url`); a client passed in is left open. */
  dispose(): Promise<void>;
}

export function redisCalls(options: RedisStoreOptions, { prefix, replication }: ResolvedRedisOptions, keys: Keys): RedisCalls {
  const batch = writeBatcher();
  let connecting: Promise<RedisClient> | undefined;
  /** Set once the first connection is up: later calls skip the waits (an outage then fails them fast). */
  let connected: RedisClient | undefined;
  const connectFirst = async (): Promise<RedisClient> => {
    connecting ??= options.client ? Promise.resolve(options.client) : connect(options.url!, options);
    const pending = connecting;
    const redis = await pending;
    await ready(redis);
    await checkFormat(redis);
    if (connecting === pending) connected = redis;
    return redis;
  };

  /** Refuses data written in a layout this release does not know (a later release's), before any other call. */
  const checkFormat = async (redis: RedisClient): Promise<void> => {
    const found = String(await runScript(redis, formatScript, [keys.format], [FORMAT]));
    if (found === String(FORMAT)) return;
    throw new InvalidConfigError(
      `The Redis data under prefix "${prefix}" is in format ${found}; this release reads format ${FORMAT}: use the release that wrote it, or another prefix`,
    );
  };

  /** Runs one Redis call, turning an outage into `StoreUnavailableError`. */
  function call<T>(operation: string, fn: (redis: RedisClient) => Promise<T>): Promise<T> {
    const fail = (error: unknown): never => {
      throw toStoreError(operation, error);
    };
    if (connected === undefined) return connectFirst().then(fn).catch(fail);
    batch(connected);
    try {
      return fn(connected).catch(fail);
    } catch (error) {
      return Promise.reject(toStoreError(operation, error));
    }
  }

  const script = (operation: string, lua: LuaScript, scriptKeys: string[], args: (string | number)[]) =>
    call(operation, (redis) => runScript(redis, lua, scriptKeys, args));

  /**
   * A script that may write what the store must not lose: with `replicas`, its write waits for them, and a
   * reply that shows it wrote (`wrote`) without their acknowledgement fails as an outage would.
   */
  const durable = (operation: string, lua: LuaScript, scriptKeys: string[], args: (string | number)[], wrote: (reply: unknown) => boolean) => {
    if (replication === undefined) return script(operation, lua, scriptKeys, args);
    return call(operation, async (redis) => {
      const { reply, acked } = await runScriptReplicated(redis as unknown as PipelineClient, lua, scriptKeys, args, replication);
      if (acked < replication.replicas && wrote(reply)) {
        throw new StoreUnavailableError(operation, {
          store: 'Redis store',
          cause: new Error(`the write reached ${acked} of ${replication.replicas} replicas within ${replication.timeoutMs} ms (WAIT); it may be lost in a failover`),
        });
      }
      return reply;
    });
  };

  return {
    call,
    script,
    durable,
    async dispose() {
      if (options.client !== undefined || connecting === undefined) return;
      const redis = await connecting.catch(() => undefined);
      connecting = undefined;
      connected = undefined;
      if (!redis) return;
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
