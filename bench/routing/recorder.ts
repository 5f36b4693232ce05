/**
 * Reads a strategy's outcome from the router's events, never from the store: the store keeps finished
 * cascades only for a short `retentionMs`, so memory stays flat however many messages a run sends.
 * Money is summed in integer micro-units from the cascades' own billed attempts.
 */
import { baseChannel } from './channels.js';
import type { Cascade, Micros, Router } from './library.js';

export interface ChannelFigures {
  sent: number;
  spendMicros: Micros;
}

/** What one strategy did with the whole workload. */
export interface Outcome {
  readonly messages: number;
  delivered: number;
  cancelled: number;
  lateReceipts: number;
  spendMicros: Micros;
  doubleSpendMicros: Micros;
  /** Time to delivery of each delivered message, ms, from when it could first go out. */
  readonly times: number[];
  /** OTP messages (2-minute deadline), those delivered within it, and what they cost. */
  otp: number;
  otpInTime: number;
  otpSpendMicros: Micros;
  /** Customers who lost a channel (stress): of their third message after the loss, how many planned it last or not at all. */
  lostChecked: number;
  lostHandled: number;
  /**
   * Of the same customers, how many had shown the router at least one miss (a `fallback` from, or an
   * `exhausted` ending on, the lost channel at or after the loss) before that third message was planned, and
   * how many at least two: what any learner acting on evidence could have known by then.
   */
  lostSeenOnce: number;
  lostSeenTwice: number;
  readonly channels: Record<string, ChannelFigures>;
}

export function emptyOutcome(messages: number): Outcome {
  return { messages, delivered: 0, cancelled: 0, lateReceipts: 0, spendMicros: 0, doubleSpendMicros: 0, times: [], channels: {}, otp: 0, otpInTime: 0, otpSpendMicros: 0, lostChecked: 0, lostHandled: 0, lostSeenOnce: 0, lostSeenTwice: 0 };
}

export function channelFigures(outcome: Outcome, channel: string): ChannelFigures {
  return (outcome.channels[channel] ??= { sent: 0, spendMicros: 0 });
}

interface Seen {
  billed: number; // bit mask of the steps whose billing is already counted
  doubleSpend: Micros;
}

/** A customer who loses a channel midway (stress): the jobs to check and to watch. */
export interface LostWatch {
  readonly customer: number;
  readonly channel: string;
  readonly atMs: number;
}
export interface LostJobs {
  /** Per job: the lost channel, on the customer's third message planned after the loss. */
  readonly check: readonly (string | undefined)[];
  /** Per job of such a customer. */
  readonly watch: readonly (LostWatch | undefined)[];
}

const ENDED = ['delivered', 'exhausted', 'expired', 'cancelled'] as const;

export class Recorder {
  readonly outcome: Outcome;
  readonly #starts: Float64Array;
  readonly #deliveredAt: Float64Array;
  readonly #cancelled: Uint8Array;
  readonly #seen = new Map<string, Seen>();
  /**
   * Several cascades per message (broadcast): for a delivered message, what was billed on the other
   * channels is its double spend. A cascade's own double spend is `cascade.doubleSpendMicros`.
   */
  readonly #grouped: { readonly spend: Float64Array; readonly delivering: Float64Array } | undefined;

  /** Per job: 1 for an OTP. */
  readonly #otp: Uint8Array;
  /** Per job: the channel to check the plan for (a customer's third message after losing it), or undefined. */
  readonly #lostCheck: readonly (string | undefined)[];
  /** Per job of a customer who loses a channel: who, which channel, when. */
  readonly #lostWatch: readonly (LostWatch | undefined)[];
  /** Per such customer: misses of the lost channel the router has seen since the loss. */
  readonly #lostMisses = new Map<number, number>();

  constructor(starts: Float64Array, grouped: boolean, otp: Uint8Array = new Uint8Array(starts.length), lost: LostJobs = { check: [], watch: [] }) {
    const n = starts.length;
    this.#otp = otp;
    this.#lostCheck = lost.check;
    this.#lostWatch = lost.watch;
    this.outcome = emptyOutcome(n);
    this.#starts = starts;
    this.#deliveredAt = new Float64Array(n).fill(NaN);
    this.#cancelled = new Uint8Array(n);
    this.#grouped = grouped ? { spend: new Float64Array(n), delivering: new Float64Array(n) } : undefined;
  }

