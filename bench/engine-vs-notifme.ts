/**
 * Engine throughput side by side with notifme-sdk: `npm run bench:engine -- --vs notifme`
 * (options: `--messages N` per round, `--rounds R`, `--concurrency C`).
 * The same workload through both, in one process, alternating round by round: the first channel's send
 * throws, the second one's succeeds. notifme-sdk's `fallback` strategy only moves on when a provider's
 * send throws (it has no receipts or timeouts), so this is the only workload where the two do the same
 * work. Both use silent fake providers that answer at once; the router confirms by acceptance.
 */
import { createRequire } from 'node:module';
import type * as Library from 'cascade-router';

// Measure the build users get (dist/), as bench/engine.ts does.
const { createRouter, memoryStore, SendError, SimulatedClock } = (await import(new URL('../dist/index.js', import.meta.url).href)) as typeof Library;

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

async function throughRouter(n: number): Promise<number> {
  let seq = 0;
  let delivered = 0;
  const router = createRouter({
    clock: new SimulatedClock(),
    store: memoryStore({ retentionMs: 0 }),
    channels: {
      push: { kind: 'push', send: async () => { throw new SendError('unregistered device token', { permanent: true }); }, confirm: { by: 'acceptance' } },
      sms: { kind: 'sms', cost: '0.05', send: async () => `sms-${seq++}`, confirm: { by: 'acceptance' } },
    },
  });
  router.on('delivered', () => void delivered++);
  const started = performance.now();
  for (let i = 0; i < n; i += concurrency) {
    const sends: Promise<unknown>[] = [];
    for (let j = i; j < i + concurrency && j < n; j++) {
      sends.push(router.send({ key: `k${j}`, category: 'transactional', content: { text: TEXT } }, { id: `r${j}`, addresses: { push: `tok-${j}`, sms: '+380501234567' } }));
    }
    await Promise.all(sends);
    await router.settled();
  }
  const seconds = (performance.now() - started) / 1000;
  await router.close();
  if (delivered !== n || seq !== n) throw new Error(`router: expected ${n} delivered by the second channel, got ${delivered} (${seq} sends)`);
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
          { type: 'custom', id: 'first', send: async () => { throw new Error('unregistered device token'); } },
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

console.log('engine vs notifme-sdk: the first channel\'s send throws, the second one\'s succeeds.');
console.log('notifme-sdk falls back only on a thrown send error (no delivery receipts, no timeouts), so this is the only');
console.log('workload where both do the same work; the router\'s receipt- and timeout-driven fallbacks have no notifme equivalent.');
console.log(`${rounds} rounds of ${count.toLocaleString('en')} messages each, ${concurrency} in flight, alternating, one process, silent fake providers`);
await throughRouter(Math.min(10_000, count)); // warm-up both
await throughNotifme(Math.min(10_000, count));
const router: number[] = [];
const notifme: number[] = [];
for (let r = 0; r < rounds; r++) {
  router.push(await throughRouter(count));
  notifme.push(await throughNotifme(count));
  console.log(`  round ${r + 1}: cascade-router ${Math.round(router[r]!).toLocaleString('en')}/s · notifme-sdk ${Math.round(notifme[r]!).toLocaleString('en')}/s`);
}
const ours = median(router);
const theirs = median(notifme);
console.log(`cascade-router (median): ${Math.round(ours).toLocaleString('en')} messages/s`);
console.log(`notifme-sdk    (median): ${Math.round(theirs).toLocaleString('en')} messages/s`);
console.log(`ratio: cascade-router / notifme-sdk = ${(ours / theirs).toFixed(2)}`);
