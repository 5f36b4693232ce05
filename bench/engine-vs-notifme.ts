/**
 * Engine throughput side by side with notifme-sdk: `npm run bench:engine -- --vs notifme`
 * (options: `--messages N` per round, `--rounds R`, `--concurrency C`, `--json`).
 * The same workload through both, in one process: one channel with two providers, the first one's send
 * throws, the second one's succeeds. notifme-sdk's `fallback` strategy only moves on when a provider's
 * send throws (it has no receipts or timeouts), so this is the only workload where the two do the same
 * work. The router is configured as a user would for it: an SMS channel with two providers (issue #15's
 * failover), the first failing with an account error (HTTP 401: the provider's fault, not retried), the
 * second accepting; confirmed by acceptance. Its provider breaker is off (`health: false`) so that, as in
 * notifme, every message calls the failing provider first (with it on, the breaker opens after ten
 * failures and the router stops calling that provider: less work, not the same work).
 * Fairness: each round runs both, the order alternating from round to round, with a forced GC before
 * each run (`--expose-gc`), so neither absorbs the other's garbage; the figure is the median of the
 * per-round ratios.
 */
import { createRequire } from 'node:module';
import type * as Library from 'cascade-router';

/** `--dist <dir>`: another build to measure (an earlier commit's, for before/after on one machine). */
function distIndex(): string {
  const at = process.argv.indexOf('--dist');
  return at === -1 ? new URL('../dist/index.js', import.meta.url).href : new URL(`file://${process.argv[at + 1]!.replace(/\/$/, '')}/index.js`).href;
}
// Measure the build users get (dist/), as bench/engine.ts does.
const { createRouter, memoryStore, SimulatedClock } = (await import(distIndex())) as typeof Library;

interface NotifmeResult {
  readonly status: 'success' | 'error';
}
interface Notifme {
  send(request: { sms: { from: string; to: string; text: string } }): Promise<NotifmeResult>;
  readonly logger: { configure(options: { silent?: boolean }): void };
}
type NotifmeConstructor = new (options: unknown) => Notifme;
// notifme-sdk ships Flow types, not TypeScript ones: type the little we use.
const NotifmeSdk = (createRequire(import.meta.url)('notifme-sdk') as { default: NotifmeConstructor }).default;

const args = process.argv.slice(2);
const flag = (name: string, fallback: number): number => {
  const index = args.indexOf(`--${name}`);
  return index === -1 ? fallback : Number(args[index + 1]);
};
const count = flag('messages', 100_000);
const rounds = flag('rounds', 5);
const concurrency = flag('concurrency', 100);
const TEXT = 'Your order has shipped';
const json = args.includes('--json');
const log = (line: string): void => {
  if (!json) console.log(line);
};
const gc = (): void => (globalThis as { gc?: () => void }).gc?.();
/** What an SMS provider's SDK throws for a suspended account: an HTTP 401 (the provider's fault, not retried). */
const accountSuspended = (): Error => Object.assign(new Error('account suspended'), { status: 401 });

async function throughRouter(n: number): Promise<number> {
  let seq = 0;
  let delivered = 0;
  const router = createRouter({
    clock: new SimulatedClock(),
    store: memoryStore({ retentionMs: 0 }),
    health: false,
    channels: {
      sms: {
        kind: 'sms',
        confirm: { by: 'acceptance' },
        providers: [
          { name: 'first', cost: '0.05', send: async () => { throw accountSuspended(); } },
          { name: 'second', cost: '0.06', send: async () => `sms-${seq++}` },
        ],
      },
    },
  });
  let failovers = 0;
  router.on('failover', () => void failovers++);
  router.on('delivered', () => void delivered++);
  const started = performance.now();
  for (let i = 0; i < n; i += concurrency) {
    const sends: Promise<unknown>[] = [];
    for (let j = i; j < i + concurrency && j < n; j++) {
      sends.push(router.send({ key: `k${j}`, category: 'transactional', content: { text: TEXT } }, { id: `r${j}`, addresses: { sms: '+380501234567' } }));
    }
    await Promise.all(sends);
    await router.settled();
  }
  const seconds = (performance.now() - started) / 1000;
  await router.close();
  if (delivered !== n || seq !== n || failovers !== n) throw new Error(`router: expected ${n} delivered by the second provider after ${n} failovers, got ${delivered} (${seq} sends, ${failovers} failovers)`);
  return n / seconds;
}

