import { expect } from 'vitest';
import type { Audit } from './audit.js';

/** What every scenario must show: nothing lost, nothing extra, nothing silently dropped, exact money. */
export function expectClean(a: Audit): void {
  if (a.trails.length > 0) console.log(`\nWhat happened to the cascades that broke an invariant:\n${a.trails.join('\n')}\n`);
  expect(a.lost, 'lost').toEqual([]);
  expect(a.endedTwice, 'ended twice').toEqual([]);
  expect(a.extraAfterDelivery, 'messages after a delivery was accepted').toEqual([]);
  expect(a.neverSent, 'steps never sent').toEqual([]);
  expect(a.sentAfterEnd, 'sends after their step ended').toEqual([]);
  expect(a.resendsWhileAlive, 're-sends while the sender lived').toEqual([]);
  expect(a.spendMismatches, 'spend').toEqual([]);
  expect(a.ledgerMatches, 'ledger').toBe(true);
  expect(a.unaccepted, 'messages still refused a minute after the fault ended').toEqual([]);
  expect(a.cascades).toBeGreaterThan(20);
}
