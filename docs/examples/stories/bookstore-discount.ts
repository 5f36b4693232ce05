/**
 * Story 1 — Bookstore discount: free push in the app first; if it is not delivered, email;
 * SMS only when both failed.
 *
 * anna:  push delivered in 20 s                        → free
 * boris: push silent (10 m), email bounces after 2 m   → SMS to a German number
 * clara: no app (push skipped), email delivered         → one email
 */
import { createRouter, smsPerSegment, type Message, type Recipient } from 'cascade-router';
import { Simulation, SMS_PRICES, type StoryOptions, type StoryResult } from './simulation.js';

export const title = 'Bookstore discount: push, then email, SMS only when both failed';

export async function run(options: StoryOptions = {}): Promise<StoryResult> {
  // Thursday 8 January 2026, 10:00 in Kyiv.
  const sim = new Simulation({ start: Date.UTC(2026, 0, 8, 8, 0), timeZone: 'Europe/Kyiv', onLog: options.onLog });
  sim.attach(
    createRouter({
      clock: sim.clock,
      store: sim.store,
      channels: sim.declare({
        push: { kind: 'push', cost: 0, send: sim.adapter('push'), confirm: { timeout: '10m' } },
        email: { kind: 'email', cost: 0.0008, send: sim.adapter('email'), confirm: { timeout: '1h' } },
        sms: { kind: 'sms', cost: smsPerSegment(SMS_PRICES), send: sim.adapter('sms'), confirm: { timeout: '5m' } },
      }),
    }),
  );

  const anna = sim.customer(customer('anna', { push: 'dev-anna', email: 'anna@example.com', sms: '+380 67 123 4567' }), {
    push: [['delivered', '20s']],
  });
  const boris = sim.customer(customer('boris', { push: 'dev-boris', email: 'boris@example.de', sms: '+49 151 2345 6789' }), {
    push: [],
    email: [['failed', '2m', '550 mailbox unavailable']],
    sms: [['delivered', '8s']],
  });
  const clara = sim.customer(customer('clara', { email: 'clara@example.co.uk', sms: '+44 7700 900123' }), {
    email: [['delivered', '30s']],
  });

  for (const recipient of [anna, boris, clara]) await sim.send(discount(recipient), recipient);
  await sim.clock.runAll();
  return sim.finish('bookstore-discount', title);
}

function customer(id: string, addresses: Record<string, string>): Recipient {
  return { id, addresses, consent: { marketing: true } };
}

function discount(recipient: Recipient): Message {
  return {
    key: `bookworm-weekend-sale:${recipient.id}`,
    category: 'marketing',
    content: {
      subject: '20% off every paperback this weekend',
      text: 'Weekend sale at Bookworm: 20% off every paperback with code READ20. bookworm.example/sale',
    },
  };
}
