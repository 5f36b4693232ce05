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

/** Lua helper shared by the scripts that end a cascade: keep `key` for ARGV retention ms ('-1' forever, '0' not at all). */
export const RETAIN = `
local function retain(key, ms)
  if ms == '-1' then return end
  if ms == '0' then redis.call('DEL', key) else redis.call('PEXPIRE', key, ms) end
end
`;
