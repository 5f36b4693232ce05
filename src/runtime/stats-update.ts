/**
 * What a stored change carries to the store for learning and the spend ledger: its outcomes, its ledger
 * delta, and a new message's SMS-only counterfactual (computed in core/spend.ts). Plain functions over the
 * router's resolved channels; what a plan reads back (statistics keys, estimates) is in planning.ts.
 */
import { observe, streakObservations, type ResolvedLearning } from '../core/learning.js';
import { ledgerDelta } from '../core/ledger.js';
import type { Micros } from '../core/money.js';
import type { StatsUpdate } from '../store/types.js';
import type { Cascade } from '../core/types.js';

/** The ledger delta and (when learning) the outcomes a persisted change carries; undefined when there are none. */
export function statsUpdate(
  before: Cascade | undefined,
  after: Cascade,
  learning: ResolvedLearning | undefined,
  learnAs: (channel: string) => string,
  smsOnlyMicros?: Micros | undefined,
): StatsUpdate | undefined {
  const ledger = ledgerDelta(before, after, smsOnlyMicros);
  if (learning) {
    const observations = observe(before, after, learnAs);
    const all = [...observations, ...streakObservations(before, after, learnAs)];
    if (all.length > 0) return { ledger, observations: all, halfLifeMs: learning.halfLifeMs };
  }
  return ledger && { ledger };
}

/** What a new message would have cost by SMS only, for the ledger (core/spend.ts). */
export { smsOnlyCost } from '../core/spend.js';
