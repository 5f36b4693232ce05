import { WebhookError, type WebhookProvider } from './errors.js';
import { show } from './input.js';

// At most 9 whole digits (a price per message under a billion) and 20 decimals: parsing stays a few
// microseconds, where an unbounded string of digits made BigInt() block the event loop for seconds.
const DECIMAL = /^(\d{1,9})(?:\.(\d{1,20}))?$/;
/** The longest price text read at all, surrounding blanks included. */
export const MAX_PRICE_LENGTH = 40;
// The library counts money in micro-units (1e-6); finer provider prices are rounded half-up to it.
const PLACES = 6;

/**
 * A provider-reported price as an exact decimal string: `"0.03330000"` → `"0.0333"`, `0.01` → `"0.01"`.
 * Negative, non-numeric, non-finite and absurd prices (a billion or more, or over 40 characters) throw: a wrong
 * price would be billed.
 */
export function decimalPrice(provider: WebhookProvider, field: string, value: string | number): string {
  let text: string;
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0 || value >= 1e9) {
      throw new WebhookError(provider, field, `Expected \`${field}\` to be a non-negative decimal, got ${show(value)}`);
    }
    // Shortest round-trip form is the decimal the provider wrote; tiny values print as exponents.
    text = String(value).includes('e') ? value.toFixed(20) : String(value);
  } else {
    if (value.length > MAX_PRICE_LENGTH) {
      throw new WebhookError(provider, field, `Expected \`${field}\` to be a decimal of at most ${MAX_PRICE_LENGTH} characters, got ${value.length}`);
    }
    text = value.trim();
  }
  const match = DECIMAL.exec(text);
  if (!match) {
    throw new WebhookError(provider, field, `Expected \`${field}\` to be a non-negative decimal, got ${show(value)}`);
  }
  const whole = match[1] ?? '0';
  const fraction = (match[2] ?? '').replace(/0+$/, '');
  if (fraction.length <= PLACES) return format(BigInt(whole), fraction);
  const scaled = BigInt(whole + fraction.slice(0, PLACES)) + (Number(fraction[PLACES]) >= 5 ? 1n : 0n);
  const digits = scaled.toString().padStart(PLACES + 1, '0');
  return format(BigInt(digits.slice(0, -PLACES)), digits.slice(-PLACES).replace(/0+$/, ''));
}

function format(whole: bigint, fraction: string): string {
  return fraction === '' ? whole.toString() : `${whole.toString()}.${fraction}`;
}
