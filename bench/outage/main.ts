/**
 * Outage benchmark: `npm run bench:outage` (options after `--`: `--messages N`, `--blast N`, `--seed S`,
 * `--json`). Prints the targets and the figures as markdown tables (progress on stderr), or with `--json`
 * one JSON object. Measures the built package (dist/), as users get it.
 */
import type { Library } from './library.js';
import { OUTAGE_DEFAULTS, outageBench, outageMarkdown } from '../outage.js';

const lib = (await import(new URL('../../dist/index.js', import.meta.url).href)) as Library;

const args = process.argv.slice(2);
const flag = (name: string, fallback: number): number => {
  const index = args.indexOf(`--${name}`);
  const value = index === -1 ? fallback : Number(args[index + 1]);
  if (!Number.isSafeInteger(value) || value <= 0) throw new Error(`Expected --${name} to be a positive integer, got ${args[index + 1]}`);
  return value;
};
const seed = flag('seed', OUTAGE_DEFAULTS.seed);
const messages = flag('messages', OUTAGE_DEFAULTS.messages);
const blast = flag('blast', OUTAGE_DEFAULTS.blast);

const started = performance.now();
process.stderr.write(`outages: ${messages.toLocaleString('en')} messages a run, a blast of ${blast.toLocaleString('en')}, seed ${seed}\n`);
const bench = await outageBench({ lib, seed, messages, blast, onProgress: (line) => process.stderr.write(`  ${line}\n`) });
if (args.includes('--json')) console.log(JSON.stringify(bench));
else console.log(`\n${outageMarkdown(bench)}\n\nseed ${seed}, ${((performance.now() - started) / 1000).toFixed(1)} s`);
