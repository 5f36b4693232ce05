/**
 * The simulated customer base. Reachability is drawn once per customer and channel and persists for the
 * whole run (a stale push token stays stale; a customer without Viber never gets Viber), and it is
 * correlated as in real bases: app users have push, older customers have fewer apps and rely on SMS.
 * Figures are cited in bench/README.md ("Reach") by the ids in the comments.
 */
import { COUNTRIES, DIAL, type Country } from './prices.js';
import { Random } from './prng.js';
import type { Recipient } from './library.js';

export type Age = 'young' | 'middle' | 'older';

export interface Customer {
  readonly index: number;
  readonly country: Country;
  readonly age: Age;
  readonly recipient: Recipient;
  /** Push: token accepted and notifications shown / token accepted but notifications off / token unregistered. */
  readonly push: 'ok' | 'silent' | 'stale' | 'none';
  readonly pushOpenRate: number;
  readonly email: 'ok' | 'bounce' | 'none';
  readonly emailOpenRate: number;
  readonly sms: 'ok' | 'unreachable' | 'invalid' | 'none';
  readonly viber: boolean;
  readonly whatsapp: boolean;
  readonly telegram: 'ok' | 'blocked' | 'none';
}

const COUNTRY_SHARE: Readonly<Record<Country, number>> = { UA: 0.55, DE: 0.2, GB: 0.15, US: 0.1 }; // A3
const AGE_SHARE: Readonly<Record<Age, number>> = { young: 0.35, middle: 0.4, older: 0.25 }; // A4
const APP_USER: Readonly<Record<Age, number>> = { young: 0.6, middle: 0.45, older: 0.2 }; // A5
const ANDROID: Readonly<Record<Country, number>> = { UA: 0.8, DE: 0.8, GB: 0.481, US: 0.42 }; // R1 (UA), R8 (DE, GB, US)
const PUSH_OPT_IN = { android: 0.911, ios: 0.439 }; // R2
const STALE_TOKEN = 0.1; // R14
const PUSH_OPEN = 0.087; // R3
const HAS_EMAIL: Readonly<Record<Age, number>> = { young: 0.85, middle: 0.85, older: 0.6 }; // A7
const EMAIL_BOUNCE = 0.007; // R4
const EMAIL_OPEN = 0.178; // R4
const HAS_PHONE: Readonly<Record<Age, number>> = { young: 0.95, middle: 0.96, older: 0.99 }; // A8
const SMS_INVALID = 0.01; // A9
const SMS_UNREACHABLE = 0.02; // A9
const MESSENGER: Readonly<Record<Country, { viber: number; telegram: number; whatsapp: number }>> = {
  UA: { viber: 0.736, telegram: 0.316, whatsapp: 0.253 }, // R6
  DE: { viber: 0.1, telegram: 0.08, whatsapp: 0.8 }, // R9 WhatsApp and Telegram, A10 Viber
  GB: { viber: 0.1, telegram: 0.1, whatsapp: 0.7 }, // R9 WhatsApp, A10 Viber and Telegram
  US: { viber: 0.05, telegram: 0.05, whatsapp: 0.32 }, // R9 WhatsApp, A10 Viber and Telegram
};
const MESSENGER_BY_AGE: Readonly<Record<Age, number>> = { young: 1.1, middle: 1, older: 0.7 }; // A10
const TELEGRAM_CONNECTED = 0.3; // A11: share of Telegram users who started the shop's bot
const TELEGRAM_BLOCKED = 0.05; // A11
const TIME_ZONE: Readonly<Record<Country, string>> = { UA: 'Europe/Kyiv', DE: 'Europe/Berlin', GB: 'Europe/London', US: 'America/New_York' };
export const QUIET_HOURS = { start: '22:00', end: '08:00' } as const; // A13

export function createPopulation(seed: number, size: number): Customer[] {
  const customers: Customer[] = [];
  for (let index = 0; index < size; index++) customers.push(customer(seed, index));
  return customers;
}

function customer(seed: number, index: number): Customer {
  const r = Random.stream(seed, 1, index);
  const country = r.weighted(COUNTRIES, (c) => COUNTRY_SHARE[c]);
  const age = r.weighted(['young', 'middle', 'older'] as const, (a) => AGE_SHARE[a]);
  const appUser = r.chance(APP_USER[age]);
  const optIn = r.chance(ANDROID[country]) ? PUSH_OPT_IN.android : PUSH_OPT_IN.ios;
  const push = !appUser ? 'none' : r.chance(STALE_TOKEN) ? 'stale' : r.chance(optIn) ? 'ok' : 'silent';
  const email = !r.chance(HAS_EMAIL[age]) ? 'none' : r.chance(EMAIL_BOUNCE) ? 'bounce' : 'ok';
  const hasPhone = r.chance(HAS_PHONE[age]);
  const sms = !hasPhone ? 'none' : r.chance(SMS_INVALID) ? 'invalid' : r.chance(SMS_UNREACHABLE) ? 'unreachable' : 'ok';
  const reach = MESSENGER[country];
  const factor = MESSENGER_BY_AGE[age];
  const viber = hasPhone && r.chance(reach.viber * factor);
  const whatsapp = hasPhone && r.chance(reach.whatsapp * factor);
  const telegram = !r.chance(reach.telegram * factor * TELEGRAM_CONNECTED) ? 'none' : r.chance(TELEGRAM_BLOCKED) ? 'blocked' : 'ok';
  const phone = `${DIAL[country]}${String(500_000_000 + index)}`;
  const recipient: Recipient = {
    id: `c${index}`,
    addresses: {
      push: push === 'none' ? undefined : `tok-${index}`,
      email: email === 'none' ? undefined : `c${index}@example.com`,
      // The business knows the phone number, not which messengers it has: Viber and WhatsApp are tried on it.
      sms: hasPhone ? phone : undefined,
      viber: hasPhone ? phone : undefined,
      whatsapp: hasPhone ? phone : undefined,
      telegram: telegram === 'none' ? undefined : String(10_000_000 + index),
    },
    consent: { marketing: true },
    timeZone: TIME_ZONE[country],
    quietHours: QUIET_HOURS,
  };
  return {
    index,
    country,
    age,
    recipient,
    push,
    pushOpenRate: r.next() * 2 * PUSH_OPEN,
    email,
    emailOpenRate: r.next() * 2 * EMAIL_OPEN,
    sms,
    viber,
    whatsapp,
    telegram,
  };
}
