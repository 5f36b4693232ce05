import type { Learned, Observation } from '../core/learning.js';
import type { Ledger } from '../core/ledger.js';
import type { Attempt, Cascade, Receipt } from '../core/types.js';

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
  /** Its place among the receipts the store has held, increasing in arrival order. */
  readonly seq: number;
}

/** Receipts held for provider ids no cascade had indexed, and those let go unmatched. */
export interface HeldCounts {
  /** Held now. */
  readonly held: number;
  /** Dropped when their hold ran out before any commit indexed their provider id. */
  readonly expired: number;
  /** Dropped, oldest first, to keep within the store's bounds (per provider id and in all). */
  readonly evicted: number;
}

/**
 * What a change adds to the spend ledger and the learned statistics. A store applies it in the same
 * atomic write as the change it comes with, and not at all when that write is refused.
 */
export type StatsUpdate =
  | { readonly ledger: Ledger; readonly observations?: undefined; readonly halfLifeMs?: undefined }
  | {
      readonly ledger?: Ledger | undefined;
      /** Outcomes to count (only when the router learns). */
      readonly observations: readonly Observation[];
      /** How fast counts fade: the store ages what it keeps by this half-life when it adds outcomes to it. */
      readonly halfLifeMs: number;
    };

export interface CommitResult {
  /**
   * True when written. False, with `held` empty, when the stored version was not the one this change was
   * based on: re-read and retry. False, with `held` not empty, when receipts are held for a provider id the
   * change indexes that it has not taken in: apply them to the change and commit it again.
   */
  readonly ok: boolean;
  /**
   * When the commit was refused for them: every receipt held for the provider ids it indexes, in arrival
   * order, still in their hold. A commit passing `heldThrough` (the last one's `seq`) takes them in and
   * removes them in the same write, so no other change comes between a send's result and its early receipts.
   */
  readonly held: readonly HeldReceipt[];
}

/** A provider's breaker state as one router reported it, for the others to adopt. */
export interface SharedHealth {
  readonly provider: string;
  readonly state: 'open' | 'closed';
  readonly reason: 'errors' | 'silence' | undefined;
  /** Open: when probes may start (ms since epoch). */
  readonly until: number | undefined;
  /** When it was reported: a store keeps, per provider, the latest. */
  readonly at: number;
}

/** One send asking for a slot of its provider's rate (`CascadeStore.pace`). */
export interface PaceRequest {
  readonly provider: string;
  /** Most sends in any window of `windowMs`. */
  readonly limit: number;
  readonly windowMs: number;
  /** Of `limit`, the slots in any window that only urgent sends may take. */
  readonly reserve: number;
  readonly urgent: boolean;
  readonly now: number;
}

/** Go now (the slot is taken), or try again at `retryAt`. */
export type PaceAnswer = { readonly go: true } | { readonly go: false; readonly retryAt: number };

/** One message asking to be let through a recipient's frequency cap (`CascadeStore.admit`). */
export interface AdmitRequest {
  readonly recipientId: string;
  readonly category: string;
  /** The message's idempotency key: the same message asking again is let through again, and counted once. */
  readonly key: string;
  readonly max: number;
  readonly windowMs: number;
  readonly now: number;
}

/** A cascade whose current attempt is `sending` in the name of an instance that is not alive. */
export interface Orphan {
  readonly cascadeId: string;
  /** The attempt's owner; undefined when it has none (it was not claimed by a router). */
  readonly owner: string | undefined;
}

/**
 * The current attempt of `cascade` when it is `sending`: claimed, its send not yet recorded. Not one waiting
 * for its provider's rate (`pacedUntil`): nothing is in flight then, and whichever router fires its timer sends it.
 */
export function sendingAttempt(cascade: Cascade): Attempt | undefined {
  if (cascade.status !== 'active') return undefined;
  const attempt = cascade.attempts[cascade.step];
  return attempt?.phase === 'sending' && attempt.pacedUntil === undefined ? attempt : undefined;
}

/**
 * Where cascades, the provider-id index, idempotency keys, held receipts, due timers and the liveness of
 * router instances live.
 * Every method is atomic on its own; `commit` is a compare-and-set on `version`, and the statistics
 * update it carries lands with it or not at all. Methods may answer
 * synchronously (the memory store does) or with a promise (a network store).
 * Run `test/store.contract.ts` against any new implementation.
 */
