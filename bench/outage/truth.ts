/**
 * The hidden truth of one message to one customer in Germany, on WhatsApp and on SMS: drawn once per
 * message and channel, so it is the same whichever provider carries the message and whenever it goes.
 * A phone that is offline takes the message when it comes back (`onlineAt`), so a second send of it
 * (another provider, a later step) meets the same phone. Figures and their sources: bench/README.md.
 */
import { Random } from './random.js';

export interface ChannelTruth {
  /** WhatsApp: the number has no WhatsApp (a failed receipt, free); SMS: an unreachable phone (a failed receipt). */
  readonly unreachable: boolean;
  /** SMS only: an invalid number (a 400 answer to the send). */
  readonly invalid: boolean;
  /** When the phone is back online (the message's arrival, or later when it is offline then). */
  readonly onlineAt: number;
  /** From the moment the phone can take it to the receipt. */
  readonly latencyMs: number;
  /** Delivered, but the receipt never comes. */
  readonly receiptLost: boolean;
  /** Its first send call meets a transient 503 (the router retries it). */
  readonly transient: boolean;
}

export interface Truth {
  readonly whatsapp: ChannelTruth;
  readonly sms: ChannelTruth;
}

const MINUTE = 60_000;

/** R9: WhatsApp reaches 80% of people in Germany. */
const WHATSAPP_USERS = 0.8;

export function truthOf(seed: number, index: number, arrival: number): Truth {
  const wa = new Random(seed, index, 1);
  const sms = new Random(seed, index, 2);
  return {
    whatsapp: {
      unreachable: !wa.chance(WHATSAPP_USERS),
      invalid: false,
      // A16: 15% of messenger devices offline, back after a median of an hour (σ 1.2); receipts 2 s (σ 0.8).
      onlineAt: wa.chance(0.15) ? arrival + wa.logNormal(60 * MINUTE, 1.2) : arrival,
      latencyMs: wa.logNormal(2000, 0.8),
      receiptLost: wa.chance(0.01), // A17
      transient: wa.chance(0.02), // A21
    },
    sms: {
      // A9: 1% invalid numbers, 2% persistently unreachable phones.
      invalid: sms.chance(0.01),
      unreachable: sms.chance(0.02),
      // A16: 5% of phones offline for a median of 30 minutes; R11: receipts 11 s (σ 0.8).
      onlineAt: sms.chance(0.05) ? arrival + sms.logNormal(30 * MINUTE, 0.8) : arrival,
      latencyMs: sms.logNormal(11_000, 0.8),
      receiptLost: sms.chance(0.02), // A17
      transient: sms.chance(0.03), // A21
    },
  };
}
