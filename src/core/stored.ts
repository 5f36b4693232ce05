/**
 * A cascade as a store reads it back from its own encoding (JSON), in this release's shape: a field an earlier
 * release stored under another name (docs/CHANGELOG.md, "Renamed") is read under its new one, so a cascade
 * written before an upgrade reads the same after it. Stores pass each changing part they parse through here.
 */
import type { Cascade } from './types.js';

/** Names an earlier release stored, each with the name it has now. */
const RENAMED = [['deliveredBy', 'deliveredStep']] as const;

/** `part` (a parsed stored cascade or its changing part) with earlier names moved to their new ones, in place. */
export function readStoredCascade<T extends Partial<Cascade>>(part: T): T {
  for (const [old, now] of RENAMED) {
    if (!Object.hasOwn(part, old)) continue;
    const loose = part as Record<string, unknown>;
    if (loose[now] === undefined) loose[now] = loose[old];
    delete loose[old];
  }
  return part;
}
