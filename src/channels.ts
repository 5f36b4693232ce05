import { toMs } from './duration.js';
import { toMicros, type Micros } from './money.js';
import { own } from './own.js';
import { InvalidConfigError } from './errors.js';
import { channelSchema, errorFor, parse } from './schema.js';
import type { Billing, ChannelConfig, ChannelKind, CostModel, Recipient, SendFunction, SuccessLevel } from './types.js';

export interface ResolvedRetry {
  readonly retries: number;
  readonly minDelayMs: number;
  readonly maxDelayMs: number;
  readonly factor: number;
}

/** A channel with every default applied and every duration in milliseconds. */
export interface ResolvedChannel {
  readonly name: string;
  readonly kind: ChannelKind;
  readonly send: SendFunction;
  readonly cost: CostModel;
  /** The cost in micro-units when it is a fixed amount, parsed once. */
  readonly fixedCostMicros: Micros | undefined;
  readonly billing: Billing;
  readonly confirmBy: 'receipt' | 'acceptance';
  readonly timeoutMs: number;
  /** Bounds of the learned wait, or undefined when the wait never adapts. */
  readonly adaptive: { readonly minMs: number; readonly maxMs: number } | undefined;
  readonly success: SuccessLevel;
  readonly retry: ResolvedRetry | undefined;
  readonly address: (recipient: Recipient) => string | undefined;
  /** The name its learned statistics are kept under. */
  readonly learnAs: string;
  /** The provider whose receipts report on it (undefined: only receipts that name none). */
  readonly provider: string | undefined;
  /** Declaration order, the last tie-breaker. */
  readonly order: number;
}

const DEFAULT_TIMEOUT_MS = 10 * 60_000;

/** Validates channel declarations and applies defaults. */
export function resolveChannels(channels: Readonly<Record<string, ChannelConfig>>): ReadonlyMap<string, ResolvedChannel> {
  if (typeof channels !== 'object' || channels === null || Object.keys(channels).length === 0) {
    throw new InvalidConfigError('Expected `channels` to declare at least one channel, got none');
  }
  const resolved = new Map<string, ResolvedChannel>();
  for (const [name, raw] of Object.entries(channels)) {
    const config = parse(channelSchema, raw, `channel "${name}"`, errorFor.config) as ChannelConfig;
    const confirmBy = config.confirm?.by ?? 'receipt';
    const timeoutMs = toMs(config.confirm?.timeout ?? DEFAULT_TIMEOUT_MS, `channels.${name}.confirm.timeout`, InvalidConfigError);
    if (timeoutMs <= 0) {
      throw new InvalidConfigError(`Expected \`channels.${name}.confirm.timeout\` to be a positive duration, got ${String(config.confirm?.timeout)}`);
    }
    const success = confirmBy === 'acceptance' ? 'accepted' : (config.success ?? 'delivered');
    const adaptive = resolveAdaptive(name, config.confirm?.adaptive, timeoutMs);
    resolved.set(name, {
      name,
      kind: config.kind,
      send: config.send,
      cost: config.cost ?? 0,
      fixedCostMicros: typeof config.cost === 'function' ? undefined : toMicros(config.cost ?? 0, `channels.${name}.cost`, InvalidConfigError),
      billing: config.billing ?? 'sent',
      confirmBy,
      timeoutMs,
      adaptive,
      success,
      retry: resolveRetry(name, config.retry),
      address: config.address ?? ((recipient) => own(recipient.addresses, name)),
      learnAs: config.learnAs ?? name,
      provider: config.provider,
      order: resolved.size,
    });
  }
  return resolved;
}

const DEFAULT_MIN_WAIT_MS = 1000;

function resolveAdaptive(name: string, adaptive: NonNullable<ChannelConfig['confirm']>['adaptive'], timeoutMs: number): ResolvedChannel['adaptive'] {
  if (adaptive === false) return undefined;
  const minMs = adaptive?.min === undefined ? Math.min(DEFAULT_MIN_WAIT_MS, timeoutMs) : toMs(adaptive.min, `channels.${name}.confirm.adaptive.min`, InvalidConfigError);
  const maxMs = adaptive?.max === undefined ? timeoutMs : toMs(adaptive.max, `channels.${name}.confirm.adaptive.max`, InvalidConfigError);
  if (minMs <= 0 || maxMs < minMs) {
    throw new InvalidConfigError(`Expected \`channels.${name}.confirm.adaptive\` to have 0 < min <= max, got min ${minMs} ms and max ${maxMs} ms`);
  }
  return { minMs, maxMs };
}

function resolveRetry(name: string, retry: ChannelConfig['retry']): ResolvedRetry | undefined {
  if (retry === false) return undefined;
  return {
    retries: retry?.retries ?? 3,
    minDelayMs: toMs(retry?.minDelay ?? 1000, `channels.${name}.retry.minDelay`, InvalidConfigError),
    maxDelayMs: toMs(retry?.maxDelay ?? 60_000, `channels.${name}.retry.maxDelay`, InvalidConfigError),
    factor: retry?.factor ?? 2,
  };
}
