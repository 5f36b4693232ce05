import type { Cascade } from '../core/types.js';

/**
 * Provider id → the cascade that sent it, for the ids this store instance's own commits indexed (at most
 * `size`, least recently indexed dropped first): a provider id belongs to one cascade for good, so a receipt
 * for one needs no lookup in the backend. Behind `routeHint` in the Redis and PostgreSQL stores.
 */
export function sentByIndex(size: number): {
  /** After a commit that indexed `providerId` for `cascadeId` (and did not end it). */
  remember(providerId: string, cascadeId: string): void;
  /**
   * `routeHint`: the cascade that sent `providerMessageId` and this instance's copy of it from `known`. None once
   * the cascade left `known` (ended or evicted), nor while this instance does not know its version.
   */
  hint(providerMessageId: string, known: ReadonlyMap<string, { readonly cascade: Cascade | undefined }>): { readonly cascadeId: string; readonly cascade: Cascade } | undefined;
} {
  const sentBy = new Map<string, string>();
  return {
    remember(providerId, cascadeId) {
      if (size === 0) return;
      sentBy.set(providerId, cascadeId);
      if (sentBy.size > size) sentBy.delete(sentBy.keys().next().value!);
    },
    hint(providerMessageId, known) {
      const cascadeId = sentBy.get(providerMessageId);
      if (cascadeId === undefined) return undefined;
      const entry = known.get(cascadeId);
      if (entry === undefined) sentBy.delete(providerMessageId);
      return entry?.cascade === undefined ? undefined : { cascadeId, cascade: entry.cascade };
    },
  };
}
