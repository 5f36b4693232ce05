import { luaScript } from './script.js';

/**
 * Lua that applies a `StatsUpdate` inside the create and commit scripts, so it lands with the change or
 * not at all. The keys it touches are a run of KEYS starting at `first`: the ledger hash, then per observation
 * its channel hash and its recipient hash (see `statsKeys` in ../stats.ts). The ledger delta comes as the
 * script's last ARGVs, field and amount pairs (`ledgerArgs`), added by `applyLedger`; the observations as one
 * ARGV of JSON ('' for none), applied by `applyStats`.
 *
 * The observations' JSON: `{ h: halfLifeMs, n: now, o: [[channel, outcome, at, weight, latencyBucket|-1], ...] }`.
 * Ledger hash fields: messages, delivered, spend, double, smsOnly, withoutSms, per channel
 * `sent:<name>`, `delivered:<name>`, `spend:<name>`, and per provider of a channel `psent:<name>\x1f<provider>`,
 * `pdelivered:…`, `pspend:…` (integers, HINCRBY).
 * Channel hash fields: at, d, f, t, s and `b<bucket>` (decayed weights). Recipient hash fields:
 * `<channel>|at`, `<channel>|d`, `|f`, `|t`, `|s`. Decay: a field is multiplied by 2^-(now - at)/h before
 * an observation of weight `w · 2^-(now - observedAt)/h` is added; nothing goes below 0 (the same rule as
 * `addToCounts` in src/core/learning.ts).
 */
export const APPLY_STATS = `
local function factor(from, to, h)
  if to <= from then return 1 end
  return 2 ^ (-(to - from) / h)
end
local function num(x) return string.format('%.17g', x) end
local OUTCOME = { delivered = 'd', failed = 'f', timeout = 't', skipped = 's' }
-- The ledger delta: ARGV[from ..] as field, amount pairs (only the fields that change).
local function applyLedger(key, from)
  for i = from, #ARGV, 2 do redis.call('HINCRBY', key, ARGV[i], ARGV[i + 1]) end
end
local function applyStats(first, json, recipientTtl)
  if json == '' then return end
  local u = cjson.decode(json)
  local h, now = u.h, u.n
  if not u.o then return end
  for i, o in ipairs(u.o) do
    local channel, field, at, weight, bucket = o[1], OUTCOME[o[2]], o[3], o[4], o[5]
    local add = weight * factor(at, now, h)
    -- Channel-wide: age every field, then add.
    local ckey = KEYS[first + 2 * i - 1]
    local flat = redis.call('HGETALL', ckey)
    local stored = {}
    for j = 1, #flat, 2 do stored[flat[j]] = tonumber(flat[j + 1]) end
    local since = stored['at'] or now
    local age = factor(since, now, h)
    local out = {}
    for name, value in pairs(stored) do
      if name ~= 'at' then stored[name] = value * age end
    end
    stored[field] = math.max(0, (stored[field] or 0) + add)
    if bucket >= 0 and field == 'd' then
      local b = 'b' .. bucket
      stored[b] = math.max(0, (stored[b] or 0) + add)
    end
    for name, value in pairs(stored) do
      if name ~= 'at' then out[#out + 1] = name; out[#out + 1] = num(value) end
    end
    out[#out + 1] = 'at'; out[#out + 1] = num(math.max(since, now))
    redis.call('HSET', ckey, unpack(out))
    -- The recipient's own counts for this channel.
    local rkey = KEYS[first + 2 * i]
    local p = channel .. '|'
    local own = redis.call('HMGET', rkey, p .. 'at', p .. 'd', p .. 'f', p .. 't', p .. 's')
    local ownSince = tonumber(own[1]) or now
    local ownAge = factor(ownSince, now, h)
    local names = { 'd', 'f', 't', 's' }
    local set = { p .. 'at', num(math.max(ownSince, now)) }
    for j, name in ipairs(names) do
      local value = (tonumber(own[j + 1]) or 0) * ownAge
      if name == field then value = math.max(0, value + add) end
      set[#set + 1] = p .. name; set[#set + 1] = num(value)
    end
    redis.call('HSET', rkey, unpack(set))
    redis.call('PEXPIRE', rkey, recipientTtl)
  end
end
`;

/**
 * learned: what the store has learned for one recipient over the given channels.
 *
 * KEYS[1 .. n] the channels' hashes · KEYS[n + 1] the recipient's hash
 * ARGV[1 .. n] the channel names (statistics keys), in the same order
 * Returns {channelHash1, ..., channelHashN, recipientFields} with each hash as a flat HGETALL list
 * (empty when nothing is known) and the recipient's fields for those channels as a flat list.
 */
export const learnedScript = luaScript(
  'learned',
  `
local n = #ARGV
local result = {}
for i = 1, n do result[i] = redis.call('HGETALL', KEYS[i]) end
local fields = {}
for i = 1, n do
  local p = ARGV[i] .. '|'
  for _, name in ipairs({ 'at', 'd', 'f', 't', 's' }) do fields[#fields + 1] = p .. name end
end
local values = redis.call('HMGET', KEYS[n + 1], unpack(fields))
local own = {}
for i = 1, #fields do
  if values[i] then own[#own + 1] = fields[i]; own[#own + 1] = values[i] end
end
result[n + 1] = own
return result
`,
);
