/**
 * The harness: runs one router strategy over the whole workload through the real router's public API,
 * in simulated time, on a SimulatedClock;
 * the fake providers schedule receipts that reach `router.handleReceipt()` at the simulated latency; the
 * backend cancels abandoned-cart cascades when the customer buys. Outcomes come from events.
 */
import { declareChannels, type ProviderWorld } from './channels.js';
import { EventQueue } from './queue.js';
import { Recorder, type LostJobs, type LostWatch, type Outcome } from './recorder.js';
import type { Library } from './library.js';
import type { RouterStrategy } from './strategies.js';
import { WEEK_START, type Job } from './workload.js';
import type { Stress } from './params.js';

const DAY = 86_400_000;

type SimEvent =
  | { readonly kind: 'arrival'; readonly job: number }
  | { readonly kind: 'receipt'; readonly id: string; readonly status: 'delivered' | 'read' | 'failed'; readonly error: string | undefined }
  | { readonly kind: 'cancel'; readonly job: number }
  | { readonly kind: 'drop'; readonly cascadeId: string };

export interface RunOptions {
  readonly lib: Library;
  readonly seed: number;
  /** Sorted by arrival. */
  readonly jobs: readonly Job[];
  /** How long the stores keep finished cascades, for late receipts. */
  readonly retentionMs: number;
  readonly onProgress?: ((sent: number) => void) | undefined;
  /** A stress case's disturbance (a provider's outage). */
  readonly stress?: Stress | undefined;
}

export async function runRouterStrategy(options: RunOptions, strategy: RouterStrategy): Promise<Outcome> {
  const { lib, seed, jobs, retentionMs } = options;
  const byIndex: Job[] = [];
  const starts = new Float64Array(jobs.length);
  for (const job of jobs) {
    byIndex[job.index] = job;
    starts[job.index] = job.start;
  }
  const clock = new lib.SimulatedClock(WEEK_START);
  const otp = new Uint8Array(jobs.length);
  for (const job of jobs) if (job.deadlineMs !== undefined) otp[job.index] = 1;
  const recorder = new Recorder(starts, strategy.grouped === true, otp, lostChecks(jobs));
  const errors: Error[] = [];
  const providers: ProviderWorld = {
    seed,
    jobs: byIndex,
    now: () => clock.now(),
    receipt: (at, id, status, error) => queue.push(at, { kind: 'receipt', id, status, error }),
    params: jobs[0]!.customer.params,
    outage: options.stress?.outage,
  };
  const queue = new EventQueue<SimEvent>(clock, handle);
  const declared = declareChannels(lib, providers);
  const channels = strategy.channel ? Object.fromEntries(Object.entries(declared).map(([name, c]) => [name, strategy.channel!(name, c)])) : declared;
  const router = lib.createRouter({ ...strategy.router, clock, store: lib.memoryStore({ retentionMs }), channels, holdUnknownReceipts: '1m' });
  // Once the store has dropped a finished cascade, nothing more can be billed on it.
  recorder.attach(router, (cascadeId, at) => queue.push(at + 2 * retentionMs, { kind: 'drop', cascadeId }));
  router.on('error', (e) => void errors.push(e.error));

  let next = 0;
  const arrive = (): void => {
    const job = jobs[next];
    if (job) queue.push(job.arrival, { kind: 'arrival', job: next });
  };

  async function handle(event: SimEvent): Promise<void> {
    switch (event.kind) {
      case 'arrival': {
        const job = jobs[event.job]!;
        for (const message of strategy.messages(job)) await router.send(message, job.customer.recipient);
        if (job.purchaseAt !== undefined) queue.push(job.purchaseAt, { kind: 'cancel', job: event.job });
        next++;
        if (next % 10_000 === 0) options.onProgress?.(next);
        arrive();
        return;
      }
      case 'receipt':
        await router.handleReceipt({
          providerMessageId: event.id,
          status: event.status,
          ...(event.error === undefined ? {} : { error: { message: event.error } }),
        });
        return;
      case 'cancel': {
        const job = jobs[event.job]!;
        for (const message of strategy.messages(job)) await router.cancel(message.key);
        return;
      }
      case 'drop':
        recorder.drop(event.cascadeId);
        return;
    }
  }

  arrive();
  // advanceTo() settles once per fired timer; runAll() would call it per timer (three settles each).
  const limit = clock.now() + 400 * DAY;
  while (clock.pendingTimers > 0 && clock.now() < limit) await clock.advanceTo(clock.now() + 7 * DAY);
  await router.close();
  if (errors.length > 0) throw new Error(`${strategy.key}: ${errors.length} router error events, the first: ${errors[0]!.message}`, { cause: errors[0] });
  return recorder.finish();
}

/**
 * Per job: the channel its customer lost, when it is their third message planned after the loss (jobs sorted by
 * arrival, when the router plans them). A message planned before the loss and sent after it (a reminder
 * scheduled days ahead) is not counted: no router could know of the loss when it planned it.
 */
function lostChecks(jobs: readonly Job[]): LostJobs {
  const check: (string | undefined)[] = [];
  const watch: (LostWatch | undefined)[] = [];
  const after = new Map<number, number>();
  for (const job of jobs) {
    const lost = job.customer.lost;
    if (lost === undefined) continue;
    watch[job.index] = { customer: job.customer.index, channel: lost.channel, atMs: lost.atMs };
    if (job.arrival < lost.atMs) continue;
    const n = (after.get(job.customer.index) ?? 0) + 1;
    after.set(job.customer.index, n);
    if (n === 3) check[job.index] = lost.channel;
  }
  return { check, watch };
}
