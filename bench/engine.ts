/**
 * Engine throughput and memory, each against a floor measured in the same run: `npm run bench:engine`
 * (`-- --json` for one JSON object). The built package (dist/), in-memory store, instant fake adapters,
 * a SimulatedClock, one process, `--concurrency` cascades in flight (default 100), finished cascades
 * dropped at once (retentionMs: 0).
 *
 * Workloads, run in rounds; each round runs every workload once, in an order rotated from round to round,
 * with a forced GC before each run; a figure is the median over rounds of its ratio to that round's floor:
 * - `floor`: what any router must do at least: per cascade a Map insert and an event when it starts, a Map
 *   lookup and an event when its receipt comes, in the same harness (batches, promises, keys); 20 times the
 *   cascades of the other workloads, so that it runs about as long as they do.
 * - `single`: send → first channel accepted → delivered receipt, no listeners (the old `bench:engine`).
 * - `singleListened`: the same with `delivered` and `fallback` listeners attached, as users attach them.
 * - `cascade3`: push (no receipt: its 2-minute timeout fires) → email (a failed receipt) → SMS (delivered),
 *   with the same two listeners.
 * - `learningOn` / `learningOff`: `singleListened` with `learning: true` and without, each cascade to its
 *   own recipient (each send reads the recipient's statistics, each outcome is counted).
 * Each run's process CPU time per cascade is recorded too (`cpuMicros`, medians over rounds): on a shared machine it
 * moves far less than the rates do (run with `--single-threaded-gc` so the collector's time counts once).
 * Then, once: bytesPerOpenCascade, heap growth per open cascade with `--open` cascades (default 1,000,000)
 * waiting for the first of two channels' receipts.
 * `--vs notifme`: the side-by-side comparison with notifme-sdk instead (bench/engine-vs-notifme.ts).
 */
if (process.argv.includes('--vs') && process.argv[process.argv.indexOf('--vs') + 1] === 'notifme') {
  await import('./engine-vs-notifme.js');
  process.exit(0);
}
import { EventEmitter } from 'eventemitter3';
import type * as Library from 'cascade-router';
import type { CascadeStore, Router, SendFunction, SimulatedClock as Clock } from 'cascade-router';

/** `--dist <dir>`: another build to measure (an earlier commit's, for before/after on one machine). */
function distIndex(): string {
  const at = process.argv.indexOf('--dist');
  return at === -1 ? new URL('../dist/index.js', import.meta.url).href : new URL(`file://${process.argv[at + 1]!.replace(/\/$/, '')}/index.js`).href;
}
// Measure the build users get (dist/), not the sources as tsx transpiles them on the fly.
const { createRouter, memoryStore, SimulatedClock } = (await import(distIndex())) as typeof Library;

const args = process.argv.slice(2);
const json = args.includes('--json');
const flag = (name: string, fallback: number): number => {
  const index = args.indexOf(`--${name}`);
  return index === -1 ? fallback : Number(args[index + 1]);
};
const count = flag('cascades', 50_000);
const openCount = flag('open', args.includes('--only') ? 0 : 1_000_000);
const rounds = flag('rounds', 5);
const concurrency = flag('concurrency', 100);
const log = (line: string): void => {
  if (!json) console.log(line);
};
const gc = (): void => (globalThis as { gc?: () => void }).gc?.();

const recipient = (i: number) => ({ id: `r${i}`, addresses: { push: `token-${i}`, email: `u${i}@example.com`, sms: '+380501234567' } });
const message = (key: string) => ({ key, category: 'transactional', content: { text: 'Your order has shipped' } });

/** The floor: a Map insert and an event per start, a lookup and an event per receipt, in the same harness. */
async function floor(n: number): Promise<number> {
  const cascades = new Map<string, { id: string; step: number; status: string }>();
  const emitter = new EventEmitter();
  let delivered = 0;
  emitter.on('delivered', () => void delivered++);
  emitter.on('fallback', () => {});
  const start = async (key: string): Promise<void> => {
    const cascade = { id: key, step: 0, status: 'sending' };
    cascades.set(key, cascade);
    emitter.emit('attempt', cascade);
  };
  const receipt = async (key: string): Promise<void> => {
    const cascade = cascades.get(key)!;
    cascade.status = 'delivered';
    cascades.delete(key);
    emitter.emit('delivered', cascade);
  };
  const started = performance.now();
  for (let i = 0; i < n; i += concurrency) {
    const starts: Promise<unknown>[] = [];
    for (let j = i; j < i + concurrency && j < n; j++) starts.push(start(`t${j}`));
    await Promise.all(starts);
    const receipts: Promise<unknown>[] = [];
    for (let j = i; j < i + concurrency && j < n; j++) receipts.push(receipt(`t${j}`));
    await Promise.all(receipts);
  }
  const seconds = (performance.now() - started) / 1000;
  if (delivered !== n) throw new Error(`floor: expected ${n} delivered, got ${delivered}`);
  return n / seconds;
}

interface Options {
  readonly listeners: boolean;
  readonly learning: boolean;
}

