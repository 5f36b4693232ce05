import { randomFillSync } from 'node:crypto';

const POOL_BYTES = 16 * 1024;
const ID_BYTES = 16;
const pool = Buffer.allocUnsafe(POOL_BYTES);
let offset = POOL_BYTES;

/**
 * A random 128-bit id as 22 base64url characters. Drawn from a pooled buffer: `randomUUID()` builds its
 * string from ~14 concatenated pieces that stay in memory as long as the id does.
 */
export function createCascadeId(): string {
  if (offset + ID_BYTES > POOL_BYTES) {
    randomFillSync(pool);
    offset = 0;
  }
  const id = pool.toString('base64url', offset, offset + ID_BYTES);
  offset += ID_BYTES;
  return id;
}
