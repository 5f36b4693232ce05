import { describe, expect, it } from 'vitest';
import { smsSegments } from 'cascade-router';

const latin = (n: number): string => 'a'.repeat(n);
const cyrillic = (n: number): string => 'я'.repeat(n);

describe('smsSegments: GSM-7', () => {
  it('fits 160 septets in one part', () => {
    expect(smsSegments(latin(1))).toEqual({ encoding: 'GSM-7', units: 1, segments: 1 });
    expect(smsSegments(latin(160))).toEqual({ encoding: 'GSM-7', units: 160, segments: 1 });
  });

  it('splits at 161 into parts of 153', () => {
    expect(smsSegments(latin(161))).toEqual({ encoding: 'GSM-7', units: 161, segments: 2 });
    expect(smsSegments(latin(306))).toEqual({ encoding: 'GSM-7', units: 306, segments: 2 });
    expect(smsSegments(latin(307))).toEqual({ encoding: 'GSM-7', units: 307, segments: 3 });
    expect(smsSegments(latin(459))).toEqual({ encoding: 'GSM-7', units: 459, segments: 3 });
    expect(smsSegments(latin(460))).toEqual({ encoding: 'GSM-7', units: 460, segments: 4 });
  });

  it('takes an empty text as one part', () => {
    expect(smsSegments('')).toEqual({ encoding: 'GSM-7', units: 0, segments: 1 });
  });

  it('counts extension characters (€ [ ] { } ^ ~ | \\) as two septets', () => {
    for (const char of ['€', '[', ']', '{', '}', '^', '~', '|', '\\']) {
      expect(smsSegments(char), char).toEqual({ encoding: 'GSM-7', units: 2, segments: 1 });
    }
    expect(smsSegments('€5 off')).toEqual({ encoding: 'GSM-7', units: 7, segments: 1 });
  });

  it('crosses the 160 boundary on an extension character', () => {
    expect(smsSegments('€'.repeat(80))).toEqual({ encoding: 'GSM-7', units: 160, segments: 1 });
    expect(smsSegments(latin(159) + '€')).toEqual({ encoding: 'GSM-7', units: 161, segments: 2 });
    expect(smsSegments(latin(158) + '€')).toEqual({ encoding: 'GSM-7', units: 160, segments: 1 });
    expect(smsSegments(latin(304) + '€')).toEqual({ encoding: 'GSM-7', units: 306, segments: 2 });
    expect(smsSegments(latin(305) + '€')).toEqual({ encoding: 'GSM-7', units: 307, segments: 3 });
  });

  it('keeps GSM-7 for the accented letters of the basic set', () => {
    expect(smsSegments('Größe: 5 Ä, Ñ, ü, à, é, è; @£$¥')).toEqual({ encoding: 'GSM-7', units: 31, segments: 1 });
    expect(smsSegments('line\nbreak')).toEqual({ encoding: 'GSM-7', units: 10, segments: 1 });
  });
});

describe('smsSegments: UCS-2', () => {
  it('switches to UCS-2 for Cyrillic: 70 characters in one part', () => {
    expect(smsSegments(cyrillic(70))).toEqual({ encoding: 'UCS-2', units: 70, segments: 1 });
    expect(smsSegments('Ваше замовлення готове')).toEqual({ encoding: 'UCS-2', units: 22, segments: 1 });
  });

  it('splits at 71 into parts of 67', () => {
    expect(smsSegments(cyrillic(71))).toEqual({ encoding: 'UCS-2', units: 71, segments: 2 });
    expect(smsSegments(cyrillic(134))).toEqual({ encoding: 'UCS-2', units: 134, segments: 2 });
    expect(smsSegments(cyrillic(135))).toEqual({ encoding: 'UCS-2', units: 135, segments: 3 });
    expect(smsSegments(cyrillic(201))).toEqual({ encoding: 'UCS-2', units: 201, segments: 3 });
    expect(smsSegments(cyrillic(202))).toEqual({ encoding: 'UCS-2', units: 202, segments: 4 });
  });

  it('turns a whole Latin text into UCS-2 for one character outside GSM-7', () => {
    expect(smsSegments(latin(69) + 'я')).toEqual({ encoding: 'UCS-2', units: 70, segments: 1 });
    expect(smsSegments(latin(70) + 'я')).toEqual({ encoding: 'UCS-2', units: 71, segments: 2 });
    expect(smsSegments(latin(159) + 'ê')).toEqual({ encoding: 'UCS-2', units: 160, segments: 3 });
  });

  it('counts an emoji as two UTF-16 code units', () => {
    expect(smsSegments('😀')).toEqual({ encoding: 'UCS-2', units: 2, segments: 1 });
    expect(smsSegments('😀'.repeat(35))).toEqual({ encoding: 'UCS-2', units: 70, segments: 1 });
    expect(smsSegments('😀'.repeat(36))).toEqual({ encoding: 'UCS-2', units: 72, segments: 2 });
    expect(smsSegments(latin(68) + '😀')).toEqual({ encoding: 'UCS-2', units: 70, segments: 1 });
    expect(smsSegments(latin(69) + '😀')).toEqual({ encoding: 'UCS-2', units: 71, segments: 2 });
  });

  it('counts extension characters as one unit once the text is UCS-2', () => {
    expect(smsSegments('€€я')).toEqual({ encoding: 'UCS-2', units: 3, segments: 1 });
  });
});
