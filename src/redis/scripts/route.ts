import { luaScript } from './script.js';

/**
 * route: the cascade that sent a provider id, with its current version, or else hold the receipt for it.
 *
 * KEYS[1] provider-id index · KEYS[2] held-receipt list of that provider id
 * ARGV[1] the receipt as `until:json` · ARGV[2] hold ms (the list lives at least this long)
 * ARGV[3] most receipts held per provider id (the oldest go first)
 * ARGV[4] the cascade hash key up to its id's hash tag (`<prefix>c:`)
 * Also reads the cascade hash `ARGV[4]{id}` of the id it finds, a key that is not in KEYS since only the
 * index names it. The read is atomic with the lookup: a store that holds that version needs no second
 * round trip to read the cascade. On Redis Cluster the store's prefix carries a hash tag, so that key is
 * in the same slot.
 * Returns {id, n, v} (the cascade's fixed-part nonce and version, nil when it has expired), or nil when
 * the receipt was held.
 */
export const routeScript = luaScript(
  'route',
  `
local id = redis.call('GET', KEYS[1])
if id then
  local c = redis.call('HMGET', ARGV[4] .. '{' .. id .. '}', 'n', 'v')
  return {id, c[1], c[2]}
end
redis.call('RPUSH', KEYS[2], ARGV[1])
redis.call('LTRIM', KEYS[2], -tonumber(ARGV[3]), -1)
if redis.call('PTTL', KEYS[2]) < tonumber(ARGV[2]) then redis.call('PEXPIRE', KEYS[2], ARGV[2]) end
return nil
`,
);
