/** Shared by the Redis tests: is a server there, a fresh key prefix per test, and dropping it afterwards. */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** True when a redis-server answers PING at REDIS_URL within a second. */
export function redisAnswers(): Promise<boolean> {
  return pingRedis(REDIS_URL);
}

/** True when a redis-server answers PING at `url` within a second. */
export async function pingRedis(url: string): Promise<boolean> {
  const probe = new Redis(url, { lazyConnect: true, connectTimeout: 1000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => {});
  try {
    await probe.connect();
    return (await probe.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}

/**
 * In CI a missing Redis is a failure; locally the Redis tests are skipped with a notice.
 * Call at the top of a test file: `const skip = await requireRedis('file name')`.
 */
export async function requireRedis(what: string): Promise<boolean> {
  if (await redisAnswers()) return false;
  const message = `${what}: no redis-server answers at ${REDIS_URL}`;
  if (process.env.CI) throw new Error(`${message}; CI must run one (see .ci/run)`);
  console.warn(`\n  ⚠ SKIPPED ${message}. Start one (redis-server) to run these tests.\n`);
  return true;
}

export const uniquePrefix = (label = 't'): string => `cr-test:${label}:${randomUUID().slice(0, 8)}:`;

/** Deletes every key under `prefix`. */
export async function dropPrefix(admin: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, found] = await admin.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (found.length > 0) await admin.del(...found);
  } while (cursor !== '0');
}

/** Polls `check` until it returns true or `timeoutMs` passes (then throws with `what`). */
export async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000, everyMs = 20): Promise<void> {
  const until = Date.now() + timeoutMs;
  const timedOut = (): Error => new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
  for (;;) {
    // A check that never answers (a client stuck on a dead server) ends at the deadline too, not never.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(timedOut()), Math.max(0, until - Date.now()))));
    try {
      if (await Promise.race([Promise.resolve().then(check), deadline])) return;
    } finally {
      clearTimeout(timer);
    }
    if (Date.now() > until) throw timedOut();
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
