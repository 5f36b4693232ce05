/**
 * Routing strategies. A `RouterStrategy` turns each job into the messages it hands to the real router
 * (one cascade, or one per channel); the harness (world.ts) runs it in simulated time. A `BoundStrategy`
 * computes its outcome from the hidden truth without a router. Later strategies (learned reachability,
 * adaptive timeouts) are one more entry in `STRATEGIES` under their own key.
 */
import { CHANNELS } from './behaviour.js';
import { channelsFor } from './channels.js';
import type { ChannelConfig, Library, Message, RouterOptions } from './library.js';
import type { Outcome } from './recorder.js';
import type { Job } from './workload.js';
import { clairvoyant } from './bound.js';

export interface RouterStrategy {
  readonly kind: 'router';
  readonly key: string;
  readonly label: string;
  /** Several cascades per message: a delivered message's spend on its other channels is double spend. */
  readonly grouped?: boolean;
  /** Relative run time, to share strategies between worker threads (default 1). */
  readonly weight?: number;
  messages(job: Job): Message[];
  /** Router options beyond the harness's own (learning). */
  readonly router?: Pick<RouterOptions, 'learning'>;
  /** Adjusts each declared channel (adaptive wait bounds). */
  readonly channel?: (name: string, config: ChannelConfig) => ChannelConfig;
}

export interface BoundStrategy {
  readonly kind: 'bound';
  readonly key: string;
  readonly label: string;
  compute(lib: Library, seed: number, jobs: readonly Job[]): Outcome;
}

export type Strategy = RouterStrategy | BoundStrategy;

/** The fixed order of the static cascade: free first, then cheap, SMS last, whatever the prices say. */
export const STATIC_ORDER = ['push', 'email', 'viber', 'telegram', 'whatsapp', 'sms'] as const;

const key = (job: Job): string => `m${job.index}`;

/** What the learned strategy pays for a second of waiting: it moves channels that rarely reach someone down. */
const LEARNED_VALUE_OF_TIME = process.env['LVOT'] ?? '0.000001';
/** How long the learned strategy may wait on a channel whose receipts come late (general profile). */
const LEARNED_MAX_WAIT = process.env['LMAX'] ?? '6h';

export const STRATEGIES: readonly Strategy[] = [
  {
    kind: 'router',
    key: 'smsOnly',
    label: 'SMS only',
    messages: (job) => [{ ...job.message, key: key(job), channels: channelsFor(job, ['sms']) }],
  },
  {
    kind: 'router',
    key: 'broadcast',
    label: 'every channel at once',
    grouped: true,
    weight: 3.5,
    // One single-channel cascade per channel the customer has an address for, all sent at once.
    messages: (job) =>
      CHANNELS.filter((channel) => job.customer.recipient.addresses[channel] !== undefined).map((channel) => ({
        ...job.message,
        key: `${key(job)}:${channel}`,
        channels: channelsFor(job, [channel]),
      })),
  },
  {
    kind: 'router',
    key: 'staticCascade',
    label: 'static cascade',
    weight: 1.8,
    messages: (job) => [{ ...job.message, key: key(job), channels: channelsFor(job, STATIC_ORDER), policy: { order: 'message' } }],
  },
  {
    kind: 'router',
    key: 'costAware',
    label: 'cost-aware (default plan)',
    weight: 1.6,
    // The default plan (cheapest first) over the job's profile's channels: no order given.
    messages: (job) => [{ ...job.message, key: key(job), channels: channelsFor(job) }],
  },
  {
    kind: 'router',
    key: 'learned',
    label: 'learned (expected cost, adaptive waits)',
    weight: 1.6,
    // The default plan, with what the router has learned per recipient and channel: order by expected
    // cost, skip channels that keep failing for the customer, wait as long as receipts usually take.
    messages: (job) => [{ ...job.message, key: key(job), channels: channelsFor(job), policy: { ...job.message.policy, valueOfTime: LEARNED_VALUE_OF_TIME } }],
    router: { learning: { halfLife: '7d', quantile: Number(process.env['LQ'] ?? 0.95), priorWeight: Number(process.env['LPW'] ?? 1), minProbability: Number(process.env['LMP'] ?? 0.05) } },
    channel: (name, config) => (name.startsWith('otp-') ? config : { ...config, confirm: { ...config.confirm, adaptive: { max: LEARNED_MAX_WAIT } } }),
  },
  {
    kind: 'bound',
    key: 'clairvoyant',
    label: 'clairvoyant bound',
    compute: clairvoyant,
  },
];
