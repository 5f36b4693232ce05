/**
 * Routing cost: `npm run bench:routing` (options after `--`: `--messages N`, `--seed S`, `--json`,
 * `--no-docs`, `--only key,key`, `--no-family`, `--small`, `--family-messages N`, `--test-seeds N`, `--no-outage`).
 * Runs every strategy over the same simulated customers and messages, then the population family and the stress
 * cases (family.ts), then the provider outages and the blast (../outage.ts, also alone as `npm run bench:outage`),
 * prints the tables (progress on stderr), and writes them with the charts into
 * docs/benchmarks.md; `--json` prints one JSON object keyed by strategy, plus `family` and `stress`,
 * instead. See bench/README.md for the model and where its figures come from.
 *
 * Each part is one step below.
 */
import type { Library } from './library.js';
import { svgChart } from './chart.js';
import { writeDocs } from './docs.js';
import { jsonSummary, markdownTables } from './report.js';
import { DEFAULT_MESSAGES, DEFAULT_SEED, simulate } from './simulate.js';
import { runFamily } from './family.js';
import { familyChart, familyTables } from './family-report.js';
import { STRATEGIES } from './strategies.js';
import { OUTAGE_DEFAULTS, outageBench, outageMarkdown } from '../outage.js';

import { writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

// Measure the build users get (dist/), not the sources as tsx transpiles them on the fly.
const libUrl = new URL('../../dist/index.js', import.meta.url).href;
const lib = (await import(libUrl)) as Library;

const args = process.argv.slice(2);
const flag = (name: string, fallback: number): number => {
  const index = args.indexOf(`--${name}`);
  const value = index === -1 ? fallback : Number(args[index + 1]);
  if (!Number.isSafeInteger(value) || value <= 0) throw new Error(`Expected --${name} to be a positive integer, got ${args[index + 1]}`);
  return value;
};
const json = args.includes('--json');
// `--only learned,costAware`: just these strategies (and the bound, which every ratio needs); docs are not written.
const onlyIndex = args.indexOf('--only');
const only = onlyIndex === -1 ? undefined : new Set([...args[onlyIndex + 1]!.split(','), 'clairvoyant']);
const strategies = only && STRATEGIES.filter((s) => only.has(s.key));
const messages = flag('messages', DEFAULT_MESSAGES);
const seed = flag('seed', DEFAULT_SEED);

const started = performance.now();
process.stderr.write(`routing cost: ${messages.toLocaleString('en')} messages, seed ${seed}\n`);
// The router strategies are independent runs over the same world: one worker thread per core.
const parallel = flag('parallel', Math.min(4, availableParallelism()));
const sim = await simulate({ lib, libUrl, parallel, messages, seed, strategies, onProgress: (line) => process.stderr.write(`${line}\n`) });
// The family and the stress cases: `--small` is the size CI's test uses (a few small populations).
const small = args.includes('--small');
const family = args.includes('--no-family') || only !== undefined
  ? undefined
  : await runFamily({
      lib,
      libUrl,
      parallel,
      messages: flag('family-messages', small ? 800 : 3000),
      trainSeeds: small ? [101] : [101, 102, 103],
      testSeeds: Array.from({ length: flag('test-seeds', small ? 3 : 20) }, (_, i) => 201 + i),
      stressSeeds: small ? [301] : [301, 302, 303, 304, 305],
      onProgress: (line) => process.stderr.write(`${line}\n`),
    });
// Provider outages (issue #15): a provider failing or silent for four hours, one and two providers, and a blast.
const outage = args.includes('--no-outage') || only !== undefined
  ? undefined
  : await outageBench({
      lib,
      seed: OUTAGE_DEFAULTS.seed,
      messages: small ? 1500 : OUTAGE_DEFAULTS.messages,
      blast: small ? 3000 : OUTAGE_DEFAULTS.blast,
      onProgress: (line) => process.stderr.write(`outage: ${line}\n`),
    });
const seconds = (performance.now() - started) / 1000;

if (json) {
  console.log(JSON.stringify({ ...jsonSummary(sim.figures), ...(family ? { family: family.family, stress: family.stress } : {}), ...(outage ? { outage } : {}) }));
} else {
  const tables = markdownTables(sim.figures);
  const spread = family ? familyTables(family.family, family.stress) : '';
  const outages = outage ? `\n\n${outageMarkdown(outage)}` : '';
  console.log(`\n${tables}\n\n${spread}${outages}\n\n${sim.messages.toLocaleString('en')} messages to ${sim.customers.toLocaleString('en')} customers, seed ${seed}, ${seconds.toFixed(1)} s`);
  if (!args.includes('--no-docs') && only === undefined && family !== undefined && !small) {
    const section = [
      `## Routing cost (\`npm run bench:routing\`)`,
      '',
      `${sim.messages.toLocaleString('en')} messages (the six stories of the design as a week's mix) to ${sim.customers.toLocaleString('en')} simulated`,
      `customers, seed ${seed}, every strategy through the real router in simulated time except the clairvoyant bound,`,
      `which is computed from the simulation's hidden truth. The model, its figures and their sources: [bench/README.md](../bench/README.md).`,
      `Cost per delivered message is total spend over delivered messages; times run from when a message could first go out`,
      `(its send time, past the customer's quiet hours) to its positive receipt. Double spend: billed after the attempt that`,
      `turned out delivered (late receipts); for the broadcast, everything billed besides the first channel to deliver.`,
      '',
      tables,
      '',
      '![cost per delivered message against p95 time to delivery](routing-chart.svg)',
      '',
      spread,
      '',
      '![cost per delivered message over the bound, median and worst over the test populations](routing-family.svg)',
    ].join('\n');
    await writeDocs(new URL('../../', import.meta.url), section, svgChart(sim.figures, `Routing cost, ${sim.messages.toLocaleString('en')} messages`));
    writeFileSync(new URL('../../docs/routing-family.svg', import.meta.url), familyChart(family.family, family.stress));
    console.log('written: docs/benchmarks.md (routing section), docs/routing-chart.svg, docs/routing-family.svg');
  }
}