/** Provider ids by cascade and channel, as a fake provider would report them to the receipts endpoint. */
function makeRouter(clock: Clock, store: CascadeStore, options: Options): { router: Router; ids: Map<string, string>[]; delivered: () => number } {
  let seq = 0;
  const ids = [new Map<string, string>(), new Map<string, string>(), new Map<string, string>()];
  const sender =
    (channel: number): SendFunction =>
    async ({ cascadeId }) => {
      const id = `m${seq++}`;
      ids[channel]!.set(cascadeId, id);
      return id;
    };
  const router = createRouter({
    clock,
    store,
    learning: options.learning,
    channels: {
      push: { kind: 'push', cost: 0, send: sender(0), confirm: { timeout: '2m' } },
      email: { kind: 'email', cost: '0.001', send: sender(1), confirm: { timeout: '10m' } },
      sms: { kind: 'sms', cost: '0.05', send: sender(2), confirm: { timeout: '5m' } },
    },
  });
  let delivered = 0;
  if (options.listeners) {
    router.on('delivered', () => void delivered++);
    router.on('fallback', () => {});
  }
  return { router, ids, delivered: () => delivered };
}

/** send → push accepted → delivered receipt. */
async function single(n: number, options: Options): Promise<number> {
  const clock = new SimulatedClock();
  const { router, ids, delivered } = makeRouter(clock, memoryStore({ retentionMs: 0 }), options);
  const push = ids[0]!;
  const started = performance.now();
  for (let i = 0; i < n; i += concurrency) {
    const sends: Promise<unknown>[] = [];
    for (let j = i; j < i + concurrency && j < n; j++) sends.push(router.send(message(`t${j}`), recipient(j)));
    await Promise.all(sends);
    await router.settled();
    const receipts: Promise<unknown>[] = [];
    for (let j = i; j < i + concurrency && j < n; j++) {
      const key = `t${j}`;
      receipts.push(router.handleReceipt({ providerMessageId: push.get(key)!, status: 'delivered' }));
      push.delete(key);
    }
    await Promise.all(receipts);
  }
  const seconds = (performance.now() - started) / 1000;
  await router.close();
  if (options.listeners && delivered() !== n) throw new Error(`single: expected ${n} delivered, got ${delivered()}`);
  return n / seconds;
}

/** push (no receipt, times out) → email (failed receipt) → SMS (delivered receipt). */
async function cascade3(n: number, options: Options): Promise<number> {
  const clock = new SimulatedClock();
  const { router, ids, delivered } = makeRouter(clock, memoryStore({ retentionMs: 0 }), options);
  const [, email, sms] = ids as [Map<string, string>, Map<string, string>, Map<string, string>];
  const started = performance.now();
  for (let i = 0; i < n; i += concurrency) {
    const sends: Promise<unknown>[] = [];
    for (let j = i; j < i + concurrency && j < n; j++) sends.push(router.send(message(`t${j}`), recipient(j)));
    await Promise.all(sends);
    await router.settled();
    await clock.advance(120_000); // every push of the batch times out: each moves on to email
    await router.settled();
    const failed: Promise<unknown>[] = [];
    for (let j = i; j < i + concurrency && j < n; j++) {
      const key = `t${j}`;
      failed.push(router.handleReceipt({ providerMessageId: email.get(key)!, status: 'failed' }));
      email.delete(key);
    }
    await Promise.all(failed);
    await router.settled();
    const receipts: Promise<unknown>[] = [];
    for (let j = i; j < i + concurrency && j < n; j++) {
      const key = `t${j}`;
      receipts.push(router.handleReceipt({ providerMessageId: sms.get(key)!, status: 'delivered' }));
      sms.delete(key);
    }
    await Promise.all(receipts);
  }
  const seconds = (performance.now() - started) / 1000;
  await router.close();
  if (options.listeners && delivered() !== n) throw new Error(`cascade3: expected ${n} delivered by SMS, got ${delivered()}`);
  return n / seconds;
}

