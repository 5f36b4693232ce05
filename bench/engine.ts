/**
 * Engine throughput and memory: `npm run bench:engine` (add `-- --json` for one JSON object).
 * cascadesPerSecond: send through a delivered receipt, in-memory store, instant fake adapters, one process,
 *   `--concurrency` cascades in flight (default 100). Finished cascades are dropped at once (retentionMs: 0),
 *   as a deployment at this rate must; cascadesPerSecondRetained keeps every finished cascade for the run.
 * bytesPerOpenCascade: heap growth per open cascade with N cascades waiting for receipts (default 1,000,000).
 * `--learning`: the same with `learning: true` (each send reads the recipient's statistics, each outcome is counted).
 */
// `npm run bench:engine -- --vs notifme`: the side-by-side comparison instead (bench/engine-vs-notifme.ts).
if (process.argv.includes('--vs') && process.argv[process.argv.indexOf('--vs') + 1] === 'notifme') {
  await import('./engine-vs-notifme.js');
  process.exit(0);
}
import type * as Library from 'cascade-router';
import type { CascadeStore, Router, SimulatedClock as Clock } from 'cascade-router';

// Measure the build users get (dist/), not the sources as tsx transpiles them on the fly.
const { createRouter, memoryStore, SimulatedClock } = (await import(new URL('../dist/index.js', import.meta.url).href)) as typeof Library;

const args = process.argv.slice(2);
const json = args.includes('--json');
const learning = args.includes('--learning');
const flag = (name: string, fallback: number): number => {
  const index = args.indexOf(`--${name}`);
  return index === -1 ? fallback : Number(args[index + 1]);
};
const throughputCount = flag('cascades', 200_000);
const openCount = flag('open', 1_000_000);
const rounds = flag('rounds', 5);
const concurrency = flag('concurrency', 100);
const log = (line: string): void => {
  if (!json) console.log(line);
};

function makeRouter(clock: Clock, store: CascadeStore): { router: Router; ids: string[] } {
  const ids: string[] = [];
  let seq = 0;
  const send = async (): Promise<string> => {
    const id = `m${seq++}`;
    ids.push(id);
    return id;
  };
  const router = createRouter({
    clock,
    store,
    learning,
    channels: {
      push: { kind: 'push', cost: 0, send, confirm: { timeout: '2m' } },
      sms: { kind: 'sms', cost: '0.05', send, confirm: { timeout: '5m' } },
    },
  });
  return { router, ids };
}

const recipient = (i: number) => ({ id: `r${i}`, addresses: { push: `token-${i}`, sms: '+380501234567' } });
const message = (key: string) => ({ key, category: 'transactional', content: { text: 'Your order has shipped' } });

async function throughput(count: number, retentionMs: number): Promise<number> {
  const clock = new SimulatedClock();
  const { router, ids } = makeRouter(clock, memoryStore({ retentionMs }));
  const batch = concurrency;
  const started = performance.now();
  for (let i = 0; i < count; i += batch) {
    const sends: Promise<unknown>[] = [];
    for (let j = i; j < i + batch && j < count; j++) sends.push(router.send(message(`t${j}`), recipient(j)));
    await Promise.all(sends);
    await router.settled();
    const receipts: Promise<unknown>[] = [];
    for (let j = i; j < i + batch && j < count; j++) receipts.push(router.handleReceipt({ providerMessageId: ids[j]!, status: 'delivered' }));
    await Promise.all(receipts);
  }
  const seconds = (performance.now() - started) / 1000;
  // Every cascade was sent exactly once on its first channel, and (where kept) ended delivered.
  if (ids.length !== count) throw new Error(`expected ${count} provider calls, got ${ids.length}`);
  if (retentionMs > 0) {
    const last = await router.send(message(`t${count - 1}`), recipient(count - 1));
    if (last.created || last.status !== 'delivered') throw new Error(`expected the last cascade delivered, got ${last.status}`);
  }
  await router.close();
  return count / seconds;
}

function heapUsed(): number {
  (globalThis as { gc?: () => void }).gc?.();
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().heapUsed;
}

async function memory(count: number): Promise<number> {
  const clock = new SimulatedClock();
  const { router, ids } = makeRouter(clock, memoryStore());
  const before = heapUsed();
  const batch = 10_000;
  for (let i = 0; i < count; i += batch) {
    const sends: Promise<unknown>[] = [];
    for (let j = i; j < i + batch && j < count; j++) sends.push(router.send(message(`o${j}`), recipient(j)));
    await Promise.all(sends);
    await router.settled();
    if (!json && i % 200_000 === 0) process.stdout.write(`  ${i} open…\r`);
  }
  ids.length = 0; // the fake provider's own id list is not the router's memory
  const after = heapUsed();
  await router.close();
  return (after - before) / count;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

if (!(globalThis as { gc?: unknown }).gc) log('note: run with node --expose-gc for steadier memory figures (npm run bench:engine does)');
log(`throughput: ${rounds} rounds of ${throughputCount.toLocaleString('en')} cascades, ${concurrency} in flight (send → accepted → delivered receipt)`);
await throughput(Math.min(20_000, throughputCount), 0); // warm-up
const runs: number[] = [];
const retainedRuns: number[] = [];
for (let r = 0; r < rounds; r++) {
  runs.push(await throughput(throughputCount, 0));
  retainedRuns.push(await throughput(throughputCount, Infinity));
  log(`  round ${r + 1}: ${Math.round(runs[r]!).toLocaleString('en')} cascades/s (finished ones kept: ${Math.round(retainedRuns[r]!).toLocaleString('en')})`);
}
const cascadesPerSecond = Math.round(median(runs));
const cascadesPerSecondRetained = Math.round(median(retainedRuns));
log(`memory: ${openCount.toLocaleString('en')} cascades waiting for receipts`);
const bytesPerOpenCascade = Math.round(await memory(openCount));

if (json) {
  console.log(JSON.stringify({ cascadesPerSecond, cascadesPerSecondRetained, bytesPerOpenCascade }));
} else {
  console.log(`cascadesPerSecond (median): ${cascadesPerSecond.toLocaleString('en')}   target ≥ 100,000`);
  console.log(`cascadesPerSecondRetained (median, every finished cascade kept): ${cascadesPerSecondRetained.toLocaleString('en')}`);
  console.log(`bytesPerOpenCascade: ${bytesPerOpenCascade.toLocaleString('en')}   target ≤ 1,024`);
}
