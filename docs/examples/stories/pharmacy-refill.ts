/**
 * Story 2 — Pharmacy refill reminder: scheduled 27 days after a 30-day purchase (`sendAt`);
 * Viber or push, whichever the customer has; never at night in the customer's time zone.
 *
 * olena: bought at 22:30, so day 27 falls at 22:30, inside her quiet hours (21:00–08:00 Kyiv):
 *        the reminder waits for 08:00, goes by Viber (she has no app), delivered → 0.012, billed on delivery
 * taras: bought at 14:00; push delivered                                      → free
 * iryna: stale device token (permanent send error), not on Viber (failed)     → exhausted, and Viber bills nothing
 */
import { createRouter, type Message, type Recipient } from 'cascade-router';
import { Simulation, type StoryOptions, type StoryResult } from './simulation.js';

export const title = 'Pharmacy refill: day 27 of a 30-day pack, Viber or push, never at night';

const DAY = 86_400_000;
const NIGHT = { start: '21:00', end: '08:00' } as const;

export async function run(options: StoryOptions = {}): Promise<StoryResult> {
  // Monday 5 January 2026, 14:00 in Kyiv: the first purchase of the day.
  const sim = new Simulation({ start: Date.UTC(2026, 0, 5, 12, 0), timeZone: 'Europe/Kyiv', onLog: options.onLog });
  sim.attach(
    createRouter({
      clock: sim.clock,
      store: sim.store,
      channels: sim.declare({
        push: { kind: 'push', cost: 0, send: sim.adapter('push'), confirm: { timeout: '15m' } },
        viber: { kind: 'messenger', cost: 0.012, billing: 'delivered', send: sim.adapter('viber'), confirm: { timeout: '1h' } },
      }),
    }),
  );

  const olena = sim.customer(patient('olena', { viber: '+380 50 111 2233', sms: '+380 50 111 2233' }), {
    viber: [['delivered', '5s'], ['read', '40m']],
  });
  const taras = sim.customer(patient('taras', { push: 'dev-taras', viber: '+380 63 444 5566', sms: '+380 63 444 5566' }), {
    push: [['delivered', '3s']],
  });
  const iryna = sim.customer(patient('iryna', { push: 'dev-iryna-old', viber: '+380 97 777 8899', sms: '+380 97 777 8899' }), {
    push: { reject: 'unregistered device token' },
    viber: [['failed', '10s', 'not a Viber user']],
  });

  // Purchases of a 30-day pack: taras and iryna at 14:00, olena at 22:30 the same day.
  await sim.send(refill(taras, 'Ібупрофен 200', sim.clock.now()), taras);
  await sim.send(refill(iryna, 'Лізиноприл 10', sim.clock.now()), iryna);
  await sim.clock.advance(8.5 * 3_600_000);
  await sim.send(refill(olena, 'Метформін 500', sim.clock.now()), olena);
  await sim.clock.runAll();
  return sim.finish('pharmacy-refill', title);
}

function patient(id: string, addresses: Record<string, string>): Recipient {
  return { id, addresses, timeZone: 'Europe/Kyiv', quietHours: NIGHT };
}

function refill(recipient: Recipient, medicine: string, purchasedAt: number): Message {
  return {
    key: `refill:${recipient.id}:${purchasedAt}`,
    category: 'reminder',
    channels: ['viber', 'push'],
    sendAt: purchasedAt + 27 * DAY,
    content: { text: `Ваш ${medicine} закінчується за 3 дні. Замовте повторно: apteka.example/r/${recipient.id}` },
  };
}
