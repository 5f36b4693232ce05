import { luaScript } from './script.js';

/**
 * reportHealth: keeps a provider's breaker state unless a later report is there already.
 *
 * KEYS[1] health hash (provider → JSON) · ARGV[1] provider · ARGV[2] the state as JSON · ARGV[3] its time (`at`)
 * Returns 1 when kept, 0 when a later one was there.
 */
export const reportHealthScript = luaScript(
  'reportHealth',
  `
local kept = redis.call('HGET', KEYS[1], ARGV[1])
if kept and cjson.decode(kept).at > tonumber(ARGV[3]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
`,
);
