import { InvalidConfigError } from './errors.js';
import { toMicros, type Amount, type Micros } from './money.js';
import { smsSegments } from './sms.js';
import type { CostContext, CostModel } from './types.js';

/** Prices by destination prefix: the longest matching prefix wins, `default` otherwise. */
export interface PriceTable {
  readonly default: Amount;
  /** e.g. `{ '+380': 0.03, '+44': '0.0395' }`. Matched against the address with spaces removed. */
  readonly prefixes?: Readonly<Record<string, Amount>> | undefined;
}

/** A price per message that depends on the destination prefix. */
export function byPrefix(table: PriceTable): (context: CostContext) => Amount {
  const lookup = prefixLookup(table);
  return (context) => lookup(context.address);
}

/** An SMS price per billed segment (GSM-7 160/153, UCS-2 70/67), optionally by destination prefix. */
export function smsPerSegment(price: Amount | PriceTable): (context: CostContext) => Amount {
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
  const entries = Object.entries(table.prefixes ?? {}).sort(([a], [b]) => b.length - a.length);
  for (const [prefix, amount] of entries) {
    try {
      toMicros(amount);
    } catch (cause) {
      throw new InvalidConfigError(`Expected the price for prefix "${prefix}" to be a decimal amount`, { cause });
    }
  }
  return (address) => {
    const normalized = address.replace(/[\s()-]/g, '');
    return entries.find(([prefix]) => normalized.startsWith(prefix))?.[1] ?? table.default;
  };
}

// Costs are exchanged as decimal strings so that no float ever carries a sum.
function microsToAmount(micros: Micros): string {
  return `${Math.floor(micros / 1_000_000)}.${String(micros % 1_000_000).padStart(6, '0')}`;
}
