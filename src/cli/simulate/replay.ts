import { SimulatedClock } from '../../runtime/clock.js';
import { formatMicros, type Micros } from '../../core/money.js';
import { createRouter, type Router } from '../../runtime/router.js';
import { memoryStore } from '../../store/memory.js';
import type { Cascade, ChannelConfig, Message, Receipt, Recipient, SendRequest, SendResult } from '../../core/types.js';
import type { HistoryMessage, World } from './world.js';

export type StrategyName = 'sms-only' | 'current' | 'default' | 'learning';

export const STRATEGIES: readonly { readonly name: StrategyName; readonly label: string }[] = [
  { name: 'sms-only', label: 'SMS only' },
  { name: 'current', label: 'your current order' },
  { name: 'default', label: 'default plan' },
  { name: 'learning', label: 'learning' },
];

/** What one strategy did over the period. Amounts are exact micro-units. */
export interface StrategyResult {
  readonly strategy: StrategyName | 'history';
  readonly label: string;
  readonly messages: number;
  readonly delivered: number;
  readonly spendMicros: Micros;
  readonly doubleSpendMicros: Micros;
  /** Time from the first send to the delivery, of delivered messages (ms). */
  readonly p50Ms: number | undefined;
  readonly p95Ms: number | undefined;
  /** Spend per channel. */
  readonly channels: Readonly<Record<string, { readonly sent: number; readonly delivered: number; readonly spendMicros: Micros }>>;
  /** Times to delivery, sorted (ms), for the report's chart. */
  readonly times: readonly number[];
}

/** FNV-1a then a murmur finalizer: a uniform draw in [0, 1) fixed by its inputs, the same for every strategy. */
function uniform(...parts: readonly (string | number)[]): number {
  let h = 0x811c9dc5;
  for (const char of parts.join('\u0000')) {
    h ^= char.codePointAt(0)!;
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) / 4_294_967_296;
}

/** What happens to `message` on `channel` in the replayed world. */
interface Fate {
  readonly status: 'delivered' | 'failed' | 'silent';
  readonly afterMs: number;
  readonly priceMicros: Micros;
}

const PRIOR_WEIGHT = 2;

/**
 * The world's answer for one message on one channel: what the history recorded when the message was tried
 * there; otherwise a draw with the recipient's own delivered share on the channel (smoothed toward the
 * channel's, with the weight of two attempts), a latency drawn from the channel's recorded ones, and the
 * channel's median price for that outcome.
 */
export function fateOf(world: World, message: HistoryMessage, channel: string, seed: number): Fate {
  const row = message.attempts.find((attempt) => attempt.channel === channel);
  if (row !== undefined) {
    const status = row.outcome === 'delivered' || row.outcome === 'read' ? 'delivered' : row.outcome === 'failed' ? 'failed' : 'silent';
    return { status, afterMs: (row.receiptAt ?? row.sentAt) - row.sentAt, priceMicros: row.priceMicros };
  }
  const model = world.channels.get(channel)!;
  const own = world.recipients.get(message.recipient)?.get(channel);
  const reach = own === undefined ? model.delivered : (own.delivered + PRIOR_WEIGHT * model.delivered) / (own.attempts + PRIOR_WEIGHT);
  const failShare = model.delivered >= 1 ? 0 : model.failed / (1 - model.delivered);
  const x = uniform(seed, message.key, channel, 'fate');
  const pick = (list: readonly number[]) => list[Math.floor(uniform(seed, message.key, channel, 'latency') * list.length)] ?? 0;
  if (x < reach) return { status: 'delivered', afterMs: pick(model.latencies), priceMicros: model.priceDelivered };
  const silent = uniform(seed, message.key, channel, 'failed') >= failShare;
  return silent
    ? { status: 'silent', afterMs: 0, priceMicros: model.priceUndelivered }
    : { status: 'failed', afterMs: pick(model.failureLatencies), priceMicros: model.priceUndelivered };
}

const DEFAULT_WAIT = { push: '2m', email: '30m', messenger: '10m', sms: '5m', custom: '10m' } as const;

