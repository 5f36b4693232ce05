import type { Cascade, Receipt } from '../types.js';

/** A value, or a promise of it: in-process stores answer synchronously and the router skips the await. */
export type MaybePromise<T> = T | Promise<T>;

export function isPromise<T>(value: MaybePromise<T>): value is Promise<T> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

/** A receipt that came before its provider id was known, kept until `until`. */
export interface HeldReceipt {
  readonly receipt: Receipt;
  readonly receivedAt: number;
  readonly until: number;
}

export interface CommitResult {
  /** False when the stored version was not the one this change was based on: re-read and retry. */
  readonly ok: boolean;
  /** Receipts held for provider ids that this commit indexed, removed from the store. */
  readonly held: readonly HeldReceipt[];
}

/**
 * Where cascades, the provider-id index, idempotency keys, held receipts and due timers live.
 * Every method is atomic on its own; `commit` is a compare-and-set on `version`. Methods may answer
 * synchronously (the memory store does) or with a promise (a network store).
 * Run `test/store.contract.ts` against any new implementation.
 */
export interface CascadeStore {
  /** Inserts a new cascade unless its idempotency key is taken; returns the cascade that owns the key. */
  create(cascade: Cascade): MaybePromise<{ readonly created: boolean; readonly cascade: Cascade }>;
  get(id: string): MaybePromise<Cascade | undefined>;
  /**
   * Replaces the stored cascade if its version is `next.version - 1`, indexes `providerIds`
   * and keeps the due timer in step with `next.timerAt`.
   */
  commit(next: Cascade, providerIds: readonly string[]): MaybePromise<CommitResult>;
  /** The id of the cascade that sent `providerMessageId`; if none, holds the receipt until `holdUntil`. */
  route(receipt: Receipt, now: number, holdUntil: number): MaybePromise<string | undefined>;
  /** Ids of cascades whose timer is due at `now`, at most `limit`, removed from the due set. */
  claimDue(now: number, limit: number): MaybePromise<string[]>;
  /** When the earliest timer is due, if any. */
  nextDueAt(): MaybePromise<number | undefined>;
  /** Every cascade that has not reached a terminal state. */
  open(): AsyncIterable<Cascade>;
  dispose(): Promise<void>;
}
