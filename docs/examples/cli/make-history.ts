/**
 * Writes history.csv beside this file: a month of a shop's notifications, sent the way many shops send them
 * today (email, then push, then Viber, then SMS, each after a fixed wait), for trying `cascade-router simulate`.
 * Seeded, so it writes the same file every time (a test checks the committed file is this script's output).
 *
 *   npx tsx docs/examples/cli/make-history.ts
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const START = Date.UTC(2026, 10, 2, 8, 0);
const DAY = 86_400_000;
const MESSAGES = 1_500;
const CUSTOMERS = 300;

let state = 20_261_102;
function random(): number {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
}
/** A log-normal draw around `median` (ms) with spread `sigma`. */
const lognormal = (median: number, sigma: number) => median * Math.exp(sigma * Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random()));

interface Channel {
  readonly name: string;
  /** The fixed wait before the next channel, as the shop configured it. */
  readonly waitMs: number;
  readonly price: (customer: Customer, delivered: boolean) => string;
  /** Receipt latency of a delivery: most fast, some devices offline for hours. */
  readonly latency: () => number;
}

interface Customer {
  readonly id: string;
  /** Chance each channel delivers to this customer (0: no address). */
  readonly reach: Readonly<Record<string, number>>;
  readonly smsParts: 1 | 2;
}

const CHANNELS: readonly Channel[] = [
  // The shop's order today: email first (it is cheap), then push, Viber, SMS.
  { name: 'email', waitMs: 30 * 60_000, price: () => '0.0008', latency: () => lognormal(40_000, 1) },
  { name: 'push', waitMs: 10 * 60_000, price: () => '0', latency: () => (random() < 0.8 ? lognormal(3_000, 0.6) : lognormal(2 * 3_600_000, 1)) },
  // Viber bills only what it delivers.
  { name: 'viber', waitMs: 10 * 60_000, price: (_c, delivered) => (delivered ? '0.02' : '0'), latency: () => (random() < 0.9 ? lognormal(4_000, 0.5) : lognormal(40 * 60_000, 0.8)) },
  { name: 'sms', waitMs: 10 * 60_000, price: (c) => (c.smsParts === 1 ? '0.045' : '0.09'), latency: () => lognormal(8_000, 0.7) },
];

// Who the shop's customers are: app users, email readers, Viber users, and those only SMS reaches.
const customers: Customer[] = Array.from({ length: CUSTOMERS }, (_, i) => {
  const app = random() < 0.45;
  const email = random() < 0.7;
  const viber = random() < 0.35;
  return {
    id: `c${String(i + 1).padStart(4, '0')}`,
    reach: {
      push: app ? 0.55 + 0.4 * random() : 0,
      email: email ? 0.3 + 0.5 * random() : 0,
      viber: viber ? 0.7 + 0.25 * random() : 0,
      sms: 0.93 + 0.06 * random(),
    },
    smsParts: random() < 0.6 ? 2 : 1,
  };
});

const iso = (ms: number) => new Date(Math.round(ms)).toISOString();
const rows = ['message_key,recipient,category,channel,sent_at,outcome,receipt_at,price'];
for (let m = 0; m < MESSAGES; m++) {
  const customer = customers[Math.floor(random() * CUSTOMERS)]!;
  const category = random() < 0.35 ? 'marketing' : 'transactional';
  let at = START + random() * 30 * DAY;
  const key = `order-${100_000 + m}`;
  for (const channel of CHANNELS) {
    const reach = customer.reach[channel.name] ?? 0;
    if (reach === 0) continue;
    const draw = random();
    const delivered = draw < reach;
    // Of those not delivered, a third fail with a receipt; the rest are never heard of.
    const failed = !delivered && draw < reach + (1 - reach) / 3;
    const latency = delivered ? channel.latency() : lognormal(20_000, 0.5);
    const outcome = delivered ? 'delivered' : failed ? 'failed' : 'none';
    rows.push([key, customer.id, category, channel.name, iso(at), outcome, outcome === 'none' ? '' : iso(at + latency), channel.price(customer, delivered)].join(','));
    // The shop moves on after a failed receipt, or when the wait passes without a delivery.
    if (delivered && latency <= channel.waitMs) break;
    at += failed ? Math.min(latency, channel.waitMs) : channel.waitMs;
  }
}

const target = fileURLToPath(new URL('history.csv', import.meta.url));
writeFileSync(target, `${rows.join('\n')}\n`);
console.log(`wrote ${rows.length - 1} rows to ${target}`);
