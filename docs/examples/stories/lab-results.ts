/**
 * Story 5 — Lab results: an SMS reminder the day before the visit (transactional, must arrive: SMS only,
 * retried through the provider's rate limit); when the results are ready, push plus email, sent as two
 * messages so that both go out.
 *
 * halyna: reminder SMS delivered; results by push and by email
 * viktor: the SMS provider throttles once (429, Retry-After 30 s), the retry is delivered;
 *         he has no app, so the push message has nothing to try; the email is delivered
 */
import { createRouter, smsPerSegment, type Message, type Recipient } from 'cascade-router';
import { Simulation, SMS_PRICES, type StoryOptions, type StoryResult } from './simulation.js';

export const title = 'Lab results: transactional SMS the day before the visit, then push plus email';

export async function run(options: StoryOptions = {}): Promise<StoryResult> {
  // Monday 12 January 2026, 09:00 in Kyiv: visits are booked for Wednesday 09:30.
  const sim = new Simulation({ start: Date.UTC(2026, 0, 12, 7, 0), timeZone: 'Europe/Kyiv', onLog: options.onLog });
  sim.attach(
    createRouter({
      clock: sim.clock,
      store: sim.store,
      channels: sim.declare({
        push: { kind: 'push', cost: 0, send: sim.adapter('push'), confirm: { timeout: '5m' } },
        email: { kind: 'email', cost: 0.0008, send: sim.adapter('email'), confirm: { timeout: '1h' } },
        sms: {
          kind: 'sms',
          cost: smsPerSegment(SMS_PRICES),
          send: sim.adapter('sms'),
          confirm: { timeout: '10m' },
          retry: { retries: 3, minDelay: '5s' },
        },
      }),
    }),
  );

  const halyna = sim.customer(patient('halyna', { push: 'dev-halyna', email: 'halyna@example.com', sms: '+380 44 200 1001' }), {
    sms: [['delivered', '4s']],
    push: [['delivered', '2s']],
    email: [['delivered', '20s']],
  });
  const viktor = sim.customer(patient('viktor', { email: 'viktor@example.de', sms: '+49 30 200 1002' }), {
    sms: { throttle: '30s', then: [['delivered', '5s']] },
    email: [['delivered', '15s']],
  });
  const patients = [halyna, viktor];

  // The day before the visit, 18:00 in Kyiv.
  const reminderAt = Date.UTC(2026, 0, 13, 16, 0);
  for (const p of patients) await sim.send(visitReminder(p, reminderAt), p, { label: `${p.id}·visit` });

  // Friday 16 January, 14:00 in Kyiv: the lab posts the results.
  await sim.clock.advanceTo(Date.UTC(2026, 0, 16, 12, 0));
  for (const p of patients) {
    await sim.send(resultsReady(p, 'push'), p, { label: `${p.id}·push` });
    // An SMS-only clinic would send one SMS for the results, already counted with the push.
    await sim.send(resultsReady(p, 'email'), p, { label: `${p.id}·email`, smsOnly: false });
  }
  await sim.clock.runAll();
  return sim.finish('lab-results', title);
}

function patient(id: string, addresses: Record<string, string>): Recipient {
  return { id, addresses, timeZone: 'Europe/Kyiv' };
}

function visitReminder(recipient: Recipient, at: number): Message {
  return {
    key: `visit-reminder:${recipient.id}:2026-01-14`,
    category: 'transactional',
    channels: ['sms'],
    sendAt: at,
    content: { text: 'MedLab: your visit is tomorrow, 14 Jan at 09:30. Please come fasting. Reply C to cancel.' },
  };
}

function resultsReady(recipient: Recipient, channel: 'push' | 'email'): Message {
  return {
    key: `results:${recipient.id}:2026-01-14:${channel}`,
    category: 'transactional',
    channels: [channel],
    content: {
      subject: 'Your lab results are ready',
      text: 'Your lab results from 14 Jan are ready. Open them in the MedLab app or at medlab.example/r',
    },
  };
}
