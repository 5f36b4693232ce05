// Run by node:test (not vitest): the exported store contract against memoryStore, registered with
// node:test's own describe/it. Launched by test/testing/store-contract.test.ts.
import { describe, it } from 'node:test';
import { memoryStore } from '../../../src/index.js';
import { storeContract } from '../../../src/testing/index.js';

storeContract('memoryStore under node:test', { make: () => memoryStore() }, { describe, it });
