/**
 * Story 4 — Abandoned cart: push one hour after the cart was left (`sendAt`); success means opened
 * (`success: 'read'`); if not opened, email the next day (`delays`); then an SMS with a personal
 * discount. The backend cancels the cascade the moment the customer buys.
 *
 * petro:  push and email delivered but never opened   → SMS with his code
 * ksenia: opens the push after 20 minutes             → free
 * nazar:  ignores push and email, buys on Tuesday     → router.cancel(): no SMS
 */
import { createRouter, smsPerSegment, type Message, type Recipient } from 'cascade-router';
import { Simulation, SMS_PRICES, type StoryOptions, type StoryResult } from './simulation.js';

export const title = 'Abandoned cart: push after 1 h, email next day, then SMS; cancelled when the customer buys';

const HOUR = 3_600_000;

export async function run(options: StoryOptions = {}): Promise<StoryResult> {
  // Monday 12 January 2026, 10:30 in Kyiv: three carts are left behind.
  const abandonedAt = Date.UTC(2026, 0, 12, 8, 30);
  const sim = new Simulation({ start: abandonedAt, timeZone: 'Europe/Kyiv', onLog: options.onLog });
  sim.attach(
    createRouter({
      clock: sim.clock,
      store: sim.store,
      channels: sim.declare({
        push: { kind: 'push', cost: 0, send: sim.adapter('push'), confirm: { timeout: '2h' } },
        email: { kind: 'email', cost: 0.0008, send: sim.adapter('email'), confirm: { timeout: '1d' } },
        sms: { kind: 'sms', cost: smsPerSegment(SMS_PRICES), send: sim.adapter('sms'), confirm: { timeout: '10m' } },
      }),
    }),
  );

  const petro = sim.customer(shopper('petro', '+380 67 901 0001'), {
    push: [['delivered', '5s']],
    email: [['delivered', '10s']],
    sms: [['delivered', '7s']],
  });
  const ksenia = sim.customer(shopper('ksenia', '+49 160 901 0002'), {
    push: [['delivered', '5s'], ['read', '20m']],
  });
  const nazar = sim.customer(shopper('nazar', '+380 67 901 0003'), {
    push: [['delivered', '5s']],
    email: [['delivered', '10s']],
  });

  const cascades = new Map<string, string>();
  for (const [recipient, code] of [[petro, 'PETRO10'], [ksenia, 'KSENIA10'], [nazar, 'NAZAR10']] as const) {
    cascades.set(recipient.id, await sim.send(cartReminder(recipient, code, abandonedAt), recipient));
  }

  // Tuesday 16:05 in Kyiv: the shop's order webhook says nazar paid for his cart.
  await sim.clock.advanceTo(Date.UTC(2026, 0, 13, 14, 5));
  await sim.cancel(cascades.get('nazar')!, 'nazar bought the cart');
  await sim.clock.runAll();
  return sim.finish('abandoned-cart', title);
}

function shopper(id: string, phone: string): Recipient {
  return { id, addresses: { push: `dev-${id}`, email: `${id}@example.com`, sms: phone }, consent: { marketing: true } };
}

function cartReminder(recipient: Recipient, code: string, abandonedAt: number): Message {
  return {
    key: `cart:${recipient.id}:${abandonedAt}`,
    category: 'marketing',
    sendAt: abandonedAt + HOUR,
    success: { push: 'read', email: 'read' },
    delays: { email: '1d' },
    content: {
      subject: 'You left 2 books in your cart',
      text: 'You left 2 books in your cart. Finish your order: shop.example/cart',
      sms: `Still deciding? 10% off your cart with code ${code} until Sunday: shop.example/cart`,
    },
  };
}
