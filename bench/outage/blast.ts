/**
 * A blast: 100,000 marketing SMS handed to the router at one instant (the Sushi Friday segment), with an
 * OTP every ten seconds while it drains, through one SMS provider that takes at most `limit` calls in any
 * second and answers 429 (Retry-After 1 s) beyond it, and 3% of calls with a transient 503 (A21). `before`
 * declares no rate (and no breaker): the router floods the provider and retries into its 429s; `after`
 * declares the provider's `rate`. Every call the provider received is logged, and the busiest window of
 * that log is counted by the benchmark itself, not by the router or the store.
 */
import type { Library, SendRequest } from './library.js';
import { quantile } from './figures.js';
import { Random } from './random.js';
import { START, type Mode } from './world.js';

export interface BlastFigures {
  readonly messages: number;
  /** The provider's limit: calls in any window of `windowMs`. */
  readonly limit: number;
  readonly windowMs: number;
  /** Calls the provider received, accepted, and refused with 429. */
  readonly calls: number;
  readonly accepted: number;
  readonly throttled: number;
  /** The most calls in any window of `windowMs` (a sliding window over the provider's log). */
  readonly busiestWindow: number;
  /** Blast messages the provider accepted, and those whose cascade ended without it. */
  readonly blastSent: number;
  readonly blastFailed: number;
  /** From the blast to the provider's last acceptance of one of its messages. */
  readonly drainMs: number;
  /** OTPs sent during the blast: how many, how many got through, and their wait from send() to acceptance. */
  readonly otps: number;
  readonly otpsSent: number;
  readonly otpP95Ms: number;
  readonly otpMaxMs: number;
}

export interface BlastOptions {
  readonly lib: Library;
  readonly seed: number;
  readonly messages: number;
  /** Default 100 a second, a short code's or a sender's throughput at many SMS providers. */
  readonly limit?: number | undefined;
}

const SECOND = 1000;
const OTP_EVERY_MS = 10 * SECOND;

/** The most entries of sorted `times` in any half-open window (t - windowMs, t]: a two-pointer sweep. */
export function busiestWindow(times: readonly number[], windowMs: number): number {
  let most = 0;
  let lo = 0;
  for (let hi = 0; hi < times.length; hi++) {
    while (times[lo]! <= times[hi]! - windowMs) lo++;
    most = Math.max(most, hi - lo + 1);
  }
  return most;
}

export async function runBlast(options: BlastOptions, mode: Mode): Promise<BlastFigures> {
  const { lib, seed, messages } = options;
  const limit = options.limit ?? 100;
  const windowMs = SECOND;
  const clock = new lib.SimulatedClock(START);
  const log: number[] = [];
  const otpSentAt = new Map<string, number>();
  const otpWaits: number[] = [];
  let accepted = 0;
  let throttled = 0;
  let blastSent = 0;
  let lastBlastAt = START;
  let serial = 0;

  // The provider's own limiter: the calls it served in the last window (time only moves forward).
  const served: number[] = [];
  let head = 0;
  const send = async (request: SendRequest): Promise<string> => {
    const now = clock.now();
    log.push(now);
    while (head < served.length && served[head]! <= now - windowMs) head++;
    if (served.length - head >= limit) {
      throttled++;
      throw Object.assign(new Error('429 Too Many Requests'), { status: 429, retryAfterMs: SECOND });
    }
    served.push(now);
    if (new Random(seed, 7, ++serial).chance(0.03)) throw Object.assign(new Error('503 Service Unavailable'), { status: 503 });
    accepted++;
    const key = request.message.key;
    const otp = otpSentAt.get(key);
    if (otp !== undefined) otpWaits.push(now - otp);
    else {
      blastSent++;
      lastBlastAt = now;
    }
    return `sms-${serial}`;
  };

  const router = lib.createRouter({
    clock,
    telemetry: false,
    store: lib.memoryStore({ retention: 0 }),
    channels: {
      sms: {
        kind: 'sms',
        cost: '0.075',
        confirm: { by: 'acceptance' },
        provider: 'sms-a',
        send,
        ...(mode === 'after' ? { rate: { limit, per: windowMs } } : {}),
      },
    },
    ...(mode === 'before' ? { health: false } : {}),
  });
  const errors: Error[] = [];
  router.on('error', (e) => void errors.push(e.error));
  const content = { text: 'Sushi Friday: 20% off every roll tonight.' };
  const recipient = (id: string) => ({ id, consent: { marketing: true }, addresses: { sms: `+4915${String(10_000_000 + Number(id.slice(1))).padStart(9, '0')}` } });

  for (let i = 0; i < messages; i++) await router.send({ key: `b${i}`, category: 'marketing', content }, recipient(`c${i}`));
  // An OTP every ten seconds for as long as the blast takes at the limit.
  const otps = Math.ceil(((messages / limit) * SECOND) / OTP_EVERY_MS);
  for (let i = 0; i < otps; i++) {
    clock.setTimer(START + (i + 1) * OTP_EVERY_MS - 1, () => {
      otpSentAt.set(`otp${i}`, clock.now());
      void router.send({ key: `otp${i}`, category: 'otp', content: { text: 'Your code is 4821' }, deadline: '2m' }, recipient(`c${i}`));
    });
  }
  await clock.advanceTo(START + 2 * 86_400_000);
  await router.close();
  if (errors.length > 0) throw new Error(`blast ${mode}: ${errors.length} router error events, the first: ${errors[0]!.message}`, { cause: errors[0] });
  otpWaits.sort((a, b) => a - b);
  return {
    messages,
    limit,
    windowMs,
    calls: log.length,
    accepted,
    throttled,
    busiestWindow: busiestWindow(log, windowMs),
    blastSent,
    blastFailed: messages - blastSent,
    drainMs: lastBlastAt - START,
    otps,
    otpsSent: otpWaits.length,
    otpP95Ms: quantile(otpWaits, 0.95),
    otpMaxMs: otpWaits.at(-1) ?? 0,
  };
}
