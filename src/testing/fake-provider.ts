import { systemClock, type Clock } from '../runtime/clock.js';
import { toMs, type Duration } from '../core/duration.js';
import { InvalidConfigError, SendError } from '../core/errors.js';
import type { Receipt, ReceiptStatus, SendRequest, SendResult } from '../core/types.js';

/** What the fake provider does with one send. */
export type FakeOutcome =
  /** Accepts it, then reports `status` after `after` (and, for `read`, `delivered` first). */
  | { readonly status: 'delivered' | 'read' | 'failed'; readonly after?: Duration | undefined; readonly errorCode?: string | undefined }
  /** Accepts it and never reports on it (a device offline, a lost receipt). */
  | { readonly status: 'silent' }
  /** Refuses the send: a transient error (retried by the router) or a permanent one (falls back at once). */
  | { readonly status: 'error'; readonly permanent?: boolean | undefined; readonly retryAfter?: Duration | undefined; readonly errorCode?: string | undefined };

export interface FakeProviderOptions {
  /** The provider name put on receipts (`Receipt.provider`); match it with the channel's `provider`. */
  readonly name?: string | undefined;
  /** Where receipts go: `(receipt) => router.handleReceipt(receipt)`, or a function posting a signed webhook to your server. */
  readonly deliver: (receipt: Receipt) => unknown;
  /** Simulated or real time: receipts are posted this long after the send by this clock. Default: the system clock. */
  readonly clock?: Clock | undefined;
  /**
   * What happens to each send: a fixed outcome, a function of the request (a recipient who never gets
   * push, say), or shares drawn at random (`delivered` + `failed` + `errors` up to 1; the rest is silence).
   * Default: every message delivered after 1 second.
   */
  readonly outcome?: FakeOutcome | ((request: SendRequest, random: () => number) => FakeOutcome) | FakeShares | undefined;
  /** How long the provider takes to answer the send itself. Default 0 (answers at once). */
  readonly sendLatency?: Duration | undefined;
  /** Seed of the random draws, so a run repeats exactly. Default 1. */
  readonly seed?: number | undefined;
  /** The price reported with each send. Default: none. */
  readonly price?: string | undefined;
}

/** Outcome shares for random draws. */
export interface FakeShares {
  readonly delivered: number;
  readonly failed?: number | undefined;
  /** Transient send errors (retried by the router). */
  readonly errors?: number | undefined;
  /** Receipt latency: a fixed duration, or drawn uniformly between two. Default 1s. */
  readonly latency?: Duration | readonly [Duration, Duration] | undefined;
}

/** One send the fake provider took, and what it did with it. */
export interface FakeSend {
  readonly request: SendRequest;
  readonly at: number;
  readonly outcome: FakeOutcome;
  /** Undefined when the send was refused. */
  readonly providerMessageId: string | undefined;
}

export interface FakeProvider {
  /** Use as a channel's `send`. */
  readonly send: (request: SendRequest) => Promise<SendResult>;
  /** Every send, in the order taken. */
  readonly sends: readonly FakeSend[];
  /** Every receipt posted, in order, with the time it was posted. */
  readonly receipts: readonly { readonly receipt: Receipt; readonly at: number }[];
  /** Receipts scheduled but not posted yet. */
  pending(): number;
  /** Cancels the receipts not yet posted (call at the end of a real-time test). */
  stop(): void;
}

// Ids stay unique across fake providers in one process, as real providers' are.
let instances = 0;

