/**
 * The PostgreSQL store's side of the spend ledger and the learned statistics: how an update travels to the SQL
 * in stats-sql.ts, and how the rows read back. Kept apart from the store so a change of `StatsUpdate` or
 * `Learned` touches only this file and stats-sql.ts.
 */
import { latencyBucket, type ChannelStats, type Learned, type OutcomeCounts } from '../core/learning.js';
import type { Ledger, ProviderLedger } from '../core/ledger.js';
import type { StatsUpdate } from '../store/types.js';

/**
 * The ledger's rows keep a channel's figures under its name and a provider's (a channel with several) under
 * `channel` + U+001F + `provider`: every path that writes or folds rows sums figures by name, so providers are
 * summed with no SQL of their own, and `parseLedger` puts them back under their channel.
 */
const PROVIDER_SEPARATOR = '\u001f';

type Figures = { readonly sent: number; readonly delivered: number; readonly spendMicros: number };

/** Visits a ledger's channel figures as the rows keep them: each channel's, then each of its providers'. */
function eachLedgerFigure(channels: Ledger['channels'], visit: (name: string, figures: Figures) => void): void {
  for (const name in channels) {
    const c = channels[name]!;
    visit(name, c);
    if (c.providers !== undefined) for (const provider in c.providers) visit(`${name}${PROVIDER_SEPARATOR}${provider}`, c.providers[provider]!);
  }
}

/** The channels as the rows keep them: the ledger's own object when no channel has providers (the common case). */
function rowChannels(channels: Ledger['channels']): Record<string, Figures> {
  let providers = false;
  for (const name in channels) if (channels[name]!.providers !== undefined) providers = true;
  if (!providers) return channels;
  const out: Record<string, Figures> = {};
  eachLedgerFigure(channels, (name, figures) => void (out[name] = figures));
  return out;
}

/** The update as the functions' one jsonb argument (null for none). */
export function statsArg(update: StatsUpdate | undefined, now: number): string | null {
  if (update === undefined) return null;
  const l = update.ledger;
  const ledger = l === undefined ? undefined : { ...l, channels: rowChannels(l.channels) };
  return JSON.stringify({ h: update.halfLifeMs, n: now, l: ledger, o: update.observations && observationRows(update.observations) });
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
 * figures (NULLs for none), then their sums; per channel named its change's place (1-based), name and three
 * figures, then each channel's sums at place 0; and the observations' JSON, one text per change joined by
 * U+001E ('' for none, as `joined` in store.ts: JSON escapes every control character). Each array goes as the
 * text of an array literal, built here: node-postgres would convert it element by element (measured: about
 * 15 µs of client CPU per cascade more). The sums are exact: integers (micro-units, counts) far below 2^53.
 */
export function statsColumns(stats: readonly (StatsAt | null)[]): string[] {
  const figures = ['', '', '', '', '', ''];
  const channels = ['', '', '', '', ''];
  const observations: string[] = [];
  let sums: number[] | undefined;
  const channelSums = new Map<string, [number, number, number]>();
  const addChannel = (place: number, name: string, sent: number, delivered: number, spend: number): void => {
    const next = channels[0] === '' ? '' : ',';
    channels[0] += `${next}${place}`;
    channels[1] += `${next}"${name.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
    channels[2] += `${next}${sent}`;
    channels[3] += `${next}${delivered}`;
    channels[4] += `${next}${spend}`;
  };
  let place = 0;
  const addFigure = (name: string, c: Figures): void => {
    addChannel(place, name, c.sent, c.delivered, c.spendMicros);
    const sum = channelSums.get(name) ?? [0, 0, 0];
    channelSums.set(name, [sum[0] + c.sent, sum[1] + c.delivered, sum[2] + c.spendMicros]);
  };
  stats.forEach((item, i) => {
    const l = item?.update.ledger;
    const comma = i === 0 ? '' : ',';
    if (l === undefined) for (let j = 0; j < 6; j++) figures[j] += `${comma}NULL`;
    else {
      const values = [l.messages, l.delivered, l.spendMicros, l.doubleSpendMicros, l.smsOnlyMicros, l.withoutSms];
      sums ??= [0, 0, 0, 0, 0, 0];
      for (let j = 0; j < 6; j++) (figures[j] += `${comma}${values[j]}`), (sums[j]! += values[j]!);
      place = i + 1;
      eachLedgerFigure(l.channels, addFigure);
    }
    const o = item?.update.observations;
    observations.push(o === undefined || o.length === 0 ? '' : JSON.stringify({ h: item!.update.halfLifeMs, n: item!.now, o: observationRows(o) }));
  });
  for (let j = 0; j < 6; j++) figures[j] += `${stats.length === 0 ? '' : ','}${sums?.[j] ?? 'NULL'}`;
  for (const [name, [sent, delivered, spend]] of channelSums) addChannel(0, name, sent, delivered, spend);
  return [...figures, ...channels].map((list) => `{${list}}`).concat(observations.join('\u001e'));
}

const observationRows = (observations: NonNullable<StatsUpdate['observations']>): unknown[] =>
  observations.map((x) => [x.channel, x.recipientId, x.outcome, x.at, x.weight, x.latencyMs === undefined ? -1 : latencyBucket(x.latencyMs)]);

/** The ledger from `LEDGER_SQL`'s one row (array mode). */
export function parseLedger(row: readonly unknown[]): Ledger {
  const n = (i: number): number => Number(row[i] ?? 0);
  const rows = JSON.parse(String(row[6] ?? '{}')) as Record<string, { sent: unknown; delivered: unknown; spendMicros: unknown }>;
  const channels: Record<string, { sent: number; delivered: number; spendMicros: number; providers?: Record<string, ProviderLedger> }> = {};
  const figures = (r: { sent: unknown; delivered: unknown; spendMicros: unknown }): ProviderLedger => ({ sent: Number(r.sent), delivered: Number(r.delivered), spendMicros: Number(r.spendMicros) });
  for (const name in rows) if (!name.includes(PROVIDER_SEPARATOR)) channels[name] = figures(rows[name]!);
  for (const name in rows) {
    const at = name.indexOf(PROVIDER_SEPARATOR);
    if (at === -1) continue;
    const channel = (channels[name.slice(0, at)] ??= { sent: 0, delivered: 0, spendMicros: 0 });
    (channel.providers ??= {})[name.slice(at + 1)] = figures(rows[name]!);
  }
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
