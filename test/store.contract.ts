/**
 * The store contract suite now lives in `cascade-router/testing` (src/store/contract-suite.ts), where users
 * run it against their own stores. This keeps the old entry point: `storeContract(name, make, cleanup)`
 * registers the same cases with vitest, for a store that shares provider health, rates and caps (every built-in store).
 */
import { describe, it } from 'vitest';
import { storeContract as registerContract, type StoreCleanup, type StoreFactory } from 'cascade-router/testing';

export type { StoreCleanup, StoreFactory } from 'cascade-router/testing';

export function storeContract(name: string, make: StoreFactory, cleanup?: StoreCleanup): void {
  registerContract(name, { make, cleanup, sharing: true }, { describe, it });
}
