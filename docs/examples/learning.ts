// Learning and the spend report: `npx tsx docs/examples/learning.ts`.
// Two customers over three days of simulated time: Ann's phone shows push notifications, Bob's does not
// (the push provider accepts his messages and nothing arrives) and Bob is not on Viber. With `learning`
// on, the router learns both, plans Bob's messages without push (Viber stays: it is billed only on delivery
// and fails at once, so trying it costs nothing), waits on push about as long as its receipts take (it is given
// a value of time), and
// `report()` adds up what it all cost against sending every message by SMS.
import { createRouter, SimulatedClock, type Recipient, type SendFunction } from 'cascade-router';

export async function learningTour(): Promise<string[]> {
  const lines: string[] = [];
  const clock = new SimulatedClock(Date.UTC(2026, 0, 5, 9, 0));
  let seq = 0;
  // A fake provider per channel: who it reaches, and how fast its delivery receipt comes.
  const provider = (channel: string, reaches: (recipient: Recipient) => 'delivered' | 'failed' | 'silent', afterMs: number): SendFunction =>
    async (request) => {
      const id = `${channel}-${++seq}`;
      const outcome = reaches(request.recipient);
      if (outcome !== 'silent') {
        const at = clock.now() + (outcome === 'failed' ? 2_000 : afterMs);
        clock.setTimer(at, () => void router.handleReceipt({ providerMessageId: id, status: outcome }));
      }
      return id;
    };
  const router = createRouter({
    clock,
    learning: { minSamples: 10, minProbability: 0.1 },
    // What a second of a customer's wait is worth (here a millionth of the currency): with it, the push wait
    // follows how fast push receipts come. Without one, waiting costs nothing and push waits its 2 minutes.
    valueOfTime: '0.000001',
    channels: {
      push: { kind: 'push', cost: 0, send: provider('push', (r) => (r.id === 'ann' ? 'delivered' : 'silent'), 3_000), confirm: { timeout: '2m' } },
      viber: { kind: 'messenger', cost: '0.012', billing: 'delivered', send: provider('viber', (r) => (r.id === 'ann' ? 'delivered' : 'failed'), 2_000) },
      // The last resort gains nothing from a shorter wait: it keeps its timeout.
      sms: { kind: 'sms', cost: '0.05', send: provider('sms', () => 'delivered', 8_000), confirm: { timeout: '5m', adaptive: false } },
    },
  });
  const phone = '+380501234567';
  const ann: Recipient = { id: 'ann', addresses: { push: 'token-ann', viber: phone, sms: phone } };
  const bob: Recipient = { id: 'bob', addresses: { push: 'token-bob', viber: phone, sms: phone } };
  const message = (key: string) => ({ key, category: 'transactional', content: { text: 'Your order has shipped' } });
  const route = async (recipient: Recipient): Promise<string> => {
    const plan = await router.plan(message('dry-run'), recipient);
    const steps = plan.steps.map((s) => `${s.channel} ${Math.round(s.waitMs / 1000)}s`).join(' → ');
    const skipped = plan.skipped.map((s) => `${s.channel} (${s.reason})`).join(', ');
    return `${recipient.id}: ${steps}${skipped ? `; skipped ${skipped}` : ''}`;
  };

  lines.push(`before: ${await route(bob)}`);
  for (let round = 0; round < 12; round++) {
    for (const customer of [ann, bob]) await router.send(message(`order-${round}-${customer.id}`), customer);
    await clock.advance(6 * 3_600_000);
  }
  lines.push(`after:  ${await route(ann)}`);
  lines.push(`after:  ${await route(bob)}`);

  const report = await router.report();
  lines.push(`${report.messages} messages, ${report.delivered} delivered, spent ${report.spend}, double spend ${report.doubleSpend}`);
  for (const [channel, c] of Object.entries(report.channels)) lines.push(`  ${channel}: ${c.sent} sent, ${c.delivered} delivered, ${c.spend}`);
  lines.push(`SMS only would have cost ${report.smsOnly}: saved ${report.saving}`);
  await router.close();
  return lines;
}

if (import.meta.url === `file://${process.argv[1]}`) for (const line of await learningTour()) console.log(line);
