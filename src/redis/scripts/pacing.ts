import { luaScript } from './script.js';

/**
 * pace: takes a slot of a provider's rate (see `CascadeStore.pace`).
 *
 * KEYS[1] the provider's send log (sorted set: a unique member per send → its time) · KEYS[2] when the last
 * deferred send retries (string)
 * ARGV[1] limit · ARGV[2] window ms · ARGV[3] reserve · ARGV[4] '1' when urgent · ARGV[5] now · ARGV[6] a unique member
 * Returns 0 when the send may go (logged), else the time to try again.
 */
export const paceScript = luaScript(
  'pace',
  `
local limit, window, reserve, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[5])
local urgent = ARGV[4] == '1'
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
local capacity = urgent and limit or limit - reserve
if count < capacity then
  redis.call('ZADD', KEYS[1], now, ARGV[6])
  redis.call('PEXPIRE', KEYS[1], window * 2)
  return 0
end
if urgent or capacity <= 0 then
  local oldest = redis.call('ZRANGE', KEYS[1], count - capacity, count - capacity, 'WITHSCORES')
  return tonumber(oldest[2] or now) + window
end
local tail = math.max(now, tonumber(redis.call('GET', KEYS[2]) or now)) + window / capacity
redis.call('SET', KEYS[2], string.format('%.3f', tail), 'PX', math.max(1, math.ceil(tail - now + window)))
return math.ceil(tail)
`,
);

/**
 * admit: lets a message through a recipient's frequency cap for a category (see `CascadeStore.admit`).
 *
 * KEYS[1] the recipient's log for the category (sorted set: message key → when let through)
 * ARGV[1] message key · ARGV[2] most messages · ARGV[3] window ms · ARGV[4] now
 * Returns 1 when let through (or already let through), 0 when the cap is reached.
 */
export const admitScript = luaScript(
  'admit',
  `
local now, window = tonumber(ARGV[4]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 1 end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('PEXPIRE', KEYS[1], window)
return 1
`,
);