/** mulberry32: a small seeded generator, enough for drawing outcomes. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function fromShares(shares: FakeShares): (request: SendRequest, draw: () => number) => FakeOutcome {
  const failed = shares.failed ?? 0;
  const errors = shares.errors ?? 0;
  if (![shares.delivered, failed, errors].every((share) => share >= 0) || shares.delivered + failed + errors > 1 + 1e-9) {
    throw new InvalidConfigError('Expected the fake provider\'s `delivered`, `failed` and `errors` shares to be non-negative and add up to at most 1');
  }
  const latency = shares.latency ?? '1s';
  const [low, high] = Array.isArray(latency) ? latency.map((d) => toMs(d, 'latency', InvalidConfigError)) : [toMs(latency as Duration, 'latency', InvalidConfigError)];
  const after = (draw: () => number) => (high === undefined ? low! : low! + draw() * (high - low!));
  return (_request, draw) => {
    const x = draw();
    if (x < shares.delivered) return { status: 'delivered', after: after(draw) };
    if (x < shares.delivered + failed) return { status: 'failed', after: after(draw) };
    if (x < shares.delivered + failed + errors) return { status: 'error' };
    return { status: 'silent' };
  };
}

/**
 * A provider for integration tests: takes sends (use `send` as a channel's adapter) and posts receipts back
 * through `deliver` after each outcome's latency, by `clock` (a `SimulatedClock` for logic tests, the system
 * clock against a real server).
 */
export function fakeProvider(options: FakeProviderOptions): FakeProvider {
  if (typeof options?.deliver !== 'function') throw new InvalidConfigError('Expected `deliver`, a function that takes each receipt');
  const clock = options.clock ?? systemClock;
  const draw = random(options.seed ?? 1);
  const given = options.outcome ?? { status: 'delivered', after: '1s' };
  const decide = typeof given === 'function' ? given : 'status' in given ? () => given : fromShares(given);
  const sendLatencyMs = toMs(options.sendLatency ?? 0, 'sendLatency', InvalidConfigError);
  const sends: FakeSend[] = [];
  const receipts: { receipt: Receipt; at: number }[] = [];
  const timers = new Set<ReturnType<Clock['setTimer']>>();
  let serial = 0;
  const tag = `${options.name ?? 'fake'}-${(++instances).toString(36)}`;

  const post = (at: number, receipt: Receipt): void => {
    const timer = clock.setTimer(at, () => {
      timers.delete(timer);
      receipts.push({ receipt, at: clock.now() });
      void Promise.resolve()
        .then(() => options.deliver(receipt))
        .catch(() => {});
    });
    timers.add(timer);
  };

  const wait = (ms: number, signal: AbortSignal): Promise<void> =>
    ms === 0
      ? Promise.resolve()
      : new Promise((resolve, reject) => {
          const timer = clock.setTimer(clock.now() + ms, () => (timers.delete(timer), resolve()));
          timers.add(timer);
          signal.addEventListener('abort', () => (clock.clearTimer(timer), timers.delete(timer), reject(signal.reason)), { once: true });
        });

  return {
    sends,
    receipts,
    pending: () => timers.size,
    stop() {
      for (const timer of timers) clock.clearTimer(timer);
      timers.clear();
    },
    async send(request) {
      await wait(sendLatencyMs, request.signal);
      const outcome = decide(request, draw);
      const at = clock.now();
      if (outcome.status === 'error') {
        sends.push({ request, at, outcome, providerMessageId: undefined });
        throw new SendError(`Fake provider refused the send${outcome.permanent === true ? ' (permanent)' : ''}`, {
          permanent: outcome.permanent ?? false,
          ...(outcome.retryAfter === undefined ? {} : { retryAfterMs: toMs(outcome.retryAfter, 'retryAfter', InvalidConfigError) }),
          ...(outcome.errorCode === undefined ? {} : { providerCode: outcome.errorCode }),
        });
      }
      const providerMessageId = `${tag}-${++serial}`;
      sends.push({ request, at, outcome, providerMessageId });
      if (outcome.status !== 'silent') {
        const delay = toMs(outcome.after ?? '1s', 'after', InvalidConfigError);
        const base = { providerMessageId, ...(options.name === undefined ? {} : { provider: options.name }) };
        const statuses: ReceiptStatus[] = outcome.status === 'read' ? ['delivered', 'read'] : [outcome.status];
        for (const status of statuses) {
          const error = status === 'failed' ? { error: { code: outcome.errorCode ?? 'undeliverable', fault: 'recipient' as const } } : {};
          post(at + delay, { ...base, status, at: at + delay, ...error });
        }
      }
      return options.price === undefined ? providerMessageId : { providerMessageId, price: options.price };
    },
  };
}
