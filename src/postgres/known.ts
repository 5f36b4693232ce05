/**
 * What a PostgreSQL store instance knows of the cascades it read and wrote: a copy per cascade (sent back as a
 * nonce and version, so the database answers only what changed), and how a row read back becomes a cascade
 * against it. What the database confirmed during this tick is tick-cache.ts.
 */
import { readStoredCascade } from '../core/stored.js';
import { TERMINAL, type Cascade } from '../core/types.js';
import type { Fixed } from '../store/codec.js';
import type { TickCache } from './tick-cache.js';
import { setRecent } from '../store/recent.js';

/** What this instance knows of one stored cascade: its fixed part (by nonce) and, if current when last seen, the whole. */
export interface Known {
  readonly nonce: string;
  readonly fixed: Fixed;
  cascade: Cascade | undefined;
}

/** A row as `get`, `open` and `route` answer it: nonce, version, state (null: the copy held is current), fixed (null: the one held). */
export type Row = readonly [nonce: string, version: number, state: string | null, fixed: string | null];

/** The copies of one store instance, at most `cacheSize` of them (least recently stored dropped first). */
export interface KnownCascades {
  readonly known: Map<string, Known>;
  remember(id: string, entry: Known): void;
  decode(id: string, row: Row | undefined, sent: Known | undefined): Cascade | undefined;
}

export function knownCascades(cacheSize: number, tick: TickCache): KnownCascades {
  const known = new Map<string, Known>();
  const remember = (id: string, entry: Known): void => setRecent(known, id, entry, cacheSize);

  /** The cascade a row shows, remembered; `sent` is what this instance held when it asked (the row is relative to it). */
  const decode = (id: string, row: Row | undefined, sent: Known | undefined): Cascade | undefined => {
    if (row === undefined) {
      known.delete(id);
      tick.block(id);
      return undefined;
    }
    const [nonce, , state, fixedJson] = row;
    if (state === null) {
      tick.confirm(sent!.cascade!);
      return sent!.cascade!;
    }
    const fixed = fixedJson === null ? sent!.fixed : (JSON.parse(fixedJson) as Fixed);
    const cascade = { ...fixed, ...readStoredCascade(JSON.parse(state) as Omit<Cascade, keyof Fixed>) } as Cascade;
    if (TERMINAL.has(cascade.status)) known.delete(id);
    else remember(id, { nonce, fixed, cascade });
    // A fixed part this instance did not hold may be a cascade created again under the id: versions restart.
    if (fixedJson !== null && sent !== undefined && sent.nonce !== nonce) tick.block(id);
    else tick.confirm(cascade);
    return cascade;
  };

  return { known, remember, decode };
}
