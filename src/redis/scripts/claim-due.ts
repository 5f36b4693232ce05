import { luaScript } from './script.js';

/**
 * claimDue: takes due cascades off the due set, so one instance fires each.
 *
 * A claim is a lease: the id moves to the lease set until (Redis server time) + lease ms. The commit
 * that moves or clears the cascade's timer ends the lease. If the claiming instance dies first, the
 * lease lapses and a later claimDue puts the id back on the due set at its old time, so another
 * instance fires it. Lease ms 0 claims without a lease (the timer is gone once claimed).
 *
 * KEYS[1] due set · KEYS[2] claim leases · KEYS[3] claimed due times
 * ARGV[1] now (the router's clock) · ARGV[2] most ids to claim · ARGV[3] lease ms
 * Returns the claimed ids, earliest due first.
 */
export const claimDueScript = luaScript(
  'claimDue',
  `
local limit = tonumber(ARGV[2])
local lease = tonumber(ARGV[3])
local time = redis.call('TIME')
local serverNow = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local lapsed = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', serverNow, 'LIMIT', 0, limit)
for _, id in ipairs(lapsed) do
  local at = redis.call('HGET', KEYS[3], id)
  redis.call('ZREM', KEYS[2], id)
  redis.call('HDEL', KEYS[3], id)
  if at then redis.call('ZADD', KEYS[1], 'NX', at, id) end
end
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'WITHSCORES', 'LIMIT', 0, limit)
local ids = {}
for i = 1, #due, 2 do
  local id = due[i]
  ids[#ids + 1] = id
  redis.call('ZREM', KEYS[1], id)
  if lease > 0 then
    redis.call('ZADD', KEYS[2], serverNow + lease, id)
    redis.call('HSET', KEYS[3], id, due[i + 1])
  end
end
return ids
`,
);
