/**
 * What a simulated customer base is made of, as one object: the project's own base (`DEFAULT_PARAMS`, the
 * figures cited in bench/README.md "Sources of the default figures") and a family of bases drawn from ranges
 * (`drawParams`, each range cited in bench/README.md "The population family" by the ids in the comments).
 * A stress case adds one disturbance to a drawn base (`Stress`).
 */
import { Random } from './prng.js';

export type Country = 'UA' | 'DE' | 'GB' | 'US';
export type Age = 'young' | 'middle' | 'older';
type PerCountry<T> = Readonly<Record<Country, T>>;
type PerAge<T> = Readonly<Record<Age, T>>;

export interface ReceiptFigures {
  readonly median: number;
  readonly offline: number;
  readonly offlineMedian: number;
  readonly lost: number;
  readonly transient: number;
  readonly readMedian: number;
}

export interface Params {
  readonly countryShare: PerCountry<number>;
  readonly ageShare: PerAge<number>;
  readonly appUser: PerAge<number>;
  readonly android: PerCountry<number>;
  readonly pushOptIn: { readonly android: number; readonly ios: number };
  readonly staleToken: number;
  readonly pushOpen: number;
  readonly hasEmail: PerAge<number>;
  readonly emailBounce: number;
  readonly emailOpen: number;
  readonly hasPhone: PerAge<number>;
  readonly smsInvalid: number;
  readonly smsUnreachable: number;
  readonly messenger: PerCountry<{ readonly viber: number; readonly telegram: number; readonly whatsapp: number }>;
  readonly messengerByAge: PerAge<number>;
  readonly telegramConnected: number;
  readonly telegramBlocked: number;
  readonly receipts: Readonly<Record<'push' | 'email' | 'viber' | 'whatsapp' | 'telegram' | 'sms', ReceiptFigures>>;
  readonly messengerRead: number;
  /** Share of Ukrainian customers whose texts go out in Cyrillic (UCS-2 SMS); the rest get Latin (GSM-7). */
  readonly cyrillic: number;
  readonly smsPerSegment: PerCountry<string>;
  readonly emailPrice: string;
  readonly viberPrice: PerCountry<string>;
  readonly whatsappPrice: PerCountry<{ readonly marketing: string; readonly utility: string; readonly authentication: string }>;
}

const SEC = 1000;
const MIN = 60 * SEC;
const HOUR = 60 * MIN;