export interface CascadeStore {
  /** Inserts a new cascade unless its idempotency key is taken; returns the cascade that owns the key. */
  create(cascade: Cascade, update?: StatsUpdate): MaybePromise<{ readonly created: boolean; readonly cascade: Cascade }>;
  get(id: string): MaybePromise<Cascade | undefined>;
  /**
   * Replaces the stored cascade if its version is `next.version - 1`, indexes `providerIds`, keeps the due
   * timer in step with `next.timerAt` and applies `update`, all or nothing; but refuses (`ok: false` with
   * `held`) while a receipt is held for one of `providerIds` whose `seq` is above `heldThrough`, that is one
   * the change did not take in. A written commit removes every receipt held for `providerIds`: those it took
   * in, and those whose hold ran out by `next.updatedAt` (dropped, as on every store).
   */
  commit(next: Cascade, providerIds: readonly string[], update?: StatsUpdate, heldThrough?: number): MaybePromise<CommitResult>;
  /**
   * The id of the cascade that sent `providerMessageId`; if none, holds the receipt until `holdUntil`
   * (within the store's bounds: the oldest held receipts are dropped first).
   */
  route(receipt: Receipt, now: number, holdUntil: number): MaybePromise<string | undefined>;
  /**
   * Optional, for a store whose calls cost a round trip: the cascade this instance last wrote or read that
   * sent `providerMessageId` (a provider id belongs to one cascade for good), without asking the backend. The
   * copy may be stale: the router commits a receipt against it by compare-and-set, which refuses a stale one,
   * and then reads. Undefined when this instance holds no copy (the router then calls `route`).
   */
  routeHint?(providerMessageId: string): { readonly cascadeId: string; readonly cascade: Cascade } | undefined;
  /** How many receipts are held, and how many were dropped unmatched. */
  heldCounts(): MaybePromise<HeldCounts>;
  /** Ids of cascades whose timer is due at `now`, at most `limit`, removed from the due set. */
  claimDue(now: number, limit: number): MaybePromise<string[]>;
  /** When the earliest timer is due, if any. */
  nextDueAt(): MaybePromise<number | undefined>;
  /**
   * What has been learned about these channels (statistics keys, see `Observation.channel`): their
   * channel-wide figures and the recipient's own counts. Channels with nothing learned are left out. The
   * answer is read at once: the memory store answers its own records, which its next update changes in place.
   */
  learned(recipientId: string, channels: readonly string[]): MaybePromise<Learned>;
  /** The spend ledger: every `update.ledger` added up since the store began. */
  ledger(): MaybePromise<Ledger>;
  /** Every cascade that has not reached a terminal state. */
  open(): AsyncIterable<Cascade>;
  /**
   * Marks router instance `instanceId` alive for `ttlMs` more. A store shared by processes counts that in its
   * own time (`now` is the router's clock, for a store that has no time of its own); a store in one process
   * may keep an instance alive until it leaves. True when the instance's previous heartbeat was still alive
   * (false for its first, or when it had lapsed or the instance had left).
   */
  heartbeat(instanceId: string, ttlMs: number, now: number): MaybePromise<boolean>;
  /** Marks `instanceId` dead at once: its router closed. */
  leave(instanceId: string): MaybePromise<void>;
  /**
   * Cascades whose current attempt is `sending` while its owner is not alive: its heartbeat lapsed, it left,
   * it never heartbeat, or there is none. Another instance may then take the step over (a `resume` input).
   * With `self`, also those sending in that instance's own name, alive or not: the router checks them
   * against the sends it has in flight (a claim can be written although its write seemed to fail).
   */
  orphans(now: number, self?: string): AsyncIterable<Orphan>;
  /**
   * Optional: provider health shared between the routers on the store. `reportHealth` keeps a provider's
   * state unless a later one (`at`) is there already; `health` lists what is kept. Without them each router
   * judges its providers alone.
   */
  health?(): MaybePromise<readonly SharedHealth[]>;
  reportHealth?(health: SharedHealth): MaybePromise<void>;
  /**
   * Optional: takes a slot of a provider's rate, shared by every router on the store. A send goes when
   * fewer than `limit` (not urgent: `limit - reserve`) sends went in the last `windowMs`, so no window of that
   * length ever holds more than `limit`. Otherwise it is told when to try again: an urgent send when the
   * oldest send leaves the window, the others one after another at the rate they may use, so a blast
   * spreads out instead of retrying at once. Without it, rate limits are not enforced (the router warns).
   */
  pace?(request: PaceRequest): MaybePromise<PaceAnswer>;
  /**
   * Optional: lets a message through a recipient's frequency cap for its category (at most `max` messages in
   * any `windowMs`), counting it; false when the cap is reached. Without it, caps are not enforced (the router warns).
   */
  admit?(request: AdmitRequest): MaybePromise<boolean>;
  dispose(): Promise<void>;
  /**
   * Optional: writes a new cascade inside the caller's open transaction (`transaction`, of the store's kind: for
   * the PostgreSQL store a connection with a transaction open on it), as `create` does, and makes it due for
   * a router once that transaction commits. Nothing is visible, claimed or sent before the commit; a rollback
   * leaves no trace. A store without it cannot start a cascade in a transaction (`send(..., { transaction })`).
   */
  createInTransaction?(transaction: unknown, cascade: Cascade, update?: StatsUpdate): Promise<{ readonly created: boolean; readonly cascade: Cascade }>;
  /**
   * Optional: calls `wake` whenever another instance (or a committed transaction) made work due sooner than
   * `nextDueAt()` said, so a router need not wait for its next poll. Returns a function that stops it.
   */
  listen?(wake: () => void): () => void;
}
