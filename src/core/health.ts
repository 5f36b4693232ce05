/**
 * Provider health: a circuit breaker per provider that opens on errors (a high rate of provider-side send
 * failures in a window) and on silence (accepted sends whose receipts stop coming at the rate this
 * provider's history says they should), lets a few probe sends through once its cool-down has passed, and
 * closes when they succeed (for silence: when a probe's receipt comes). Pure: every method takes the time.
 * Its options are in health-options.ts. Over 250 lines for one reason: `Breaker` is one state machine whose
 * error window, silence tracking and probes open and close it together, each reading the others' state.
 */
import type { ResolvedHealth } from './health-options.js';

export { resolveHealth, type HealthOptions, type ResolvedHealth } from './health-options.js';

export type BreakerState = 'closed' | 'open' | 'half-open';

/** What `router.health()` tells of a provider. */
export interface ProviderHealth {
  readonly provider: string;
  readonly state: BreakerState;
  /** Why it opened last. */
  readonly reason: 'errors' | 'silence' | undefined;
  /** When it entered this state (ms since epoch). */
  readonly since: number;
  /** Open: when probes may start. */
  readonly until: number | undefined;
  /** Of the last window: sends, provider-side failures. */
  readonly sends: number;
  readonly failures: number;
  /** The share of accepted sends that usually get a receipt, as learned (undefined until `learnFrom` sends). */
  readonly receiptRate: number | undefined;
}

/** What a breaker says of a send: let it through, let it through as a probe, or not at all. */
export type Admission = 'send' | 'probe' | 'skip';

/** How fast the usual receipt rate follows new outcomes (an average over about this many sends). */
const USUAL_OVER = 500;

/** Silence also opens on a run of at least this many judged sends without a receipt... */
const SILENT_RUN_MIN = 5;
/** ...when the usual rate makes such a run this unlikely. */
const SILENT_RUN_CHANCE = 1e-6;

const LATENCIES = 64;
/** Silence is judged on sends older than this many times the provider's usual receipt latency (p90)... */
const LATENCY_MARGIN = 3;
/** ...and at least this old. */
const MIN_JUDGE_AFTER_MS = 5000;

/** One provider's breaker. */
export class Breaker {
  state: BreakerState = 'closed';
  reason: 'errors' | 'silence' | undefined;
  since: number;
  until: number | undefined;
  #backoff = 1;
  #probesLeft = 0;
  /** Probes sent while half-open, by key, and whether each succeeded (accepted; with silence, its receipt came). */
  readonly #probes = new Map<string, boolean>();
  /**
   * Outcomes of sends in the window, oldest first from `#head`: the send's time `t`, or `-t - 1` when it
   * failed for the provider's sake. Plain numbers: 8 bytes a send instead of an object each.
   */
  readonly #outcomes: number[] = [];
  #head = 0;
  /** Of those, how many failed: kept as they come and go, so judging a send never walks the window. */
  #failures = 0;
  /**
   * Accepted sends not yet old enough to judge, oldest first from `#pendingHead`, in two parallel lists (no
   * object per send): its time, or `-t - 1` once its receipt came, and its key. A send's place is
   * `#pendingBase` + its index.
   */
  readonly #pendingAt: number[] = [];
  readonly #pendingKey: string[] = [];
  #pendingHead = 0;
  #pendingBase = 0;
  /** Key → the place of its pending send. */
  readonly #byKey = new Map<string, number>();
  readonly #latencies: number[] = [];
  /** `#judgeAfter()` as of the latencies it was computed from; undefined once a latency came since. */
  #judgeAfterMs: number | undefined;
  /** The last `silence.minSends` judged sends: whether each had its receipt in time. */
  readonly #recent: boolean[] = [];
  #receiptRate: number | undefined;
  #judged = 0;

  constructor(
    readonly provider: string,
    readonly options: ResolvedHealth,
    now: number,
  ) {
    this.since = now;
  }

