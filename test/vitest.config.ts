import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (path: string) => fileURLToPath(new URL(`../src/${path}`, import.meta.url));

export default defineConfig({
  resolve: {
    alias: {
      'cascade-router/receipts': src('receipts/index.ts'),
      'cascade-router/redis': src('redis/index.ts'),
      'cascade-router/postgres': src('postgres/index.ts'),
      'cascade-router/testing': src('testing/index.ts'),
      'cascade-router': src('index.ts'),
    },
  },
  test: {
    root: fileURLToPath(new URL('..', import.meta.url)),
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
