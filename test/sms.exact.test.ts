// smsSegments against a reference written independently: the GSM 03.38 default alphabet and extension
// table typed out by code (3GPP TS 23.038 §6.2.1), and the fewest parts found by dynamic programming over
// every place a text can be cut (no greedy filling), on texts built to straddle part boundaries.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { smsSegments } from 'cascade-router';

// 3GPP TS 23.038 default alphabet, 0x00–0x7F in code order; 0x1B (escape) is not a character.
const DEFAULT_ALPHABET = [
  '@', '£', '$', '¥', 'è', 'é', 'ù', 'ì', 'ò', 'Ç', '\n', 'Ø', 'ø', '\r', 'Å', 'å',
  'Δ', '_', 'Φ', 'Γ', 'Λ', 'Ω', 'Π', 'Ψ', 'Σ', 'Θ', 'Ξ', null, 'Æ', 'æ', 'ß', 'É',
  ' ', '!', '"', '#', '¤', '%', '&', "'", '(', ')', '*', '+', ',', '-', '.', '/',
  '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', ':', ';', '<', '=', '>', '?',
  '¡', 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O',
  'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W', 'X', 'Y', 'Z', 'Ä', 'Ö', 'Ñ', 'Ü', '§',
  '¿', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o',
  'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z', 'ä', 'ö', 'ñ', 'ü', 'à',
] as const;
// The extension table (escape + code): form feed 0x0A, ^ 0x14, { 0x28, } 0x29, \ 0x2F, [ 0x3C, ~ 0x3D, ] 0x3E, | 0x40, € 0x65.
const EXTENSION: ReadonlyMap<string, number> = new Map([['\f', 0x0a], ['^', 0x14], ['{', 0x28], ['}', 0x29], ['\\', 0x2f], ['[', 0x3c], ['~', 0x3d], [']', 0x3e], ['|', 0x40], ['€', 0x65]]);

/** The septets a GSM-7 text encodes to, per character; undefined when a character has no GSM-7 code. */
function gsmSeptets(text: string): number[][] | undefined {
  const out: number[][] = [];
  for (const char of Array.from(text)) {
    const code = DEFAULT_ALPHABET.indexOf(char as never);
    if (code !== -1) out.push([code]);
    else if (EXTENSION.has(char)) out.push([0x1b, EXTENSION.get(char)!]);
    else return undefined;
  }
  return out;
}

/** Fewest parts of at most `size` units each, every character whole in one part: dp over all cut points. */
function fewestParts(sizes: readonly number[], size: number): number {
  const best = new Array<number>(sizes.length + 1).fill(Infinity);
  best[0] = 0;
  for (let end = 1; end <= sizes.length; end++) {
    let units = 0;
    for (let start = end - 1; start >= 0; start--) {
      units += sizes[start]!;
      if (units > size) break;
      best[end] = Math.min(best[end]!, best[start]! + 1);
    }
  }
  return best[sizes.length]!;
}

function reference(text: string): { encoding: string; units: number; segments: number } {
  const septets = gsmSeptets(text);
  if (septets !== undefined) {
    const sizes = septets.map((s) => s.length);
    const units = sizes.reduce((a, b) => a + b, 0);
    return { encoding: 'GSM-7', units, segments: units <= 160 ? 1 : fewestParts(sizes, 153) };
  }
  // UCS-2 as providers send it: UTF-16 code units, a surrogate pair never split.
  const sizes = Array.from(text).map((char) => (char.codePointAt(0)! > 0xffff ? 2 : 1));
  const units = sizes.reduce((a, b) => a + b, 0);
  return { encoding: 'UCS-2', units, segments: units <= 70 ? 1 : fewestParts(sizes, 67) };
}

const gsmChar = fc.constantFrom(...DEFAULT_ALPHABET.filter((c): c is Exclude<typeof c, null> => c !== null), ...EXTENSION.keys());
const escapeChar = fc.constantFrom(...EXTENSION.keys());
const otherChar = fc.constantFrom('я', 'ї', 'Ж', 'ç', 'ğ', 'ş', '中', '😀', '👍🏽', '🇺🇦', '𝄞', 'ā');

describe('smsSegments is exact against an independent reference', () => {
  it('the known case: 66×"я" + "😀" + 66×"я" is 3 parts (the emoji cannot straddle the first boundary)', () => {
    const text = `${'я'.repeat(66)}😀${'я'.repeat(66)}`;
    expect(reference(text)).toEqual({ encoding: 'UCS-2', units: 134, segments: 3 });
    expect(smsSegments(text)).toEqual(reference(text));
  });

  it('an escape at a part boundary: after 152 septets "€" starts part two, so 152 + € + 152 (306 septets) is 3 parts, 152 + € + 151 is 2', () => {
    expect(smsSegments(`${'a'.repeat(152)}€${'a'.repeat(151)}`).segments).toBe(2);
    expect(smsSegments(`${'a'.repeat(152)}€${'a'.repeat(152)}`).segments).toBe(3);
  });

  /** `chars` cut or padded with `pad` to end `short` units below `parts` full parts: where a straddling character adds a part. */
  const nearBoundary = (chars: readonly string[], unitsOf: (c: string) => number, pad: string, size: number, parts: number, short: number): string => {
    const target = size * parts - short;
    const kept: string[] = [];
    let units = 0;
    for (const c of chars) {
      if (units + unitsOf(c) > target) break;
      kept.push(c);
      units += unitsOf(c);
    }
    return kept.join('') + pad.repeat(target - units);
  };

  it('for any GSM-7 text rich in escapes, the part count equals the fewest parts the reference finds (lengths at and near part boundaries)', () => {
    const septets = (c: string) => (EXTENSION.has(c) ? 2 : 1);
    fc.assert(
      fc.property(
        // fast-check draws short arrays unless told: the lengths must reach past the part boundaries.
        fc.array(fc.oneof({ weight: 3, arbitrary: gsmChar }, { weight: 2, arbitrary: escapeChar }), { minLength: 100, maxLength: 480, size: 'max' }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: -2, max: 3 }),
        fc.boolean(),
        (chars, parts, short, anywhere) => {
          const text = anywhere ? chars.join('') : nearBoundary(chars, septets, 'a', 153, parts, short);
          expect(smsSegments(text)).toEqual(reference(text));
        },
      ),
      { numRuns: 600 },
    );
  });

  it('for any text with characters outside GSM-7 (surrogate pairs included), the UCS-2 part count equals the reference (lengths at and near part boundaries)', () => {
    const codeUnits = (c: string) => c.length;
    fc.assert(
      fc.property(
        fc.array(fc.oneof(gsmChar, otherChar, escapeChar), { minLength: 40, maxLength: 300, size: 'max' }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: -1, max: 3 }),
        fc.boolean(),
        (chars, parts, short, anywhere) => {
          const text = `я${anywhere ? chars.join('') : nearBoundary(chars, codeUnits, 'я', 67, parts, short + 1)}`;
          expect(smsSegments(text)).toEqual(reference(text));
        },
      ),
      { numRuns: 600 },
    );
  });

  it('around each boundary (160/161, 306/307 septets; 70/71, 134/135 units), a one-unit change moves the count exactly there', () => {
    for (const [base, size] of [['a', 1], ['я', 1]] as const) {
      const limits = base === 'a' ? [160, 306, 459] : [70, 134, 201];
      for (const limit of limits) {
        expect(smsSegments(base.repeat(limit)).segments).toBe(reference(base.repeat(limit)).segments);
        expect(smsSegments(base.repeat(limit + size)).segments).toBe(smsSegments(base.repeat(limit)).segments + 1);
      }
    }
  });
});
