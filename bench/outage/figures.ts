/**
 * Figures of one run, over the messages that arrived in the outage window and over the whole day. Money is
 * summed in integer micro-units from each cascade's own `spendMicros` and `doubleSpendMicros`.
 */
import type { Library } from './library.js';
import { OUTAGE_FROM, OUTAGE_UNTIL, type MessageRecord, type RunResult } from './world.js';

export interface SliceFigures {
  readonly messages: number;
  readonly delivered: number;
  /** Messages no channel delivered, not even late. */
  readonly undelivered: number;
  readonly spend: string;
  readonly spendMicros: number;
  readonly spendPerMessage: string;
  /** Billed for steps after the one that turned out delivered (late receipts). */
  readonly doubleSpend: string;
  readonly doubleSpendMicros: number;
  /** Double spend over spend. */
  readonly doubleSpendShare: number;
  /** From arrival to the first positive receipt, over delivered messages. */
  readonly p50Ms: number;
  readonly p95Ms: number;
}

export interface RunFigures {
  /** Messages that arrived during the outage (the same hours in a run without one). */
  readonly window: SliceFigures;
  readonly day: SliceFigures;
  readonly calls: Readonly<Record<string, number>>;
  readonly accepted: Readonly<Record<string, number>>;
  readonly deliveredReceipts: Readonly<Record<string, number>>;
  readonly providerDown: number;
  readonly failovers: number;
  /** From the outage's start to wa-a's breaker first opening, and from its end to the breaker closing (null: never). */
  readonly noticedMs: number | null;
  readonly recoveredMs: number | null;
}

/** The nearest-rank quantile of sorted values. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

export function slice(lib: Library, records: readonly MessageRecord[]): SliceFigures {
  let spend = 0;
  let double = 0;
  const times: number[] = [];
  for (const r of records) {
    spend += r.cascade?.spendMicros ?? 0;
    double += r.cascade?.doubleSpendMicros ?? 0;
    if (r.deliveredAt !== undefined) times.push(r.deliveredAt - r.arrival);
  }
  times.sort((a, b) => a - b);
  const n = records.length;
  return {
    messages: n,
    delivered: times.length,
    undelivered: n - times.length,
    spend: lib.formatMicros(spend),
    spendMicros: spend,
    spendPerMessage: lib.formatMicros(n === 0 ? 0 : Math.round(spend / n)),
    doubleSpend: lib.formatMicros(double),
    doubleSpendMicros: double,
    doubleSpendShare: spend === 0 ? 0 : double / spend,
    p50Ms: quantile(times, 0.5),
    p95Ms: quantile(times, 0.95),
  };
}

export function runFigures(lib: Library, run: RunResult): RunFigures {
  const window = run.messages.filter((r) => r.arrival >= OUTAGE_FROM && r.arrival < OUTAGE_UNTIL);
  return {
    window: slice(lib, window),
    day: slice(lib, run.messages),
    calls: run.calls,
    accepted: run.accepted,
    deliveredReceipts: run.deliveredReceipts,
    providerDown: run.providerDown,
    failovers: run.failovers,
    noticedMs: after(run, 'down', OUTAGE_FROM),
    recoveredMs: after(run, 'up', OUTAGE_UNTIL),
  };
}

function after(run: RunResult, event: 'down' | 'up', from: number): number | null {
  const change = run.health.find((h) => h.provider === 'wa-a' && h.event === event && h.at >= from);
  return change === undefined ? null : change.at - from;
}
