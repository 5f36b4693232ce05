// Per provider: the documented sample payloads (test/receipts/fixtures/samples.ts, from
// shared/reference/provider-receipts.md; [reconstructed] ones built from documented fields), normalized
// and fed through `router.handleReceipt()` to drive real cascades (simulated clock, fake adapters).
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  createRouter,
  SendError,
  SimulatedClock,
  type Amount,
  type Billing,
  type Cascade,
  type ChannelKind,
  type Duration,
  type Receipt,
  type ReceiptResult,
  type Recipient,
  type Router,
  type SendRequest,
} from 'cascade-router';
import {
  infobipReceipts,
  mailgunReceipts,
  sendgridReceipts,
  sesReceipts,
  twilioReceipts,
  viberReceipts,
  vonageMessagesReceipts,
  vonageSmsReceipts,
  WebhookError,
  whatsappReceipts,
} from 'cascade-router/receipts';
import { infobip, mailgun, sendgridBatch, ses, snsEnvelope, twilio, viber, vonage, vonageSms, whatsapp } from './receipts/fixtures/samples.js';

const START = Date.UTC(2026, 0, 8, 9, 0);
const MINUTE = 60_000;
const WAIT = { timeout: 5_000, interval: 2 };

// ---------------------------------------------------------------------------------------------------
// The harness: a router over fake channels whose send() returns scripted provider ids.