function heapUsed(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

/** Heap growth per cascade waiting for its first channel's receipt (push, then SMS). */
async function memory(n: number): Promise<number> {
  const clock = new SimulatedClock();
  let seq = 0;
  const send: SendFunction = async () => `m${seq++}`;
  const router = createRouter({
    clock,
    store: memoryStore(),
    channels: {
      push: { kind: 'push', cost: 0, send, confirm: { timeout: '2m' } },
      sms: { kind: 'sms', cost: '0.05', send, confirm: { timeout: '5m' } },
    },
  });
  const before = heapUsed();
  const batch = 10_000;
  for (let i = 0; i < n; i += batch) {
    const sends: Promise<unknown>[] = [];
    for (let j = i; j < i + batch && j < n; j++) sends.push(router.send(message(`o${j}`), { id: `r${j}`, addresses: { push: `token-${j}`, sms: '+380501234567' } }));
    await Promise.all(sends);
    await router.settled();
    if (!json && i % 200_000 === 0) process.stdout.write(`  ${i} open…\r`);
  }
  const after = heapUsed();
  if (seq !== n) throw new Error(`memory: expected ${n} sends, got ${seq}`);
  await router.close();
  return (after - before) / n;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

const off = { listeners: false, learning: false };
const listened = { listeners: true, learning: false };
// The floor runs 20 times the cascades, so that it too takes long enough for a hiccup not to decide it.
const workloads = {
  floor: (n: number) => floor(20 * n),
  single: (n: number) => single(n, off),
  singleListened: (n: number) => single(n, listened),
  cascade3: (n: number) => cascade3(n, listened),
  learningOff: (n: number) => single(n, listened),
  learningOn: (n: number) => single(n, { listeners: true, learning: true }),
};
type Workload = keyof typeof workloads;
// `--only single,cascade3`: those workloads (with the floor) and no memory figure unless `--open` is given; for profiling.
const only = args.includes('--only') ? args[args.indexOf('--only') + 1]!.split(',') : undefined;
const names = (Object.keys(workloads) as Workload[]).filter((name) => only === undefined || name === 'floor' || only.includes(name));

if (!(globalThis as { gc?: unknown }).gc) log('note: run with node --expose-gc (npm run bench:engine does): GC is forced between runs');
log(`${rounds} rounds of ${count.toLocaleString('en')} cascades per workload, ${concurrency} in flight, order rotated each round, GC forced between runs`);
for (const name of names) await workloads[name](Math.min(10_000, count)); // warm-up
const rates = Object.fromEntries(names.map((name) => [name, [] as number[]])) as Record<Workload, number[]>;
const cpus = Object.fromEntries(names.map((name) => [name, [] as number[]])) as Record<Workload, number[]>;
for (let r = 0; r < rounds; r++) {
  for (let k = 0; k < names.length; k++) {
    const name = names[(k + r) % names.length]!;
    gc();
    const cpuBefore = process.cpuUsage();
    rates[name].push(await workloads[name](count));
    const cpu = process.cpuUsage(cpuBefore);
    cpus[name].push((cpu.user + cpu.system) / (name === 'floor' ? 20 * count : count));
  }
  log(`  round ${r + 1}: ${names.map((name) => `${name} ${Math.round(rates[name][r]!).toLocaleString('en')}/s`).join(' · ')}`);
}
const perRound = (name: Workload, over: Workload = 'floor'): number => median(rates[name].map((rate, r) => rate / rates[over][r]!));
const round2 = (x: number): number => Math.round(x * 10000) / 10000;
const figure = (name: Workload): { perSecond: number; ofFloor: number } =>
  (rates[name]?.length ?? 0) === 0 ? { perSecond: 0, ofFloor: 0 } : { perSecond: Math.round(median(rates[name])), ofFloor: round2(perRound(name)) };
const result = {
  floorPerSecond: Math.round(median(rates.floor)),
  single: figure('single'),
  singleListened: figure('singleListened'),
  cascade3: figure('cascade3'),
  learning: {
    onPerSecond: figure('learningOn').perSecond,
    offPerSecond: figure('learningOff').perSecond,
    onOfFloor: figure('learningOn').ofFloor,
    onVsOff: !rates.learningOn?.length || !rates.learningOff?.length ? 0 : round2(perRound('learningOn', 'learningOff')),
  },
  bytesPerOpenCascade: 0,
  /** Median process CPU time per cascade (µs), by workload. */
  cpuMicros: Object.fromEntries(names.map((name) => [name, Math.round(median(cpus[name]) * 100) / 100])) as Partial<Record<Workload, number>>,
};
if (openCount > 0) {
  log(`memory: ${openCount.toLocaleString('en')} cascades waiting for receipts`);
  gc();
  result.bytesPerOpenCascade = Math.round(await memory(openCount));
}

if (json) console.log(JSON.stringify(result));
else {
  const row = (what: string, perSecond: number, ratio: number, target: string): void =>
    console.log(`  ${what.padEnd(58)} ${perSecond.toLocaleString('en').padStart(9)}/s  ${ratio.toFixed(4)}× floor  ${target}`);
  console.log('median over rounds of each round\'s ratio:');
  console.log(`  ${'floor (Map insert + lookup + one event per step)'.padEnd(58)} ${result.floorPerSecond.toLocaleString('en').padStart(9)}/s`);
  row('single step, no listeners', result.single.perSecond, result.single.ofFloor, '');
  row('single step, listeners (delivered, fallback)', result.singleListened.perSecond, result.singleListened.ofFloor, 'target ≥ 0.2×');
  row('3 steps: push timeout → email failed → SMS delivered', result.cascade3.perSecond, result.cascade3.ofFloor, 'target ≥ 0.08×');
  row('single step, listeners, learning on', result.learning.onPerSecond, result.learning.onOfFloor, '');
  console.log(`  learning on vs off: ${result.learning.onVsOff.toFixed(3)}×   target ≥ 0.85×`);
  console.log(`  CPU per cascade (µs, median): ${names.map((name) => `${name} ${result.cpuMicros[name]}`).join(' · ')}`);
  console.log(`  bytesPerOpenCascade (2 channels): ${result.bytesPerOpenCascade.toLocaleString('en')}   target ≤ 600`);
}
