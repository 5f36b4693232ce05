import { defineConfig } from 'tsup';

const shared = {
  entry: { index: 'src/index.ts', receipts: 'src/receipts/index.ts', redis: 'src/redis/index.ts', postgres: 'src/postgres/index.ts' },
  dts: true,
  sourcemap: true,
  target: 'node20',
} as const;

export default defineConfig([
  { ...shared, format: ['esm'], clean: true },
  // p-retry is ESM-only, so a CJS consumer cannot require() it: the CJS build carries its own copy.
  // shims: the postgres entry loads pg with createRequire(import.meta.url), which CJS has no import.meta for.
  { ...shared, format: ['cjs'], noExternal: ['p-retry', 'is-network-error'], shims: true },
]);
