import { luaScript } from './script.js';

/**
 * route: the cascade that sent a provider id, or else hold the receipt for it.
 *
 * KEYS[1] provider-id index · KEYS[2] held-receipt list of that provider id
 * ARGV[1] the receipt as `until:json` · ARGV[2] hold ms (the list lives at least this long)
 * ARGV[3] most receipts held per provider id (the oldest go first)
 * Returns the cascade id, or nil when the receipt was held.
 */
export const routeScript = luaScript(
  'route',
  `
local id = redis.call('GET', KEYS[1])
if id then return id end
redis.call('RPUSH', KEYS[2], ARGV[1])
redis.call('LTRIM', KEYS[2], -tonumber(ARGV[3]), -1)
if redis.call('PTTL', KEYS[2]) < tonumber(ARGV[2]) then redis.call('PEXPIRE', KEYS[2], ARGV[2]) end
return nil
`,
);
