import { luaScript } from './script.js';

/**
 * route: the cascade that sent a provider id, with its current version if it is open, or else hold the
 * receipt for it, within the store's bounds.
 *
 * KEYS[1] provider-id index · KEYS[2] held-receipt list of that provider id · KEYS[3] open set (id → `v:n`)
 * KEYS[4] held provider ids (sorted set: provider id → when its newest held receipt's hold ends)
 * KEYS[5] held counters (hash: `seq` the last sequence number given, `held`, `expired`, `evicted`)
 * ARGV[1] the receipt as JSON (`{receipt, receivedAt}`) · ARGV[2] until when it is held (router clock)
 * ARGV[3] most receipts held per provider id · ARGV[4] most held in all · ARGV[5] now (router clock)
 * ARGV[6] the start of every held list's key (`<prefix>h:{`), closed by `}`: lists dropped here are found
 * through the sorted set, not named in KEYS (on Cluster every key of the store shares the prefix's slot)
 * Entries are `until:seq:json`, `seq` increasing in arrival order. Lists whose hold has ended are dropped
 * (a few per call, counted `expired`); beyond the bounds the oldest go first (counted `evicted`).
 * The version comes from the open set, a key named in KEYS, and not from the cascade hash, whose name only
 * the index knows. It is read atomically with the lookup, so a store that holds that version needs no
 * second round trip to read the cascade.
 * Returns {id, `v:n`} (version and fixed-part nonce; nil when the cascade has ended), or nil when the
 * receipt was held.
 */
export const routeScript = luaScript(
  'route',
  `
local id = redis.call('GET', KEYS[1])
if id then return {id, redis.call('HGET', KEYS[3], id)} end
local function drop(providerId, counter)
  local list = ARGV[6] .. providerId .. '}'
  local n = redis.call('LLEN', list)
  redis.call('DEL', list)
  redis.call('ZREM', KEYS[4], providerId)
  redis.call('HINCRBY', KEYS[5], 'held', -n)
  redis.call('HINCRBY', KEYS[5], counter, n)
end
for _, providerId in ipairs(redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', ARGV[5], 'LIMIT', 0, 16)) do drop(providerId, 'expired') end
local untilAt = tonumber(ARGV[2])
local seq = redis.call('HINCRBY', KEYS[5], 'seq', 1)
local length = redis.call('RPUSH', KEYS[2], ARGV[2] .. ':' .. seq .. ':' .. ARGV[1])
redis.call('HINCRBY', KEYS[5], 'held', 1)
local perId = tonumber(ARGV[3])
if length > perId then
  redis.call('LTRIM', KEYS[2], -perId, -1)
  redis.call('HINCRBY', KEYS[5], 'held', perId - length)
  redis.call('HINCRBY', KEYS[5], 'evicted', length - perId)
end
local providerId = string.sub(KEYS[2], #ARGV[6] + 1, -2)
local newest = redis.call('ZSCORE', KEYS[4], providerId)
if not newest or tonumber(newest) < untilAt then redis.call('ZADD', KEYS[4], untilAt, providerId) end
local total = tonumber(ARGV[4])
while tonumber(redis.call('HGET', KEYS[5], 'held')) > total do
  local oldest = redis.call('ZRANGE', KEYS[4], 0, 0)[1]
  if not oldest then break end
  drop(oldest, 'evicted')
end
return nil
`,
);