  /** Listens to the router; `ended` is told each cascade that ended (to drop it once the store has). */
  attach(router: Router, ended: (cascadeId: string, at: number) => void): void {
    const track = (e: { readonly cascade: Cascade }): void => this.#bill(e.cascade);
    router.on('planned', (e) => {
      const channel = this.#lostCheck[jobOf(e.cascade)];
      if (channel === undefined) return;
      const steps = e.cascade.plan.steps.map((s) => baseChannel(s.channel));
      const at = steps.indexOf(channel);
      this.outcome.lostChecked++;
      if (at === -1 || at === steps.length - 1) this.outcome.lostHandled++;
      const seen = this.#lostMisses.get(this.#lostWatch[jobOf(e.cascade)]!.customer) ?? 0;
      if (seen >= 1) this.outcome.lostSeenOnce++;
      if (seen >= 2) this.outcome.lostSeenTwice++;
    });
    const missed = (cascade: Cascade, channel: string, at: number): void => {
      const watch = this.#lostWatch[jobOf(cascade)];
      if (watch === undefined || at < watch.atMs || baseChannel(channel) !== watch.channel) return;
      this.#lostMisses.set(watch.customer, (this.#lostMisses.get(watch.customer) ?? 0) + 1);
    };
    router.on('fallback', (e) => missed(e.cascade, e.channel, e.at));
    router.on('exhausted', (e) => {
      const last = e.cascade.attempts.at(-1);
      if (last !== undefined) missed(e.cascade, last.channel, e.at);
    });
    router.on('sent', (e) => {
      channelFigures(this.outcome, baseChannel(e.channel)).sent++;
      track(e);
    });
    router.on('receipt', track);
    router.on('fallback', track);
    router.on('late-receipt', (e) => {
      this.outcome.lateReceipts++;
      track(e);
    });
    for (const type of ENDED) {
      router.on(type, (e) => {
        track(e);
        const job = jobOf(e.cascade);
        if (type === 'cancelled') this.#cancelled[job] = 1;
        if (type === 'delivered' && Number.isNaN(this.#deliveredAt[job]!)) {
          this.#deliveredAt[job] = e.at;
          if (this.#grouped) this.#grouped.delivering[job] = e.cascade.spendMicros;
        }
        ended(e.cascadeId, e.at);
      });
    }
  }

  /** The store has dropped the cascade: no event can come for it any more. */
  drop(cascadeId: string): void {
    this.#seen.delete(cascadeId);
  }

  finish(): Outcome {
    const o = this.outcome;
    for (let job = 0; job < this.#otp.length; job++) o.otp += this.#otp[job]!;
    for (let job = 0; job < this.#deliveredAt.length; job++) {
      const at = this.#deliveredAt[job]!;
      if (Number.isNaN(at)) {
        if (this.#cancelled[job]) o.cancelled++;
        continue;
      }
      o.delivered++;
      o.times.push(Math.max(0, at - this.#starts[job]!));
      if (this.#otp[job]) o.otpInTime++;
      if (this.#grouped) o.doubleSpendMicros += this.#grouped.spend[job]! - this.#grouped.delivering[job]!;
    }
    return o;
  }

  #bill(cascade: Cascade): void {
    let seen = this.#seen.get(cascade.id);
    if (!seen) this.#seen.set(cascade.id, (seen = { billed: 0, doubleSpend: 0 }));
    for (const attempt of cascade.attempts) {
      const bit = 1 << attempt.step;
      if (!attempt.billed || seen.billed & bit) continue;
      seen.billed |= bit;
      this.outcome.spendMicros += attempt.costMicros;
      if (this.#otp[jobOf(cascade)]) this.outcome.otpSpendMicros += attempt.costMicros;
      channelFigures(this.outcome, baseChannel(attempt.channel)).spendMicros += attempt.costMicros;
      if (this.#grouped) this.#grouped.spend[jobOf(cascade)]! += attempt.costMicros;
    }
    if (!this.#grouped && cascade.doubleSpendMicros !== seen.doubleSpend) {
      this.outcome.doubleSpendMicros += cascade.doubleSpendMicros - seen.doubleSpend;
      seen.doubleSpend = cascade.doubleSpendMicros;
    }
  }
}

function jobOf(cascade: Cascade): number {
  return Number(cascade.message.metadata?.['job']);
}
