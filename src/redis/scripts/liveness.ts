import { luaScript } from './script.js';

/**
 * heartbeat: marks a router instance alive until (Redis server time) + ttl, and forgets instances whose
 * heartbeat has lapsed (an instance not listed is dead, so the set holds only live ones and a few lapsed).
 *
 * KEYS[1] instances (sorted set: instance id → when its heartbeat lapses)
 * ARGV[1] instance id · ARGV[2] ttl ms
 * Returns 1 when the instance's previous heartbeat had not lapsed, else 0.
 */
export const heartbeatScript = luaScript(
  'heartbeat',
  `
local time = redis.call('TIME')
local serverNow = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local previous = redis.call('ZSCORE', KEYS[1], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', serverNow)
redis.call('ZADD', KEYS[1], serverNow + tonumber(ARGV[2]), ARGV[1])
if previous and tonumber(previous) > serverNow then return 1 end
return 0
`,
);

/**
 * orphans: one page of the sending set, keeping the cascades whose owner is not alive (not in the instances
 * set, its heartbeat lapsed, or no owner), and those of the asking instance itself, each owner looked up
 * once per page.
 *
 * KEYS[1] sending set (hash: cascade id → owner, '' for none) · KEYS[2] instances
 * ARGV[1] HSCAN cursor · ARGV[2] HSCAN count · ARGV[3] the asking instance ('' none)
 * Returns {next cursor, id, owner, id, owner, ...}.
 */
export const orphansScript = luaScript(
  'orphans',
  `
local time = redis.call('TIME')
local serverNow = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local page = redis.call('HSCAN', KEYS[1], ARGV[1], 'COUNT', ARGV[2])
local entries = page[2]
local result = {page[1]}
local alive = {}
for i = 1, #entries, 2 do
  local owner = entries[i + 1]
  local live = alive[owner]
  if live == nil then
    local lapses = owner ~= '' and redis.call('ZSCORE', KEYS[2], owner)
    live = lapses and tonumber(lapses) > serverNow or false
    if owner ~= '' and owner == ARGV[3] then live = false end
    alive[owner] = live
  end
  if not live then
    result[#result + 1] = entries[i]
    result[#result + 1] = owner
  end
end
return result
`,
);
