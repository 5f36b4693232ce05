/**
 * The layers stay layers (docs/architecture.md): `src/core/` is pure — it imports nothing outside itself but
 * the two libraries it computes with, and never reads the time, draws a random number, arms a timer or awaits.
 * An import scan over the sources, so a change that breaks the rule fails here, not in review.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const core = join(root, 'src/core');
const PACKAGES = new Set(['zod', 'libphonenumber-js']);
const IMPURE = /\b(?:Date\.now|performance\.now|setTimeout|setInterval|setImmediate|queueMicrotask|Math\.random|await|async)\b|\bnew Date\(\s*\)/g;

/** The source without comments and with string contents blanked, so only code is scanned for impure calls. */
function code(source: string): string {
  return source
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/(^|[^:\\])\/\/.*$/gm, '$1')
    .replace(/'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"|`(?:[^`\\]|\\.)*`/g, "''");
}

/** What a file of `src/core/` at `file` breaks of the rule: each import from outside core, each impure call. */
export function violations(file: string, source: string): string[] {
  const found: string[] = [];
  for (const match of source.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)['"]([^'"]+)['"]/g)) {
    const spec = match[1]!;
    if (spec.startsWith('.')) {
      const target = resolve(dirname(file), spec);
      if (relative(core, target).startsWith('..')) found.push(`imports ${spec}`);
    } else if (!PACKAGES.has(spec)) {
      found.push(`imports package ${spec}`);
    }
  }
  for (const match of code(source).matchAll(IMPURE)) found.push(`calls ${match[0]}`);
  return found;
}

function coreFiles(dir = core): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? coreFiles(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
  );
}

describe('architecture: the pure core', () => {
  it('src/core imports nothing outside src/core but zod and libphonenumber-js, and reads no clock, randomness or timer', () => {
    const files = coreFiles();
    expect(files.length).toBeGreaterThanOrEqual(20);
    const broken = files.flatMap((file) => violations(file, readFileSync(file, 'utf8')).map((v) => `${relative(root, file)}: ${v}`));
    expect(broken).toEqual([]);
  });

  it('the scan sees what it forbids: an import of the runtime, a store or a package, a clock read, a timer, an await', () => {
    const file = join(core, 'example.ts');
    const source = [
      "import type { Clock } from '../runtime/clock.js';",
      "import { memoryStore } from '../store/memory.js';",
      "import { EventEmitter } from 'eventemitter3';",
      "import { money } from './money.js';",
      "import { z } from 'zod';",
      '// Date.now() in a comment is fine',
      "const text = 'setTimeout in a string is fine';",
      'export async function f() { await g(Date.now(), new Date(), Math.random()); setTimeout(h, 1); }',
    ].join('\n');
    expect(violations(file, source)).toEqual([
      'imports ../runtime/clock.js',
      'imports ../store/memory.js',
      'imports package eventemitter3',
      'calls async',
      'calls await',
      'calls Date.now',
      'calls new Date()',
      'calls Math.random',
      'calls setTimeout',
    ]);
  });
});
