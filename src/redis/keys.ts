/**
 * Where each piece of state lives. Keys of one cascade carry its id as a hash tag (`{id}`); the
 * provider-id index and the receipts held for a provider id carry that id. The due set, the claim
 * leases, the open and sending sets and the live instances are one key each per prefix. On Redis Cluster a script may only touch
 * keys of one slot, so there the prefix itself must carry a hash tag (`{cr}:`): Redis hashes the
 * first `{…}` only, and every key of the store lands in that one slot. See docs/stores.md.
 */
export interface Keys {
  /**
   * Hash: `v` version, `t` due time ('' for none), `m` what transitions change as JSON (rewritten by every
   * commit), `i` what they never change (id, key, message, recipient, plan, createdAt) as JSON, written by
   * create, and `n` a nonce naming that `i`, so a reader that parsed it once is sent only `m`.
   */
  cascade(id: string): string;
  /** String: the cascade id owning an idempotency key, when the id is not the key itself. */
  key(idempotencyKey: string): string;
  /** String: the cascade id that sent a provider message id. */
  providerId(providerMessageId: string): string;
  /** List: receipts that came before their provider id was indexed, as `until:seq:json`. */
  held(providerMessageId: string): string;
  /** Sorted set: provider ids with held receipts → when the newest one's hold ends (router clock). */
  readonly heldIds: string;
  /** Hash: `seq` (the last sequence number given to a held receipt), `held`, `expired`, `evicted`. */
  readonly heldCounts: string;
  /** Sorted set: cascade id → due time. */
  readonly due: string;
  /** Sorted set: claimed cascade id → when its claim lapses (Redis server time). */
  readonly leases: string;
  /** Hash: claimed cascade id → the due time it was claimed at, put back if the claim lapses. */
  readonly leasedAt: string;
  /** Hash: id → `version:nonce` of every cascade that has not ended (route reads the version here). */
  readonly open: string;
  /** Hash: the spend ledger (integer counters, see scripts/stats.ts). */
  readonly ledger: string;
  /** Hash: a channel's learned counts and latency histogram (statistics key, e.g. `push` or `push:read`). */
  channelStats(channel: string): string;
  /** Hash: one recipient's learned counts for every channel, expiring after eight half-lives without an update. */
  recipientStats(recipientId: string): string;
  /** Hash: id → owner ('' for none) of every cascade whose current step is `sending` (claimed, its send not recorded). */
  readonly sending: string;
  /** Sorted set: router instance id → when its heartbeat lapses (Redis server time). */
  readonly instances: string;
  /** Hash: provider name → its breaker state as a router last reported it (JSON, `SharedHealth`). */
  readonly health: string;
  /** Sorted set: a provider's sends in its rate window (member → time). */
  paceLog(provider: string): string;
  /** String: when a provider's last deferred send retries. */
  paceTail(provider: string): string;
  /** Sorted set: a recipient's messages of a category in its frequency-cap window (key → time). */
  capLog(recipientId: string, category: string): string;
  /** String: the layout these keys follow (`FORMAT`), written by the first store to connect; a store refuses another. */
  readonly format: string;
}

/**
 * The version of the layout above. A release that changes it raises this and migrates data of the versions
 * before; a store refuses data of a later version than its own instead of misreading it.
 */
export const FORMAT = 1;

export function keysFor(prefix: string): Keys {
  return {
    cascade: (id) => `${prefix}c:{${id}}`,
    key: (idempotencyKey) => `${prefix}k:{${idempotencyKey}}`,
    providerId: (providerMessageId) => `${prefix}p:{${providerMessageId}}`,
    held: (providerMessageId) => `${prefix}h:{${providerMessageId}}`,
    heldIds: `${prefix}held`,
    heldCounts: `${prefix}held-counts`,
    due: `${prefix}due`,
    leases: `${prefix}leases`,
    leasedAt: `${prefix}leased-at`,
    open: `${prefix}open`,
    ledger: `${prefix}ledger`,
    channelStats: (channel) => `${prefix}sc:${channel}`,
    recipientStats: (recipientId) => `${prefix}sr:${recipientId}`,
    sending: `${prefix}sending`,
    instances: `${prefix}instances`,
    health: `${prefix}health`,
    paceLog: (provider) => `${prefix}pace:${provider}`,
    paceTail: (provider) => `${prefix}pace-tail:${provider}`,
    capLog: (recipientId, category) => `${prefix}cap:${category}:${recipientId}`,
    format: `${prefix}format`,
  };
}

/** True when `prefix` has a non-empty `{…}` that Redis Cluster would hash instead of the whole key. */
export function hasHashTag(prefix: string): boolean {
  const open = prefix.indexOf('{');
  if (open === -1) return false;
  const close = prefix.indexOf('}', open + 1);
  return close > open + 1;
}
