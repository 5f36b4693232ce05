import { formatDuration, money, percent, table } from '../format.js';
import type { StrategyResult } from './replay.js';
import type { World } from './world.js';

/** The JSON a simulate run writes: the figures the table and the HTML report show, amounts as exact decimal strings. */
export interface SimulateReport {
  readonly input: string;
  readonly period: { readonly from: string; readonly to: string };
  readonly messages: number;
  readonly recipients: number;
  readonly channels: readonly { readonly name: string; readonly kind: string; readonly attempts: number; readonly delivered: number; readonly waitMs: number | undefined }[];
  readonly currentOrder: readonly string[];
  readonly rows: readonly ReportRow[];
}

export interface ReportRow {
  readonly strategy: string;
  readonly label: string;
  readonly messages: number;
  readonly delivered: number;
  readonly spend: string;
  readonly doubleSpend: string;
  readonly p50Ms: number | null;
  readonly p95Ms: number | null;
  /** The saving against replaying your current order: a fraction (0.25 = 25% less), null for that row itself. */
  readonly saving: number | null;
  readonly channels: Readonly<Record<string, { readonly sent: number; readonly delivered: number; readonly spend: string }>>;
  /** Up to 200 points of the sorted times to delivery (ms), for the chart. */
  readonly times: readonly number[];
}

const sample = (sorted: readonly number[], points = 200): number[] =>
  sorted.length <= points ? [...sorted] : Array.from({ length: points }, (_, i) => sorted[Math.round((i * (sorted.length - 1)) / (points - 1))]!);

export function buildReport(input: string, world: World, results: readonly StrategyResult[]): SimulateReport {
  const current = results.find((r) => r.strategy === 'current');
  return {
    input,
    period: { from: new Date(world.from).toISOString(), to: new Date(world.to).toISOString() },
    messages: world.messages.length,
    recipients: world.recipients.size,
    channels: [...world.channels.values()].map((c) => ({ name: c.name, kind: c.kind, attempts: c.attempts, delivered: c.delivered, waitMs: c.observedWaitMs })),
    currentOrder: world.currentOrder,
    rows: results.map((r) => ({
      strategy: r.strategy,
      label: r.label,
      messages: r.messages,
      delivered: r.delivered,
      spend: money(r.spendMicros),
      doubleSpend: money(r.doubleSpendMicros),
      p50Ms: r.p50Ms ?? null,
      p95Ms: r.p95Ms ?? null,
      // Exact: both spends are integer micro-units.
      saving: current === undefined || r.strategy === 'current' || r.strategy === 'history' || current.spendMicros === 0 ? null : 1 - r.spendMicros / current.spendMicros,
      channels: Object.fromEntries(Object.entries(r.channels).map(([name, c]) => [name, { sent: c.sent, delivered: c.delivered, spend: money(c.spendMicros) }])),
      times: sample(r.times),
    })),
  };
}

/** The table's cells for one row: what the terminal prints and the HTML report shows, from the JSON alone. */
export function rowCells(row: ReportRow): string[] {
  return [
    row.label,
    percent(row.delivered, row.messages),
    row.spend,
    `${row.doubleSpend} (${percent(Number(row.doubleSpend), Number(row.spend))})`,
    formatDuration(row.p95Ms ?? undefined),
    row.saving === null ? '–' : `${(row.saving * 100).toFixed(1)}%`,
  ];
}

export const TABLE_HEADER = ['strategy', 'delivered', 'spend', 'double spend', 'p95', 'saving vs current'] as const;

export function textTable(report: SimulateReport): string {
  return table(TABLE_HEADER, report.rows.map(rowCells));
}