async function throughNotifme(n: number): Promise<number> {
  let seq = 0;
  let succeeded = 0;
  const notifme = new NotifmeSdk({
    channels: {
      sms: {
        multiProviderStrategy: 'fallback',
        providers: [
          { type: 'custom', id: 'first', send: async () => { throw accountSuspended(); } },
          { type: 'custom', id: 'second', send: async () => `sms-${seq++}` },
        ],
      },
    },
  });
  notifme.logger.configure({ silent: true }); // it logs every fallback as a warning otherwise
  const started = performance.now();
  for (let i = 0; i < n; i += concurrency) {
    const sends: Promise<NotifmeResult>[] = [];
    for (let j = i; j < i + concurrency && j < n; j++) sends.push(notifme.send({ sms: { from: 'Shop', to: '+380501234567', text: TEXT } }));
    for (const result of await Promise.all(sends)) if (result.status === 'success') succeeded++;
  }
  const seconds = (performance.now() - started) / 1000;
  if (succeeded !== n || seq !== n) throw new Error(`notifme-sdk: expected ${n} sent by the second provider, got ${succeeded} (${seq} sends)`);
  return n / seconds;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

log('engine vs notifme-sdk: one channel, two providers; the first one\'s send throws, the second one\'s succeeds.');
log('notifme-sdk falls back only on a thrown send error (no delivery receipts, no timeouts), so this is the only');
log('workload where both do the same work; the router\'s receipt- and timeout-driven fallbacks have no notifme equivalent.');
log(`${rounds} rounds of ${count.toLocaleString('en')} messages each, ${concurrency} in flight, order alternated, GC forced before each run`);
if (!(globalThis as { gc?: unknown }).gc) log('note: run with node --expose-gc (npm run bench:engine does): GC is forced between runs');
await throughRouter(Math.min(10_000, count)); // warm-up both
await throughNotifme(Math.min(10_000, count));
const router: number[] = [];
const notifme: number[] = [];
const ratios: number[] = [];
for (let r = 0; r < rounds; r++) {
  const runRouter = async (): Promise<void> => (gc(), void router.push(await throughRouter(count)));
  const runNotifme = async (): Promise<void> => (gc(), void notifme.push(await throughNotifme(count)));
  if (r % 2 === 0) await runRouter(), await runNotifme();
  else await runNotifme(), await runRouter();
  ratios.push(router[r]! / notifme[r]!);
  log(`  round ${r + 1} (${r % 2 === 0 ? 'router first' : 'notifme first'}): cascade-router ${Math.round(router[r]!).toLocaleString('en')}/s · notifme-sdk ${Math.round(notifme[r]!).toLocaleString('en')}/s · ratio ${ratios[r]!.toFixed(2)}`);
}
const result = {
  routerPerSecond: Math.round(median(router)),
  notifmePerSecond: Math.round(median(notifme)),
  ratio: Math.round(median(ratios) * 100) / 100,
};
if (json) console.log(JSON.stringify(result));
else {
  console.log(`cascade-router (median): ${result.routerPerSecond.toLocaleString('en')} messages/s`);
  console.log(`notifme-sdk    (median): ${result.notifmePerSecond.toLocaleString('en')} messages/s`);
  console.log(`ratio: cascade-router / notifme-sdk, median of the per-round ratios = ${result.ratio.toFixed(2)}   target ≥ 3`);
}
