import { createRequire } from 'node:module';
import { InvalidConfigError } from '../core/errors.js';

// Resolved from this file, as the later `import()` will be: the user's node_modules, not the caller's cwd.
const resolveFromHere = createRequire(import.meta.url);

/**
 * Checks, when a store or feature is made, that an optional peer dependency is installed: a missing one is an
 * `INVALID_CONFIG` naming the package to install, not a `STORE_UNAVAILABLE` at the first send.
 */
export function requirePeer(name: string, feature: string, resolve: (name: string) => string = resolveFromHere.resolve): void {
  try {
    resolve(name);
  } catch (cause) {
    throw new InvalidConfigError(`${feature} needs the \`${name}\` package, which is not installed: run \`npm install ${name}\``, { cause });
  }
}
