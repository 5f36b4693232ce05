import { luaScript } from './script.js';

/**
 * read: a cascade, sending back only what the caller does not already hold.
 *
 * A cascade is stored in two parts: `i` the fixed part written once by create (id, key, message,
 * recipient, plan, createdAt) with `n` its nonce, and `m` the part every commit rewrites. A caller that
 * already parsed the fixed part of nonce `n` needs only `m`; one that holds version `v` needs nothing.
 *
 * KEYS[1] cascade hash
 * ARGV[1] nonce of the fixed part the caller holds ('' none) · ARGV[2] version the caller holds ('' none)
 * Returns nil when there is no such cascade; 0 when the caller's copy is current (same nonce and version);
 * {m} when only the changing part is needed; {m, n, i} otherwise.
 */
export const readScript = luaScript(
  'read',
  `
local r = redis.call('HMGET', KEYS[1], 'v', 'n', 'm')
if not r[3] then return nil end
if r[2] == ARGV[1] then
  if r[1] == ARGV[2] then return 0 end
  return {r[3]}
end
return {r[3], r[2], redis.call('HGET', KEYS[1], 'i')}
`,
);
