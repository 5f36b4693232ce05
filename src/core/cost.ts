import { InvalidConfigError } from './errors.js';
import { toMicros, type Amount, type Micros } from './money.js';
import { callingCodeOf, countryOf, isCountry } from './phone.js';
import { smsSegments } from './sms.js';
import type { CostContext, CostModel } from './types.js';

/**
 * Prices by destination: by country (ISO 3166-1 alpha-2, from the number's E.164 form) and by prefix. A
 * prefix longer than the number's country calling code (a carrier's `+38067`) wins; then the country; then
 * the longest matching prefix (`+380`, `+1`); then `default`.
 */
export interface PriceTable {
  readonly default: Amount;
  /** e.g. `{ '+380': 0.03, '+44': '0.0395' }`. Matched against the address (E.164 on SMS channels) with spaces removed. */
  readonly prefixes?: Readonly<Record<string, Amount>> | undefined;
  /** e.g. `{ UA: '0.03', GB: '0.0395' }`: the country libphonenumber-js gives the number (`+1 416…` is CA, `+1 212…` US). */
  readonly countries?: Readonly<Record<string, Amount>> | undefined;
}

/** A price per message that depends on the destination prefix. */
export function byPrefix(table: PriceTable): (context: CostContext) => Amount {
  const lookup = prefixLookup(table);
  return (context) => lookup(context.address);
}

/** An SMS price per billed segment (GSM-7 160/153, UCS-2 70/67), optionally by destination prefix. */
export function smsPerSegment(price: Amount | PriceTable): (context: CostContext) => Amount {
  if (typeof price !== 'object') toMicros(price, 'smsPerSegment price', InvalidConfigError);
  const lookup = typeof price === 'object' ? prefixLookup(price) : () => price;
  return (context) => {
    const perSegment = toMicros(lookup(context.address), 'smsPerSegment price');
    return microsToAmount(perSegment * smsSegments(context.content.text).segments);
  };
}

/** Resolves a channel's cost model for one message to micro-units. */
export function projectCost(model: CostModel, context: CostContext): Micros {
  const amount = typeof model === 'function' ? model(context) : model;
  return toMicros(amount, `cost of channel "${context.channel}"`);
}

function prefixLookup(table: PriceTable): (address: string) => Amount {
  if (typeof table !== 'object' || table === null) throw new InvalidConfigError(`Expected a price table with a \`default\`, got ${String(table)}`);
  const price = (amount: unknown, what: string): Amount => {
    try {
      toMicros(amount as Amount, what, InvalidConfigError);
    } catch (cause) {
      throw new InvalidConfigError(`Expected the price for ${what} to be a decimal amount, got ${JSON.stringify(amount)}`, { cause });
    }
    return amount as Amount;
  };
  price(table.default, 'the default');
  const entries = Object.entries(table.prefixes ?? {}).sort(([a], [b]) => b.length - a.length);
  for (const [prefix, amount] of entries) price(amount, `prefix "${prefix}"`);
  const countries = new Map<string, Amount>();
  for (const [country, amount] of Object.entries(table.countries ?? {})) {
    if (!isCountry(country)) throw new InvalidConfigError(`Expected the \`countries\` keys to be ISO 3166-1 alpha-2 codes such as "UA", got ${JSON.stringify(country)}`);
    countries.set(country, price(amount, `country "${country}"`));
  }
  return (address) => {
    const normalized = address.replace(/[\s()-]/g, '');
    const prefix = entries.find(([p]) => normalized.startsWith(p));
    if (countries.size === 0 || !normalized.startsWith('+')) return prefix?.[1] ?? table.default;
    const callingCode = callingCodeOf(normalized);
    if (prefix !== undefined && callingCode !== undefined && prefix[0].length > callingCode.length) return prefix[1];
    const country = countryOf(normalized);
    return (country === undefined ? undefined : countries.get(country)) ?? prefix?.[1] ?? table.default;
  };
}

// Costs are exchanged as decimal strings so that no float ever carries a sum.
function microsToAmount(micros: Micros): string {
  return `${Math.floor(micros / 1_000_000)}.${String(micros % 1_000_000).padStart(6, '0')}`;
}
