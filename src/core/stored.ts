/**
 * A cascade as a store reads it back from its own encoding (JSON), in this release's shape: a field an earlier
 * release stored under another name (docs/CHANGELOG.md, "Renamed") is read under its new one, so a cascade
 * written before an upgrade reads the same after it. Stores pass each changing part they parse through here.
 */
import type { Cascade } from './types.js';

/** Names an earlier release stored, each with the name it has now: on the cascade, and on each attempt. */
const RENAMED = [['deliveredBy', 'deliveredStep']] as const;
const RENAMED_ON_ATTEMPTS = [['state', 'phase']] as const;

/** `part` (a parsed stored cascade or its changing part) with earlier names moved to their new ones, in place. */
export function readStoredCascade<T extends Partial<Cascade>>(part: T): T {
  rename(part, RENAMED);
  const attempts = part.attempts;
  if (attempts !== undefined) for (const attempt of attempts) rename(attempt, RENAMED_ON_ATTEMPTS);
  return part;
}

function rename(record: object, names: readonly (readonly [old: string, now: string])[]): void {
  for (const [old, now] of names) {
    if (!Object.hasOwn(record, old)) continue;
    const loose = record as Record<string, unknown>;
    if (loose[now] === undefined) loose[now] = loose[old];
    delete loose[old];
  }
}
