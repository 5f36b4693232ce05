/**
 * The simulated customer base. Reachability is drawn once per customer and channel and persists for the
 * whole run (a stale push token stays stale; a customer without Viber never gets Viber), and it is
 * correlated as in real bases: app users have push, older customers have fewer apps and rely on SMS.
 * Figures are cited in bench/README.md ("Reach") by the ids in the comments.
 */
import { COUNTRIES, DIAL, type Country } from './prices.js';
import { Random } from './prng.js';
import { DEFAULT_PARAMS, type Params, type Stress } from './params.js';
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
  /** Their texts go out in Cyrillic (UCS-2 SMS); otherwise Latin. */
  readonly cyrillic: boolean;
  /** The base they belong to: receipts and prices follow it. */
  readonly params: Params;
  /** A stress case: from this time on, this channel no longer reaches them. */
  readonly lost?: { readonly channel: 'push' | 'email' | 'viber'; readonly atMs: number } | undefined;
}

const TIME_ZONE: Readonly<Record<Country, string>> = { UA: 'Europe/Kyiv', DE: 'Europe/Berlin', GB: 'Europe/London', US: 'America/New_York' };
export const QUIET_HOURS = { start: '22:00', end: '08:00' } as const; // A13

export function createPopulation(seed: number, size: number, params: Params = DEFAULT_PARAMS, stress?: Stress): Customer[] {
  const customers: Customer[] = [];
  for (let index = 0; index < size; index++) customers.push(customer(seed, index, params, stress));
  return customers;
}

function customer(seed: number, index: number, P: Params, stress: Stress | undefined): Customer {
  const r = Random.stream(seed, 1, index);
  const COUNTRY_SHARE = P.countryShare;
  const AGE_SHARE = P.ageShare;
  const APP_USER = P.appUser;
  const ANDROID = P.android;
  const PUSH_OPT_IN = P.pushOptIn;
  const STALE_TOKEN = P.staleToken;
  const HAS_EMAIL = P.hasEmail;
  const EMAIL_BOUNCE = P.emailBounce;
  const HAS_PHONE = P.hasPhone;
  const SMS_INVALID = P.smsInvalid;
  const SMS_UNREACHABLE = P.smsUnreachable;
  const MESSENGER = P.messenger;
  const MESSENGER_BY_AGE = P.messengerByAge;
  const TELEGRAM_CONNECTED = P.telegramConnected;
  const TELEGRAM_BLOCKED = P.telegramBlocked;
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
  // Drawn after everything above, so the default base's customers are the same as before the family existed.
  const cyrillic = country === 'UA' && (P.cyrillic >= 1 || r.chance(P.cyrillic));
  // Stress: a share of customers lose the channel that reaches them best for free or nearly (the app, the
  // mailbox, Viber) halfway through.
  const losable = push === 'ok' ? ('push' as const) : email === 'ok' ? ('email' as const) : viber ? ('viber' as const) : undefined;
  const lost = stress?.lose && losable && r.chance(stress.lose.share) ? { channel: losable, atMs: stress.lose.atMs } : undefined;
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
    pushOpenRate: r.next() * 2 * P.pushOpen,
    email,
    emailOpenRate: r.next() * 2 * P.emailOpen,
    sms,
    viber,
    whatsapp,
    telegram,
    cyrillic,
    params: P,
    lost,
  };
}
