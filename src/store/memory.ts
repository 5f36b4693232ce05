/**
 * The in-process store (`memoryStore`). One file over ~250 lines: its maps, timer heap and packed cascades are
 * all written by `commit` under one version check, which reads best in one place.
 */
import { durationOption, type Duration } from '../core/duration.js';
import { InvalidConfigError } from '../core/errors.js';
import { addToChannelRecord, addToCountsRecord, newChannelRecord, newCountsRecord, type ChannelRecord, type CountsRecord, type OutcomeCounts } from '../core/learning.js';
import { LedgerTotals } from '../core/ledger.js';
import { TERMINAL, type Cascade, type Receipt } from '../core/types.js';
import { heldLimits, type HeldOptions } from './options.js';
import { PackedCascades } from './packed.js';
import { TimerHeap } from './timer-heap.js';
import { sendingAttempt, type CascadeStore, type CommitResult, type HeldReceipt, type PaceAnswer, type SharedHealth, type StatsUpdate } from './types.js';

export interface MemoryStoreOptions extends HeldOptions {
  /** How long finished cascades stay readable: `'24h'`, or milliseconds. Default 24 hours. `Infinity` keeps them. */
  readonly retention?: Duration | undefined;
  /** @deprecated The same as `retention`, in milliseconds. */
  readonly retentionMs?: number | undefined;
  /**
   * Most recipients whose own learned counts are kept; the least recently updated go first (they fall
   * back to the channel-wide figures). Default 100,000; each keeps five numbers per channel used.
   */
  readonly maxRecipients?: number | undefined;
}

/** A positive whole number option, or its default. */
function countOption(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new InvalidConfigError(`Expected \`${name}\` to be a positive integer, got ${String(value)}`);
  }
  return value;
}

const NO_COUNTS: ReadonlyMap<string, OutcomeCounts> = new Map();

const EMPTY: readonly HeldReceipt[] = Object.freeze([]);
const bySeq = (a: HeldReceipt, b: HeldReceipt): number => a.seq - b.seq;
const COMMITTED: CommitResult = Object.freeze({ ok: true, held: EMPTY });
const CONFLICT: CommitResult = Object.freeze({ ok: false, held: EMPTY });

/**
 * The built-in store: plain maps and one timer heap, in this process only.
 * Due timers are entries in a heap checked against each cascade's `timerAt`, so a re-armed
 * or cleared timer simply leaves a stale entry that is skipped when it surfaces.
 * Router instances sharing it live in this process, so one is alive from its first heartbeat until it
 * leaves (closes): there is no crash to detect, and no heartbeat lapses.
 */
export function memoryStore(options: MemoryStoreOptions = {}): CascadeStore {
  return memoryStoreKeeping(options, HOT);
}

/**
 * How many of the latest changes keep their cascades as objects: enough for every cascade in flight in a
 * busy router to be read back as it was written; the open cascades changed before them (those waiting for a
 * receipt or a timer) are packed (./packed.ts), about a third of the memory.
 */
const HOT = 4096;

