import { InvalidInputError } from './errors.js';
import type { QuietHours } from './types.js';

const formatters = new Map<string, Intl.DateTimeFormat>();
const HHMM = /^([01]\d|2[0-3]):([0-5]\d)$/;

function formatter(timeZone: string): Intl.DateTimeFormat {
  let format = formatters.get(timeZone);
  if (!format) {
    try {
      format = new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
    } catch (cause) {
      throw new InvalidInputError(`Expected \`timeZone\` to be an IANA time zone such as "Europe/Kyiv", got ${JSON.stringify(timeZone)}`, { cause });
    }
    formatters.set(timeZone, format);
  }
  return format;
}

/** Minutes after local midnight, from `HH:MM`. */
export function parseClockTime(text: string, field: string): number {
  const match = HHMM.exec(text);
  if (!match) throw new InvalidInputError(`Expected \`${field}\` to be a time "HH:MM" (24-hour), got ${JSON.stringify(text)}`);
  return Number(match[1]) * 60 + Number(match[2]);
}

/** Checks a time zone name early, so a bad one fails at the edge rather than mid-cascade. */
export function assertTimeZone(timeZone: string): void {
  formatter(timeZone);
}

function localSeconds(at: number, timeZone: string): number {
  let h = 0;
  let m = 0;
  let s = 0;
  for (const part of formatter(timeZone).formatToParts(at)) {
    if (part.type === 'hour') h = Number(part.value);
    else if (part.type === 'minute') m = Number(part.value);
    else if (part.type === 'second') s = Number(part.value);
  }
  return h * 3600 + m * 60 + s;
}

function inside(minute: number, start: number, end: number): boolean {
  return start <= end ? minute >= start && minute < end : minute >= start || minute < end;
}

/**
 * The first instant at or after `at` that is outside the quiet hours in `timeZone`.
 * Re-checks after each jump so a daylight-saving shift inside the window cannot leave us in it.
 */
export function endOfQuietHours(at: number, quiet: QuietHours, timeZone = 'UTC'): number {
  const start = parseClockTime(quiet.start, 'quietHours.start');
  const end = parseClockTime(quiet.end, 'quietHours.end');
  if (start === end) return at;
  let t = at;
  for (let hop = 0; hop < 4; hop++) {
    const seconds = localSeconds(t, timeZone);
    if (!inside(Math.floor(seconds / 60), start, end)) return t;
    const wait = (((end * 60 - seconds) % 86_400) + 86_400) % 86_400;
    t = t - (t % 1000) + wait * 1000;
    // Clocks that jumped forward inside the window make the wall-clock wait overshoot the end: step back.
    const overshoot = (((localSeconds(t, timeZone) - end * 60) % 86_400) + 86_400) % 86_400;
    if (overshoot > 0 && overshoot <= 3 * 3600 && !inside(Math.floor(localSeconds(t - overshoot * 1000, timeZone) / 60), start, end)) {
      t -= overshoot * 1000;
    }
  }
  return t;
}
