import { describe, expect, it } from 'vitest';
import { endOfQuietHours, InvalidInputError } from 'cascade-router';

const night = { start: '21:00', end: '08:00' } as const;
const lunch = { start: '12:00', end: '13:30' } as const;
const utc = (y: number, mo: number, d: number, h: number, mi = 0, s = 0, ms = 0): number => Date.UTC(y, mo - 1, d, h, mi, s, ms);

describe('endOfQuietHours in UTC', () => {
  it('leaves a time outside the window as it is', () => {
    expect(endOfQuietHours(utc(2026, 1, 8, 12), night)).toBe(utc(2026, 1, 8, 12));
    expect(endOfQuietHours(utc(2026, 1, 8, 20, 59, 59), night)).toBe(utc(2026, 1, 8, 20, 59, 59));
    expect(endOfQuietHours(utc(2026, 1, 8, 8), night)).toBe(utc(2026, 1, 8, 8));
  });

  it('moves a time before midnight to the end of the window the next morning', () => {
    expect(endOfQuietHours(utc(2026, 1, 8, 21), night)).toBe(utc(2026, 1, 9, 8));
    expect(endOfQuietHours(utc(2026, 1, 8, 23, 30), night)).toBe(utc(2026, 1, 9, 8));
  });

  it('moves a time after midnight to the end of the window the same morning', () => {
    expect(endOfQuietHours(utc(2026, 1, 9, 0), night)).toBe(utc(2026, 1, 9, 8));
    expect(endOfQuietHours(utc(2026, 1, 9, 7, 59, 30), night)).toBe(utc(2026, 1, 9, 8));
  });

  it('crosses a month and a year end', () => {
    expect(endOfQuietHours(utc(2026, 12, 31, 22), night)).toBe(utc(2027, 1, 1, 8));
  });

  it('handles a window that does not wrap midnight', () => {
    expect(endOfQuietHours(utc(2026, 1, 8, 11, 59), lunch)).toBe(utc(2026, 1, 8, 11, 59));
    expect(endOfQuietHours(utc(2026, 1, 8, 12), lunch)).toBe(utc(2026, 1, 8, 13, 30));
    expect(endOfQuietHours(utc(2026, 1, 8, 13, 29), lunch)).toBe(utc(2026, 1, 8, 13, 30));
    expect(endOfQuietHours(utc(2026, 1, 8, 13, 30), lunch)).toBe(utc(2026, 1, 8, 13, 30));
    expect(endOfQuietHours(utc(2026, 1, 8, 23), lunch)).toBe(utc(2026, 1, 8, 23));
  });

  it('treats an empty window (start equal to end) as no quiet hours', () => {
    expect(endOfQuietHours(utc(2026, 1, 8, 22), { start: '22:00', end: '22:00' })).toBe(utc(2026, 1, 8, 22));
  });
});

describe('endOfQuietHours in Europe/Kyiv', () => {
  it('uses local time in winter (UTC+2)', () => {
    // 22:00 Kyiv is 20:00 UTC; 08:00 Kyiv is 06:00 UTC.
    expect(endOfQuietHours(utc(2026, 1, 8, 20), night, 'Europe/Kyiv')).toBe(utc(2026, 1, 9, 6));
    // 20:00 UTC would be quiet in UTC but is 22:00 in Kyiv; 18:00 UTC is 20:00 Kyiv: not quiet.
    expect(endOfQuietHours(utc(2026, 1, 8, 18), night, 'Europe/Kyiv')).toBe(utc(2026, 1, 8, 18));
    // 06:30 UTC is 08:30 Kyiv: not quiet, although it would be in UTC.
    expect(endOfQuietHours(utc(2026, 1, 9, 6, 30), night, 'Europe/Kyiv')).toBe(utc(2026, 1, 9, 6, 30));
  });

  it('uses local time in summer (UTC+3)', () => {
    expect(endOfQuietHours(utc(2026, 7, 8, 19), night, 'Europe/Kyiv')).toBe(utc(2026, 7, 9, 5));
    expect(endOfQuietHours(utc(2026, 7, 8, 17, 59), night, 'Europe/Kyiv')).toBe(utc(2026, 7, 8, 17, 59));
  });

  it('ends at 08:00 local on the night clocks go back (25 Oct 2026, 04:00 → 03:00)', () => {
    // 22:00 Kyiv (UTC+3) on 24 Oct; 08:00 Kyiv on 25 Oct is UTC+2, 06:00 UTC: an 11-hour wait.
    expect(endOfQuietHours(utc(2026, 10, 24, 19), night, 'Europe/Kyiv')).toBe(utc(2026, 10, 25, 6));
  });

  it('ends at 08:00 local on the night clocks go forward (29 Mar 2026, 03:00 → 04:00)', () => {
    // 22:00 Kyiv (UTC+2) on 28 Mar; 08:00 Kyiv on 29 Mar is UTC+3, 05:00 UTC: a 9-hour wait, not 10.
    expect(endOfQuietHours(utc(2026, 3, 28, 20), night, 'Europe/Kyiv')).toBe(utc(2026, 3, 29, 5));
  });

  it('ends at 08:00 local when the wait starts after the spring shift', () => {
    // 04:30 Kyiv (UTC+3) on 29 Mar is 01:30 UTC.
    expect(endOfQuietHours(utc(2026, 3, 29, 1, 30), night, 'Europe/Kyiv')).toBe(utc(2026, 3, 29, 5));
  });
});

describe('endOfQuietHours rejects bad input', () => {
  it('rejects times that are not HH:MM (24-hour) with InvalidInputError', () => {
    for (const bad of ['8:00', '24:00', '25:00', '08:60', '0800', '', '08:00:00', 'noon', ' 08:00']) {
      expect(() => endOfQuietHours(utc(2026, 1, 8, 12), { start: bad, end: '08:00' }), JSON.stringify(bad)).toThrow(InvalidInputError);
      expect(() => endOfQuietHours(utc(2026, 1, 8, 12), { start: '21:00', end: bad }), JSON.stringify(bad)).toThrow(InvalidInputError);
    }
  });

  it('names the field and the value', () => {
    expect(() => endOfQuietHours(0, { start: '25:00', end: '08:00' })).toThrow('Expected `quietHours.start` to be a time "HH:MM" (24-hour), got "25:00"');
    expect(() => endOfQuietHours(0, { start: '21:00', end: '8am' })).toThrow('Expected `quietHours.end` to be a time "HH:MM" (24-hour), got "8am"');
  });

  it('rejects an unknown time zone with InvalidInputError', () => {
    expect(() => endOfQuietHours(utc(2026, 1, 8, 12), night, 'Mars/Olympus_Mons')).toThrow(InvalidInputError);
    expect(() => endOfQuietHours(utc(2026, 1, 8, 12), night, 'Not a zone')).toThrow(
      'Expected `timeZone` to be an IANA time zone such as "Europe/Kyiv", got "Not a zone"',
    );
  });
});
