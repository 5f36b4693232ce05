import { luaScript, RETAIN } from './script.js';
import { APPLY_STATS } from './stats.js';

/**
 * commit: compare-and-set of a cascade on its version, with everything that must change with it.
 *
 * KEYS[1] cascade hash · KEYS[2] idempotency-key index · KEYS[3] due set · KEYS[4] claim leases
 * KEYS[5] claimed due times · KEYS[6] open set (id → `v:n`) · KEYS[7] sending set (id → owner)
 * KEYS[8 .. 7+2n] per new provider id: its index key, then its held-receipt list
 * KEYS[8+2n ..] index keys of the cascade's earlier provider ids (passed when it ends, to expire them)
 * KEYS[ARGV[16] ..] the keys of the statistics update (see stats.ts)
 * ARGV[1] id · ARGV[2] version the change is based on · ARGV[3] new version · ARGV[4] the changing part as JSON (field `m`)
 * ARGV[5] due time, '' for none · ARGV[6] '1' when the new state is terminal · ARGV[7] retention ms ('-1' forever)
 * ARGV[8] n, new provider ids · ARGV[9] the change's time (held receipts past their hold are dropped)
 * ARGV[10] '1' when the id is not the idempotency key
 * ARGV[11] the fixed part as JSON (field `i`), or '' when it is the stored one · ARGV[12] the nonce (field `n`) of
 * the fixed part: with '' the one the change is based on (it must match), else the new part's
 * ARGV[13] '1' when the current step is `sending` (claimed, its send not recorded), '0' when not, '' when it was
 * not sending in the version the change is based on either (nothing to do) · ARGV[14] its owner ('' none)
 * ARGV[15] the statistics update as JSON ('' none) · ARGV[16] the index of its first key ('' none)
 * ARGV[17] how long a recipient's learned counts are kept without an update (ms)
 * Returns {0} when the stored version (or, for an unchanged fixed part, its nonce) differs (nothing written); {1, held...} with the receipts held
 * for the new provider ids, each `until:json`, in arrival order, removed from Redis.
 */
export const commitScript = luaScript(
  'commit',
  `${RETAIN}${APPLY_STATS}
local stored = redis.call('HMGET', KEYS[1], 'v', 'n', 't')
if stored[1] ~= ARGV[2] then return {0} end
local id = ARGV[1]
local timerAt = ARGV[5]
local before = stored[3]
if ARGV[11] == '' then
  if stored[2] ~= ARGV[12] then return {0} end
  redis.call('HSET', KEYS[1], 'v', ARGV[3], 't', timerAt, 'm', ARGV[4])
else
  redis.call('HSET', KEYS[1], 'v', ARGV[3], 't', timerAt, 'm', ARGV[4], 'i', ARGV[11], 'n', ARGV[12])
end
-- A timer that did not move stays claimed (or due); a moved one replaces any claim on the old one.
if timerAt ~= before then
  if timerAt == '' then redis.call('ZREM', KEYS[3], id) else redis.call('ZADD', KEYS[3], timerAt, id) end
  redis.call('ZREM', KEYS[4], id)
  redis.call('HDEL', KEYS[5], id)
end
if ARGV[13] == '1' then redis.call('HSET', KEYS[7], id, ARGV[14]) elseif ARGV[13] == '0' then redis.call('HDEL', KEYS[7], id) end
local result = {1}
local n = tonumber(ARGV[8])
local now = tonumber(ARGV[9])
for i = 1, n do
  local index, held = KEYS[6 + 2 * i], KEYS[7 + 2 * i]
  redis.call('SET', index, id)
  local waiting = redis.call('LRANGE', held, 0, -1)
  if #waiting > 0 then
    redis.call('DEL', held)
    for _, entry in ipairs(waiting) do
      local untilAt = tonumber(string.sub(entry, 1, string.find(entry, ':', 1, true) - 1))
      if untilAt > now then result[#result + 1] = entry end
    end
  end
end
if ARGV[6] == '1' then
  redis.call('ZREM', KEYS[3], id)
  redis.call('ZREM', KEYS[4], id)
  redis.call('HDEL', KEYS[5], id)
  redis.call('HDEL', KEYS[6], id)
  retain(KEYS[1], ARGV[7])
  if ARGV[10] == '1' then retain(KEYS[2], ARGV[7]) end
  for i = 1, n do retain(KEYS[6 + 2 * i], ARGV[7]) end
  local last = ARGV[16] == '' and #KEYS or tonumber(ARGV[16]) - 1
  for i = 8 + 2 * n, last do retain(KEYS[i], ARGV[7]) end
else
  redis.call('HSET', KEYS[6], id, ARGV[3] .. ':' .. ARGV[12])
end
if ARGV[15] ~= '' then applyStats(tonumber(ARGV[16]), ARGV[15], ARGV[17]) end
return result
`,
);
