/**
 * One benchmark run: the population, the workload, every strategy (same seed, same world), the figures.
 * Router strategies are shared between worker threads (one per core, at most `parallel`) when the
 * library is given as a module URL; each thread rebuilds the same world from the seed. Used by main.ts
 * (the built package, in workers) and by test/bench-routing.test.ts (the sources, in process).
 */
import { Worker } from 'node:worker_threads';
import type { Library } from './library.js';
import { createPopulation } from './population.js';
import { DEFAULT_PARAMS, type Scenario } from './params.js';
import { figures, type Figures, type StrategyResult } from './report.js';
import { STRATEGIES, strategyByKey, type RouterStrategy, type Strategy } from './strategies.js';
import { runRouterStrategy } from './world.js';
import { createWorkload, type Job } from './workload.js';

export interface SimulateOptions {
  readonly lib: Library;
  /** The module `lib` was loaded from: lets worker threads load the same build. */
  readonly libUrl?: string | undefined;
  /** Worker threads for the router strategies (default 1: all in this thread). */
  readonly parallel?: number | undefined;
  readonly seed?: number | undefined;
  readonly messages?: number | undefined;
  /** Default 1 day of simulated time: late receipts beyond it are not counted. */
  readonly retentionMs?: number | undefined;
  readonly strategies?: readonly Strategy[] | undefined;
  readonly onProgress?: ((line: string) => void) | undefined;
  /** The customer base and its disturbance (default: the project's own base, undisturbed). */
  readonly scenario?: Scenario | undefined;
}

export interface Simulation {
  readonly seed: number;
  readonly messages: number;
  readonly customers: number;
  readonly results: readonly StrategyResult[];
  readonly figures: Record<string, Figures>;
}

export const DEFAULT_SEED = 1;
export const DEFAULT_MESSAGES = 100_000;
const DAY = 86_400_000;

/** What one worker thread runs. */
export interface WorkerTask {
  readonly libUrl: string;
  readonly seed: number;
  readonly messages: number;
  readonly retentionMs: number;
  readonly keys: readonly string[];
  readonly scenario?: Scenario | undefined;
}

/** About four messages per customer over the week, unless a stress case says otherwise. */
const customersFor = (messages: number, scenario?: Scenario): number =>
  Math.max(scenario?.stress?.messagesPerCustomer === undefined ? 200 : 20, Math.round(messages / (scenario?.stress?.messagesPerCustomer ?? 4)));

function world(lib: Library, seed: number, messages: number, scenario?: Scenario): Job[] {
  const customers = createPopulation(seed, customersFor(messages, scenario), scenario?.params ?? DEFAULT_PARAMS, scenario?.stress);
  return createWorkload(lib, seed, customers, messages, scenario?.stress?.otpOnly === true);
}

/** Runs the named strategies in this thread, in order. */
export async function runStrategies(lib: Library, task: Omit<WorkerTask, 'libUrl'>, progress: (line: string) => void, strategies: readonly Strategy[] = STRATEGIES): Promise<StrategyResult[]> {
  const jobs = world(lib, task.seed, task.messages, task.scenario);
  const results: StrategyResult[] = [];
  for (const key of task.keys) {
    const strategy = strategies.find((s) => s.key === key) ?? strategyByKey(key)!;
    const started = performance.now();
    const outcome =
      strategy.kind === 'bound'
        ? strategy.compute(lib, task.seed, jobs)
        : await runRouterStrategy(
            {
              lib,
              seed: task.seed,
              jobs,
              retentionMs: task.retentionMs,
              stress: task.scenario?.stress,
              onProgress: (n) => progress(`  ${strategy.key}: ${n.toLocaleString('en')} / ${task.messages.toLocaleString('en')} messages`),
            },
            strategy,
          );
    results.push({ key: strategy.key, label: strategy.label, outcome });
    progress(`${strategy.key} done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
  return results;
}

function inWorker(task: WorkerTask, progress: (line: string) => void): Promise<StrategyResult[]> {
  return new Promise((resolve, reject) => {
    // A worker's entry point is loaded before `--import tsx` takes effect in Node 20: register tsx first.
    const entry = JSON.stringify(new URL('./worker.ts', import.meta.url).href);
    const boot = `import('tsx/esm/api').then(({ register }) => { register(); return import(${entry}); })`;
    const worker = new Worker(boot, { eval: true, workerData: task });
    worker.on('message', (m: { progress?: string; results?: StrategyResult[] }) => {
      if (m.progress !== undefined) progress(m.progress);
      if (m.results) resolve(m.results);
    });
    worker.on('error', reject);
    worker.on('exit', (code) => {
      if (code !== 0) reject(new Error(`routing worker exited with code ${code}`));
    });
  });
}

/** Greedy split of the router strategies over `n` threads by their weights. */
function share(strategies: readonly RouterStrategy[], n: number): string[][] {
  const groups = Array.from({ length: n }, () => ({ load: 0, keys: [] as string[] }));
  for (const s of [...strategies].sort((a, b) => (b.weight ?? 1) - (a.weight ?? 1))) {
    const lightest = groups.reduce((a, b) => (b.load < a.load ? b : a));
    lightest.load += s.weight ?? 1;
    lightest.keys.push(s.key);
  }
  return groups.filter((g) => g.keys.length > 0).map((g) => g.keys);
}

export async function simulate(options: SimulateOptions): Promise<Simulation> {
  const { lib } = options;
  const seed = options.seed ?? DEFAULT_SEED;
  const messages = options.messages ?? DEFAULT_MESSAGES;
  const retentionMs = options.retentionMs ?? DAY;
  const strategies = options.strategies ?? STRATEGIES;
  const progress = options.onProgress ?? (() => {});
  const task = { seed, messages, retentionMs, scenario: options.scenario };
  const parallel = options.libUrl === undefined ? 1 : Math.max(1, options.parallel ?? 1);
  let results: StrategyResult[];
  // Worker threads find strategies by key in STRATEGIES: a subset of them can run in parallel too.
  if (parallel > 1 && strategies.every((s) => strategyByKey(s.key) !== undefined)) {
    const routed = strategies.filter((s): s is RouterStrategy => s.kind === 'router');
    const groups = share(routed, parallel);
    const parts = await Promise.all(groups.map((keys) => inWorker({ ...task, libUrl: options.libUrl!, keys }, progress)));
    const bounds = await runStrategies(lib, { ...task, keys: strategies.filter((s) => s.kind === 'bound').map((s) => s.key) }, progress);
    const byKey = new Map([...parts.flat(), ...bounds].map((r) => [r.key, r]));
    results = strategies.map((s) => byKey.get(s.key)!);
  } else {
    results = await runStrategies(lib, { ...task, keys: strategies.map((s) => s.key) }, progress, strategies);
  }
  return { seed, messages, customers: customersFor(messages, options.scenario), results, figures: figures(lib, results) };
}
