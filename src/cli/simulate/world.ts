import type { Micros } from '../../core/money.js';
import type { ChannelKind } from '../../core/types.js';
import type { HistoryRow } from './history.js';

/** One message of the history: its attempts in the order they were sent. */
export interface HistoryMessage {
  readonly key: string;
  readonly recipient: string;
  readonly category: string;
  readonly firstSentAt: number;
  readonly attempts: readonly HistoryRow[];
}

/** What the history says of one channel, across recipients. */
export interface ChannelModel {
  readonly name: string;
  readonly kind: ChannelKind;
  readonly attempts: number;
  /** Share of attempts delivered (or read). */
  readonly delivered: number;
  /** Share of attempts that failed; the rest had no receipt. */
  readonly failed: number;
  /** Receipt latencies of deliveries (ms), sorted: replayed draws take one of them. */
  readonly latencies: readonly number[];
  readonly failureLatencies: readonly number[];
  /** The median price of a delivered attempt and of one that was not (messengers often bill only deliveries). */
  readonly priceDelivered: Micros;
  readonly priceUndelivered: Micros;
  /** How long the user waited before the next channel: the median gap after attempts with no receipt, if any. */
  readonly observedWaitMs: number | undefined;
  /** Its mean place in the messages that tried several channels: the user's current order sorts by it. */
  readonly meanPosition: number;
}

/** What was learned from a history file: its messages, each channel, and each recipient's reach per channel. */
export interface World {
  readonly messages: readonly HistoryMessage[];
  readonly channels: ReadonlyMap<string, ChannelModel>;
  /** The user's current fixed order, from the order of attempts within messages. */
  readonly currentOrder: readonly string[];
  /** Per recipient: the channels it has been reached on or tried on, with own counts. */
  readonly recipients: ReadonlyMap<string, ReadonlyMap<string, { readonly attempts: number; readonly delivered: number }>>;
  readonly from: number;
  readonly to: number;
}

const KINDS: readonly [RegExp, ChannelKind][] = [
  [/sms|text/i, 'sms'],
  [/push|fcm|apns/i, 'push'],
  [/mail/i, 'email'],
  [/viber|whatsapp|telegram|messenger|line|wechat|signal|rcs/i, 'messenger'],
];

/** A channel's kind from its name (sms, push, email, messengers), `custom` otherwise. */
export const kindOf = (name: string): ChannelKind => KINDS.find(([pattern]) => pattern.test(name))?.[1] ?? 'custom';

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}

function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

/** Groups rows into messages and learns each channel's figures and each recipient's reach. */
export function learnWorld(rows: readonly HistoryRow[]): World {
  const byKey = new Map<string, HistoryRow[]>();
  for (const row of rows) push(byKey, row.messageKey, row);
  const messages: HistoryMessage[] = [];
  for (const [key, list] of byKey) {
    const attempts = list.sort((a, b) => a.sentAt - b.sentAt || a.line - b.line);
    const first = attempts[0]!;
    messages.push({ key, recipient: first.recipient, category: first.category, firstSentAt: first.sentAt, attempts });
  }
  messages.sort((a, b) => a.firstSentAt - b.firstSentAt || (a.key < b.key ? -1 : 1));

  const perChannel = new Map<string, HistoryRow[]>();
  const positions = new Map<string, number[]>();
  const waits = new Map<string, number[]>();
  const recipients = new Map<string, Map<string, { attempts: number; delivered: number }>>();
  for (const message of messages) {
    message.attempts.forEach((row, index) => {
      push(perChannel, row.channel, row);
      if (message.attempts.length > 1) push(positions, row.channel, index);
      const next = message.attempts[index + 1];
      if (next !== undefined && row.outcome === 'none') push(waits, row.channel, next.sentAt - row.sentAt);
      const own = recipients.get(row.recipient) ?? new Map<string, { attempts: number; delivered: number }>();
      const counts = own.get(row.channel) ?? { attempts: 0, delivered: 0 };
      own.set(row.channel, { attempts: counts.attempts + 1, delivered: counts.delivered + (row.outcome === 'delivered' || row.outcome === 'read' ? 1 : 0) });
      recipients.set(row.recipient, own);
    });
  }

  const channels = new Map<string, ChannelModel>();
  for (const [name, list] of perChannel) {
    const delivered = list.filter((row) => row.outcome === 'delivered' || row.outcome === 'read');
    const failed = list.filter((row) => row.outcome === 'failed');
    const undelivered = list.filter((row) => row.outcome !== 'delivered' && row.outcome !== 'read');
    const pos = positions.get(name) ?? [0];
    channels.set(name, {
      name,
      kind: kindOf(name),
      attempts: list.length,
      delivered: delivered.length / list.length,
      failed: failed.length / list.length,
      latencies: delivered.map((row) => row.receiptAt! - row.sentAt).sort((a, b) => a - b),
      failureLatencies: failed.map((row) => row.receiptAt! - row.sentAt).sort((a, b) => a - b),
      priceDelivered: median(delivered.map((row) => row.priceMicros)) ?? median(list.map((row) => row.priceMicros)) ?? 0,
      priceUndelivered: median(undelivered.map((row) => row.priceMicros)) ?? median(list.map((row) => row.priceMicros)) ?? 0,
      observedWaitMs: median(waits.get(name) ?? []),
      meanPosition: pos.reduce((a, b) => a + b, 0) / pos.length,
    });
  }
  const KIND_RANK: Record<ChannelKind, number> = { push: 0, email: 1, messenger: 2, sms: 3, custom: 4 };
  const currentOrder = [...channels.values()]
    .sort((a, b) => a.meanPosition - b.meanPosition || KIND_RANK[a.kind] - KIND_RANK[b.kind] || (a.name < b.name ? -1 : 1))
    .map((c) => c.name);
  return {
    messages,
    channels,
    currentOrder,
    recipients,
    from: messages[0]?.firstSentAt ?? 0,
    to: rows.reduce((latest, row) => Math.max(latest, row.receiptAt ?? row.sentAt), 0),
  };
}