/** Replays the period through a router with one strategy, in simulated time. `tick` is called once per message. */
export async function replay(world: World, strategy: StrategyName, options: { readonly seed: number; readonly tick?: (() => void) | undefined }): Promise<StrategyResult> {
  const clock = new SimulatedClock(world.from);
  let router: Router | undefined;
  let serial = 0;
  const fates = new Map<string, Fate>();
  const byKey = new Map(world.messages.map((m) => [m.key, m]));
  const send = async (request: SendRequest): Promise<SendResult> => {
    const fate = fateOf(world, byKey.get(request.message.key)!, request.channel, options.seed);
    const providerMessageId = `${request.channel}-${++serial}`;
    fates.set(providerMessageId, fate);
    if (fate.status !== 'silent') {
      const receipt: Receipt = { providerMessageId, status: fate.status, at: clock.now() + fate.afterMs };
      clock.setTimer(clock.now() + fate.afterMs, () => void router?.handleReceipt(receipt));
    }
    return { providerMessageId, price: formatMicros(fate.priceMicros) };
  };
  const channels: Record<string, ChannelConfig> = {};
  for (const model of world.channels.values()) {
    const wait = model.observedWaitMs ?? DEFAULT_WAIT[model.kind];
    channels[model.name] = { kind: model.kind, cost: formatMicros(model.priceDelivered), send, confirm: { timeout: wait }, retry: false };
  }
  const smsChannels = world.currentOrder.filter((name) => world.channels.get(name)?.kind === 'sms');
  // Finished cascades are kept to the end (the memory store's default drops them after a day).
  router = createRouter({ clock, channels, store: memoryStore({ retention: Infinity }), learning: strategy === 'learning' });
  // A replay that lost a change would print wrong figures: the first error stops it.
  const errors: Error[] = [];
  router.on('error', ({ error }) => errors.push(error));
  for (const message of world.messages) {
    await clock.advanceTo(Math.max(clock.now(), message.firstSentAt));
    // The recipient has an address on every channel it was tried on, and (every customer has a number) on SMS.
    const channelsOf = new Set([...(world.recipients.get(message.recipient)?.keys() ?? []), ...smsChannels]);
    const addresses = Object.fromEntries([...channelsOf].map((channel) => [channel, `${message.recipient}@${channel}`]));
    const recipient: Recipient = { id: message.recipient, addresses, consent: { [message.category]: true } };
    const base: Message = { key: message.key, category: message.category, content: { text: 'replayed message' } };
    const routed: Message =
      strategy === 'sms-only'
        ? { ...base, channels: smsChannels.length > 0 ? smsChannels : world.currentOrder }
        : strategy === 'current'
          ? { ...base, channels: [...world.currentOrder], policy: { order: 'message' } }
          : base;
    await router.send(routed, recipient);
    options.tick?.();
  }
  await clock.runAll();
  await router.settled();
  if (errors.length > 0) throw new Error(`Replay of ${strategy} failed: ${errors[0]!.message}`);
  const cascades: Cascade[] = [];
  for (const message of world.messages) {
    const cascade = await router.get(message.key);
    if (cascade !== undefined) cascades.push(cascade);
  }
  await router.close();
  if (cascades.length !== world.messages.length) throw new Error(`Replay lost cascades: ${cascades.length} of ${world.messages.length}`);
  return summarize(strategy, STRATEGIES.find((s) => s.name === strategy)!.label, cascades);
}

/** When the customer first had the message: the earliest success receipt of any attempt (a late one too). */
function deliveredAt(cascade: Cascade): number | undefined {
  let first: number | undefined;
  for (const attempt of cascade.attempts) {
    const at = attempt.history.find((change) => change.source === 'receipt' && (change.status === 'delivered' || change.status === 'read'))?.at;
    if (at !== undefined && (first === undefined || at < first)) first = at;
  }
  return first;
}

export function percentile(sorted: readonly number[], q: number): number | undefined {
  if (sorted.length === 0) return undefined;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
}

function summarize(strategy: StrategyName, label: string, cascades: readonly Cascade[]): StrategyResult {
  const times: number[] = [];
  const channels: Record<string, { sent: number; delivered: number; spendMicros: Micros }> = {};
  let spend = 0;
  let double = 0;
  for (const cascade of cascades) {
    spend += cascade.spendMicros;
    double += cascade.doubleSpendMicros;
    const at = deliveredAt(cascade);
    if (at !== undefined) times.push(at - cascade.createdAt);
    cascade.attempts.forEach((attempt, index) => {
      if (attempt.providerMessageId === undefined) return;
      const c = (channels[attempt.channel] ??= { sent: 0, delivered: 0, spendMicros: 0 });
      c.sent++;
      c.spendMicros += attempt.costMicros;
      if (index === cascade.deliveredStep) c.delivered++;
    });
  }
  times.sort((a, b) => a - b);
  return { strategy, label, messages: cascades.length, delivered: times.length, spendMicros: spend, doubleSpendMicros: double, p50Ms: percentile(times, 0.5), p95Ms: percentile(times, 0.95), channels, times };
}

/** What the history itself shows: the period as it happened, for comparison with the replay of the current order. */
export function historyResult(world: World): StrategyResult {
  const times: number[] = [];
  const channels: Record<string, { sent: number; delivered: number; spendMicros: Micros }> = {};
  let spend = 0;
  let double = 0;
  for (const message of world.messages) {
    // As the router counts them: the first attempt sent that delivered (even late) delivered the message; the
    // customer had it at the earliest success receipt, and every other attempt that reached them is double
    // spend (docs/cost-model.md#double-spend; equal receipt times: the one sent first is first).
    let first: (typeof message.attempts)[number] | undefined;
    let at: number | undefined;
    let deliveredSpend = 0;
    let firstInTime: (typeof message.attempts)[number] | undefined;
    for (const row of message.attempts) {
      spend += row.priceMicros;
      const c = (channels[row.channel] ??= { sent: 0, delivered: 0, spendMicros: 0 });
      c.sent++;
      c.spendMicros += row.priceMicros;
      if (row.outcome !== 'delivered' && row.outcome !== 'read') continue;
      first ??= row;
      deliveredSpend += row.priceMicros;
      if (at === undefined || row.receiptAt! < at || (row.receiptAt === at && row.sentAt < firstInTime!.sentAt)) {
        at = row.receiptAt!;
        firstInTime = row;
      }
    }
    if (first === undefined || at === undefined) continue;
    channels[first.channel]!.delivered++;
    times.push(at - message.firstSentAt);
    double += deliveredSpend - firstInTime!.priceMicros;
  }
  times.sort((a, b) => a - b);
  return { strategy: 'history', label: 'as it happened', messages: world.messages.length, delivered: times.length, spendMicros: spend, doubleSpendMicros: double, p50Ms: percentile(times, 0.5), p95Ms: percentile(times, 0.95), channels, times };
}
