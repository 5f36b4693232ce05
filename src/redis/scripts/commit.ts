import { luaScript, RETAIN } from './script.js';
import { APPLY_STATS } from './stats.js';

/**
 * commit: compare-and-set of a cascade on its version, with everything that must change with it.
 *
 * KEYS[1] cascade hash · KEYS[2] idempotency-key index · KEYS[3] due set · KEYS[4] claim leases
 * KEYS[5] claimed due times · KEYS[6] open set (id → `v:n`) · KEYS[7] sending set (id → owner)
 * KEYS[8] held provider ids (sorted set) · KEYS[9] held counters (hash)
 * KEYS[10 .. 9+2n] per new provider id: its index key, then its held-receipt list
 * KEYS[10+2n ..] index keys of the cascade's earlier provider ids (passed when it ends, to expire them)
 * KEYS[ARGV[16] ..] the keys of the statistics update (see stats.ts)
 * ARGV[1] id · ARGV[2] version the change is based on · ARGV[3] new version · ARGV[4] the changing part as JSON (field `m`)
 * ARGV[5] due time, '' for none · ARGV[6] '1' when the new state is terminal · ARGV[7] retention ms ('-1' forever)
 * ARGV[8] n, new provider ids · ARGV[9] the change's time: held receipts whose hold ends by then are dropped
 * ARGV[10] '1' when the id is not the idempotency key
 * ARGV[11] the fixed part as JSON (field `i`), or '' when it is the stored one · ARGV[12] the nonce (field `n`) of
 * the fixed part: with '' the one the change is based on (it must match), else the new part's
 * ARGV[13] '1' when the current step is `sending` (claimed, its send not recorded), '0' when not, '' when it was
 * not sending in the version the change is based on either (nothing to do) · ARGV[14] its owner ('' none)
 * ARGV[15] the statistics update as JSON ('' none) · ARGV[16] the index of its first key ('' none)
 * ARGV[17] how long a recipient's learned counts are kept without an update (ms)
 * ARGV[18] the `seq` of the last held receipt the change took in ('' none) · ARGV[19 .. 18+n] the new provider ids
 * Returns {0} when the stored version (or, for an unchanged fixed part, its nonce) differs; {2, entry...} when
 * receipts are held for a new provider id that the change did not take in (`seq` above ARGV[18]): every one
 * still in its hold, `until:seq:json`, nothing written; {1} when written, the held lists of the new ids removed.
 */
export const commitScript = luaScript(
  'commit',
  `${RETAIN}${APPLY_STATS}
local stored = redis.call('HMGET', KEYS[1], 'v', 'n', 't')
if stored[1] ~= ARGV[2] then return {0} end
if ARGV[11] == '' and stored[2] ~= ARGV[12] then return {0} end
local id = ARGV[1]
local n = tonumber(ARGV[8])
local now = tonumber(ARGV[9])
local through = ARGV[18] == '' and -1 or tonumber(ARGV[18])
local lists = {}
local live = {2}
local unseen = false
for i = 1, n do
  local entries = redis.call('LRANGE', KEYS[9 + 2 * i], 0, -1)
  lists[i] = #entries
  for _, entry in ipairs(entries) do
    local colon = string.find(entry, ':', 1, true)
    local second = string.find(entry, ':', colon + 1, true)
    if tonumber(string.sub(entry, 1, colon - 1)) > now then
      live[#live + 1] = entry
      if tonumber(string.sub(entry, colon + 1, second - 1)) > through then unseen = true end
    end
  end
end
if unseen then return live end
if ARGV[11] == '' then
  redis.call('HSET', KEYS[1], 'v', ARGV[3], 't', ARGV[5], 'm', ARGV[4])
else
  redis.call('HSET', KEYS[1], 'v', ARGV[3], 't', ARGV[5], 'm', ARGV[4], 'i', ARGV[11], 'n', ARGV[12])
end
local timerAt = ARGV[5]
-- A timer that did not move stays claimed (or due); a moved one replaces any claim on the old one.
if timerAt ~= stored[3] then
  if timerAt == '' then redis.call('ZREM', KEYS[3], id) else redis.call('ZADD', KEYS[3], timerAt, id) end
  redis.call('ZREM', KEYS[4], id)
  redis.call('HDEL', KEYS[5], id)
end
if ARGV[13] == '1' then redis.call('HSET', KEYS[7], id, ARGV[14]) elseif ARGV[13] == '0' then redis.call('HDEL', KEYS[7], id) end
-- Receipts still in their hold were taken into this change; the rest had expired.
local taken = #live - 1
local dropped = 0
for i = 1, n do
  redis.call('SET', KEYS[8 + 2 * i], id)
  if lists[i] > 0 then
    redis.call('DEL', KEYS[9 + 2 * i])
    redis.call('ZREM', KEYS[8], ARGV[18 + i])
    dropped = dropped + lists[i]
  end
end
if dropped > 0 then
  redis.call('HINCRBY', KEYS[9], 'held', -dropped)
  if dropped > taken then redis.call('HINCRBY', KEYS[9], 'expired', dropped - taken) end
end
if ARGV[6] == '1' then
  redis.call('ZREM', KEYS[3], id)
  redis.call('ZREM', KEYS[4], id)
  redis.call('HDEL', KEYS[5], id)
  redis.call('HDEL', KEYS[6], id)
  retain(KEYS[1], ARGV[7])
  if ARGV[10] == '1' then retain(KEYS[2], ARGV[7]) end
  for i = 1, n do retain(KEYS[8 + 2 * i], ARGV[7]) end
  local last = ARGV[16] == '' and #KEYS or tonumber(ARGV[16]) - 1
  for i = 10 + 2 * n, last do retain(KEYS[i], ARGV[7]) end
else
  redis.call('HSET', KEYS[6], id, ARGV[3] .. ':' .. ARGV[12])
end
if ARGV[15] ~= '' then applyStats(tonumber(ARGV[16]), ARGV[15], ARGV[17]) end
return {1}
`,
);
