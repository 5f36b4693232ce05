import { WebhookError, type WebhookProvider } from './errors.js';
import { show } from './input.js';

// Year 1 to 9999 in ms; wider values are not timestamps anyone sends.
const MAX_MS = 253_402_300_799_999;
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})$/;
const UTC_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})$/;

function fail(provider: WebhookProvider, field: string, what: string, value: unknown): never {
  throw new WebhookError(provider, field, `Expected \`${field}\` to be ${what}, got ${show(value)}`);
}

function inRange(provider: WebhookProvider, field: string, what: string, ms: number, value: unknown): number {
  if (!Number.isFinite(ms) || ms < 0 || ms > MAX_MS) fail(provider, field, what, value);
  return Math.round(ms);
}

/** Unix seconds, as a number (SendGrid, Mailgun floats) or a decimal string (WhatsApp). */
export function fromUnixSeconds(provider: WebhookProvider, field: string, value: number | string): number {
  const what = 'Unix seconds';
  if (typeof value === 'string' && !/^\d+(?:\.\d+)?$/.test(value)) fail(provider, field, what, value);
  return inRange(provider, field, what, Number(value) * 1000, value);
}

/** Unix milliseconds (Viber). */
export function fromUnixMillis(provider: WebhookProvider, field: string, value: number): number {
  return inRange(provider, field, 'Unix milliseconds', value, value);
}

/** ISO 8601 with a zone: `Z`, `+01:00` or Infobip's `+0000`. */
export function fromIso(provider: WebhookProvider, field: string, value: string): number {
  const what = 'an ISO 8601 date-time with a time zone';
  if (!ISO.test(value)) fail(provider, field, what, value);
  // Date.parse wants `+00:00`; Infobip writes `+0000`.
  const normalized = value.replace(/([+-]\d{2})(\d{2})$/, '$1:$2');
  return inRange(provider, field, what, Date.parse(normalized), value);
}

/** `YYYY-MM-DD HH:MM:SS` in UTC (Vonage SMS `message-timestamp`); `Date.parse` would read it as local time. */
export function fromUtcDateTime(provider: WebhookProvider, field: string, value: string): number {
  const what = 'a UTC date-time "YYYY-MM-DD HH:MM:SS"';
  const match = UTC_DATE_TIME.exec(value);
  if (!match) fail(provider, field, what, value);
  const [, y, mo, d, h, mi, s] = match.map(Number) as [number, number, number, number, number, number, number];
  const ms = Date.UTC(y, mo - 1, d, h, mi, s);
  const back = new Date(ms);
  // Date.UTC rolls 2021-02-30 over to March: a date that does not round-trip is not a date.
  if (back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d || h > 23 || mi > 59 || s > 59) {
    fail(provider, field, what, value);
  }
  return inRange(provider, field, what, ms, value);
}
