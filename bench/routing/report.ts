/**
 * Figures per strategy, ratios to the clairvoyant bound, the JSON object and the Markdown tables.
 * Money stays in integer micro-units until it is formatted with the library's `formatMicros`.
 */
import { CHANNELS } from './behaviour.js';
import type { Library, Micros } from './library.js';
import type { Outcome } from './recorder.js';

export interface Figures {
  readonly label: string;
  readonly messages: number;
  readonly delivered: number;
  readonly cancelled: number;
  readonly deliveryRate: number;
  /** Decimal strings, exact. */
  readonly costPerDelivered: string;
  readonly spend: string;
  readonly doubleSpend: string;
  readonly p50Ms: number;
  readonly p95Ms: number;
  /** Against `clairvoyant`: cost per delivered message and p95 time to delivery. */
  readonly costRatio: number | null;
  readonly p95Ratio: number | null;
  readonly lateReceipts: number;
  readonly channels: Readonly<Record<string, { readonly sent: number; readonly spend: string }>>;
}

export interface StrategyResult {
  readonly key: string;
  readonly label: string;
  readonly outcome: Outcome;
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

export function costPerDeliveredMicros(outcome: Outcome): Micros {
  return outcome.delivered === 0 ? 0 : Math.round(outcome.spendMicros / outcome.delivered);
}

const ratio = (value: number, bound: number): number | null => (bound === 0 ? null : Math.round((value / bound) * 10_000) / 10_000);

export function figures(lib: Library, results: readonly StrategyResult[], boundKey = 'clairvoyant'): Record<string, Figures> {
  const bound = results.find((r) => r.key === boundKey)?.outcome;
  const boundCost = bound ? costPerDeliveredMicros(bound) : 0;
  const boundP95 = bound ? percentile([...bound.times].sort((a, b) => a - b), 0.95) : 0;
  const out: Record<string, Figures> = {};
  for (const { key, label, outcome: o } of results) {
    const times = [...o.times].sort((a, b) => a - b);
    const p95Ms = percentile(times, 0.95);
    const cost = costPerDeliveredMicros(o);
    const channels: Record<string, { sent: number; spend: string }> = {};
    for (const channel of CHANNELS) {
      const c = o.channels[channel];
      channels[channel] = { sent: c?.sent ?? 0, spend: lib.formatMicros(c?.spendMicros ?? 0) };
    }
    out[key] = {
      label,
      messages: o.messages,
      delivered: o.delivered,
      cancelled: o.cancelled,
      deliveryRate: Math.round((o.delivered / o.messages) * 10_000) / 10_000,
      costPerDelivered: lib.formatMicros(cost),
      spend: lib.formatMicros(o.spendMicros),
      doubleSpend: lib.formatMicros(o.doubleSpendMicros),
      p50Ms: percentile(times, 0.5),
      p95Ms,
      costRatio: ratio(cost, boundCost),
      p95Ratio: ratio(p95Ms, boundP95),
      lateReceipts: o.lateReceipts,
      channels,
    };
  }
  return out;
}

/** `1234` → `1.2 s`, `754000` → `12m 34s`, `4000000` → `1h 07m`. */
export function duration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  const m = Math.round(s / 60);
  if (m < 48 * 60) return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, '0')}m`;
  return `${(m / 1440).toFixed(1)} d`;
}

const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;
const times = (x: number | null): string => (x === null ? '–' : `${x < 0.1 ? x.toFixed(4) : x.toFixed(2)}×`);

export function markdownTables(all: Readonly<Record<string, Figures>>): string {
  const rows = Object.entries(all);
  const head = [
    '| strategy | delivered | cost per delivered | spend | of it double spend | p50 | p95 | cost vs bound | p95 vs bound |',
    '|---|--:|--:|--:|--:|--:|--:|--:|--:|',
  ];
  const main = rows.map(([key, f]) =>
    `| \`${key}\` ${f.label} | ${pct(f.deliveryRate)} | ${f.costPerDelivered} | ${f.spend} | ${f.doubleSpend} | ${duration(f.p50Ms)} | ${duration(f.p95Ms)} | ${times(f.costRatio)} | ${times(f.p95Ratio)} |`,
  );
  const channelHead = [
    `| messages sent (spend) | ${CHANNELS.join(' | ')} |`,
    `|---|${CHANNELS.map(() => '--:').join('|')}|`,
  ];
  const channelRows = rows.map(([key, f]) =>
    `| \`${key}\` | ${CHANNELS.map((c) => `${f.channels[c]!.sent.toLocaleString('en')} (${f.channels[c]!.spend})`).join(' | ')} |`,
  );
  return [...head, ...main, '', ...channelHead, ...channelRows].join('\n');
}

/** The JSON object other tools read: the eight figures per strategy. */
export function jsonSummary(all: Readonly<Record<string, Figures>>): Record<string, Pick<Figures, 'deliveryRate' | 'costPerDelivered' | 'spend' | 'doubleSpend' | 'p50Ms' | 'p95Ms' | 'costRatio' | 'p95Ratio'>> {
  const out: Record<string, Pick<Figures, 'deliveryRate' | 'costPerDelivered' | 'spend' | 'doubleSpend' | 'p50Ms' | 'p95Ms' | 'costRatio' | 'p95Ratio'>> = {};
  for (const [key, f] of Object.entries(all)) {
    const { deliveryRate, costPerDelivered, spend, doubleSpend, p50Ms, p95Ms, costRatio, p95Ratio } = f;
    out[key] = { deliveryRate, costPerDelivered, spend, doubleSpend, p50Ms, p95Ms, costRatio, p95Ratio };
  }
  return out;
}
