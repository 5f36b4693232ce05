import { toMs } from './duration.js';
import { toMicros, type Micros } from './money.js';
import { own } from './own.js';
import { InvalidConfigError } from './errors.js';
import { checkPhone, isCountry, type PhoneCheck } from './phone.js';
import { channelSchema, errorFor, parse } from './schema.js';
import type { Billing, ChannelConfig, ChannelKind, CostModel, Recipient, SendFunction, SuccessLevel } from './types.js';

export interface ResolvedRetry {
  readonly retries: number;
  readonly minDelayMs: number;
  readonly maxDelayMs: number;
  readonly factor: number;
}

/** One provider of a channel, with its defaults applied. */
export interface ResolvedProvider {
  readonly name: string;
  readonly send: SendFunction;
  readonly cost: CostModel;
  /** The cost in micro-units when it is a fixed amount, parsed once. */
  readonly fixedCostMicros: Micros | undefined;
  readonly weight: number;
  /** The provider receipts for its sends must name (undefined: receipts that name none). */
  readonly receipts: string | undefined;
  readonly retry: ResolvedRetry | undefined;
  /** Its rate limit: at most `limit` sends in any `windowMs`. */
  readonly rate: { readonly limit: number; readonly windowMs: number } | undefined;
}

/** A channel with every default applied and every duration in milliseconds. */
export interface ResolvedChannel {
  readonly name: string;
  readonly kind: ChannelKind;
  /** Its providers, as declared: one for a channel declared with `send`. */
  readonly providers: readonly ResolvedProvider[];
  /** Whether it was declared with `providers` (its attempts then name theirs). */
  readonly multiProvider: boolean;
  readonly providerOrder: 'price' | 'weight';
  /** The channel's own cost (its providers' default). */
  readonly cost: CostModel;
  /** The cost in micro-units when it is a fixed amount, parsed once. */
  readonly fixedCostMicros: Micros | undefined;
  readonly billing: Billing;
  readonly confirmBy: 'receipt' | 'acceptance';
  readonly timeoutMs: number;
  /** Bounds of the learned wait, or undefined when the wait never adapts. */
  readonly adaptive: { readonly minMs: number; readonly maxMs: number } | undefined;
  readonly success: SuccessLevel;
  readonly address: (recipient: Recipient) => string | undefined;
  /** The name its learned statistics are kept under. */
  readonly learnAs: string;
  /** For channels addressed by phone number: the address checked and written as E.164, or why it is invalid. */
  readonly checkAddress: ((address: string, recipient: Recipient) => PhoneCheck) | undefined;
  /** Declaration order, the last tie-breaker. */
  readonly order: number;
}

const DEFAULT_TIMEOUT_MS = 10 * 60_000;

/** How the router reads phone numbers (`RouterOptions.phoneNumbers`). */
export interface PhoneNumberOptions {
  /** The country (ISO 3166-1 alpha-2, `UA`) national numbers are read in when the recipient has no `country`. */
  readonly defaultCountry?: string | undefined;
}

/** Options that apply to every channel. */
export interface ChannelDefaults {
  /** Check SMS channels' numbers (true, or with a default country); channels may say otherwise with their own `phoneNumbers`. */
  readonly phoneNumbers?: PhoneNumberOptions | boolean | undefined;
}

