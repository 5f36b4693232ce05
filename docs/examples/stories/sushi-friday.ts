/**
 * Story 3 — Sushi Friday segment, Thursday 18:00: frequent Friday buyers get an SMS straight away
 * (the message's own policy: `channels: ['sms', 'push']` in that order); everyone else only gets
 * the cheap channels, push and Telegram, and never an SMS.
 *
 * maksym (frequent): SMS first although push is free, delivered       → one SMS
 * sofia:  push delivered                                              → free
 * dmytro: no app; Telegram confirms by acceptance                     → free
 * yulia:  push silent, no Telegram: exhausted, and still no SMS        → free
 */
import { createRouter, smsPerSegment, type Message, type Recipient } from 'cascade-router';
import { Simulation, SMS_PRICES, type StoryOptions, type StoryResult } from './simulation.js';

export const title = 'Sushi Friday: SMS for frequent buyers by message policy, cheap channels only for the rest';

export async function run(options: StoryOptions = {}): Promise<StoryResult> {
  // Thursday 8 January 2026, 18:00 in Kyiv.
  const sim = new Simulation({ start: Date.UTC(2026, 0, 8, 16, 0), timeZone: 'Europe/Kyiv', onLog: options.onLog });
  sim.attach(
    createRouter({
      clock: sim.clock,
      store: sim.store,
      channels: sim.declare({
        push: { kind: 'push', cost: 0, send: sim.adapter('push'), confirm: { timeout: '30m' } },
        telegram: { kind: 'messenger', cost: 0, send: sim.adapter('telegram'), confirm: { by: 'acceptance' } },
        sms: { kind: 'sms', cost: smsPerSegment(SMS_PRICES), send: sim.adapter('sms'), confirm: { timeout: '5m' } },
      }),
    }),
  );

  const maksym = sim.customer(customer('maksym', { push: 'dev-maksym', telegram: '4101', sms: '+380 67 555 0101' }), {
    sms: [['delivered', '6s']],
  });
  const sofia = sim.customer(customer('sofia', { push: 'dev-sofia', telegram: '4102', sms: '+380 67 555 0102' }), {
    push: [['delivered', '15s']],
  });
  const dmytro = sim.customer(customer('dmytro', { telegram: '4103', sms: '+380 67 555 0103' }), {});
  const yulia = sim.customer(customer('yulia', { push: 'dev-yulia', sms: '+380 67 555 0104' }), { push: [] });

  const frequentFridayBuyers = new Set(['maksym']);
  for (const recipient of [maksym, sofia, dmytro, yulia]) {
    await sim.send(fridayOffer(recipient, frequentFridayBuyers.has(recipient.id)), recipient);
  }
  await sim.clock.runAll();
  return sim.finish('sushi-friday', title);
}

function customer(id: string, addresses: Record<string, string>): Recipient {
  return { id, addresses, consent: { marketing: true }, timeZone: 'Europe/Kyiv' };
}

function fridayOffer(recipient: Recipient, frequent: boolean): Message {
  // The segment decides the channels; the message's own order puts SMS first for frequent buyers.
  const segment: Pick<Message, 'channels' | 'policy'> = frequent
    ? { channels: ['sms', 'push'], policy: { order: 'message' } }
    : { channels: ['push', 'telegram'] };
  return {
    key: `sushi-friday:2026-01-09:${recipient.id}`,
    category: 'marketing',
    content: {
      text: 'Суші-пʼятниця завтра: -25% на всі сети з 12:00 до 16:00. Замовляйте в застосунку!',
      sms: 'Суші-пʼятниця завтра: -25% на сети. sushi.example/f',
    },
    ...segment,
  };
}
