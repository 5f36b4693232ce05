/**
 * Routing strategies. A `RouterStrategy` turns each job into the messages it hands to the real router
 * (one cascade, or one per channel); the harness (world.ts) runs it in simulated time. A `BoundStrategy`
 * computes its outcome from the hidden truth without a router. Later strategies (learned reachability,
 * adaptive timeouts) are one more entry in `STRATEGIES` under their own key.
 */
import { CHANNELS, type Channel } from './behaviour.js';
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

/**
 * What the learned strategy counts a second of a customer's waiting as worth (0.00144 an hour). It orders
 * channels that often keep people waiting further down and picks each step's wait (docs/cost-model.md).
 * Chosen on this workload: lower values cost less and wait longer (0.0000001: 1.08x the bound at 30,000
 * messages, p95 5h08m); higher ones buy speed with SMS (0.000001: 1.14x, p95 2m24s). Measured with
 * `npm run bench:routing -- --only learned --messages 30000` after changing this constant.
 */
const LEARNED_VALUE_OF_TIME = '0.0000004';
/** The learned strategy covers 99.9% of observed latencies, and may wait a day on the general profile's channels. */
const LEARNED_QUANTILE = 0.999;
const LEARNED_MAX_WAIT = '24h';
const longWaits = (name: string, config: ChannelConfig): ChannelConfig =>
  name.startsWith('otp-') ? config : { ...config, confirm: { ...config.confirm, adaptive: { max: LEARNED_MAX_WAIT } } };

/** The channels that can ever reach the job's customer (the population's persistent truth). */
function reachable(job: Job): Channel[] {
  const c = job.customer;
  const ok: Record<Channel, boolean> = {
    push: c.push === 'ok',
    email: c.email === 'ok',
    viber: c.viber,
    telegram: c.telegram === 'ok',
    whatsapp: c.whatsapp,
    sms: c.sms === 'ok',
  };
  return CHANNELS.filter((channel) => ok[channel]);
}

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
    router: { learning: { quantile: LEARNED_QUANTILE } },
    channel: longWaits,
  },
  {
    kind: 'router',
    key: 'reachOracle',
    label: "knows each customer's channels",
    weight: 1.4,
    // Not a strategy anyone can run: it is told which channels can ever reach each customer (a stale token,
    // a number without Viber), the most learning per customer could know, and waits as long as receipts
    // take with no value on time. What it pays above the bound comes from what no history can tell in
    // advance: a phone offline this time, a receipt lost, a message not read.
    // Same value of time, waits and learning of latencies as `learned`: only the knowledge differs.
    messages: (job) => [{ ...job.message, key: key(job), channels: channelsFor(job, reachable(job)), policy: { ...job.message.policy, valueOfTime: LEARNED_VALUE_OF_TIME } }],
    router: { learning: { quantile: LEARNED_QUANTILE } },
    channel: longWaits,
  },
  {
    kind: 'bound',
    key: 'clairvoyant',
    label: 'clairvoyant bound',
    compute: clairvoyant,
  },
];

/** The learned strategy with another value of time: `learned@0.000001` (settings chosen on training seeds). */
function learnedWith(valueOfTime: string): RouterStrategy {
  return {
    kind: 'router',
    key: `learned@${valueOfTime}`,
    label: `learned, value of time ${valueOfTime}/s`,
    weight: 1.6,
    messages: (job) => [{ ...job.message, key: key(job), channels: channelsFor(job), policy: { ...job.message.policy, valueOfTime } }],
    router: { learning: { quantile: LEARNED_QUANTILE } },
    channel: longWaits,
  };
}

/** `learning: true` with every default and nothing else: the invariant's strategy (never costs more than the default plan). */
export const LEARNED_DEFAULT: RouterStrategy = {
  kind: 'router',
  key: 'learnedDefault',
  label: 'learning: true, defaults',
  weight: 1.6,
  messages: (job) => [{ ...job.message, key: key(job), channels: channelsFor(job) }],
  router: { learning: true },
};

/**
 * The oracle for the invariant: `learning: true` with every default, told which channels can ever reach each
 * customer. What learning with default settings could at best save on the default plan.
 */
export const REACH_ORACLE_DEFAULT: RouterStrategy = {
  kind: 'router',
  key: 'reachOracleDefault',
  label: "learning: true, defaults, knows each customer's channels",
  weight: 1.4,
  messages: (job) => [{ ...job.message, key: key(job), channels: channelsFor(job, reachable(job)) }],
  router: { learning: true },
};

/** Any strategy by its key, including the family's (worker threads find theirs this way). */
export function strategyByKey(k: string): Strategy | undefined {
  if (k === LEARNED_DEFAULT.key) return LEARNED_DEFAULT;
  if (k === REACH_ORACLE_DEFAULT.key) return REACH_ORACLE_DEFAULT;
  if (k.startsWith('learned@')) return learnedWith(k.slice('learned@'.length));
  return STRATEGIES.find((s) => s.key === k);
}
