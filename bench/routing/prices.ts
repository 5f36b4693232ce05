/**
 * What each channel costs and when it is billed, as providers charge it. Every figure is cited in
 * bench/README.md ("Prices"); figures marked there as assumptions are ours. One currency (USD); the one
 * EUR price (WhatsApp to Germany) is taken at par.
 */
import type { Amount, ChannelConfig, CostContext, Library } from './library.js';
import { DEFAULT_PARAMS, type Params } from './params.js';

export type Country = 'UA' | 'DE' | 'GB' | 'US';

export const COUNTRIES: readonly Country[] = ['UA', 'DE', 'GB', 'US'];
export const DIAL: Readonly<Record<Country, string>> = { UA: '+380', DE: '+49', GB: '+44', US: '+1' };

/** SMS, per segment, billed on submission (P1 Twilio UA, P2 SendAPI DE and GB, P3 Twilio US). */
export const SMS_PER_SEGMENT: Readonly<Record<Country, string>> = { UA: '0.1747', DE: '0.075', GB: '0.04', US: '0.0083' };

/** Email, per message (P4 Amazon SES: $0.10 per 1,000). */
export const EMAIL_PRICE = '0.0001';

/** Viber business message, billed on delivery (A1: assumption, no public per-message list found). */
export const VIBER_PRICE: Readonly<Record<Country, string>> = { UA: '0.012', DE: '0.03', GB: '0.03', US: '0.03' };

type WhatsAppCategory = 'marketing' | 'utility' | 'authentication';

/** WhatsApp template message, billed on delivery (P5 Meta via hello-charles DE, P6 sent.dm CEE, P9 heltar GB, P10 Message Central US; A2 the rest). */
export const WHATSAPP_PRICE: Readonly<Record<Country, Readonly<Record<WhatsAppCategory, string>>>> = {
  UA: { marketing: '0.086', utility: '0.0212', authentication: '0.0212' },
  DE: { marketing: '0.1131', utility: '0.0456', authentication: '0.0456' },
  GB: { marketing: '0.05', utility: '0.022', authentication: '0.0358' },
  US: { marketing: '0.025', utility: '0.006', authentication: '0.004' },
};

export function countryOf(address: string): Country {
  const compact = address.replace(/[\s()-]/g, '');
  for (const country of COUNTRIES) if (compact.startsWith(DIAL[country])) return country;
  return 'US';
}

function whatsappCategory(category: string): WhatsAppCategory {
  if (category === 'marketing') return 'marketing';
  return category === 'otp' ? 'authentication' : 'utility';
}

/** The cost model and billing of every channel, for the router's channel declarations. */
export function costModels(lib: Library, params: Params = DEFAULT_PARAMS): Record<string, Pick<ChannelConfig, 'cost' | 'billing'>> {
  const prefixes = Object.fromEntries(COUNTRIES.map((c) => [DIAL[c], params.smsPerSegment[c]]));
  return {
    push: { cost: 0 }, // P7 Firebase Cloud Messaging: no cost
    email: { cost: params.emailPrice },
    viber: { cost: (ctx: CostContext): Amount => params.viberPrice[countryOf(ctx.address)], billing: 'delivered' },
    telegram: { cost: 0 }, // P8 Telegram Bot API: no per-message price
    whatsapp: {
      cost: (ctx: CostContext): Amount => params.whatsappPrice[countryOf(ctx.address)][whatsappCategory(ctx.message.category)],
      billing: 'delivered',
    },
    sms: { cost: lib.smsPerSegment({ default: params.smsPerSegment.US, prefixes }) },
  };
}
