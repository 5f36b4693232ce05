import { luaScript } from './script.js';

/**
 * format: the layout version of the data under a prefix, written when there is none yet (a new prefix, or
 * data from a release before the version was recorded: the same layout as version 1).
 *
 * KEYS[1] format (string) · ARGV[1] this release's format
 * Returns the format the data follows.
 */
export const formatScript = luaScript(
  'format',
  `
local format = redis.call('GET', KEYS[1])
if format then return format end
redis.call('SET', KEYS[1], ARGV[1])
return ARGV[1]
`,
);