/** Validates channel declarations and applies defaults. */
export function resolveChannels(channels: Readonly<Record<string, ChannelConfig>>, defaults: ChannelDefaults = {}): ReadonlyMap<string, ResolvedChannel> {
  const phone = defaults.phoneNumbers;
  if (phone !== undefined && typeof phone !== 'boolean' && (typeof phone !== 'object' || phone === null)) {
    throw new InvalidConfigError(`Expected \`phoneNumbers\` to be true, false or { defaultCountry }, got ${JSON.stringify(phone)}`);
  }
  const defaultCountry = typeof phone === 'object' ? phone.defaultCountry : undefined;
  if (defaultCountry !== undefined && !isCountry(defaultCountry)) {
    throw new InvalidConfigError(`Expected \`phoneNumbers.defaultCountry\` to be an ISO 3166-1 alpha-2 country code such as "UA", got ${JSON.stringify(defaultCountry)}`);
  }
  const smsNumbers = phone !== undefined && phone !== false;
  const checkNumber = (address: string, recipient: Recipient): PhoneCheck => checkPhone(address, recipient.country ?? defaultCountry);
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
    const cost = config.cost ?? 0;
    const fixedCostMicros = fixedCost(cost, `channels.${name}.cost`);
    const retry = resolveRetry(`channels.${name}`, config.retry);
    resolved.set(name, {
      name,
      kind: config.kind,
      providers: resolveProviders(name, config, cost, fixedCostMicros, retry),
      multiProvider: config.providers !== undefined,
      providerOrder: config.providerOrder ?? 'price',
      cost,
      fixedCostMicros,
      billing: config.billing ?? 'sent',
      confirmBy,
      timeoutMs,
      adaptive,
      success,
      address: config.address ?? ((recipient) => own(recipient.addresses, name)),
      learnAs: config.learnAs ?? name,
      checkAddress: (config.phoneNumbers ?? (smsNumbers && config.kind === 'sms')) ? checkNumber : undefined,
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

function resolveRetry(field: string, retry: ChannelConfig['retry']): ResolvedRetry | undefined {
  if (retry === false) return undefined;
  return {
    retries: retry?.retries ?? 3,
    minDelayMs: toMs(retry?.minDelay ?? 1000, `${field}.retry.minDelay`, InvalidConfigError),
    maxDelayMs: toMs(retry?.maxDelay ?? 60_000, `${field}.retry.maxDelay`, InvalidConfigError),
    factor: retry?.factor ?? 2,
  };
}

function fixedCost(cost: CostModel, field: string): Micros | undefined {
  return typeof cost === 'function' ? undefined : toMicros(cost, field, InvalidConfigError);
}

/** A channel's providers: its `providers`, or the one its `send` makes (named by its `provider`, or the channel). */
function resolveProviders(name: string, config: ChannelConfig, cost: CostModel, fixedCostMicros: Micros | undefined, retry: ResolvedRetry | undefined): ResolvedProvider[] {
  if ((config.send === undefined) === (config.providers === undefined)) {
    throw new InvalidConfigError(`Expected channel "${name}" to have exactly one of \`send\` or \`providers\``);
  }
  if (config.send !== undefined) {
    return [{ name: config.provider ?? name, send: config.send, cost, fixedCostMicros, weight: 1, receipts: config.provider, retry, rate: resolveRate(`channels.${name}`, config.rate) }];
  }
  if (config.providers!.length === 0) throw new InvalidConfigError(`Expected \`channels.${name}.providers\` to list at least one provider`);
  if (config.provider !== undefined) throw new InvalidConfigError(`Expected \`channels.${name}.provider\` to be left out with \`providers\` (each provider names its receipts)`);
  if (config.rate !== undefined) throw new InvalidConfigError(`Expected \`channels.${name}.rate\` to be left out with \`providers\` (each provider has its own)`);
  const seen = new Set<string>();
  return config.providers!.map((p, i) => {
    const field = `channels.${name}.providers[${i}]`;
    if (seen.has(p.name)) throw new InvalidConfigError(`Expected \`${field}.name\` to be unique in the channel, got "${p.name}" twice`);
    seen.add(p.name);
    const own = p.cost ?? cost;
    return {
      name: p.name,
      send: p.send,
      cost: own,
      fixedCostMicros: p.cost === undefined ? fixedCostMicros : fixedCost(p.cost, `${field}.cost`),
      weight: p.weight ?? 1,
      receipts: p.receipts ?? p.name,
      retry: p.retry === undefined ? retry : resolveRetry(field, p.retry),
      rate: resolveRate(field, p.rate),
    };
  });
}

function resolveRate(field: string, rate: ChannelConfig['rate']): ResolvedProvider['rate'] {
  if (rate === undefined) return undefined;
  const windowMs = toMs(rate.per ?? '1s', `${field}.rate.per`, InvalidConfigError);
  if (windowMs <= 0) throw new InvalidConfigError(`Expected \`${field}.rate.per\` to be a positive duration, got ${String(rate.per)}`);
  return { limit: rate.limit, windowMs };
}
