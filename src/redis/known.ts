/**
 * What a Redis store instance knows of the cascades it read and wrote: a copy per cascade (sent back as a
 * nonce and version, so Redis answers only what changed), and what Redis confirmed during this tick (so a
 * read or route later in the same tick needs no round trip).
 */
import { readStoredCascade } from '../core/stored.js';
import { TERMINAL, type Cascade } from '../core/types.js';
import type { Fixed } from '../store/codec.js';
import { setRecent } from '../store/recent.js';

/** What this instance knows of one stored cascade: its fixed part (by nonce) and, if current when last seen, the whole. */
export interface Known {
  readonly nonce: string;
  readonly fixed: Fixed;
  /** The cascade at `version`, as last read or written by this instance; it may since have changed in Redis. */
  cascade: Cascade | undefined;
}

/** The copies of one store instance, at most `cacheSize` of them (least recently stored dropped first). */
export interface KnownCascades {
  readonly known: Map<string, Known>;
  /** Cascades as a reply showed them current this tick; `null`: changed in a way this tick cannot place. */
  readonly current: Map<string, Cascade | null>;
  /** Provider ids a commit indexed this tick, with their cascade. */
  readonly indexed: Map<string, string>;
  remember(id: string, entry: Known): void;
  confirm(cascade: Cascade): void;
  block(id: string): void;
  decode(id: string, reply: unknown, sent: Known | undefined, sentCascade: Cascade | undefined): Cascade | undefined;
}

export function knownCascades(cacheSize: number): KnownCascades {
  // What this instance knows per cascade id, least recently stored first. Never trusted without asking
  // Redis: a read sends the nonce and version held and gets back only what changed.
  const known = new Map<string, Known>();
  const remember = (id: string, entry: Known): void => setRecent(known, id, entry, cacheSize);

  // What Redis confirmed during this tick: cascades as a create, commit, read or route reply showed them
  // current, and provider ids a commit indexed. A read or route later in the same tick answers from them
  // without a round trip. Dropped at the end of the tick: no I/O comes between, so an answer from here is
  // as current as a round trip made at that reply. Continuations of one socket read may run out of reply
  // order, so a confirmation never replaces a newer one, and a reply that shows a change this tick cannot
  // place (a lost compare-and-set, a claimed timer, another version on route) blocks the id (null) until
  // the tick ends: its next read asks Redis.
  const current = new Map<string, Cascade | null>();
  const indexed = new Map<string, string>();
  const forgetTick = (): void => {
    current.clear();
    indexed.clear();
  };
  const touch = (): void => {
    if (current.size === 0 && indexed.size === 0) process.nextTick(forgetTick);
  };
  const confirm = (cascade: Cascade): void => {
    touch();
    const before = current.get(cascade.id);
    if (before === null || (before !== undefined && before.version > cascade.version)) return;
    current.set(cascade.id, cascade);
  };
  const block = (id: string): void => {
    touch();
    current.set(id, null);
  };

  /**
   * The cascade from a `read` reply (or create's `{0, m, n, i}`), remembered for the next read. `sent` is
   * what this instance held when it asked: the reply is relative to that, not to what it holds now.
   */
  const decode = (id: string, reply: unknown, sent: Known | undefined, sentCascade: Cascade | undefined): Cascade | undefined => {
    if (reply === null) {
      known.delete(id);
      block(id);
      return undefined;
    }
    if (reply === 0) {
      confirm(sentCascade!);
      return sentCascade!;
    }
    const [changing, nonce, fixedJson] = reply as [string, string?, string?];
    const fixed = nonce === undefined ? sent!.fixed : (JSON.parse(fixedJson!) as Fixed);
    const cascade = { ...fixed, ...readStoredCascade(JSON.parse(changing) as Omit<Cascade, keyof Fixed>) } as Cascade;
    if (TERMINAL.has(cascade.status)) known.delete(id);
    else remember(id, { nonce: nonce ?? sent!.nonce, fixed, cascade });
    // A fixed part this instance did not hold may be a cascade created again under the id: versions restart.
    if (nonce !== undefined && current.has(id)) block(id);
    else confirm(cascade);
    return cascade;
  };

  return { known, current, indexed, remember, confirm, block, decode };
}
