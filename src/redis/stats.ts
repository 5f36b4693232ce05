/**
 * The Redis store's side of the spend ledger and the learned statistics: which keys an update touches,
 * how it travels to the Lua in scripts/stats.ts, and how the replies read back.
 */
import { latencyBucket, type ChannelStats, type Learned, type OutcomeCounts } from '../core/learning.js';
import type { ChannelLedger, Ledger, ProviderLedger } from '../core/ledger.js';
import type { StatsUpdate } from '../store/types.js';
import type { Keys } from './keys.js';

/** A recipient's counts are kept this many half-lives after their last update (their weight is then < 1/256). */
export const RECIPIENT_TTL_HALF_LIVES = 8;

/** The KEYS an update touches, in the order the Lua reads them: the ledger, then per observation its channel and recipient. */
export function statsKeys(keys: Keys, update: StatsUpdate | undefined): string[] {
  if (update === undefined) return [];
  const out = [keys.ledger];
  for (const o of update.observations ?? []) out.push(keys.channelStats(o.channel), keys.recipientStats(o.recipientId));
  return out;
}

/** The update's observations as the Lua's one ARGV of JSON ('' for none). */
export function statsArg(update: StatsUpdate | undefined, now: number): string {
  if (update?.observations === undefined || update.observations.length === 0) return '';
  const o = update.observations.map((x) => [x.channel, x.outcome, x.at, x.weight, x.latencyMs === undefined ? -1 : latencyBucket(x.latencyMs)]);
  return JSON.stringify({ h: update.halfLifeMs, n: now, o });
}

/** The update's ledger delta as the Lua's last ARGVs: hash field, amount, for each that is not 0 (see scripts/stats.ts). */
export function ledgerArgs(update: StatsUpdate | undefined): (string | number)[] {
  const l = update?.ledger;
  if (l === undefined) return [];
  const out: (string | number)[] = [];
  const add = (field: string, amount: number): void => {
    if (amount !== 0) out.push(field, amount);
  };
  add('messages', l.messages);
  add('delivered', l.delivered);
  add('spend', l.spendMicros);
  add('double', l.doubleSpendMicros);
  add('smsOnly', l.smsOnlyMicros);
  add('withoutSms', l.withoutSms);
  for (const name in l.channels) {
    const c = l.channels[name]!;
    add(`sent:${name}`, c.sent);
    add(`delivered:${name}`, c.delivered);
    add(`spend:${name}`, c.spendMicros);
    if (c.providers === undefined) continue;
    for (const provider in c.providers) {
      const p = c.providers[provider]!;
      const of = `${name}\u001f${provider}`;
      add(`psent:${of}`, p.sent);
      add(`pdelivered:${of}`, p.delivered);
      add(`pspend:${of}`, p.spendMicros);
    }
  }
  return out;
}

export function recipientTtlMs(update: StatsUpdate | undefined): number {
  return Math.ceil((update?.halfLifeMs ?? 0) * RECIPIENT_TTL_HALF_LIVES) || 1;
}

const pairs = (flat: readonly string[]): [string, string][] => {
  const out: [string, string][] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push([flat[i]!, flat[i + 1]!]);
  return out;
};

/** The ledger from its hash (HGETALL). */
export function parseLedger(hash: Record<string, string>): Ledger {
  const n = (field: string): number => Number(hash[field] ?? 0);
  const channels: Record<string, { sent: number; delivered: number; spendMicros: number; providers?: Record<string, ProviderLedger> }> = {};
  const providerFields: [string, string, 'sent' | 'delivered' | 'spendMicros', number][] = [];
  for (const field of Object.keys(hash)) {
    const colon = field.indexOf(':');
    if (colon === -1) continue;
    const name = field.slice(colon + 1);
    const kind = field.slice(0, colon);
    if (kind === 'psent' || kind === 'pdelivered' || kind === 'pspend') {
      const unit = name.indexOf('\u001f');
      providerFields.push([name.slice(0, unit), name.slice(unit + 1), kind === 'psent' ? 'sent' : kind === 'pdelivered' ? 'delivered' : 'spendMicros', n(field)]);
      continue;
    }
    channels[name] ??= { sent: 0, delivered: 0, spendMicros: 0 };
  }
  for (const [channel, provider, figure, value] of providerFields) {
    const c = (channels[channel] ??= { sent: 0, delivered: 0, spendMicros: 0 });
    const p = ((c.providers ??= {})[provider] ??= { sent: 0, delivered: 0, spendMicros: 0 }) as { sent: number; delivered: number; spendMicros: number };
    p[figure] = value;
  }
  for (const [name, c] of Object.entries(channels)) {
    c.sent = n(`sent:${name}`);
    c.delivered = n(`delivered:${name}`);
    c.spendMicros = n(`spend:${name}`);
  }
  return {
    messages: n('messages'),
    delivered: n('delivered'),
    spendMicros: n('spend'),
    doubleSpendMicros: n('double'),
    smsOnlyMicros: n('smsOnly'),
    withoutSms: n('withoutSms'),
    channels: channels as Record<string, ChannelLedger>,
  };
}

/** The `learned` script's reply for `channels`. */
export function parseLearned(channels: readonly string[], reply: readonly (readonly string[])[]): Learned {
  const wide = new Map<string, ChannelStats>();
  channels.forEach((name, i) => {
    const flat = reply[i] ?? [];
    if (flat.length === 0) return;
    const latency: Record<number, number> = {};
    const counts: Record<string, number> = {};
    for (const [field, value] of pairs(flat)) {
      if (field.startsWith('b')) latency[Number(field.slice(1))] = Number(value);
      else counts[field] = Number(value);
    }
    wide.set(name, {
      at: counts['at'] ?? 0,
      delivered: counts['d'] ?? 0,
      failed: counts['f'] ?? 0,
      timeout: counts['t'] ?? 0,
      skipped: counts['s'] ?? 0,
      latency,
    });
  });
  const own = new Map<string, Record<string, number>>();
  for (const [field, value] of pairs(reply[channels.length] ?? [])) {
    const bar = field.lastIndexOf('|');
    const channel = field.slice(0, bar);
    const record = own.get(channel) ?? {};
    record[field.slice(bar + 1)] = Number(value);
    own.set(channel, record);
  }
  const recipient = new Map<string, OutcomeCounts>();
  for (const [channel, c] of own) {
    recipient.set(channel, { at: c['at'] ?? 0, delivered: c['d'] ?? 0, failed: c['f'] ?? 0, timeout: c['t'] ?? 0, skipped: c['s'] ?? 0 });
  }
  return { channels: wide, recipient };
}
