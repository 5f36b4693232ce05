import { luaScript } from './script.js';

/**
 * route: the cascade that sent a provider id, with its current version if it is open, or else hold the
 * receipt for it.
 *
 * KEYS[1] provider-id index · KEYS[2] held-receipt list of that provider id · KEYS[3] open set (id → `v:n`)
 * ARGV[1] the receipt as `until:json` · ARGV[2] hold ms (the list lives at least this long)
 * ARGV[3] most receipts held per provider id (the oldest go first)
 * The version comes from the open set, a key named in KEYS, and not from the cascade hash, whose name only
 * the index knows: Redis requires a script to declare every key it touches. It is read atomically with the
 * lookup, so a store that holds that version needs no second round trip to read the cascade.
 * Returns {id, `v:n`} (version and fixed-part nonce; nil when the cascade has ended), or nil when the
 * receipt was held.
 */
export const routeScript = luaScript(
  'route',
  `
local id = redis.call('GET', KEYS[1])
if id then return {id, redis.call('HGET', KEYS[3], id)} end
redis.call('RPUSH', KEYS[2], ARGV[1])
redis.call('LTRIM', KEYS[2], -tonumber(ARGV[3]), -1)
if redis.call('PTTL', KEYS[2]) < tonumber(ARGV[2]) then redis.call('PEXPIRE', KEYS[2], ARGV[2]) end
return nil
`,
);
