import { luaScript, RETAIN } from './script.js';
import { APPLY_STATS } from './stats.js';

/**
 * create: inserts a cascade unless its idempotency key (or its id) is taken.
 *
 * KEYS[1] cascade hash · KEYS[2] idempotency-key index (used only when the id is not the key)
 * KEYS[3] due set · KEYS[4] open set (id → `v:n`) · KEYS[5] sending set (id → owner)
 * ARGV[1] id · ARGV[2] idempotency key · ARGV[3] version · ARGV[4] the changing part as JSON (hash field `m`)
 * ARGV[5] due time, '' for none · ARGV[6] '1' when the cascade is already terminal · ARGV[7] retention ms ('-1' forever)
 * ARGV[8] the fixed part as JSON (field `i`: id, key, message, recipient, plan, createdAt) · ARGV[9] its nonce (field `n`)
 * ARGV[10] '1' when its first step is `sending` (claimed) · ARGV[11] that step's owner ('' none)
 * KEYS[6 ..] the keys of the statistics update (see stats.ts) · ARGV[12] its observations as JSON ('' none)
 * ARGV[13] how long a recipient's learned counts are kept without an update (ms) · ARGV[14 ..] the ledger delta,
 * field and amount pairs; the update is applied only when the cascade is created
 * Returns {1} when created; {0, m, n, i} when the id exists; {2, ownerId} when the key belongs to another id.
 */
export const createScript = luaScript(
  'create',
  `${RETAIN}${APPLY_STATS}
local distinct = ARGV[1] ~= ARGV[2]
if distinct then
  local owner = redis.call('GET', KEYS[2])
  if owner then return {2, owner} end
end
local existing = redis.call('HMGET', KEYS[1], 'm', 'n', 'i')
if existing[1] then return {0, existing[1], existing[2], existing[3]} end
redis.call('HSET', KEYS[1], 'v', ARGV[3], 't', ARGV[5], 'n', ARGV[9], 'i', ARGV[8], 'm', ARGV[4])
if distinct then redis.call('SET', KEYS[2], ARGV[1]) end
if ARGV[6] == '1' then
  retain(KEYS[1], ARGV[7])
  if distinct then retain(KEYS[2], ARGV[7]) end
else
  redis.call('HSET', KEYS[4], ARGV[1], ARGV[3] .. ':' .. ARGV[9])
  if ARGV[5] ~= '' then redis.call('ZADD', KEYS[3], ARGV[5], ARGV[1]) end
  if ARGV[10] == '1' then redis.call('HSET', KEYS[5], ARGV[1], ARGV[11]) end
end
if KEYS[6] then applyLedger(KEYS[6], 14) end
applyStats(6, ARGV[12], ARGV[13])
return {1}
`,
);
