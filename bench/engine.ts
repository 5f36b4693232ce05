/**
 * Engine throughput and memory: `npm run bench:engine` (add `-- --json` for one JSON object).
 * cascadesPerSecond: send through a delivered receipt, in-memory store, instant fake adapters, one process.
 * bytesPerOpenCascade: heap growth per open cascade with N cascades waiting for receipts (default 1,000,000).
 */
import type * as Library from 'cascade-router';
import type { Router, SimulatedClock as Clock } from 'cascade-router';

// Measure the build users get (dist/), not the sources as tsx transpiles them on the fly.
const { createRouter, SimulatedClock } = (await import(new URL('../dist/index.js', import.meta.url).href)) as typeof Library;

const args = process.argv.slice(2);
const json = args.includes('--json');
const flag = (name: string, fallback: number): number => {
  const index = args.indexOf(`--${name}`);
  return index === -1 ? fallback : Number(args[index + 1]);
};
const throughputCount = flag('cascades', 200_000);
const openCount = flag('open', 1_000_000);
const rounds = flag('rounds', 5);
const log = (line: string): void => {
  if (!json) console.log(line);
};

function makeRouter(clock: Clock): { router: Router; ids: string[] } {
  const ids: string[] = [];
  let seq = 0;
  const send = async (): Promise<string> => {
    const id = `m${seq++}`;
    ids.push(id);
    return id;
  };
  const router = createRouter({
    clock,
    channels: {
      push: { kind: 'push', cost: 0, send, confirm: { timeout: '2m' } },
      sms: { kind: 'sms', cost: '0.05', send, confirm: { timeout: '5m' } },
    },
  });
  return { router, ids };
}

const recipient = (i: number) => ({ id: `r${i}`, addresses: { push: `token-${i}`, sms: '+380501234567' } });
const message = (key: string) => ({ key, category: 'transactional', content: { text: 'Your order has shipped' } });

async function throughput(count: number): Promise<number> {
  const clock = new SimulatedClock();
  const { router, ids } = makeRouter(clock);
  const batch = 1000;
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
  const sample = await router.get((await router.send(message('t0'), recipient(0))).cascadeId);
  if (sample?.status !== 'delivered') throw new Error(`expected delivered cascades, got ${sample?.status}`);
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
  const { router, ids } = makeRouter(clock);
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
log(`throughput: ${rounds} rounds of ${throughputCount} cascades (send → accepted → delivered receipt)`);
await throughput(Math.min(20_000, throughputCount)); // warm-up
const runs: number[] = [];
for (let r = 0; r < rounds; r++) {
  runs.push(await throughput(throughputCount));
  log(`  round ${r + 1}: ${Math.round(runs[r]!).toLocaleString('en')} cascades/s`);
}
const cascadesPerSecond = Math.round(median(runs));
log(`memory: ${openCount.toLocaleString('en')} cascades waiting for receipts`);
const bytesPerOpenCascade = Math.round(await memory(openCount));

if (json) {
  console.log(JSON.stringify({ cascadesPerSecond, bytesPerOpenCascade }));
} else {
  console.log(`cascadesPerSecond (median): ${cascadesPerSecond.toLocaleString('en')}   target ≥ 100,000`);
  console.log(`bytesPerOpenCascade: ${bytesPerOpenCascade.toLocaleString('en')}   target ≤ 1,024`);
}
