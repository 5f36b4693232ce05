// GSM 03.38 basic character set; anything outside it forces UCS-2.
const GSM7_BASIC =
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?' +
  '¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà';
// The extension table: each costs two septets (escape + char).
const GSM7_EXTENDED = '^{}\\[~]|€\f';

const BASIC = new Set(GSM7_BASIC);
const EXTENDED = new Set(GSM7_EXTENDED);

export type SmsEncoding = 'GSM-7' | 'UCS-2';

export interface SmsSegments {
  readonly encoding: SmsEncoding;
  /** Septets for GSM-7, UTF-16 code units for UCS-2. */
  readonly units: number;
  readonly segments: number;
}

/**
 * How many billed parts an SMS takes: GSM-7 fits 160 septets in one part, UCS-2 (any character outside
 * GSM-7, such as Cyrillic or emoji) 70 UTF-16 code units. A longer text is split into parts of 153 septets or
 * 67 code units, never inside a character: an escaped GSM-7 character (`€`, `[`…, two septets) or an emoji
 * (a surrogate pair, two code units) that would straddle a boundary starts the next part, which is how
 * providers split (66×"я" + "😀" + 66×"я" is 3 parts, not 2). Only the default GSM alphabet and its
 * extension table are used: national language shift tables (Turkish, Spanish, Portuguese, Indian
 * languages) are not, so such text counts as UCS-2.
 */
export function smsSegments(text: string): SmsSegments {
  let septets = 0;
  for (const char of text) {
    if (BASIC.has(char)) septets += 1;
    else if (EXTENDED.has(char)) septets += 2;
    else return ucs2(text);
  }
  return { encoding: 'GSM-7', units: septets, segments: septets <= 160 ? 1 : parts(text, 153, (char) => (BASIC.has(char) ? 1 : 2)) };
}

function ucs2(text: string): SmsSegments {
  return { encoding: 'UCS-2', units: text.length, segments: text.length <= 70 ? 1 : parts(text, 67, (char) => char.length) };
}

/** Parts of at most `size` units, filled in order, each character whole in one part. */
function parts(text: string, size: number, unitsOf: (char: string) => number): number {
  let count = 1;
  let used = 0;
  for (const char of text) {
    const units = unitsOf(char);
    if (used + units > size) {
      count++;
      used = 0;
    }
    used += units;
  }
  return count;
}
