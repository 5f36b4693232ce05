// A tour of the public API that the stories do not show: `npx tsx docs/examples/api-tour.ts`.
import {
  byPrefix,
  classifySendError,
  createRouter,
  endOfQuietHours,
  formatMicros,
  isCascadeRouterError,
  memoryStore,
  planCascade,
  SendError,
  SimulatedClock,
  smsPerSegment,
  smsSegments,
  startCascade,
  toMicros,
  toMs,
  transition,
  type ChannelConfig,
  type Message,
  type Recipient,
} from 'cascade-router';

export async function tour(): Promise<string[]> {
  const lines: string[] = [];
  const say = (line: string): void => {
    lines.push(line);
  };

  // Money and time helpers: exact micro-units, durations, SMS segments, quiet hours.
  say(`0.1 × 10 = ${formatMicros(Array.from({ length: 10 }, () => toMicros('0.1')).reduce((a, b) => a + b, 0))}`);
  say(`'1h30m' = ${toMs('1h30m')} ms`);
  const cyrillic = smsSegments('Ваше замовлення доставлено. Дякуємо, що обрали нас! Ваш код знижки на наступну покупку: SPRING');
  say(`Cyrillic SMS: ${cyrillic.encoding}, ${cyrillic.units} units, ${cyrillic.segments} segments`);
  const night = Date.UTC(2026, 0, 15, 21, 30); // 23:30 in Kyiv
  say(`quiet hours end: ${new Date(endOfQuietHours(night, { start: '21:00', end: '08:00' }, 'Europe/Kyiv')).toISOString()}`);

  // Channels whose adapters fail in the ways providers do.
  let n = 0;
  const ok = async () => `id-${++n}`;
  const channels: Record<string, ChannelConfig> = {
    push: { kind: 'push', send: async () => Promise.reject(new SendError('unregistered token', { permanent: true })), confirm: { timeout: '1m' } },
    viber: { kind: 'messenger', cost: '0.012', billing: 'delivered', send: ok, confirm: { timeout: '10m' } },
    sms: {
      kind: 'sms',
      cost: smsPerSegment({ default: '0.05', prefixes: { '+380': '0.032' } }),
      send: ok,
      confirm: { timeout: '5m' },
      retry: { retries: 2, minDelay: '2s' },
    },
    email: { kind: 'email', cost: byPrefix({ default: '0.001', prefixes: { 'vip@': '0' } }), send: ok, confirm: { timeout: '30m' } },
  };
  const message: Message = { key: 'tour-1', category: 'marketing', content: { text: 'Spring sale: -20% today' }, maxCost: '0.05' };
  const recipient: Recipient = {
    id: 'c-1',
    addresses: { push: 'token', viber: 'viber-id', sms: '+380501234567' },
    consent: { marketing: ['push', 'viber', 'sms'] },
  };

  // Dry run without a router: what would this cost?
  const dryRun = planCascade({ channels, message, recipient, now: Date.UTC(2026, 0, 15, 10) });
  say(`dry run: ${dryRun.steps.map((s) => `${s.channel} ${formatMicros(s.costMicros)}`).join(' → ')}; at most ${formatMicros(dryRun.maxSpendMicros)}`);
  say(`left out: ${dryRun.skipped.map((s) => `${s.channel} (${s.reason})`).join(', ')}`);

  // A router in simulated time, with every event logged.
  const clock = new SimulatedClock(Date.UTC(2026, 0, 15, 10));
  const router = createRouter({ channels, clock, store: memoryStore({ retention: '7d' }) });
  for (const type of ['attempt', 'sent', 'receipt', 'fallback', 'delivered', 'late-receipt', 'cancelled'] as const) {
    router.on(type, (e) => say(`  event ${type}: ${'channel' in e ? e.channel : '-'} spend ${e.spend}`));
  }
  router.on('skipped', (e) => say(`  event skipped: ${e.channel} (${e.reason})`));
  router.on('error', (e) => say(`  event error: ${e.error.message}`));

  // A receipt can beat send()'s return: it is held, then applied once the id is known.
  const early = await router.handleReceipt({ providerMessageId: 'id-1', status: 'sent' });
  say(`early receipt: ${early.outcome}`);
  const { cascadeId, created } = await router.send(message, recipient);
  await router.settled(); // let the first steps run, so the log below reads in order
  say(`send: created ${created}; again: created ${(await router.send(message, recipient)).created}`);

  // Viber is delivered, then a duplicate and an older status arrive.
  say(`delivered: ${(await router.handleReceipt({ providerMessageId: 'id-1', status: 'delivered' })).outcome}`);
  say(`duplicate: ${(await router.handleReceipt({ providerMessageId: 'id-1', status: 'delivered' })).outcome}`);
  say(`older: ${(await router.handleReceipt({ providerMessageId: 'id-1', status: 'sent' })).outcome}`);
  const cascade = await router.get(cascadeId);
  say(`cascade ${cascade?.status}, spend ${formatMicros(cascade?.spendMicros ?? 0)}`);

  // A malformed receipt is a typed error; cancelling a finished cascade says so.
  try {
    await router.handleReceipt({ providerMessageId: '', status: 'delivered' });
  } catch (error) {
    say(`malformed: ${isCascadeRouterError(error) ? error.code : 'untyped'}`);
  }
  say(`cancel: ${(await router.cancel(cascadeId)).outcome}; unknown id: ${(await router.cancel('nope')).outcome}`);
  say(`429 is ${classifySendError({ status: 429 }).permanent ? 'permanent' : 'transient'}; 400 is ${classifySendError({ status: 400 }).permanent ? 'permanent' : 'transient'}`);
  await router.close();

  // The pure core: a state and an input give the next state and the effects to carry out.
  const plan = planCascade({ channels, message: { ...message, key: 'core' }, recipient, now: 0 });
  const started = startCascade({ id: 'c', key: 'core', message, recipient, plan, now: 0 });
  const timedOut = transition(started.cascade, { type: 'tick', now: plan.steps[0]!.waitMs });
  say(`core: ${started.effects.map((e) => e.type).join(',')} → after the timeout ${timedOut.notes.map((x) => x.type).join(',')}`);
  return lines;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const line of await tour()) console.log(line);
}