/** The project's own base: every figure as cited (ids in bench/README.md). */
export const DEFAULT_PARAMS: Params = {
  countryShare: { UA: 0.55, DE: 0.2, GB: 0.15, US: 0.1 }, // A3
  ageShare: { young: 0.35, middle: 0.4, older: 0.25 }, // A4
  appUser: { young: 0.6, middle: 0.45, older: 0.2 }, // A5
  android: { UA: 0.8, DE: 0.8, GB: 0.481, US: 0.42 }, // R1, R8
  pushOptIn: { android: 0.911, ios: 0.439 }, // R2
  staleToken: 0.1, // R14
  pushOpen: 0.087, // R3
  hasEmail: { young: 0.85, middle: 0.85, older: 0.6 }, // A7
  emailBounce: 0.007, // R4
  emailOpen: 0.178, // R4
  hasPhone: { young: 0.95, middle: 0.96, older: 0.99 }, // A8
  smsInvalid: 0.01, // A9
  smsUnreachable: 0.02, // A9
  messenger: {
    UA: { viber: 0.736, telegram: 0.316, whatsapp: 0.253 }, // R6
    DE: { viber: 0.1, telegram: 0.08, whatsapp: 0.8 }, // R9, A10
    GB: { viber: 0.1, telegram: 0.1, whatsapp: 0.7 }, // R9, A10
    US: { viber: 0.05, telegram: 0.05, whatsapp: 0.32 }, // R9, A10
  },
  messengerByAge: { young: 1.1, middle: 1, older: 0.7 }, // A10
  telegramConnected: 0.3, // A11
  telegramBlocked: 0.05, // A11
  receipts: {
    // A16–A21, R7, R11, R12
    push: { median: 1.5 * SEC, offline: 0.15, offlineMedian: 45 * MIN, lost: 0.03, transient: 0.02, readMedian: 48 * MIN },
    email: { median: 4 * SEC, offline: 0, offlineMedian: 0, lost: 0.01, transient: 0.02, readMedian: 3 * HOUR },
    viber: { median: 2 * SEC, offline: 0.15, offlineMedian: 1 * HOUR, lost: 0.01, transient: 0.02, readMedian: 30 * MIN },
    whatsapp: { median: 2 * SEC, offline: 0.15, offlineMedian: 1 * HOUR, lost: 0.01, transient: 0.02, readMedian: 30 * MIN },
    telegram: { median: 0, offline: 0, offlineMedian: 0, lost: 0, transient: 0.02, readMedian: 30 * MIN },
    sms: { median: 11 * SEC, offline: 0.05, offlineMedian: 30 * MIN, lost: 0.02, transient: 0.03, readMedian: 3 * MIN },
  },
  messengerRead: 0.63, // R10
  cyrillic: 1,
  smsPerSegment: { UA: '0.1747', DE: '0.075', GB: '0.04', US: '0.0083' }, // P1–P3
  emailPrice: '0.0001', // P4
  viberPrice: { UA: '0.012', DE: '0.03', GB: '0.03', US: '0.03' }, // A1
  whatsappPrice: {
    UA: { marketing: '0.086', utility: '0.0212', authentication: '0.0212' }, // P6
    DE: { marketing: '0.1131', utility: '0.0456', authentication: '0.0456' }, // P5
    GB: { marketing: '0.05', utility: '0.022', authentication: '0.0358' }, // P9, A2
    US: { marketing: '0.025', utility: '0.006', authentication: '0.004' }, // P10, A2
  },
};

/** A disturbance on top of a drawn base: its own workload. */
export interface Stress {
  /** A quarter of customers lose their working free or cheap channel (app uninstalled, mailbox dead, Viber removed) halfway through the week. */
  readonly lose?: { readonly share: number; readonly atMs: number } | undefined;
  /** Messages per customer (default about four): 1.5 makes most customers new. */
  readonly messagesPerCustomer?: number | undefined;
  /** One provider fails every send (503) in this window. */
  readonly outage?: { readonly channel: 'push' | 'email' | 'viber' | 'whatsapp' | 'sms'; readonly fromMs: number; readonly toMs: number } | undefined;
  /** Only the OTP story (2-minute deadline). */
  readonly otpOnly?: boolean | undefined;
}

/** A whole scenario: a base and an optional disturbance. Plain data: it crosses to worker threads. */
export interface Scenario {
  readonly params: Params;
  readonly stress?: Stress | undefined;
}

const round = (x: number, digits = 4): number => Math.round(x * 10 ** digits) / 10 ** digits;
const money = (x: number): string => x.toFixed(6);

/**
 * One base of the family, drawn from the ranges (F-ids, bench/README.md "The population family"). Same
 * seed, same base. Stream 9 of the seed: the customers and messages of a population use streams 1–3.
 */
