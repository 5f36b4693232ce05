/**
 * `npm run demo`: the six stories of DESIGN.md as real cascades on the in-memory store, in simulated
 * time. For each: every step, receipt and fallback with its cost, then what it cost against SMS only.
 */
import { formatMicros, toMicros } from 'cascade-router';
import * as abandonedCart from './stories/abandoned-cart.js';
import * as bookstoreDiscount from './stories/bookstore-discount.js';
import * as labResults from './stories/lab-results.js';
import * as oneTimePassword from './stories/one-time-password.js';
import * as pharmacyRefill from './stories/pharmacy-refill.js';
import type { StoryResult } from './stories/simulation.js';
import * as sushiFriday from './stories/sushi-friday.js';

const stories = [bookstoreDiscount, pharmacyRefill, sushiFriday, abandonedCart, labResults, oneTimePassword];

const out = (line = ''): void => void process.stdout.write(`${line}\n`);

function saving(spend: number, smsOnly: number): string {
  const percent = smsOnly === 0 ? 0 : Math.round(((smsOnly - spend) * 100) / smsOnly);
  return `spent ${formatMicros(spend)} · SMS only ${formatMicros(smsOnly)} · saved ${formatMicros(smsOnly - spend)} (${percent}%)`;
}

function summary(result: StoryResult): string[] {
  return result.deliveries.map((d) => {
    const path = d.channels.length === 0 ? '(nothing to try)' : d.channels.join(' → ');
    return `   ${d.label.padEnd(14)} ${d.status.padEnd(10)} ${path.padEnd(28)} ${d.spend.padStart(7)}   SMS only ${d.smsOnly}`;
  });
}

out('cascade-router demo: the six stories of DESIGN.md, in simulated time (times are Kyiv local time)');
out('prices: push, Telegram free · email 0.0008 · WhatsApp 0.009, Viber 0.012 if delivered · SMS per segment 0.032 (+380), 0.075 (+49), 0.05 elsewhere');

let spend = 0;
let smsOnly = 0;
let messages = 0;
for (const [index, story] of stories.entries()) {
  const result = await story.run();
  out();
  out(`${index + 1}. ${story.title}`);
  for (const line of result.log) out(`   ${line}`);
  out('   ' + '─'.repeat(60));
  for (const line of summary(result)) out(line);
  out(`   ${saving(toMicros(result.spend), toMicros(result.smsOnly))}`);
  spend += toMicros(result.spend);
  smsOnly += toMicros(result.smsOnly);
  messages += result.deliveries.length;
}
out();
out(`All six stories, ${messages} messages: ${saving(spend, smsOnly)}`);
