/**
 * One outage run: a day's traffic of shipping notices to customers in Germany, WhatsApp first (billed on
 * delivery) and SMS as the fallback, through the real router on the memory store in simulated time. The
 * WhatsApp provider `wa-a` fails every send (503) or goes silent (accepts, holds every receipt) for the
 * middle four hours; `wa-b`, when there is one, carries on. Outcomes are read from the router's events and
 * its cascades; every call each provider received is logged.
 */
import type { Cascade, ChannelConfig, Library, RouterOptions, SendRequest } from './library.js';
import { Random } from './random.js';
import { truthOf, type ChannelTruth, type Truth } from './truth.js';

export type Outage = 'none' | 'failing' | 'silent';
/** `before`: one provider per channel, no breaker, no silence detection; `after`: this features. */
export type Mode = 'before' | 'after';

export interface RunSpec {
  readonly outage: Outage;
  /** WhatsApp providers: `before` with two declares them as two channels, the only way it had. */
  readonly providers: 1 | 2;
  readonly mode: Mode;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
/** Tuesday 6 January 2026, 08:00 UTC: 12 hours of traffic, the outage from hour 4 to hour 8. */
export const START = Date.UTC(2026, 0, 6, 8, 0);
export const RUN_MS = 12 * HOUR;
export const OUTAGE_FROM = START + 4 * HOUR;
export const OUTAGE_UNTIL = START + 8 * HOUR;
/** Receipts a silent provider held are posted within this long after it recovers: the burst. */
const BURST_MS = 10 * MINUTE;

/**
 * P5: WhatsApp utility messages to Germany, Meta's rate, billed on delivery; both providers pass it on (an
 * assumption: a provider with a monthly fee and no per-message markup). P2: SMS to Germany, one segment.
 */
export const PRICES = { whatsapp: '0.0456', sms: '0.075' } as const;

/** What happened to one message. */
export interface MessageRecord {
  readonly index: number;
  readonly arrival: number;
  /** The first positive receipt applied (late ones included, also after the cascade ended). */
  deliveredAt: number | undefined;
  /** The cascade as the store has it at the end of the run. */
  cascade: Cascade | undefined;
}

export interface RunResult {
  readonly spec: RunSpec;
  readonly messages: readonly MessageRecord[];
  /** Send calls each provider received, and how many it accepted. */
  readonly calls: Readonly<Record<string, number>>;
  readonly accepted: Readonly<Record<string, number>>;
  /** Delivery receipts each provider posted (what a provider billing on delivery invoices). */
  readonly deliveredReceipts: Readonly<Record<string, number>>;
  readonly providerDown: number;
  readonly failovers: number;
  /** The breakers' `provider-down` and `provider-up` events, in order. */
  readonly health: readonly HealthChange[];
}

export interface HealthChange {
  readonly at: number;
  readonly provider: string;
  readonly event: 'down' | 'up';
  readonly reason?: 'errors' | 'silence';
}

export interface RunOptions {
  readonly lib: Library;
  readonly seed: number;
  readonly messages: number;
}

/** Arrival times: uniform over the run (a Poisson stream), drawn once per seed and size. */
export function arrivals(seed: number, messages: number): number[] {
  const random = new Random(seed, 0, 0);
  return Array.from({ length: messages }, () => START + Math.floor(random.next() * RUN_MS)).sort((a, b) => a - b);
}

const inOutage = (at: number): boolean => at >= OUTAGE_FROM && at < OUTAGE_UNTIL;

/** An error as a provider's SDK throws it: the HTTP status on the error. */
const httpError = (status: number, text: string): Error => Object.assign(new Error(`${status} ${text}`), { status });

export async function runOutage(options: RunOptions, spec: RunSpec): Promise<RunResult> {
  const { lib, seed } = options;
  const times = arrivals(seed, options.messages);
  const clock = new lib.SimulatedClock(START);
  // Receipts and arrivals the simulation started: the clock waits for them after each timer, before the router's work.
  const inFlight = new Set<Promise<unknown>>();
  const track = (work: Promise<unknown>): void => {
    inFlight.add(work);
    void work.finally(() => inFlight.delete(work));
  };
  clock.onSettle(async () => {
    while (inFlight.size > 0) await Promise.all(inFlight);
  });

  const records: MessageRecord[] = times.map((arrival, index) => ({ index, arrival, deliveredAt: undefined, cascade: undefined }));
  const truths: Truth[] = times.map((arrival, index) => truthOf(seed, index, arrival));
  const calls: Record<string, number> = {};
  const accepted: Record<string, number> = {};
  const deliveredReceipts: Record<string, number> = {};
  let serial = 0;

  const provider = (name: string, channel: 'whatsapp' | 'sms') => async (request: SendRequest): Promise<string> => {
    const now = clock.now();
    calls[name] = (calls[name] ?? 0) + 1;
    if (name === 'wa-a' && spec.outage === 'failing' && inOutage(now)) throw httpError(503, 'Service Unavailable');
    const index = Number(request.message.key.slice(1));
    const truth: ChannelTruth = truths[index]![channel];
    if (truth.transient && request.try === 1) throw httpError(503, 'Service Unavailable');
    if (truth.invalid) throw httpError(400, 'Invalid phone number');
    accepted[name] = (accepted[name] ?? 0) + 1;
    const id = `${name}-${++serial}`;
    let at: number;
    let receipt: { status: 'delivered' | 'failed'; error?: { message: string; code: string; fault: 'recipient' } } | undefined;
    if (truth.unreachable) {
      at = now + truth.latencyMs;
      receipt = { status: 'failed', error: { message: channel === 'whatsapp' ? 'Message undeliverable' : 'Absent subscriber', code: channel === 'whatsapp' ? '131026' : '27', fault: 'recipient' } };
    } else {
      at = Math.max(now, truth.onlineAt) + truth.latencyMs;
      receipt = truth.receiptLost ? undefined : { status: 'delivered' };
    }
    if (receipt === undefined) return id;
    // A silent provider holds every receipt due during its outage and posts them in a burst when it recovers.
    if (name === 'wa-a' && spec.outage === 'silent' && inOutage(at)) at = OUTAGE_UNTIL + Math.floor(new Random(seed, index, 3).next() * BURST_MS);
    const posted = { providerMessageId: id, provider: name, at, ...receipt };
    clock.setTimer(at, () => {
      if (posted.status === 'delivered') deliveredReceipts[name] = (deliveredReceipts[name] ?? 0) + 1;
      track(router.handleReceipt(posted));
    });
    return id;
  };

  const whatsapp = { kind: 'messenger', billing: 'delivered', confirm: { timeout: '10m' }, cost: PRICES.whatsapp } as const;
  const channels: Record<string, ChannelConfig> =
    spec.mode === 'after'
      ? {
          whatsapp: {
            ...whatsapp,
            providers: [
              { name: 'wa-a', send: provider('wa-a', 'whatsapp') },
              ...(spec.providers === 2 ? [{ name: 'wa-b', send: provider('wa-b', 'whatsapp') }] : []),
            ],
          },
        }
      : {
          whatsapp: { ...whatsapp, provider: 'wa-a', send: provider('wa-a', 'whatsapp') },
          ...(spec.providers === 2 ? { 'whatsapp-b': { ...whatsapp, provider: 'wa-b', send: provider('wa-b', 'whatsapp'), address: (r) => r.addresses['whatsapp'] } } : {}),
        };
  channels['sms'] = { kind: 'sms', confirm: { timeout: '5m' }, cost: PRICES.sms, provider: 'sms', send: provider('sms', 'sms') };

  const routerOptions: RouterOptions = {
    clock,
    channels,
    store: lib.memoryStore({ retention: '7d' }),
    telemetry: false,
    ...(spec.mode === 'before' ? { health: false } : {}),
  };
  const router = lib.createRouter(routerOptions);
  const errors: Error[] = [];
  let providerDown = 0;
  let failovers = 0;
  router.on('error', (e) => void errors.push(e.error));
  const health: HealthChange[] = [];
  router.on('provider-down', (e) => void (providerDown++, health.push({ at: e.at, provider: e.provider, event: 'down', reason: e.reason })));
  router.on('provider-up', (e) => void health.push({ at: e.at, provider: e.provider, event: 'up' }));
  router.on('failover', () => void failovers++);
  const delivered = (key: string, at: number): void => {
    const record = records[Number(key.slice(1))]!;
    record.deliveredAt ??= at;
  };
  router.on('delivered', (e) => delivered(e.key, e.at));
  // A positive receipt after the cascade ended (its last step timed out) reaches the customer too.
  router.on('late-receipt', (e) => {
    if (e.status === 'delivered' || e.status === 'read') delivered(e.key, e.at);
  });

  for (const record of records) {
    clock.setTimer(record.arrival, () => {
      const phone = `+4915${String(10_000_000 + record.index).padStart(9, '0')}`;
      track(router.send({ key: `m${record.index}`, category: 'transactional', content: { text: 'Your order has shipped and arrives tomorrow.' } }, { id: `c${record.index}`, addresses: { whatsapp: phone, sms: phone } }));
    });
  }
  // Run the day and then two more, for late receipts (an offline phone's, the burst) and the last timeouts.
  await clock.advanceTo(START + RUN_MS + 2 * 24 * HOUR);
  for (const record of records) record.cascade = await router.get(`m${record.index}`);
  await router.close();
  if (errors.length > 0) throw new Error(`${runName(spec)}: ${errors.length} router error events, the first: ${errors[0]!.message}`, { cause: errors[0] });
  return { spec, messages: records, calls, accepted, deliveredReceipts, providerDown, failovers, health };
}

export const runName = (spec: RunSpec): string => `${spec.outage} outage, ${spec.providers} WhatsApp provider${spec.providers === 2 ? 's' : ''}, ${spec.mode}`;
