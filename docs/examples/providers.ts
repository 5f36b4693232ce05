/**
 * Two SMS providers and two email providers, one of them (Twilio) failing mid-run: its sends fail over to
 * Vonage in the same step, its breaker opens and steps stop trying it, a probe finds it back, and the spend
 * report shows each provider's share. A bounced address never tries the other email provider. Runs in
 * simulated time: `npx tsx docs/examples/providers.ts`.
 */
import { createRouter, SendError, SimulatedClock, type Router, type SendRequest } from 'cascade-router';

export async function providersTour(): Promise<string[]> {
  const lines: string[] = [];
  const clock = new SimulatedClock(Date.UTC(2026, 0, 15, 9, 0));
  let twilioDown = false;
  const sent: string[] = [];

  // Fake provider APIs: each answers with its message id, as a real SDK call would.
  const provider = (name: string) => async (request: SendRequest): Promise<string> => {
    if (name === 'twilio' && twilioDown) throw Object.assign(new Error('503 Service Unavailable'), { status: 503 });
    if (name === 'sendgrid' && request.address.endsWith('@bounced.example')) throw new SendError('550 mailbox unavailable', { permanent: true });
    sent.push(`${name}:${request.idempotencyKey}`);
    return `${name}:${request.idempotencyKey}`;
  };

  const router: Router = createRouter({
    clock,
    channels: {
      email: {
        kind: 'email',
        confirm: { timeout: '30m' },
        retry: false,
        providers: [
          { name: 'sendgrid', cost: '0.0008', send: provider('sendgrid') },
          { name: 'mailgun', cost: '0.0010', send: provider('mailgun') },
        ],
      },
      sms: {
        kind: 'sms',
        confirm: { timeout: '5m' },
        retry: { retries: 1, minDelay: '2s' },
        providers: [
          { name: 'twilio', cost: '0.0079', send: provider('twilio'), rate: { limit: 30 } },
          { name: 'vonage', cost: '0.0085', send: provider('vonage'), rate: { limit: 30 } },
        ],
      },
    },
    health: { minSends: 5, coolDown: '1m' },
  });
  router.on('failover', (e) => lines.push(`  failover: ${e.channel} ${e.from} → ${e.to} (${e.reason})`));
  router.on('provider-down', (e) => lines.push(`  provider-down: ${e.provider} (${e.reason})`));
  router.on('provider-up', (e) => lines.push(`  provider-up: ${e.provider}`));

  /** One OTP by SMS; every message the providers accepted is delivered a second later. */
  let serial = 0;
  const otp = async (): Promise<void> => {
    await router.send({ key: `otp-${serial++}`, category: 'otp', content: { text: 'Your code is 4821' }, channels: ['sms'] }, { id: `c${serial}`, addresses: { sms: '+380671234567' } });
    await clock.advance(1000);
    for (const id of sent.splice(0)) await router.handleReceipt({ providerMessageId: id, status: 'delivered', provider: id.split(':')[0] });
    await clock.advance(1000);
  };

  for (let i = 0; i < 3; i++) await otp();
  lines.push('three codes through twilio, the cheaper');
  twilioDown = true;
  for (let i = 0; i < 8; i++) await otp();
  const twilio = router.health().find((h) => h.provider === 'twilio')!;
  lines.push(`twilio failing: ${twilio.state}; the codes went through vonage`);
  await clock.advance(60_000);
  twilioDown = false;
  await otp();
  lines.push(`after the cool-down a probe finds twilio back: ${router.health().find((h) => h.provider === 'twilio')!.state}`);

  // A bounced address is the recipient's problem: mailgun is not tried, the cascade moves on.
  const bounced = await router.send(
    { key: 'newsletter-1', category: 'transactional', content: { text: 'Your invoice', subject: 'Invoice' }, channels: ['email', 'sms'], policy: { order: 'message' } },
    { id: 'dana', addresses: { email: 'dana@bounced.example', sms: '+380671234568' } },
  );
  await clock.advance(1000);
  const cascade = (await router.get(bounced.cascadeId))!;
  lines.push(`bounced email: ${cascade.attempts.map((a) => `${a.channel}/${a.provider} ${a.outcome ?? a.phase}`).join(', ')}`);

  const report = await router.report();
  for (const [name, channel] of Object.entries(report.channels)) {
    const providers = Object.entries(channel.providers ?? {}).map(([p, r]) => `${p} ${r.sent} sent, ${r.spend}`);
    lines.push(`${name}: ${channel.sent} sent, ${channel.spend} (${providers.join('; ')})`);
  }
  await router.close();
  return lines;
}

if (import.meta.url === `file://${process.argv[1]}`) for (const line of await providersTour()) console.log(line);
