import { randomBytes } from 'node:crypto';
import type { HeldReceipt } from '../store/types.js';
import type { Cascade, Receipt } from '../core/types.js';

/** How the Redis and PostgreSQL stores lay a cascade out: the part written once at create, and the part every commit writes. */

/** The part of a cascade that create writes and no transition changes: stored once, in hash field `i`. */
export type Fixed = Pick<Cascade, 'id' | 'key' | 'message' | 'recipient' | 'plan' | 'createdAt'>;

/** The fixed part, with a `sendAt` Date as its epoch ms (the one Date a message may carry), as it reads back. */
export function fixedPart(cascade: Cascade): Fixed {
  const { id, key, message, recipient, plan, createdAt } = cascade;
  const sendAt = message.sendAt;
  return { id, key, message: sendAt instanceof Date ? { ...message, sendAt: sendAt.getTime() } : message, recipient, plan, createdAt };
}

/** Everything else: what a commit writes (hash field `m`). */
export function changingPart(cascade: Cascade): Omit<Cascade, keyof Fixed> {
  const { id: _id, key: _key, message: _message, recipient: _recipient, plan: _plan, createdAt: _createdAt, ...changing } = cascade;
  return changing;
}

/** True when `cascade` carries this fixed part: transitions copy the references they were given. */
export function sameFixed(fixed: Fixed, cascade: Cascade): boolean {
  return (
    fixed.message === cascade.message &&
    fixed.plan === cascade.plan &&
    fixed.recipient === cascade.recipient &&
    fixed.id === cascade.id &&
    fixed.key === cascade.key &&
    fixed.createdAt === cascade.createdAt
  );
}

/** `cascade` as it reads back: with the stored fixed part (a Date `sendAt` becomes epoch ms). */
export function withFixed(cascade: Cascade, fixed: Fixed): Cascade {
  return fixed.message === cascade.message ? cascade : { ...cascade, ...fixed };
}

/** Nonces for fixed parts: unique per store instance and call, short. */
export function nonceMaker(): () => string {
  const instance = randomBytes(6).toString('base64url');
  let serial = 0;
  return () => `${instance}${(serial++).toString(36)}`;
}

/** A held receipt from its list entry, `until:seq:json`. */
export function parseHeld(entry: string): HeldReceipt {
  const colon = entry.indexOf(':');
  const second = entry.indexOf(':', colon + 1);
  const { receipt, receivedAt } = JSON.parse(entry.slice(second + 1)) as { receipt: Receipt; receivedAt: number };
  return { receipt, receivedAt, until: Number(entry.slice(0, colon)), seq: Number(entry.slice(colon + 1, second)) };
}
