import { isSupportedCountry, parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js';

/** A phone number checked and written as E.164, or why it is not one. */
export type PhoneCheck =
  | { readonly ok: true; readonly number: string; readonly country: string | undefined }
  | { readonly ok: false; readonly detail: string };

/** Whether `code` is an ISO 3166-1 alpha-2 country libphonenumber knows (`UA`, `GB`, `US`). */
export function isCountry(code: unknown): code is string {
  return typeof code === 'string' && /^[A-Z]{2}$/.test(code) && isSupportedCountry(code);
}

/**
 * Parses a phone number with libphonenumber-js (Google's metadata: lengths and number ranges per country):
 * E.164 (`+380501234567`) as is; a national (`050 123 4567`) or international-dialling (`00380…`) form
 * with `country`. Returns it as E.164, with its country, or why it is not a valid number.
 */
export function checkPhone(text: string, country: string | undefined): PhoneCheck {
  const parsed = parsePhoneNumberFromString(text, country === undefined ? undefined : { defaultCountry: country as CountryCode });
  if (parsed === undefined) {
    const hint = text.trim().startsWith('+') || country !== undefined ? '' : ' (a national number needs the recipient\'s `country` or the router\'s `defaultCountry`)';
    return { ok: false, detail: `"${text.slice(0, 40)}" is not a phone number${hint}` };
  }
  if (!parsed.isValid()) return { ok: false, detail: `"${text.slice(0, 40)}" (${parsed.number}) is not a valid${parsed.country === undefined ? '' : ` ${parsed.country}`} number` };
  return { ok: true, number: parsed.number, country: parsed.country };
}

/** The country of an E.164 number, if libphonenumber can tell (`+380…` → `UA`; `+1…` needs the area code). */
export function countryOf(number: string): string | undefined {
  return parsePhoneNumberFromString(number)?.country;
}

/** The country calling code of an E.164 number with its `+` (`+380`), if it parses. */
export function callingCodeOf(number: string): string | undefined {
  const code = parsePhoneNumberFromString(number)?.countryCallingCode;
  return code === undefined ? undefined : `+${code}`;
}
