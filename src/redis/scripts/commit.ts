import { luaScript, RETAIN } from './script.js';
import { APPLY_STATS } from './stats.js';

/** The commit script's arguments by name; `commitArgs` lays them out in ARGV as the script reads them. */
export interface CommitArgs {
  readonly id: string;
  /** The version the change is based on: the compare-and-set. */
  readonly baseVersion: number;
  readonly version: number;
  /** The changing part as JSON (hash field `m`). */
  readonly changing: string;
  readonly timerAt: number | undefined;
  readonly terminal: boolean;
  /** Retention in ms as the RETAIN helper takes it ('-1' forever, '0' not at all). */
  readonly retention: string;
  /** The change's time: held receipts whose hold ends by then are dropped. */
  readonly now: number;
  /** True when the id is not the idempotency key (its index key then exists). */
  readonly distinctKey: boolean;
  /** The fixed part as JSON (field `i`) when the change writes one, undefined when it keeps the stored one. */
  readonly fixed: string | undefined;
  /** The fixed part's nonce (field `n`): with `fixed` undefined, the stored one (it must match), else the new one's. */
  readonly nonce: string;
  /**
   * The sending set: `claimed` when the current step is `sending` (claimed, its send not recorded) in `owner`'s
   * name, `released` when it is not, `unchanged` when it was not sending in the base version either.
   */
  readonly sending: 'claimed' | 'released' | 'unchanged';
  readonly owner: string;
  /**
   * The statistics update: the index in KEYS of its first key (the ledger's), its observations as JSON ('' none)
   * and its ledger delta as field, amount pairs (`ledgerArgs`); undefined: none.
   */
  readonly stats: { readonly firstKey: number; readonly json: string; readonly ledger: readonly (string | number)[] } | undefined;
  /** How long a recipient's learned counts are kept without an update (ms). */
  readonly recipientTtlMs: number | string;
  /** The `seq` of the last held receipt the change took in. */
  readonly heldThrough: number | undefined;
  /** Provider ids the change indexes. */
  readonly providerIds: readonly string[];
}

const SENDING = { claimed: '1', released: '0', unchanged: '' } as const;

export function commitArgs(a: CommitArgs): (string | number)[] {
  return [
    a.id,
    String(a.baseVersion),
    a.version,
    a.changing,
    a.timerAt ?? '',
    a.terminal ? '1' : '0',
    a.retention,
    a.providerIds.length,
    a.now,
    a.distinctKey ? '1' : '0',
    a.fixed ?? '',
    a.nonce,
    SENDING[a.sending],
    a.owner,
    a.stats?.json ?? '',
    a.stats === undefined ? '' : String(a.stats.firstKey),
    a.recipientTtlMs,
    a.heldThrough ?? '',
    ...a.providerIds,
    ...(a.stats?.ledger ?? []),
  ];
}

/**
 * commit: compare-and-set of a cascade on its version, with everything that must change with it.
 *
 * KEYS[1] cascade hash · KEYS[2] idempotency-key index · KEYS[3] due set · KEYS[4] claim leases
 * KEYS[5] claimed due times · KEYS[6] open set (id → `v:n`) · KEYS[7] sending set (id → owner)
 * KEYS[8] held provider ids (sorted set) · KEYS[9] held counters (hash)
 * KEYS[10 .. 9+2n] per new provider id: its index key, then its held-receipt list
 * KEYS[10+2n ..] index keys of the cascade's earlier provider ids (passed when it ends, to expire them)
 * KEYS[statsFirst ..] the keys of the statistics update (see stats.ts)
 * ARGV: `CommitArgs`, in the order `commitArgs` gives and the script's first lines name them.
 * Returns {0} when the stored version (or, for an unchanged fixed part, its nonce) differs; {2, entry...} when
 * receipts are held for a new provider id that the change did not take in (`seq` above `through`): every one
 * still in its hold, `until:seq:json`, nothing written; {1} when written, the held lists of the new ids removed.
 */
export const commitScript = luaScript(
  'commit',
  `${RETAIN}${APPLY_STATS}
local id, base, version, changing, timerAt = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local terminal, retention, n, now, distinct = ARGV[6] == '1', ARGV[7], tonumber(ARGV[8]), tonumber(ARGV[9]), ARGV[10] == '1'
local fixed, nonce, sending, owner = ARGV[11], ARGV[12], ARGV[13], ARGV[14]
local stats, statsFirst, recipientTtl = ARGV[15], ARGV[16], ARGV[17]
local through = ARGV[18] == '' and -1 or tonumber(ARGV[18])
local function providerId(i) return ARGV[18 + i] end
-- ARGV[19 + n ..]: the ledger delta, field and amount pairs
local stored = redis.call('HMGET', KEYS[1], 'v', 'n', 't')
if stored[1] ~= base then return {0} end
if fixed == '' and stored[2] ~= nonce then return {0} end
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
if fixed == '' then
  redis.call('HSET', KEYS[1], 'v', version, 't', timerAt, 'm', changing)
else
  redis.call('HSET', KEYS[1], 'v', version, 't', timerAt, 'm', changing, 'i', fixed, 'n', nonce)
end
-- A timer that did not move stays claimed (or due); a moved one replaces any claim on the old one.
if timerAt ~= stored[3] then
  if timerAt == '' then redis.call('ZREM', KEYS[3], id) else redis.call('ZADD', KEYS[3], timerAt, id) end
  redis.call('ZREM', KEYS[4], id)
  redis.call('HDEL', KEYS[5], id)
end
if sending == '1' then redis.call('HSET', KEYS[7], id, owner) elseif sending == '0' then redis.call('HDEL', KEYS[7], id) end
-- Receipts still in their hold were taken into this change; the rest had expired.
local taken = #live - 1
local dropped = 0
for i = 1, n do
  redis.call('SET', KEYS[8 + 2 * i], id)
  if lists[i] > 0 then
    redis.call('DEL', KEYS[9 + 2 * i])
    redis.call('ZREM', KEYS[8], providerId(i))
    dropped = dropped + lists[i]
  end
end
if dropped > 0 then
  redis.call('HINCRBY', KEYS[9], 'held', -dropped)
  if dropped > taken then redis.call('HINCRBY', KEYS[9], 'expired', dropped - taken) end
end
if terminal then
  redis.call('ZREM', KEYS[3], id)
  redis.call('ZREM', KEYS[4], id)
  redis.call('HDEL', KEYS[5], id)
  redis.call('HDEL', KEYS[6], id)
  retain(KEYS[1], retention)
  if distinct then retain(KEYS[2], retention) end
  for i = 1, n do retain(KEYS[8 + 2 * i], retention) end
  local last = statsFirst == '' and #KEYS or tonumber(statsFirst) - 1
  for i = 10 + 2 * n, last do retain(KEYS[i], retention) end
else
  redis.call('HSET', KEYS[6], id, version .. ':' .. nonce)
end
if statsFirst ~= '' then
  applyLedger(KEYS[tonumber(statsFirst)], 19 + n)
  applyStats(tonumber(statsFirst), stats, recipientTtl)
end
return {1}
`,
);
