import { defineConfig, type Options } from 'tsup';

const library = {
  index: 'src/index.ts',
  receipts: 'src/receipts/index.ts',
  redis: 'src/redis/index.ts',
  postgres: 'src/postgres/index.ts',
  testing: 'src/testing/index.ts',
};
const cli = { cli: 'src/cli/main.ts' };
const shared = { dts: { entry: library }, sourcemap: true, target: 'node20' } as const;

// The command line alone, without declarations: what `npm ci` builds (the `prepare` script), so that
// `npx cascade-router` works in a fresh clone within seconds; `npm run build` builds everything with its types.
const cliOnly: Options = { entry: cli, format: ['esm'], target: 'node20', sourcemap: true, clean: false };

export default defineConfig((flags): Options | Options[] => {
  if (flags.env?.['BUILD'] === 'cli') return cliOnly;
  return [
    { ...shared, entry: { ...library, ...cli }, format: ['esm'], clean: true },
    // p-retry is ESM-only, so a CJS consumer cannot require() it: the CJS build carries its own copy.
    // `shims` gives the CJS build an `import.meta.url` (the optional peer dependency checks, and the postgres
    // entry's createRequire for pg, resolve from it).
    { ...shared, entry: library, format: ['cjs'], noExternal: ['p-retry', 'is-network-error'], shims: true },
  ];
});