  /** Whether a send may go now. Half-open lets `probes` through, then waits for them. */
  admit(now: number): Admission {
    this.#tick(now);
    if (this.state === 'closed') return 'send';
    if (this.state === 'open') return 'skip';
    if (this.#probesLeft === 0) return 'skip';
    this.#probesLeft--;
    return 'probe';
  }

  /** A send's answer: accepted, or failed (`providerFault`: the provider's fault, it counts against it). */
  sent(now: number, key: string, accepted: boolean, providerFault: boolean, probe: boolean): void {
    this.#tick(now);
    const failed = !accepted && providerFault;
    this.#outcomes.push(failed ? -now - 1 : now);
    if (failed) this.#failures++;
    if (accepted) {
      this.#byKey.set(key, this.#pendingBase + this.#pendingAt.length);
      this.#pendingAt.push(now);
      this.#pendingKey.push(key);
    }
    if (probe && this.state === 'half-open') {
      if (!accepted && providerFault) return this.#open(now, this.reason ?? 'errors', true);
      // A recipient-side failure says nothing of the provider: another probe may go.
      if (!accepted) return void this.#probesLeft++;
      // An error-opened breaker trusts an accepted probe; a silent one waits for its receipt.
      if (accepted && this.reason !== 'silence') return this.#close(now);
      this.#probes.set(key, false);
      return;
    }
    this.#judge(now);
  }

  /** A receipt (any status) for the send with this key. */
  received(now: number, key: string): void {
    const place = this.#byKey.get(key);
    const i = place === undefined ? -1 : place - this.#pendingBase;
    const at = i >= this.#pendingHead ? this.#pendingAt[i]! : -1;
    if (at >= 0) {
      this.#pendingAt[i] = -at - 1;
      this.#latencies.push(now - at);
      if (this.#latencies.length > LATENCIES) this.#latencies.shift();
      this.#judgeAfterMs = undefined;
    }
    if (this.state === 'half-open' && this.#probes.has(key)) this.#close(now);
  }

  /** Adopts a state another router reported through the shared store. */
  adopt(now: number, state: 'open' | 'closed', reason: 'errors' | 'silence' | undefined, until: number | undefined): void {
    if (state === 'open' && this.state === 'closed' && until !== undefined && until > now) {
      this.state = 'open';
      this.reason = reason;
      this.since = now;
      this.until = until;
    } else if (state === 'closed' && this.state !== 'closed') this.#close(now);
  }

  /** Moves open → half-open once the cool-down has passed; a half-open breaker whose probes all went unanswered opens again. */
  #tick(now: number): void {
    if (this.state === 'open' && this.until !== undefined && now >= this.until) {
      this.state = 'half-open';
      this.since = now;
      this.#probesLeft = this.options.probes;
      this.#probes.clear();
    }
    if (this.state === 'half-open' && now - this.since > this.#judgeAfter()) {
      // Probes were accepted and none has had its receipt in the time receipts take: still silent. No probe
      // answered at all (their routers gone): let new ones through.
      if (this.#probes.size > 0) this.#open(now, 'silence', true);
      else {
        this.since = now;
        this.#probesLeft = this.options.probes;
      }
    }
    const from = now - this.options.windowMs;
    const outcomes = this.#outcomes;
    for (let o = outcomes[this.#head]; o !== undefined && (o < 0 ? -o - 1 : o) < from; o = outcomes[++this.#head]) if (o < 0) this.#failures--;
    if (this.#head > 1024 && this.#head * 2 > outcomes.length) outcomes.splice(0, this.#head), (this.#head = 0);
  }

  /** Whether it is open now (after moving to half-open once its cool-down has passed). */
  isOpen(now: number): boolean {
    this.#tick(now);
    return this.state === 'open';
  }

  #clearOutcomes(): void {
    this.#outcomes.length = 0;
    this.#head = 0;
    this.#failures = 0;
  }

  /** Checks the window's error rate and the silence of sends old enough to have had their receipt. */
  #judge(now: number): void {
    if (this.state !== 'closed') return;
    const { minSends, errorRate } = this.options;
    const sends = this.#outcomes.length - this.#head;
    if (sends >= minSends && this.#failures / sends >= errorRate) return this.#open(now, 'errors', false);
    const silence = this.options.silence;
    if (silence === undefined) return;
    // Accepted sends old enough to have had their receipt are judged: the last few against the usual rate.
    const cutoff = now - this.#judgeAfter();
    const pendingAt = this.#pendingAt;
    while (this.#pendingHead < pendingAt.length) {
      const at = pendingAt[this.#pendingHead]!;
      const received = at < 0;
      if ((received ? -at - 1 : at) > cutoff) break;
      this.#byKey.delete(this.#pendingKey[this.#pendingHead++]!);
      this.#judged++;
      const hit = received ? 1 : 0;
      this.#receiptRate = this.#receiptRate === undefined ? hit : this.#receiptRate + (hit - this.#receiptRate) / Math.min(this.#judged, USUAL_OVER);
      this.#recent.push(received);
      if (this.#recent.length > silence.minSends) this.#recent.shift();
    }
    if (this.#pendingHead > 1024 && this.#pendingHead * 2 > pendingAt.length) {
      pendingAt.splice(0, this.#pendingHead);
      this.#pendingKey.splice(0, this.#pendingHead);
      this.#pendingBase += this.#pendingHead;
      this.#pendingHead = 0;
    }
    const usual = this.#judged >= silence.learnFrom ? this.#receiptRate : undefined;
    if (usual === undefined || usual < 0.1) return;
    // A run of misses as unlikely as this under the usual rate is silence, however few sends it took: a
    // provider sending a few messages a minute is noticed after a handful, not after `minSends`.
    let run = 0;
    for (let i = this.#recent.length - 1; i >= 0 && !this.#recent[i]; i--) run++;
    if (run >= SILENT_RUN_MIN && (1 - usual) ** run <= SILENT_RUN_CHANCE) return this.#open(now, 'silence', false);
    if (this.#recent.length < silence.minSends) return;
    let got = 0;
    for (const hit of this.#recent) if (hit) got++;
    if (got / this.#recent.length < silence.ratio * usual) this.#open(now, 'silence', false);
  }

  /** How old an accepted send must be before a missing receipt counts: a multiple of the usual latency. */
  #judgeAfter(): number {
    if (this.#judgeAfterMs !== undefined) return this.#judgeAfterMs;
    if (this.#latencies.length === 0) return (this.#judgeAfterMs = MIN_JUDGE_AFTER_MS * LATENCY_MARGIN);
    const sorted = [...this.#latencies].sort((a, b) => a - b);
    const p90 = sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.9))]!;
    return (this.#judgeAfterMs = Math.max(MIN_JUDGE_AFTER_MS, LATENCY_MARGIN * p90));
  }

  #open(now: number, reason: 'errors' | 'silence', again: boolean): void {
    this.#backoff = again ? Math.min(32, this.#backoff * 2) : 1;
    this.state = 'open';
    this.reason = reason;
    this.since = now;
    this.until = now + this.options.coolDownMs * this.#backoff;
    this.#probes.clear();
    // What happened before it opened says nothing of what comes after it closes.
    this.#clearOutcomes();
    this.#pendingAt.length = 0;
    this.#pendingKey.length = 0;
    this.#pendingBase = 0;
    this.#pendingHead = 0;
    this.#byKey.clear();
    this.#recent.length = 0;
  }

  #close(now: number): void {
    this.state = 'closed';
    this.since = now;
    this.until = undefined;
    this.#backoff = 1;
    this.#probes.clear();
    this.#clearOutcomes();
  }

  view(now: number): ProviderHealth {
    this.#tick(now);
    return {
      provider: this.provider,
      state: this.state,
      reason: this.reason,
      since: this.since,
      until: this.until,
      sends: this.#outcomes.length - this.#head,
      failures: this.#failures,
      receiptRate: this.#judged >= (this.options.silence?.learnFrom ?? Infinity) ? this.#receiptRate : undefined,
    };
  }
}
