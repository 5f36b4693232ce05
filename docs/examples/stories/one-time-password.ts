/**
 * Story 6 — One-time password: must arrive within 2 minutes (`deadline: '2m'`). The message lists its
 * channels fastest first; a channel whose wait does not fit what is left of the deadline is given a
 * shorter wait, or skipped when no time is left. Category `otp` needs no marketing consent (these
 * customers gave none) and ignores quiet hours (it is 23:40 and theirs start at 22:00).
 *
 * ivan:  push silent for 15 s, Telegram accepts      → free; email skipped (deadline)
 * marta: push silent, SMS to Germany delivered        → email's 5 m wait would have been cut to 45 s
 * oleh:  not on WhatsApp (failed, unbilled), SMS fails (absent subscriber, billed on send),
 *        email gets a 30 s wait and delivers          → SMS + email
 */
import { createRouter, smsPerSegment, type Message, type Recipient } from 'cascade-router';
import { Simulation, SMS_PRICES, type StoryOptions, type StoryResult } from './simulation.js';

export const title = 'One-time password: 2-minute deadline, slow channels shortened or skipped, no consent needed';

export async function run(options: StoryOptions = {}): Promise<StoryResult> {
  // Monday 12 January 2026, 23:40 in Kyiv.
  const sim = new Simulation({ start: Date.UTC(2026, 0, 12, 21, 40), timeZone: 'Europe/Kyiv', onLog: options.onLog });
  sim.attach(
    createRouter({
      clock: sim.clock,
      store: sim.store,
      channels: sim.declare({
        push: { kind: 'push', cost: 0, send: sim.adapter('push'), confirm: { timeout: '15s' } },
        telegram: { kind: 'messenger', cost: 0, send: sim.adapter('telegram'), confirm: { by: 'acceptance', timeout: '15s' } },
        whatsapp: { kind: 'messenger', cost: 0.009, billing: 'delivered', send: sim.adapter('whatsapp'), confirm: { timeout: '30s' } },
        sms: { kind: 'sms', cost: smsPerSegment(SMS_PRICES), send: sim.adapter('sms'), confirm: { timeout: '1m' } },
        email: { kind: 'email', cost: 0.0008, send: sim.adapter('email'), confirm: { timeout: '5m' } },
      }),
    }),
  );

  const ivan = sim.customer(user('ivan', { push: 'dev-ivan', telegram: '5101', whatsapp: '+380 67 300 0001', sms: '+380 67 300 0001', email: 'ivan@example.com' }), {
    push: [],
  });
  const marta = sim.customer(user('marta', { push: 'dev-marta', sms: '+49 170 300 0002', email: 'marta@example.de' }), {
    push: [],
    sms: [['delivered', '6s']],
  });
  const oleh = sim.customer(user('oleh', { whatsapp: '+380 93 300 0003', sms: '+380 93 300 0003', email: 'oleh@example.com' }), {
    whatsapp: [['failed', '3s', 'recipient is not a WhatsApp user']],
    sms: [['failed', '17s', 'absent subscriber']],
    email: [['delivered', '5s']],
  });

  for (const recipient of [ivan, marta, oleh]) await sim.send(loginCode(recipient), recipient);
  await sim.clock.runAll();
  return sim.finish('one-time-password', title);
}

function user(id: string, addresses: Record<string, string>): Recipient {
  return { id, addresses, consent: { marketing: false }, timeZone: 'Europe/Kyiv', quietHours: { start: '22:00', end: '08:00' } };
}

function loginCode(recipient: Recipient): Message {
  return {
    key: `otp:${recipient.id}:login-1`,
    category: 'otp',
    deadline: '2m',
    // Fastest first; email last, since its receipts are slowest.
    channels: ['push', 'telegram', 'whatsapp', 'sms', 'email'],
    policy: { order: 'message' },
    content: { subject: 'Your Bookworm login code', text: 'Your Bookworm login code is 482913. It expires in 2 minutes.' },
  };
}
