import { createHash } from 'node:crypto';

/** A Lua script with its SHA1, run by EVALSHA; the source is sent only when Redis answers NOSCRIPT. */
export interface LuaScript {
  readonly name: string;
  readonly source: string;
  readonly sha: string;
}

/** The slice of an ioredis client (`Redis` or `Cluster`) the store uses for scripts. */
export interface ScriptClient {
  evalsha(sha: string, numKeys: number, ...keysAndArgs: (string | number)[]): Promise<unknown>;
  eval(source: string, numKeys: number, ...keysAndArgs: (string | number)[]): Promise<unknown>;
}

/** The slice of an ioredis pipeline the store uses to run a script and `WAIT` on one connection. */
interface ScriptPipeline {
  evalsha(sha: string, numKeys: number, ...keysAndArgs: (string | number)[]): unknown;
  eval(source: string, numKeys: number, ...keysAndArgs: (string | number)[]): unknown;
  wait(replicas: number, timeoutMs: number): unknown;
  exec(): Promise<[Error | null, unknown][] | null>;
}

/** A client that can also pipeline, and on Cluster refresh its slot map. */
export interface PipelineClient extends ScriptClient {
  pipeline(): ScriptPipeline;
  readonly isCluster: boolean;
  refreshSlotsCache?(callback?: (error?: Error | null) => void): void;
}

/** What a write waits for: `replicas` replicas to acknowledge it, for at most `timeoutMs`. */
export interface Replication {
  readonly replicas: number;
  readonly timeoutMs: number;
}

export function luaScript(name: string, source: string): LuaScript {
  return { name, source, sha: createHash('sha1').update(source).digest('hex') };
}

/**
 * One round trip in the common case. After a Redis restart or `SCRIPT FLUSH` the cache is empty:
 * EVAL then runs the script and caches it again, so the next call is back to EVALSHA.
 */
export function runScript(client: ScriptClient, script: LuaScript, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
  return client.evalsha(script.sha, keys.length, ...keys, ...args).catch((error: unknown) => {
    if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
    return client.eval(script.source, keys.length, ...keys, ...args);
  });
}

const REDIRECT = /^(MOVED|ASK) /;

/**
 * Runs a script and then `WAIT`s for its write to reach `replicas` replicas, in one pipeline: on one
 * connection, so the `WAIT` counts this very write (Redis acknowledges per connection), and on Cluster
 * to the node that serves the script's keys (a keyless `WAIT` goes with the pipeline's keyed command).
 * Answers the script's reply and how many replicas acknowledged. A pipeline is not redirected by ioredis
 * when only one of its commands gets `MOVED`, so after a failover the slot map is refreshed here and the
 * pipeline sent again (a redirected script did not run).
 */
export async function runScriptReplicated(
  client: PipelineClient,
  script: LuaScript,
  keys: readonly string[],
  args: readonly (string | number)[],
  replication: Replication,
): Promise<{ readonly reply: unknown; readonly acked: number }> {
  let source = false;
  for (let redirects = 0; ; ) {
    const pipeline = client.pipeline();
    if (source) pipeline.eval(script.source, keys.length, ...keys, ...args);
    else pipeline.evalsha(script.sha, keys.length, ...keys, ...args);
    pipeline.wait(replication.replicas, replication.timeoutMs);
    const [ran, waited] = (await pipeline.exec()) ?? [];
    const error = ran?.[0] ?? (ran === undefined ? new Error('pipeline answered nothing') : null);
    if (error !== null) {
      if (!source && error.message.startsWith('NOSCRIPT')) {
        source = true;
        continue;
      }
      if (client.isCluster && REDIRECT.test(error.message) && redirects++ < 3) {
        await new Promise<void>((resolve) => (client.refreshSlotsCache ? client.refreshSlotsCache(() => resolve()) : resolve()));
        continue;
      }
      throw error;
    }
    if (waited?.[0]) throw waited[0];
    return { reply: ran![1], acked: Number(waited?.[1] ?? 0) };
  }
}

/** Lua helper shared by the scripts that end a cascade: keep `key` for ARGV retention ms ('-1' forever, '0' not at all). */
export const RETAIN = `
local function retain(key, ms)
  if ms == '-1' then return end
  if ms == '0' then redis.call('DEL', key) else redis.call('PEXPIRE', key, ms) end
end
`;