export function drawParams(seed: number): Params {
  const r = Random.stream(seed, 9, 0);
  const u = (min: number, max: number): number => round(min + (max - min) * r.next());
  const scale = (value: number, min: number, max: number): number => Math.min(0.99, round(value * u(min, max)));
  const d = DEFAULT_PARAMS;
  // F1: which countries the shop sells to: from one market to an even spread of the four.
  const w = { UA: u(0, 1) ** 2, DE: u(0, 1) ** 2, GB: u(0, 1) ** 2, US: u(0, 1) ** 2 };
  const total = w.UA + w.DE + w.GB + w.US + 1e-9;
  const countryShare = { UA: round(w.UA / total), DE: round(w.DE / total), GB: round(w.GB / total), US: round(w.US / total) };
  const young = u(0.2, 0.5); // F2
  const older = u(0.1, 0.4);
  const receipt = (f: ReceiptFigures, offline: [number, number], lost: [number, number]): ReceiptFigures => ({
    median: Math.round(f.median * u(0.5, 2)), // F10
    offline: f.offline === 0 ? 0 : u(offline[0], offline[1]), // F11
    offlineMedian: Math.round(f.offlineMedian * u(0.5, 2)), // F11
    lost: u(lost[0], lost[1]), // F12
    transient: u(0.005, 0.05), // F13
    readMedian: Math.round(f.readMedian * u(0.5, 2)),
  });
  const messengerIn = (c: Country, viber: [number, number], telegram: [number, number], whatsapp: [number, number]) => ({
    viber: u(...viber),
    telegram: u(...telegram),
    whatsapp: u(...whatsapp),
  });
  return {
    countryShare,
    ageShare: { young, older, middle: round(Math.max(0, 1 - young - older)) },
    appUser: { young: scale(d.appUser.young, 0.5, 1.5), middle: scale(d.appUser.middle, 0.5, 1.5), older: scale(d.appUser.older, 0.5, 1.5) }, // F3
    android: { UA: u(0.7, 0.85), DE: u(0.6, 0.8), GB: u(0.45, 0.55), US: u(0.4, 0.47) }, // F4
    pushOptIn: { android: u(0.55, 0.95), ios: u(0.3, 0.6) }, // F5
    staleToken: u(0.05, 0.15), // F6
    pushOpen: u(0.03, 0.12),
    hasEmail: { young: scale(d.hasEmail.young, 0.8, 1.1), middle: scale(d.hasEmail.middle, 0.8, 1.1), older: scale(d.hasEmail.older, 0.8, 1.3) },
    emailBounce: u(0.002, 0.02), // F7
    emailOpen: u(0.15, 0.35),
    hasPhone: d.hasPhone,
    smsInvalid: u(0.005, 0.03), // F8
    smsUnreachable: u(0.01, 0.04), // F8
    messenger: {
      // F9
      UA: messengerIn('UA', [0.6, 0.9], [0.3, 0.7], [0.2, 0.45]),
      DE: messengerIn('DE', [0.03, 0.15], [0.05, 0.2], [0.7, 0.9]),
      GB: messengerIn('GB', [0.03, 0.15], [0.05, 0.15], [0.6, 0.8]),
      US: messengerIn('US', [0.02, 0.08], [0.02, 0.1], [0.25, 0.4]),
    },
    messengerByAge: d.messengerByAge,
    telegramConnected: u(0.1, 0.5), // A11 widened
    telegramBlocked: u(0.02, 0.1),
    receipts: {
      push: receipt(d.receipts.push, [0.05, 0.3], [0.01, 0.06]),
      email: receipt(d.receipts.email, [0, 0], [0.005, 0.03]),
      viber: receipt(d.receipts.viber, [0.05, 0.3], [0.005, 0.03]),
      whatsapp: receipt(d.receipts.whatsapp, [0.05, 0.3], [0.005, 0.03]),
      telegram: d.receipts.telegram,
      sms: receipt(d.receipts.sms, [0.02, 0.1], [0.005, 0.04]),
    },
    messengerRead: u(0.5, 0.75),
    cyrillic: u(0.5, 1), // F14
    smsPerSegment: { UA: money(0.1747 * u(0.3, 1.2)), DE: money(0.075 * u(0.7, 1.3)), GB: money(0.04 * u(0.7, 1.3)), US: money(0.0083 * u(0.8, 1.5)) }, // F15
    emailPrice: money(0.0001 * u(0.5, 10)), // F16
    viberPrice: { UA: money(u(0.006, 0.03)), DE: money(u(0.015, 0.05)), GB: money(u(0.015, 0.05)), US: money(u(0.015, 0.05)) }, // F17
    whatsappPrice: Object.fromEntries(
      Object.entries(d.whatsappPrice).map(([c, p]) => {
        const f = u(0.8, 1.2); // F18
        return [c, { marketing: money(Number(p.marketing) * f), utility: money(Number(p.utility) * f), authentication: money(Number(p.authentication) * f) }];
      }),
    ) as Params['whatsappPrice'],
  };
}