class FakeProvider {
  readonly requests: SendRequest[] = [];
  #next = 0;
  constructor(private readonly ids: readonly string[]) {}
  readonly send = async (request: SendRequest): Promise<string> => {
    this.requests.push(request);
    const id = this.ids[this.#next++];
    if (id === undefined) throw new SendError('the test scripted no more provider ids', { permanent: true });
    return id;
  };
}

interface ChannelSpec {
  readonly kind: ChannelKind;
  readonly ids: readonly string[];
  readonly cost: Amount;
  readonly billing?: Billing;
  readonly timeout: Duration;
}

const routers: Router[] = [];
afterEach(async () => {
  for (const router of routers.splice(0)) await router.close();
});

const customer: Recipient = {
  id: 'olena',
  addresses: { email: 'olena@example.com', whatsapp: '380671234567', viber: '3SQNc4FPUQmysaM/AQEhXg==', sms: '+380671234567' },
};

/** One line per receipt result: `applied sms delivered`, `duplicate …`, `stale …`, `unknown <id>`. */
function outcome(result: ReceiptResult): string {
  if (result.outcome === 'held') return `unknown ${result.providerMessageId}`;
  return `${result.outcome} ${result.channel} ${result.status}${result.outcome === 'applied' && result.late ? ' (late)' : ''}`;
}

/** Each attempt as [channel, provider id, outcome or state, status history]. */
function attempts(cascade: Cascade | undefined): [string, string | undefined, string, string[]][] {
  return (cascade?.attempts ?? []).map((a) => [a.channel, a.providerMessageId, a.outcome ?? a.phase, a.history.map((h) => `${h.status}/${h.source}`)]);
}

/** A router whose channels are all fed by `provider`'s normalizer, as a real one declares them. */
function setup(specs: Record<string, ChannelSpec>, provider: string) {
  const clock = new SimulatedClock(START);
  const providers = Object.fromEntries(Object.entries(specs).map(([name, spec]) => [name, new FakeProvider(spec.ids)]));
  const router = createRouter({
    clock,
    channels: Object.fromEntries(
      Object.entries(specs).map(([name, spec]) => [
        name,
        { kind: spec.kind, provider, cost: spec.cost, billing: spec.billing, send: providers[name]!.send, confirm: { timeout: spec.timeout } },
      ]),
    ),
  });
  routers.push(router);
  const log: string[] = [];
  router.on('sent', (e) => log.push(`sent ${e.channel}`));
  router.on('receipt', (e) => log.push(`receipt ${e.channel} ${e.status}`));
  router.on('fallback', (e) => log.push(`fallback ${e.channel} ${e.reason} → ${e.next ?? 'none'}`));
  router.on('delivered', (e) => log.push(`delivered ${e.channel}${e.late ? ' (late)' : ''}`));
  router.on('late-receipt', (e) => log.push(`late-receipt ${e.channel} ${e.status} double spend ${e.doubleSpend}`));
  router.on('exhausted', () => log.push('exhausted'));
  router.on('error', (e) => log.push(`error ${e.during}: ${e.error.message}`));

  /** Waits (bounded) until the step's send returned its provider id and the router recorded it. */
  const sentStep = (cascadeId: string, step: number): Promise<Cascade> =>
    vi.waitFor(async () => {
      const cascade = await router.get(cascadeId);
      if (cascade?.attempts[step]?.providerMessageId === undefined) throw new Error(`step ${step} of ${cascadeId} has not been sent yet`);
      return cascade;
    }, WAIT);

  return {
    clock,
    router,
    providers,
    log,
    sentStep,
    /** Starts a cascade over `order` (in that order) and waits until its first step is sent. */
    async start(key: string, order: readonly string[]): Promise<string> {
      const { cascadeId } = await router.send(
        { key, category: 'transactional', channels: order, policy: { order: 'message' }, content: { subject: 'Your order is ready', text: 'Order 1042 is ready for pickup.' } },
        customer,
      );
      await sentStep(cascadeId, 0);
      return cascadeId;
    },
    /** Feeds receipts one by one, as a webhook handler does, and reports each result. */
    async feed(receipts: readonly Receipt[]): Promise<string[]> {
      const results: string[] = [];
      for (const receipt of receipts) results.push(outcome(await router.handleReceipt(receipt)));
      await router.settled();
      return results;
    },
    get: (id: string) => router.get(id),
  };
}

const sms = (ids: readonly string[]): ChannelSpec => ({ kind: 'sms', ids, cost: 0.032, timeout: '5m' });
const email = (ids: readonly string[]): ChannelSpec => ({ kind: 'email', ids, cost: 0.0008, timeout: '1h' });
const messenger = (ids: readonly string[]): ChannelSpec => ({ kind: 'messenger', ids, cost: 0.009, billing: 'delivered', timeout: '10m' });

// ---------------------------------------------------------------------------------------------------

describe('Twilio Messaging status callbacks', () => {
  const SID = 'SM1342fe1b2c904d1ab04f0fc7a58abca9';
  // [reconstructed] The documented SMS fields with another status.
  const status = (value: string, extra = '') => twilio.smsSent.replaceAll('=sent', `=${value}`) + extra;

  it('keeps queued, sending and sent intermediate; delivered ends the cascade on SMS; inbound statuses give no receipt', async () => {
    const h = setup({ sms: sms([SID]), email: email(['unused']) }, 'twilio');
    const id = await h.start('twilio-every-status', ['sms', 'email']);
    const receipts = ['queued', 'sending', 'sent', 'delivered', 'received'].flatMap((s) => twilioReceipts(status(s)));
    expect(receipts.map((r) => r.status)).toEqual(['accepted', 'accepted', 'sent', 'delivered']);
    expect(await h.feed(receipts)).toEqual(['duplicate sms active', 'duplicate sms active', 'applied sms active', 'applied sms delivered']);
    expect(attempts(await h.get(id))).toEqual([['sms', SID, 'delivered', ['accepted/send', 'sent/receipt', 'delivered/receipt']]]);
    expect(h.log).toEqual(['sent sms', 'receipt sms sent', 'receipt sms delivered', 'delivered sms']);
    expect(h.providers['email']!.requests).toEqual([]);
  });

  it('takes delivered before sent (Twilio does not order callbacks): the late sent is stale, a repeated delivered a duplicate', async () => {
    const h = setup({ sms: sms([SID]), email: email(['unused']) }, 'twilio');
    const id = await h.start('twilio-out-of-order', ['sms', 'email']);
    const delivered = twilioReceipts(status('delivered', '&RawDlrDoneDate=2601081102'));
    expect(await h.feed([...delivered, ...twilioReceipts(twilio.smsSent), ...delivered, ...twilioReceipts(status('undelivered', '&ErrorCode=30003'))])).toEqual([
      'applied sms delivered',
      'stale sms delivered',
      'duplicate sms delivered',
      'stale sms delivered',
    ]);
    const cascade = await h.get(id);
    expect(attempts(cascade)).toEqual([['sms', SID, 'delivered', ['accepted/send', 'delivered/receipt']]]);
    expect(cascade?.spendMicros).toBe(32_000);
    expect(h.providers['email']!.requests).toEqual([]);
  });

  it('records the WhatsApp sandbox sent, delivered and read callbacks (and EventType=READ) on the WhatsApp step', async () => {
    const WA = 'SMxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx';
    const h = setup({ whatsapp: messenger([WA]), sms: sms([SID]) }, 'twilio');
    const id = await h.start('twilio-whatsapp', ['whatsapp', 'sms']);
    const eventRead = new URLSearchParams({ ...twilio.whatsapp('delivered'), EventType: 'READ' });
    const receipts = [...twilioReceipts(twilio.whatsapp('sent')), ...twilioReceipts(twilio.whatsapp('delivered')), ...twilioReceipts(twilio.whatsapp('read')), ...twilioReceipts(eventRead)];
    expect(await h.feed(receipts)).toEqual(['applied whatsapp active', 'applied whatsapp delivered', 'applied whatsapp delivered', 'duplicate whatsapp delivered']);
    const cascade = await h.get(id);
    expect(attempts(cascade)).toEqual([['whatsapp', WA, 'delivered', ['accepted/send', 'sent/receipt', 'delivered/receipt', 'read/receipt']]]);
    expect(cascade?.attempts[0]?.status).toBe('read');
    expect(h.providers['sms']!.requests).toEqual([]);
  });

  it('falls back from WhatsApp to SMS at once on undelivered (30003); a duplicate undelivered sends nothing more', async () => {
    const WA = 'SM55555555555555555555555555555555';
    const h = setup({ whatsapp: messenger([WA]), sms: sms([SID]) }, 'twilio');
    const id = await h.start('twilio-undelivered', ['whatsapp', 'sms']);
    const undelivered = twilioReceipts(twilio.smsUndelivered);
    expect(await h.feed(undelivered)).toEqual(['applied whatsapp active']);
    await h.sentStep(id, 1);
    expect(await h.feed([...undelivered, ...twilioReceipts(status('delivered'))])).toEqual(['duplicate whatsapp active', 'applied sms delivered']);
    const cascade = await h.get(id);
    expect(attempts(cascade)).toEqual([
      ['whatsapp', WA, 'failed', ['accepted/send', 'failed/receipt']],
      ['sms', SID, 'delivered', ['accepted/send', 'delivered/receipt']],
    ]);
    expect(cascade?.attempts[0]?.error).toEqual({ code: '30003', message: 'undelivered', fault: 'recipient' });
    // WhatsApp bills on delivery: the failed message costs nothing.
    expect(cascade?.spendMicros).toBe(32_000);
    expect(h.providers['sms']!.requests).toHaveLength(1);
  });
});

describe('SendGrid Event Webhook', () => {
  const ID = 'wrfRRvF7Q0GgwUo2CvDmEA';
  const events = JSON.parse(sendgridBatch) as Record<string, unknown>[];

  it('reads the documented batch (processed, delivered, deferred, bounce, dropped, open): delivered on email, open recorded as read', async () => {
    const h = setup({ email: email([ID]), sms: sms(['SM1']) }, 'sendgrid');
    const id = await h.start('sendgrid-batch', ['email', 'sms']);
    expect(await h.feed(sendgridReceipts(sendgridBatch))).toEqual([
      'duplicate email active',
      'applied email delivered',
      'unknown Lli-03HcQ5-JLybO9fXsJg',
      // The dropped event shares the smtp-id: after delivered, a failure changes nothing.
      'stale email delivered',
      'applied email delivered',
    ]);
    const cascade = await h.get(id);
    expect(attempts(cascade)).toEqual([['email', ID, 'delivered', ['accepted/send', 'delivered/receipt', 'read/receipt']]]);
    expect(cascade?.attempts[0]?.history.slice(1).map((e) => e.at)).toEqual([1461095250000, 1461095250000]);
    expect(h.providers['sms']!.requests).toEqual([]);
  });

  it('takes processed, deferred, delivered and open in one batch; deferred alone neither fails nor ends the step', async () => {
    const h = setup({ email: email([ID]), sms: sms(['SM1']) }, 'sendgrid');
    const id = await h.start('sendgrid-deferred', ['email', 'sms']);
    const deferred = events.filter((e) => e['event'] === 'deferred').map((e) => ({ ...e, sg_message_id: `${ID}.filter0465p1mdw1.8054.5718271B40.0` }));
    expect(sendgridReceipts(deferred)).toEqual([]);
    const batch = [events[0], ...deferred, events[1], events[5]];
    expect(await h.feed(sendgridReceipts(batch))).toEqual(['duplicate email active', 'applied email delivered', 'applied email delivered']);
    expect(attempts(await h.get(id))).toEqual([['email', ID, 'delivered', ['accepted/send', 'delivered/receipt', 'read/receipt']]]);
  });

  it('leaves a deferred message to the step timeout, and falls back then', async () => {
    const h = setup({ email: email([ID]), sms: sms(['SM1']) }, 'sendgrid');
    const id = await h.start('sendgrid-deferred-timeout', ['email', 'sms']);
    const deferred = { ...events[2], sg_message_id: `${ID}.filter0465p1mdw1.8054.5718271B40.0` };
    expect(await h.feed(sendgridReceipts([deferred, deferred]))).toEqual([]);
    await h.clock.advance(60 * MINUTE - 1);
    expect(attempts(await h.get(id))).toEqual([['email', ID, 'waiting', ['accepted/send']]]);
    await h.clock.advance(1);
    const cascade = await h.sentStep(id, 1);
    expect(attempts(cascade)).toEqual([
      ['email', ID, 'timeout', ['accepted/send']],
      ['sms', 'SM1', 'waiting', ['accepted/send']],
    ]);
  });

  it('falls back at once on a bounce and on a drop, each with its reason', async () => {
    const h = setup({ email: email(['Lli-03HcQ5-JLybO9fXsJg', 'x9Bq2LmZTkOaP4vWcN1d8A']), sms: sms(['SM1', 'SM2']) }, 'sendgrid');
    const bounced = await h.start('sendgrid-bounce', ['email', 'sms']);
    const dropped = await h.start('sendgrid-dropped', ['email', 'sms']);
    const drop = { ...events[4], 'smtp-id': '<x9Bq2LmZTkOaP4vWcN1d8A@ismtpd0006p1sjc2.sendgrid.net>' };
    expect(await h.feed(sendgridReceipts([events[3], drop]))).toEqual(['applied email active', 'applied email active']);
    await h.sentStep(bounced, 1);
    await h.sentStep(dropped, 1);
    const [b, d] = [await h.get(bounced), await h.get(dropped)];
    expect([b?.attempts[0]?.outcome, b?.attempts[0]?.error]).toEqual(['failed', { code: 'bounce/5.1.1', message: '550 5.1.1 The email account that you tried to reach does not exist.', fault: 'recipient' }]);
    expect([d?.attempts[0]?.outcome, d?.attempts[0]?.error]).toEqual(['failed', { code: 'dropped', message: 'Invalid', fault: 'recipient' }]);
    expect([b, d].map((c) => c?.attempts.map((a) => a.channel))).toEqual([['email', 'sms'], ['email', 'sms']]);
  });

  it('counts an Apple Mail privacy prefetch (sg_machine_open) as delivered, not read', async () => {
    const h = setup({ email: email([ID]), sms: sms(['SM1']) }, 'sendgrid');
    const id = await h.start('sendgrid-machine-open', ['email', 'sms']);
    expect(await h.feed(sendgridReceipts([{ ...events[5], sg_machine_open: true }]))).toEqual(['applied email delivered']);
    expect(attempts(await h.get(id))).toEqual([['email', ID, 'delivered', ['accepted/send', 'delivered/receipt']]]);
  });
});

describe('Mailgun', () => {
  const TEMPORARY = '20180812214638.1.4A7D468E9BC18C5D@example.org';

  it('delivered ends the cascade on email; opened is recorded as read', async () => {
    const ID = '20180812211713.1.DF5966851B4BAA99@example.org';
    const h = setup({ email: email([ID]), sms: sms(['SM1']) }, 'mailgun');
    const id = await h.start('mailgun-delivered', ['email', 'sms']);
    const opened = mailgun.opened.replace('20180812213139.1.BC6694A917BB7E6A@example.org', ID);
    expect(await h.feed([...mailgunReceipts(mailgun.delivered), ...mailgunReceipts(opened)])).toEqual(['applied email delivered', 'applied email delivered']);
    const cascade = await h.get(id);
    expect(attempts(cascade)).toEqual([['email', ID, 'delivered', ['accepted/send', 'delivered/receipt', 'read/receipt']]]);
    expect(cascade?.attempts[0]?.history.slice(1).map((e) => e.at)).toEqual([1534108637153, 1534109600090]);
  });

  it('does not fall back on temporary failures (Mailgun retries); the permanent failure that follows falls back', async () => {
    const h = setup({ email: email([TEMPORARY]), sms: sms(['SM1']) }, 'mailgun');
    const id = await h.start('mailgun-temporary', ['email', 'sms']);
    expect(mailgunReceipts(mailgun.failedTemporary)).toEqual([]);
    expect(await h.feed([...mailgunReceipts(mailgun.failedTemporary), ...mailgunReceipts(mailgun.failedTemporary)])).toEqual([]);
    expect(attempts(await h.get(id))).toEqual([['email', TEMPORARY, 'waiting', ['accepted/send']]]);
    expect(h.providers['sms']!.requests).toEqual([]);

    const permanent = mailgun.failedPermanent.replace('20180812214658.1.0DF563D0B3597700@example.org', TEMPORARY);
    expect(await h.feed(mailgunReceipts(permanent))).toEqual(['applied email active']);
    const cascade = await h.sentStep(id, 1);
    expect(attempts(cascade)).toEqual([
      ['email', TEMPORARY, 'failed', ['accepted/send', 'failed/receipt']],
      ['sms', 'SM1', 'waiting', ['accepted/send']],
    ]);
    expect(cascade.attempts[0]?.error?.code).toBe('550');
  });
});

describe('Amazon SES via SNS', () => {
  const ID = 'EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000';
  const receipts = (event: string) => {
    const result = sesReceipts(snsEnvelope(event));
    if (result.kind !== 'receipts') throw new Error(`expected receipts, got ${result.kind}`);
    return result.receipts;
  };
  // [reconstructed] A Send event with the documented mail object.
  const send = '{"eventType":"Send","mail":{"timestamp":"2016-10-19T23:20:52.240Z","source":"sender@example.com","messageId":"EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000","destination":["recipient@example.com"]},"send":{}}';

  it('Send, DeliveryDelay, Delivery, Open: no fallback while delayed, delivered on email, open recorded; a complaint says nothing', async () => {
    const h = setup({ email: email([ID]), sms: sms(['SM1']) }, 'ses');
    const id = await h.start('ses-delivery', ['email', 'sms']);
    const events = [send, ses.deliveryDelay, ses.delivery, ses.open, ses.complaint].flatMap(receipts);
    expect(events.map((r) => r.status)).toEqual(['accepted', 'delivered', 'read']);
    expect(await h.feed(events)).toEqual(['duplicate email active', 'applied email delivered', 'applied email delivered']);
    expect(attempts(await h.get(id))).toEqual([['email', ID, 'delivered', ['accepted/send', 'delivered/receipt', 'read/receipt']]]);
    expect(h.providers['sms']!.requests).toEqual([]);
  });

  it('falls back on a permanent bounce with its diagnostic, and a later Delivery for the bounced message is stale', async () => {
    const h = setup({ email: email([ID]), sms: sms(['SM1']) }, 'ses');
    const id = await h.start('ses-bounce', ['email', 'sms']);
    expect(await h.feed([...receipts(ses.deliveryDelay), ...receipts(ses.bounce)])).toEqual(['applied email active']);
    await h.sentStep(id, 1);
    expect(await h.feed(receipts(ses.delivery))).toEqual(['stale email active']);
    const cascade = await h.get(id);
    expect(attempts(cascade)).toEqual([
      ['email', ID, 'failed', ['accepted/send', 'failed/receipt']],
      ['sms', 'SM1', 'waiting', ['accepted/send']],
    ]);
    expect(cascade?.attempts[0]?.error).toEqual({ code: 'Permanent/General', message: 'smtp; 550 5.1.1 user unknown', fault: 'recipient' });
  });

  it('falls back on a Reject (virus found: never attempted)', async () => {
    const h = setup({ email: email([ID]), sms: sms(['SM1']) }, 'ses');
    const id = await h.start('ses-reject', ['email', 'sms']);
    expect(await h.feed(receipts(ses.reject))).toEqual(['applied email active']);
    const cascade = await h.sentStep(id, 1);
    expect(cascade.attempts[0]).toMatchObject({ outcome: 'failed', error: { code: 'Reject', message: 'Bad content' } });
  });
});

describe('WhatsApp Cloud API', () => {
  const SENT = 'wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA=';
  const FAILED = 'wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI0QUQ2MjA4NEYyRkExNjMyREUA';
  // [reconstructed] The documented sent sample with another status and time, as Meta sends it without pricing.
  const status = (value: string, timestamp: string, wamid = SENT) =>
    whatsapp.sent.replace('"status":"sent"', `"status":"${value}"`).replace('"timestamp":"1750030073"', `"timestamp":"${timestamp}"`).replace(SENT, wamid);

  it('sent, delivered and read: delivered on WhatsApp (billed on delivery), read recorded, no SMS', async () => {
    const h = setup({ whatsapp: messenger([SENT]), sms: sms(['SM1']) }, 'whatsapp');
    const id = await h.start('whatsapp-read', ['whatsapp', 'sms']);
    const receipts = [whatsapp.sent, status('delivered', '1750030075'), status('read', '1750030190')].flatMap((b) => whatsappReceipts(b));
    expect(await h.feed(receipts)).toEqual(['applied whatsapp active', 'applied whatsapp delivered', 'applied whatsapp delivered']);
    const cascade = await h.get(id);
    expect(attempts(cascade)).toEqual([['whatsapp', SENT, 'delivered', ['accepted/send', 'sent/receipt', 'delivered/receipt', 'read/receipt']]]);
    expect(cascade?.attempts[0]?.history.slice(1).map((e) => e.at)).toEqual([1750030073000, 1750030075000, 1750030190000]);
    expect(cascade?.spendMicros).toBe(9_000);
    expect(h.providers['sms']!.requests).toEqual([]);
  });

  it('takes read without delivered (Meta skips delivered when both happen at once) as delivery; the late sent is stale', async () => {
    const h = setup({ whatsapp: messenger([SENT]), sms: sms(['SM1']) }, 'whatsapp');
    const id = await h.start('whatsapp-read-only', ['whatsapp', 'sms']);
    expect(await h.feed([...whatsappReceipts(status('read', '1750030190')), ...whatsappReceipts(whatsapp.sent)])).toEqual([
      'applied whatsapp delivered',
      'stale whatsapp delivered',
    ]);
    expect(attempts(await h.get(id))).toEqual([['whatsapp', SENT, 'delivered', ['accepted/send', 'read/receipt']]]);
  });

  it('falls back to SMS on failed (131049); a delivered after it (multi-device) is stale and sends nothing more', async () => {
    const h = setup({ whatsapp: messenger([FAILED]), sms: sms(['SM1']) }, 'whatsapp');
    const id = await h.start('whatsapp-failed', ['whatsapp', 'sms']);
    expect(await h.feed(whatsappReceipts(whatsapp.failed))).toEqual(['applied whatsapp active']);
    await h.sentStep(id, 1);
    expect(await h.feed([...whatsappReceipts(status('delivered', '1751142890', FAILED)), ...whatsappReceipts(whatsapp.failed)])).toEqual([
      'stale whatsapp active',
      'duplicate whatsapp active',
    ]);
    const cascade = await h.get(id);
    expect(attempts(cascade)).toEqual([
      ['whatsapp', FAILED, 'failed', ['accepted/send', 'failed/receipt']],
      ['sms', 'SM1', 'waiting', ['accepted/send']],
    ]);
    expect(cascade?.attempts[0]?.error).toEqual({ code: '131049', message: 'In order to maintain a healthy ecosystem engagement, the message failed to be delivered.', fault: 'recipient' });
    expect(cascade?.spendMicros).toBe(32_000);
    expect(h.providers['sms']!.requests).toHaveLength(1);
  });

  it('reads one webhook carrying statuses of two cascades: one delivered, one failed and falling back', async () => {
    const h = setup({ whatsapp: messenger([SENT, FAILED]), sms: sms(['SM1']) }, 'whatsapp');
    const first = await h.start('whatsapp-batch-1', ['whatsapp', 'sms']);
    const second = await h.start('whatsapp-batch-2', ['whatsapp', 'sms']);
    const delivered = JSON.parse(status('delivered', '1750030075')) as { entry: { changes: { value: { statuses: unknown[] } }[] }[] };
    const failed = JSON.parse(whatsapp.failed) as typeof delivered;
    delivered.entry[0]!.changes[0]!.value.statuses.push(...failed.entry[0]!.changes[0]!.value.statuses);
    expect(await h.feed(whatsappReceipts(JSON.stringify(delivered)))).toEqual(['applied whatsapp delivered', 'applied whatsapp active']);
    await h.sentStep(second, 1);
    expect([(await h.get(first))?.status, (await h.get(second))?.status]).toEqual(['delivered', 'active']);
    expect(attempts(await h.get(second)).map((a) => a.slice(0, 3))).toEqual([
      ['whatsapp', FAILED, 'failed'],
      ['sms', 'SM1', 'waiting'],
    ]);
  });

  it('holds statuses that arrive before send() returned the wamid, and applies them in order once it does', async () => {
    let accept: (id: string) => void = () => {};
    const h = setup({ sms: sms(['SM1']) }, 'whatsapp');
    const router = createRouter({
      clock: h.clock,
      channels: {
        whatsapp: { kind: 'messenger', provider: 'whatsapp', cost: 0.009, billing: 'delivered', confirm: { timeout: '10m' }, send: () => new Promise<string>((resolve) => (accept = resolve)) },
        sms: { kind: 'sms', provider: 'whatsapp', cost: 0.032, send: h.providers['sms']!.send },
      },
    });
    routers.push(router);
    const { cascadeId } = await router.send(
      { key: 'whatsapp-early', category: 'transactional', channels: ['whatsapp', 'sms'], policy: { order: 'message' }, content: { text: 'Order 1042 is ready for pickup.' } },
      customer,
    );
    const early = [...whatsappReceipts(whatsapp.sent), ...whatsappReceipts(status('delivered', '1750030075'))];
    const results = [];
    for (const receipt of early) results.push(await router.handleReceipt(receipt));
    expect(results).toEqual([
      { outcome: 'held', providerMessageId: SENT, heldUntil: START + 10 * MINUTE },
      { outcome: 'held', providerMessageId: SENT, heldUntil: START + 10 * MINUTE },
    ]);
    accept(SENT);
    const cascade = await vi.waitFor(async () => {
      const c = await router.get(cascadeId);
      if (c?.status !== 'delivered') throw new Error(`cascade is ${c?.status}`);
      return c;
    }, WAIT);
    expect(attempts(cascade)).toEqual([['whatsapp', SENT, 'delivered', ['accepted/send', 'sent/receipt', 'delivered/receipt']]]);
    expect(h.providers['sms']!.requests).toEqual([]);
  });
});

describe('Vonage Messages API', () => {
  const UUID = 'aaaaaaaa-bbbb-cccc-dddd-0123456789ab';
  // [reconstructed] A delivered and a rejected status with the documented fields.
  const delivered = `{"message_uuid":"${UUID}","to":"447700900000","from":"447700900001","timestamp":"2020-01-01T14:00:01.000Z","status":"delivered","channel":"viber_service","usage":{"currency":"EUR","price":"0.0333"}}`;
  const rejected = `{"message_uuid":"${UUID}","to":"447700900000","from":"447700900001","timestamp":"2020-01-01T14:00:01.000Z","status":"rejected","channel":"viber_service","error":{"type":"https://developer.vonage.com/api-errors/messages#1240","title":1240,"detail":"Invalid recipient","instance":"bf0ca0bf927b3b52e3cb03217e1a1ddf"}}`;

  it('submitted is intermediate, delivered ends the cascade billed at the reported price, read is recorded', async () => {
    const h = setup({ viber: messenger([UUID]), sms: sms(['SM1']) }, 'vonage');
    const id = await h.start('vonage-messages', ['viber', 'sms']);
    const receipts = [vonage.submitted, delivered, vonage.read].flatMap((b) => vonageMessagesReceipts(b));
    expect(await h.feed(receipts)).toEqual(['applied viber active', 'applied viber delivered', 'applied viber delivered']);
    const cascade = await h.get(id);
    expect(attempts(cascade)).toEqual([['viber', UUID, 'delivered', ['accepted/send', 'sent/receipt', 'delivered/receipt', 'read/receipt']]]);
    // Billed on delivery at Vonage's price (0.0333), not the projected 0.009.
    expect([cascade?.attempts[0]?.priceMicros, cascade?.spendMicros]).toEqual([33_300, 33_300]);
  });

  it('falls back on undeliverable and on rejected (with its error)', async () => {
    const h = setup({ viber: messenger([UUID, 'bbbbbbbb-cccc-dddd-eeee-0123456789ab']), sms: sms(['SM1', 'SM2']) }, 'vonage');
    const undeliverable = await h.start('vonage-undeliverable', ['viber', 'sms']);
    const reject = await h.start('vonage-rejected', ['viber', 'sms']);
    expect(await h.feed(vonageMessagesReceipts(vonage.undeliverable))).toEqual(['applied viber active']);
    expect(await h.feed(vonageMessagesReceipts(rejected.replace(UUID, 'bbbbbbbb-cccc-dddd-eeee-0123456789ab')))).toEqual(['applied viber active']);
    const [u, r] = [await h.sentStep(undeliverable, 1), await h.sentStep(reject, 1)];
    expect(u.attempts[0]).toMatchObject({ outcome: 'failed', billed: false });
    expect(r.attempts[0]).toMatchObject({ outcome: 'failed', error: { code: '1240', message: 'Invalid recipient' } });
  });
});

describe('Vonage SMS API delivery receipts', () => {
  const ID = '0B00000127FDBC63';
  // [reconstructed] The documented DLR with another status and err-code.
  const dlr = (status: string, errCode = '0') => vonageSms.delivered.replace('"status":"delivered"', `"status":"${status}"`).replace('"err-code":"0"', `"err-code":"${errCode}"`);

  it('accepted and buffered stay intermediate, unknown gives nothing; delivered ends the cascade at the reported price', async () => {
    const h = setup({ sms: sms([ID]), email: email(['unused']) }, 'vonage-sms');
    const id = await h.start('vonage-sms', ['sms', 'email']);
    const receipts = [dlr('accepted'), dlr('buffered'), dlr('unknown', '1'), vonageSms.delivered].flatMap((b) => vonageSmsReceipts(b));
    expect(receipts.map((r) => r.status)).toEqual(['sent', 'sent', 'delivered']);
    expect(await h.feed(receipts)).toEqual(['applied sms active', 'duplicate sms active', 'applied sms delivered']);
    const cascade = await h.get(id);
    expect(attempts(cascade)).toEqual([['sms', ID, 'delivered', ['accepted/send', 'sent/receipt', 'delivered/receipt']]]);
    // SMS bills on submission (0.032 projected), replaced by the price Vonage reported.
    expect(cascade?.spendMicros).toBe(33_300);
  });

  it('reads the DLR as a GET query string too', async () => {
    const h = setup({ sms: sms(['0C0000002EEBDA56']), email: email(['unused']) }, 'vonage-sms');
    const id = await h.start('vonage-sms-get', ['sms', 'email']);
    expect(await h.feed(vonageSmsReceipts(new URLSearchParams(vonageSms.query)))).toEqual(['applied sms delivered']);
    expect((await h.get(id))?.spendMicros).toBe(18_200);
  });

  it('falls back on expired, failed and rejected, each with the meaning of its err-code', async () => {
    const ids = ['0B00000127FDBC63', '0B00000127FDBC64', '0B00000127FDBC65'];
    const h = setup({ sms: sms(ids), email: email(['e1', 'e2', 'e3']) }, 'vonage-sms');
    const cascades = [await h.start('vonage-expired', ['sms', 'email']), await h.start('vonage-failed', ['sms', 'email']), await h.start('vonage-rejected', ['sms', 'email'])];
    const bodies = [dlr('expired', '2'), dlr('failed', '9').replace(ids[0]!, ids[1]!), dlr('rejected', '6').replace(ids[0]!, ids[2]!)];
    expect(await h.feed(bodies.flatMap((b) => vonageSmsReceipts(b)))).toEqual(['applied sms active', 'applied sms active', 'applied sms active']);
    const errors = [];
    for (const id of cascades) errors.push((await h.sentStep(id, 1)).attempts[0]?.error);
    expect(errors).toEqual([
      { code: '2', message: 'Absent Subscriber - Temporary', fault: 'recipient' },
      { code: '9', message: 'Illegal Number', fault: 'recipient' },
      { code: '6', message: 'Anti-Spam Rejection', fault: 'provider' },
    ]);
  });
});

describe('Infobip delivery reports', () => {
  const ID = 'MESSAGE-ID-123-xyz';
  const report = JSON.parse(infobip.sms) as { results: Record<string, unknown>[] };
  const result = (status: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({ ...report.results[0], status, ...extra });
  // Documented status objects (message-status-codes); [reconstructed] into the SDK sample.
  const toOperator = { groupId: 3, groupName: 'DELIVERED', id: 2, name: 'DELIVERED_TO_OPERATOR', description: 'Message delivered to operator' };
  const toHandset = { groupId: 3, groupName: 'DELIVERED', id: 5, name: 'DELIVERED_TO_HANDSET', description: 'Message delivered to handset' };
  const pending = { groupId: 1, groupName: 'PENDING', id: 26, name: 'PENDING_ACCEPTED', description: 'Message sent to next instance' };
  const undeliverable = { groupId: 2, groupName: 'UNDELIVERABLE', id: 9, name: 'UNDELIVERABLE_NOT_DELIVERED', description: 'Message sent not delivered' };
  const expired = { groupId: 4, groupName: 'EXPIRED', id: 15, name: 'EXPIRED_EXPIRED', description: 'Message expired' };
  const absent = { groupId: 1, groupName: 'HANDSET_ERRORS', id: 27, name: 'EC_ABSENT_SUBSCRIBER', description: 'Absent Subscriber', permanent: false };

  it('DELIVERED_TO_OPERATOR is not final (sent, no fallback); DELIVERED_TO_HANDSET ends the cascade; a repeat is a duplicate', async () => {
    const h = setup({ sms: sms([ID]), email: email(['unused']) }, 'infobip');
    const id = await h.start('infobip-operator', ['sms', 'email']);
    const receipts = [result(toOperator), result(toHandset), result(toHandset)].flatMap((r) => infobipReceipts({ results: [r] }));
    expect(receipts.map((r) => r.status)).toEqual(['sent', 'delivered', 'delivered']);
    expect(await h.feed(receipts.slice(0, 1))).toEqual(['applied sms active']);
    // Four of the five minutes pass on the operator's word: no fallback, no delivery yet.
    await h.clock.advance(4 * MINUTE);
    expect(attempts(await h.get(id))).toEqual([['sms', ID, 'waiting', ['accepted/send', 'sent/receipt']]]);
    expect(h.providers['email']!.requests).toEqual([]);
    expect(await h.feed(receipts.slice(1))).toEqual(['applied sms delivered', 'duplicate sms delivered']);
    const cascade = await h.get(id);
    expect(attempts(cascade)).toEqual([['sms', ID, 'delivered', ['accepted/send', 'sent/receipt', 'delivered/receipt']]]);
    expect(cascade?.spendMicros).toBe(10_000);
  });

  it('reads a batch across three cascades: pending stays, undeliverable and expired fall back at once', async () => {
    const ids = ['2034072219640523072', '2034072219640523073', '2034072219640523074'];
    const h = setup({ sms: sms(ids), email: email(['e1', 'e2']) }, 'infobip');
    const cascades = [];
    for (const key of ['infobip-pending', 'infobip-undeliverable', 'infobip-expired']) cascades.push(await h.start(key, ['sms', 'email']));
    const batch = JSON.stringify({
      results: [
        result(pending, { messageId: ids[0] }),
        result(undeliverable, { messageId: ids[1], error: absent }),
        result(expired, { messageId: ids[2], error: { groupId: 0, groupName: 'OK', id: 0, name: 'NO_ERROR', description: 'No Error', permanent: false } }),
      ],
    });
    expect(await h.feed(infobipReceipts(batch))).toEqual(['applied sms active', 'applied sms active', 'applied sms active']);
    const [p, u, e] = [await h.get(cascades[0]!), await h.sentStep(cascades[1]!, 1), await h.sentStep(cascades[2]!, 1)];
    expect(attempts(p)).toEqual([['sms', ids[0], 'waiting', ['accepted/send', 'sent/receipt']]]);
    expect([u.attempts[0]?.outcome, u.attempts[0]?.error]).toEqual(['failed', { code: 'EC_ABSENT_SUBSCRIBER', message: 'Absent Subscriber', fault: 'recipient' }]);
    expect([e.attempts[0]?.outcome, e.attempts[0]?.error]).toEqual(['failed', { code: 'EXPIRED_EXPIRED', message: 'Message expired' }]);
    expect(h.providers['email']!.requests).toHaveLength(2);
  });

  it('WhatsApp: delivered to handset, then the seen report is recorded as read', async () => {
    const WA = 'fb469d73-d362-463f-b30f-1e959b53badc';
    const h = setup({ whatsapp: messenger([WA]), sms: sms(['SM1']) }, 'infobip');
    const id = await h.start('infobip-whatsapp', ['whatsapp', 'sms']);
    const seen = infobip.seen.replace('1215f543ab19-345f-adbd-12ad31451ed25f35', WA);
    expect(await h.feed([...infobipReceipts(infobip.whatsapp), ...infobipReceipts(seen)])).toEqual(['applied whatsapp delivered', 'applied whatsapp delivered']);
    const cascade = await h.get(id);
    expect(attempts(cascade)).toEqual([['whatsapp', WA, 'delivered', ['accepted/send', 'delivered/receipt', 'read/receipt']]]);
    expect([cascade?.attempts[0]?.priceMicros, cascade?.spendMicros]).toEqual([210_000, 210_000]);
  });
});

describe('Viber REST Bot API', () => {
  const DELIVERED = '5466297578174182639';
  const FAILED = '4912661846655238145';
  // [reconstructed] The captured seen callback for the delivered message's token.
  const seen = viber.seen.replace('5466297467809468529', DELIVERED);

  it('delivered ends the cascade, seen is recorded as read: the 64-bit token matched digit for digit', async () => {
    const h = setup({ viber: messenger([DELIVERED]), sms: sms(['SM1']) }, 'viber');
    const id = await h.start('viber-delivered', ['viber', 'sms']);
    expect(await h.feed([...viberReceipts(viber.delivered), ...viberReceipts(Buffer.from(seen))])).toEqual(['applied viber delivered', 'applied viber delivered']);
    expect(attempts(await h.get(id))).toEqual([['viber', DELIVERED, 'delivered', ['accepted/send', 'delivered/receipt', 'read/receipt']]]);
  });

  it('takes seen before delivered as delivery; the late delivered is stale', async () => {
    const h = setup({ viber: messenger([DELIVERED]), sms: sms(['SM1']) }, 'viber');
    const id = await h.start('viber-seen-first', ['viber', 'sms']);
    expect(await h.feed([...viberReceipts(seen), ...viberReceipts(viber.delivered)])).toEqual(['applied viber delivered', 'stale viber delivered']);
    expect(attempts(await h.get(id))).toEqual([['viber', DELIVERED, 'delivered', ['accepted/send', 'read/receipt']]]);
  });

  it('falls back to SMS on failed; a duplicate failed sends nothing more', async () => {
    const h = setup({ viber: messenger([FAILED]), sms: sms(['SM1']) }, 'viber');
    const id = await h.start('viber-failed', ['viber', 'sms']);
    expect(await h.feed(viberReceipts(viber.failed))).toEqual(['applied viber active']);
    await h.sentStep(id, 1);
    expect(await h.feed(viberReceipts(viber.failed))).toEqual(['duplicate viber active']);
    const cascade = await h.get(id);
    expect(attempts(cascade)).toEqual([
      ['viber', FAILED, 'failed', ['accepted/send', 'failed/receipt']],
      ['sms', 'SM1', 'waiting', ['accepted/send']],
    ]);
    expect(cascade?.attempts[0]?.error).toEqual({ message: 'failure description' });
    expect(h.providers['sms']!.requests).toHaveLength(1);
  });

  it('records a delivered that comes after the timeout fell back to SMS as late; the SMS, not delivered, is not double spend', async () => {
    const h = setup({ viber: messenger([DELIVERED]), sms: sms(['SM1']) }, 'viber');
    const id = await h.start('viber-late', ['viber', 'sms']);
    await h.clock.advance(10 * MINUTE);
    await h.sentStep(id, 1);
    expect(await h.feed(viberReceipts(viber.delivered))).toEqual(['applied viber delivered (late)']);
    const cascade = await h.get(id);
    expect(attempts(cascade)).toEqual([
      ['viber', DELIVERED, 'timeout', ['accepted/send', 'delivered/receipt']],
      ['sms', 'SM1', 'superseded', ['accepted/send']],
    ]);
    expect([cascade?.status, cascade?.deliveredStep, cascade?.spendMicros, cascade?.doubleSpendMicros]).toEqual(['delivered', 0, 41_000, 0]);
    expect(h.log).toEqual([
      'sent viber',
      'fallback viber timeout → sms',
      'sent sms',
      'receipt viber delivered',
      'late-receipt viber delivered double spend 0.00',
      'delivered viber (late)',
    ]);
  });

  it('refuses a parsed body whose token JSON.parse already rounded, and nothing changes', async () => {
    const h = setup({ viber: messenger([DELIVERED]), sms: sms(['SM1']) }, 'viber');
    const id = await h.start('viber-rounded', ['viber', 'sms']);
    const before = await h.get(id);
    expect(() => viberReceipts(JSON.parse(viber.delivered))).toThrow(WebhookError);
    expect(() => viberReceipts(JSON.parse(viber.delivered))).toThrow('`message_token` 5466297578174182000 is beyond 2^53');
    await h.router.settled();
    expect(await h.get(id)).toEqual(before);
  });
});