/** `memoryStore` with the number of latest changes kept as objects (0: every cascade packed at once, finished ones too; tests). */
export function memoryStoreKeeping(options: MemoryStoreOptions, hot: number): CascadeStore {
  if (typeof options !== 'object' || options === null) throw new InvalidConfigError(`Expected memoryStore() options to be an object, got ${String(options)}`);
  const retentionMs = durationOption(options, 'retention', 86_400_000, { infinite: true });
  const { total: maxHeld, perId: maxHeldPerId } = heldLimits(options);
  const maxRecipients = countOption(options.maxRecipients, 'maxRecipients', 100_000);
  // A cascade, or the handle of its packed form.
  const cascades = new Map<string, Cascade | number>();
  const packed = new PackedCascades();
  // Ids of the latest `hot` changes, a ring: the one a change pushes out is packed.
  const recent: (string | undefined)[] = [];
  let recentAt = 0;
  const read = (id: string): Cascade | undefined => {
    const value = cascades.get(id);
    return typeof value === 'number' ? packed.unpack(value) : value;
  };
  // Finished cascades stay objects: packing one costs a few microseconds, as much as a fifth of its whole run,
  // and most are read never again and dropped after `retention`.
  const pack = (id: string): void => {
    const value = cascades.get(id);
    if (typeof value !== 'object' || (hot > 0 && TERMINAL.has(value.status))) return;
    const handle = packed.pack(value);
    if (handle !== undefined) cascades.set(id, handle);
  };
  const put = (cascade: Cascade, previous: Cascade | number | undefined): void => {
    if (typeof previous === 'number') packed.release(previous);
    cascades.set(cascade.id, cascade);
    if (hot === 0) return pack(cascade.id);
    const pushedOut = recent[recentAt];
    recent[recentAt] = cascade.id;
    recentAt = (recentAt + 1) % hot;
    if (pushedOut !== undefined) pack(pushedOut);
  };
  const timerOf = (id: string): number | undefined => {
    const value = cascades.get(id);
    return typeof value === 'number' ? packed.field(value, 'timerAt') : value?.timerAt;
  };
  const byKey = new Map<string, string>();
  const byProviderId = new Map<string, string>();
  const held = new Map<string, HeldReceipt[]>();
  // Every receipt held, oldest first, some since taken by a commit or dropped (no longer in `held`).
  const heldOrder: HeldReceipt[] = [];
  let heldHead = 0;
  let heldSeq = 0;
  const heldCounts = { held: 0, expired: 0, evicted: 0 };
  const timers = new TimerHeap();
  const finished: { id: string; at: number }[] = [];
  let finishedHead = 0;
  const totals = new LedgerTotals();
  // Records updated in place: what `learned()` hands out is read at once by the planner, never kept.
  const channelStats = new Map<string, ChannelRecord>();
  // Insertion order is update order: the first entry is the least recently updated recipient.
  const recipientStats = new Map<string, Map<string, CountsRecord>>();
  let newest: string | undefined;

  const apply = (update: StatsUpdate | undefined, now: number): void => {
    if (!update) return;
    if (update.ledger) totals.add(update.ledger);
    if (!update.observations) return;
    for (const o of update.observations) {
      let channel = channelStats.get(o.channel);
      if (channel === undefined) channelStats.set(o.channel, (channel = newChannelRecord(now)));
      addToChannelRecord(channel, o, now, update.halfLifeMs);
      let own = recipientStats.get(o.recipientId);
      // An update's observations are mostly one recipient's: it is moved to the end (most recent) once.
      if (own === undefined || o.recipientId !== newest) {
        if (own) recipientStats.delete(o.recipientId);
        else own = new Map();
        recipientStats.set(o.recipientId, own);
        newest = o.recipientId;
      }
      let counts = own.get(o.channel);
      if (counts === undefined) own.set(o.channel, (counts = newCountsRecord(now)));
      addToCountsRecord(counts, o, now, update.halfLifeMs);
      if (recipientStats.size > maxRecipients) recipientStats.delete(recipientStats.keys().next().value!);
    }
  };

  const alive = new Set<string>();
  const health = new Map<string, SharedHealth>();
  // Per provider: the times of its sends in the last window (oldest first), and when the last deferred one retries.
  const paced = new Map<string, { sends: number[]; tail: number }>();
  // Per recipient and category: message key → when it was let through.
  const capped = new Map<string, Map<string, number>>();
  // Cascades whose current attempt is `sending`, by id: what orphans() looks through.
  const sending = new Map<string, Cascade>();
  const track = (cascade: Cascade, previous: Cascade | undefined): void => {
    if (sendingAttempt(cascade)) sending.set(cascade.id, cascade);
    else if (previous !== undefined && sendingAttempt(previous)) sending.delete(cascade.id);
  };

  // Cleared or re-armed timers leave stale entries; drop them once they outnumber the cascades.
  const schedule = (cascade: Cascade, previous: Cascade | undefined): void => {
    if (cascade.timerAt === undefined || cascade.timerAt === previous?.timerAt) return;
    timers.push(cascade.timerAt, cascade.id);
    if (timers.size > 2 * cascades.size + 1024) timers.retain((at, id) => timerOf(id) === at);
  };

  // Ids are the idempotency keys unless the router was told otherwise: only other ids need the key index.
  const owner = (key: string): Cascade | undefined => {
    const own = cascades.get(key);
    if (own !== undefined && (typeof own === 'number' ? packed.field(own, 'key') : own.key) === key) return read(key);
    const id = byKey.get(key);
    return id === undefined ? undefined : read(id);
  };

  const evictFinished = (now: number): void => {
    while (finishedHead < finished.length && finished[finishedHead]!.at + retentionMs <= now) {
      const id = finished[finishedHead++]!.id;
      const cascade = read(id);
      if (!cascade) continue;
      const value = cascades.get(id);
      if (typeof value === 'number') packed.release(value);
      cascades.delete(id);
      if (cascade.id !== cascade.key) byKey.delete(cascade.key);
      for (const attempt of cascade.attempts) if (attempt.providerMessageId) byProviderId.delete(attempt.providerMessageId);
    }
    if (finishedHead > 1024 && finishedHead * 2 > finished.length) finished.splice(0, finishedHead), (finishedHead = 0);
  };

  /** Removes a held receipt from its provider id's list; false when a commit took it or it was dropped already. */
  const unhold = (entry: HeldReceipt): boolean => {
    const providerId = entry.receipt.providerMessageId;
    const list = held.get(providerId);
    const index = list ? list.indexOf(entry) : -1;
    if (index === -1) return false;
    list!.splice(index, 1);
    if (list!.length === 0) held.delete(providerId);
    heldCounts.held--;
    return true;
  };

  // Drops held receipts past their time, and the oldest ones beyond the cap.
  const evictHeld = (now: number): void => {
    while (heldHead < heldOrder.length && (heldOrder[heldHead]!.until <= now || heldCounts.held >= maxHeld)) {
      const entry = heldOrder[heldHead++]!;
      if (unhold(entry)) heldCounts[entry.until <= now ? 'expired' : 'evicted']++;
    }
    if (heldHead > 1024 && heldHead * 2 > heldOrder.length) heldOrder.splice(0, heldHead), (heldHead = 0);
  };

  /** The receipts held for these provider ids and still in their hold at `now`, in arrival order. */
  const liveHeld = (providerIds: readonly string[], now: number): HeldReceipt[] | undefined => {
    let live: HeldReceipt[] | undefined;
    for (const providerId of providerIds) {
      for (const entry of held.get(providerId) ?? EMPTY) if (entry.until > now) (live ??= []).push(entry);
    }
    return providerIds.length > 1 ? live?.sort(bySeq) : live;
  };

  return {
    create(cascade, update) {
      const existing = owner(cascade.key) ?? read(cascade.id);
      if (existing) return { created: false, cascade: existing };
      put(cascade, undefined);
      apply(update, cascade.updatedAt);
      if (cascade.id !== cascade.key) byKey.set(cascade.key, cascade.id);
      schedule(cascade, undefined);
      track(cascade, undefined);
      if (TERMINAL.has(cascade.status)) finished.push({ id: cascade.id, at: cascade.updatedAt });
      return { created: true, cascade };
    },

    get(id) {
      return read(id);
    },

    commit(next, providerIds, update, heldThrough): CommitResult {
      const value = cascades.get(next.id);
      if (value === undefined || (typeof value === 'number' ? packed.field(value, 'version') : value.version) !== next.version - 1) return CONFLICT;
      const current = typeof value === 'number' ? packed.unpack(value) : value;
      const now = next.updatedAt;
      if (providerIds.length > 0 && held.size > 0) {
        const live = liveHeld(providerIds, now);
        if (live?.some((entry) => heldThrough === undefined || entry.seq > heldThrough)) return { ok: false, held: live };
      }
      put(next, value);
      apply(update, now);
      schedule(next, current);
      track(next, current);
      for (const providerId of providerIds) {
        byProviderId.set(providerId, next.id);
        const waiting = held.get(providerId);
        if (waiting === undefined) continue;
        for (const entry of waiting.slice()) if (unhold(entry) && entry.until <= now) heldCounts.expired++;
      }
      if (TERMINAL.has(next.status) && !TERMINAL.has(current.status)) {
        finished.push({ id: next.id, at: next.updatedAt });
        evictFinished(next.updatedAt);
      }
      return COMMITTED;
    },

    route(receipt: Receipt, now: number, holdUntil: number) {
      const id = byProviderId.get(receipt.providerMessageId);
      if (id !== undefined) return id;
      evictHeld(now);
      const entry: HeldReceipt = { receipt, receivedAt: now, until: holdUntil, seq: ++heldSeq };
      const list = held.get(receipt.providerMessageId);
      if (list) list.push(entry);
      else held.set(receipt.providerMessageId, [entry]);
      heldOrder.push(entry);
      heldCounts.held++;
      if (list && list.length > maxHeldPerId && unhold(list[0]!)) heldCounts.evicted++;
      return undefined;
    },

    heldCounts() {
      return { ...heldCounts };
    },

    claimDue(now, limit) {
      const due = new Set<string>();
      while (due.size < limit) {
        const at = timers.peek();
        if (at === undefined || at > now) break;
        const [, id] = timers.pop()!;
        if (timerOf(id) === at) due.add(id);
      }
      return [...due];
    },

    nextDueAt() {
      return timers.peek();
    },

    learned(recipientId, _channels) {
      return { channels: channelStats, recipient: recipientStats.get(recipientId) ?? NO_COUNTS };
    },

    ledger() {
      return totals.snapshot();
    },

    async *open() {
      for (const id of cascades.keys()) {
        const cascade = read(id);
        if (cascade !== undefined && !TERMINAL.has(cascade.status)) yield cascade;
      }
    },

    heartbeat(instanceId) {
      if (alive.has(instanceId)) return true;
      alive.add(instanceId);
      return false;
    },

    leave(instanceId) {
      alive.delete(instanceId);
    },

    async *orphans(_now, self) {
      for (const cascade of [...sending.values()]) {
        const owner = sendingAttempt(cascade)!.owner;
        if (owner === undefined || owner === self || !alive.has(owner)) yield { cascadeId: cascade.id, owner };
      }
    },

    health() {
      return [...health.values()];
    },

    reportHealth(state) {
      const kept = health.get(state.provider);
      if (kept === undefined || kept.at <= state.at) health.set(state.provider, state);
    },

    pace({ provider, limit, windowMs, reserve, urgent, now }): PaceAnswer {
      let state = paced.get(provider);
      if (state === undefined) paced.set(provider, (state = { sends: [], tail: -Infinity }));
      const { sends } = state;
      let old = 0;
      while (old < sends.length && sends[old]! <= now - windowMs) old++;
      if (old > 0) sends.splice(0, old);
      const capacity = urgent ? limit : limit - reserve;
      if (sends.length < capacity) {
        sends.push(now);
        return { go: true };
      }
      // No share at all (reserve ≥ limit, which the router never asks): a window from now, as on Redis.
      if (capacity <= 0) return { go: false, retryAt: now + windowMs };
      if (urgent) return { go: false, retryAt: sends[sends.length - capacity]! + windowMs };
      state.tail = Math.max(now, state.tail) + windowMs / capacity;
      return { go: false, retryAt: Math.ceil(state.tail) };
    },

    admit({ recipientId, category, key, max, windowMs, now }) {
      const id = `${recipientId}\u0000${category}`;
      let log = capped.get(id);
      if (log === undefined) capped.set(id, (log = new Map()));
      for (const [k, at] of log) if (at <= now - windowMs) log.delete(k);
      if (log.has(key)) return true;
      if (log.size >= max) return false;
      log.set(key, now);
      return true;
    },

    async dispose() {
      alive.clear();
      health.clear();
      paced.clear();
      capped.clear();
      sending.clear();
      cascades.clear();
      packed.clear();
      recent.length = 0;
      recentAt = 0;
      byKey.clear();
      byProviderId.clear();
      held.clear();
      heldOrder.length = 0;
      heldHead = 0;
      heldCounts.held = 0;
      timers.retain(() => false);
      finished.length = 0;
      finishedHead = 0;
      channelStats.clear();
      recipientStats.clear();
      newest = undefined;
    },
  };
}
