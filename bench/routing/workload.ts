/**
 * The message mix: the six DESIGN.md stories (docs/examples/stories/) as a week of messages to the
 * simulated customers. Each job keeps what the story says about the message itself (category, content,
 * send time, delays, success level, deadline, the customer buying before the cart reminder ends); which
 * channels to try, in which order, is what the strategies decide.
 */
import type { Customer } from './population.js';
import { QUIET_HOURS } from './population.js';
import type { Library, Message } from './library.js';
import { Random } from './prng.js';

export type Story = 'bookstore' | 'pharmacy' | 'sushi' | 'cart' | 'lab-reminder' | 'lab-results' | 'otp';

/** Share of each story in the mix (A15). */
export const MIX: Readonly<Record<Story, number>> = {
  bookstore: 0.25,
  pharmacy: 0.1,
  sushi: 0.2,
  cart: 0.15,
  'lab-reminder': 0.05,
  'lab-results': 0.05,
  otp: 0.2,
};
const STORIES = Object.keys(MIX) as Story[];

export interface Job {
  readonly index: number;
  readonly story: Story;
  readonly customer: Customer;
  /** When the backend calls `router.send()`. */
  readonly arrival: number;
  /** When the message may first go out: its send time, moved past the customer's quiet hours (not for OTP). */
  readonly start: number;
  /** The customer buys the abandoned cart at this time: the backend cancels the cascade (story 4). */
  readonly purchaseAt: number | undefined;
  readonly deadlineMs: number | undefined;
  /** The success level per channel, where it is not `delivered`. */
  readonly success: Readonly<Record<string, 'read'>> | undefined;
  readonly message: Omit<Message, 'key'>;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** Monday 5 January 2026, 00:00 UTC: the simulated week starts. */
export const WEEK_START = Date.UTC(2026, 0, 5);

export function createWorkload(lib: Library, seed: number, customers: readonly Customer[], count: number, otpOnly = false): Job[] {
  const jobs: Job[] = [];
  for (let index = 0; index < count; index++) {
    const r = Random.stream(seed, 2, index);
    const story = otpOnly ? 'otp' : r.weighted(STORIES, (s) => MIX[s]);
    const customer = customers[r.int(0, customers.length - 1)]!;
    jobs.push(job(lib, r, index, story, customer));
  }
  return jobs.sort((a, b) => a.arrival - b.arrival || a.index - b.index);
}

function job(lib: Library, r: Random, index: number, story: Story, customer: Customer): Job {
  const ua = customer.cyrillic;
  const day = WEEK_START + r.int(0, 6) * DAY;
  const jitter = (hours: number): number => Math.floor(r.next() * hours * HOUR);
  let arrival: number;
  let sendAt: number | undefined;
  let purchaseAt: number | undefined;
  let message: Omit<Message, 'key'>;
  let success: Record<string, 'read'> | undefined;
  const base = { metadata: { job: String(index) } };
  switch (story) {
    case 'bookstore': // 1: a weekend-sale campaign, mid-morning
      arrival = day + 8 * HOUR + jitter(2);
      message = { ...base, category: 'marketing', content: ua
        ? { subject: 'Bookworm: -20%', text: 'Вихідні у Bookworm: -20% на всі книжки в мʼякій обкладинці з кодом READ20. bookworm.example/sale' }
        : { subject: 'Bookworm: 20% off', text: 'Weekend sale at Bookworm: 20% off every paperback with code READ20. bookworm.example/sale' } };
      break;
    case 'pharmacy': // 2: day 27 of a 30-day pack, at the hour of purchase
      arrival = day + 6 * HOUR + jitter(16);
      sendAt = arrival + 27 * DAY;
      message = { ...base, category: 'reminder', sendAt, content: { text: ua
        ? `Ваш Метформін 500 закінчується за 3 дні. Замовте повторно: apteka.example/r/${customer.index}`
        : `Your Metformin 500 runs out in 3 days. Reorder: pharmacy.example/r/${customer.index}` } };
      break;
    case 'sushi': // 3: Thursday evening
      arrival = WEEK_START + 3 * DAY + 16 * HOUR + jitter(1);
      message = { ...base, category: 'marketing', content: ua
        ? { text: 'Суші-пʼятниця завтра: -25% на всі сети з 12:00 до 16:00. Замовляйте в застосунку!', sms: 'Суші-пʼятниця завтра: -25% на сети. sushi.example/f' }
        : { text: 'Sushi Friday tomorrow: 25% off all sets from 12:00 to 16:00. Order in the app!', sms: 'Sushi Friday tomorrow: 25% off sets. sushi.example/f' } };
      break;
    case 'cart': { // 4: push an hour after the cart was left, opened counts; email the next day; SMS with a code
      arrival = day + 7 * HOUR + jitter(14);
      sendAt = arrival + HOUR;
      const buys = r.next(); // R13: 8% come back and buy unprompted; A14: 5% within the hour, 3% within three days
      purchaseAt = buys < 0.05 ? arrival + jitter(1) : buys < 0.08 ? sendAt + jitter(71) : undefined;
      success = { push: 'read', email: 'read' };
      message = { ...base, category: 'marketing', sendAt, success, delays: { email: '1d' }, content: ua
        ? { subject: 'Ваш кошик чекає', text: 'У кошику 2 книжки. Завершіть замовлення: shop.example/cart', sms: `Ще вагаєтеся? -10% на кошик з кодом CART${index} до неділі: shop.example/cart` }
        : { subject: 'You left 2 books in your cart', text: 'You left 2 books in your cart. Finish your order: shop.example/cart', sms: `Still deciding? 10% off your cart with code CART${index} until Sunday: shop.example/cart` } };
      break;
    }
    case 'lab-reminder': // 5a: the evening before the visit, transactional
      sendAt = day + 16 * HOUR + jitter(1);
      arrival = sendAt - 2 * DAY;
      message = { ...base, category: 'transactional', sendAt, content: { text: ua
        ? 'MedLab: ваш візит завтра о 09:30. Приходьте натщесерце. Відповідь C — скасувати.'
        : 'MedLab: your visit is tomorrow at 09:30. Please come fasting. Reply C to cancel.' } };
      break;
    case 'lab-results': // 5b: results are ready
      arrival = day + 10 * HOUR + jitter(6);
      message = { ...base, category: 'transactional', content: ua
        ? { subject: 'Результати аналізів готові', text: 'Ваші результати аналізів готові. Відкрийте їх у застосунку MedLab або на medlab.example/r' }
        : { subject: 'Your lab results are ready', text: 'Your lab results are ready. Open them in the MedLab app or at medlab.example/r' } };
      break;
    case 'otp': // 6: any hour, within 2 minutes, no consent or quiet hours
      arrival = day + jitter(24);
      message = { ...base, category: 'otp', deadline: '2m', content: { subject: 'Your login code', text: ua
        ? `Ваш код входу Bookworm: ${100_000 + (index % 900_000)}. Діє 2 хвилини.`
        : `Your Bookworm login code is ${100_000 + (index % 900_000)}. It expires in 2 minutes.` } };
      break;
  }
  const earliest = Math.max(arrival, sendAt ?? arrival);
  const start = story === 'otp' ? earliest : lib.endOfQuietHours(earliest, QUIET_HOURS, customer.recipient.timeZone);
  const deadlineMs = story === 'otp' ? 2 * 60_000 : undefined;
  return { index, story, customer, arrival, start, purchaseAt, deadlineMs, success, message };
}
