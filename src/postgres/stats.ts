/**
 * The PostgreSQL store's side of the spend ledger and the learned statistics: how an update travels to the SQL
 * in stats-sql.ts, and how the rows read back. Kept apart from the store so a change of `StatsUpdate` or
 * `Learned` touches only this file and stats-sql.ts.
 */
import { latencyBucket, type ChannelStats, type Learned, type OutcomeCounts } from '../core/learning.js';
import type { ChannelLedger, Ledger } from '../core/ledger.js';
import type { StatsUpdate } from '../store/types.js';

/** The update as the functions' one jsonb argument (null for none). */
export function statsArg(update: StatsUpdate | undefined, now: number): string | null {
  if (update === undefined) return null;
  return JSON.stringify({ h: update.halfLifeMs, n: now, l: update.ledger, o: update.observations && observationRows(update.observations) });
}

/** An update with the time it was made: what a create or commit carries until it is sent, alone or in a batch. */
export interface StatsAt {
  readonly update: StatsUpdate;
  readonly now: number;
}

/** The one jsonb argument of a single create or commit. */
export const statsJson = (stats: StatsAt | null): string | null => (stats === null ? null : statsArg(stats.update, stats.now));

/**
 * The updates of a batch as create_batch and commit_batch take them (ledger-sql.ts): per change its six ledger
 * figures (NULLs for none); per channel named its change's place (1-based), name and three figures; and the
 * observations' JSON, one text per change joined by U+001E ('' for none, as `joined` in store.ts: JSON escapes
 * every control character).
 */
export function statsColumns(stats: readonly (StatsAt | null)[]): unknown[] {
  const figures: (number | null)[][] = [[], [], [], [], [], []];
  const channels: [items: number[], names: string[], sent: number[], delivered: number[], spend: number[]] = [[], [], [], [], []];
  const observations: string[] = [];
  stats.forEach((item, i) => {
    const l = item?.update.ledger;
    const values = l === undefined ? [null, null, null, null, null, null] : [l.messages, l.delivered, l.spendMicros, l.doubleSpendMicros, l.smsOnlyMicros, l.withoutSms];
    values.forEach((value, j) => figures[j]!.push(value));
    for (const name in l?.channels) {
      const c = l.channels[name]!;
      channels[0].push(i + 1), channels[1].push(name), channels[2].push(c.sent), channels[3].push(c.delivered), channels[4].push(c.spendMicros);
    }
    const o = item?.update.observations;
    observations.push(o === undefined || o.length === 0 ? '' : JSON.stringify({ h: item!.update.halfLifeMs, n: item!.now, o: observationRows(o) }));
  });
  return [...figures, ...channels, observations.join('\u001e')];
}

const observationRows = (observations: NonNullable<StatsUpdate['observations']>): unknown[] =>
  observations.map((x) => [x.channel, x.recipientId, x.outcome, x.at, x.weight, x.latencyMs === undefined ? -1 : latencyBucket(x.latencyMs)]);

/** The ledger from `LEDGER_SQL`'s one row (array mode). */
export function parseLedger(row: readonly unknown[]): Ledger {
  const n = (i: number): number => Number(row[i] ?? 0);
  const channels = JSON.parse(String(row[6] ?? '{}')) as Record<string, ChannelLedger>;
  for (const c of Object.values(channels)) Object.assign(c, { sent: Number(c.sent), delivered: Number(c.delivered), spendMicros: Number(c.spendMicros) });
  return { messages: n(0), delivered: n(1), spendMicros: n(2), doubleSpendMicros: n(3), smsOnlyMicros: n(4), withoutSms: n(5), channels };
}

/** What `LEARNED_SQL` answered (array mode): channel-wide rows and the recipient's own. */
export function parseLearned(rows: readonly (readonly unknown[])[]): Learned {
  const channels = new Map<string, ChannelStats>();
  const recipient = new Map<string, OutcomeCounts>();
  for (const [kind, channel, at, delivered, failed, timeout, skipped, latency] of rows) {
    const counts: OutcomeCounts = { at: Number(at), delivered: Number(delivered), failed: Number(failed), timeout: Number(timeout), skipped: Number(skipped) };
    if (kind === 'r') {
      recipient.set(String(channel), counts);
      continue;
    }
    const buckets: Record<number, number> = {};
    for (const [bucket, weight] of Object.entries(JSON.parse(String(latency)) as Record<string, number>)) buckets[Number(bucket)] = Number(weight);
    channels.set(String(channel), { ...counts, latency: buckets });
  }
  return { channels, recipient };
}
