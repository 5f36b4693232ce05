// The wiring examples of docs/webhooks.md as real HTTP servers on loopback: signed, real-shaped
// provider callbacks posted with fetch drive real cascades (simulated clock, fake send adapters).
import { createHmac, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  createRouter,
  SimulatedClock,
  type Cascade,
  type ChannelConfig,
  type Message,
  type Recipient,
  type Router,
  type SendRequest,
} from 'cascade-router';
import { ackSignature, createAckApp, receiptlessChannels, type PushPayload } from '../docs/examples/webhooks/app-ack.js';
import { createExpressApp } from '../docs/examples/webhooks/express.js';
import { createFastifyApp } from '../docs/examples/webhooks/fastify.js';
import { createHonoApp } from '../docs/examples/webhooks/hono.js';
import { createNodeServer } from '../docs/examples/webhooks/node-http.js';
import { snsCertificates, type WebhookConfig } from '../docs/examples/webhooks/shared.js';
import { ses, viber } from './receipts/fixtures/samples.js';
import { SNS_TEST_CERT, SNS_TEST_KEY } from './receipts/fixtures/sns-cert.js';

const WAIT = { timeout: 5_000, interval: 2 };
const START = Date.UTC(2026, 0, 8, 9, 0);

// ---------------------------------------------------------------------------------------------------
// Secrets and the provider ids the fake adapters return (real formats: Twilio SM sid, SendGrid
// X-Message-Id, WhatsApp wamid, Viber's 64-bit token as a string, SES message id).

const PUBLIC_ORIGIN = 'https://hooks.example.com';
const TWILIO_TOKEN = '9f2c4e6a8b0d1f3e5a7c9b1d3f5e7a9c';
const TWILIO_ACCOUNT = 'AC3e8f0c2a4b6d8e0f1a3c5e7b9d1f3a5c';
const WHATSAPP_SECRET = '6f1d2c3b4a5e6f7a8b9c0d1e2f3a4b5c';
const WHATSAPP_VERIFY = 'pharmacy-3-verify-7c1e';
const VIBER_TOKEN = '4453b6ac12345678-e02c5f12174805f9-daec9cbb5448c51f';
const TOPIC = 'arn:aws:sns:eu-central-1:123456789012:ses-delivery-events';
const CERT_URL = 'https://sns.eu-central-1.amazonaws.com/SimpleNotificationService-9c6465fa7f48f5cacd23014631ec1136.pem';
const SUBSCRIBE_URL = `https://sns.eu-central-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=${TOPIC}&Token=2336412f37fb687f5d51e6e2425c464dec`;

const SMS_ID = 'SM1342fe1b2c904d1ab04f0fc7a58abca9';
const SENDGRID_ID = 'Lli-03HcQ5-JLybO9fXsJg';
const WAMID = 'wamid.HBgMMzgwNjcxMjM0NTY3FQIAERgSNDVCQjM2QjJDRDc0NUUxNjAwAA==';
const VIBER_ID = '5466297578174182639';
const SES_ID = 'EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000';
const INFOBIP_ID = '2250be2d4219-3af1-78856-aabe-1362af1edfd2';
const INFOBIP_AUTH = { username: 'pharmacy3-dlr', password: 'b1f0c2e4d6a8f0b2c4e6a8d0f2b4c6e8' };
const INFOBIP_BASIC = `Basic ${Buffer.from(`${INFOBIP_AUTH.username}:${INFOBIP_AUTH.password}`).toString('base64')}`;

const sendgridKeys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const strangerKeys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const strangerRsa = generateKeyPairSync('rsa', { modulusLength: 2048 });

// ---------------------------------------------------------------------------------------------------
// A router with one channel per provider and fake adapters that record each send.

class FakeProvider {
  readonly requests: SendRequest[] = [];
  constructor(private readonly id: string) {}
  readonly send = async (request: SendRequest): Promise<string> => {
    this.requests.push(request);
    return this.id;
  };
}

function providers() {
  return {
    sendgrid: new FakeProvider(SENDGRID_ID),
    ses: new FakeProvider(SES_ID),
    whatsapp: new FakeProvider(WAMID),
    viber: new FakeProvider(VIBER_ID),
    sms: new FakeProvider(SMS_ID),
    infobip: new FakeProvider(INFOBIP_ID),
  };
}
type Providers = ReturnType<typeof providers>;

// Each channel declares the provider whose normalizer feeds it: a receipt applies only to its own provider's attempts.
function channels(p: Providers): Record<string, ChannelConfig> {
  return {
    sendgrid: { kind: 'email', provider: 'sendgrid', cost: 0.0008, send: p.sendgrid.send, confirm: { timeout: '1h' } },
    ses: { kind: 'email', provider: 'ses', cost: 0.0001, send: p.ses.send, confirm: { timeout: '1h' } },
    whatsapp: { kind: 'messenger', provider: 'whatsapp', cost: 0.009, billing: 'delivered', send: p.whatsapp.send, confirm: { timeout: '10m' } },
    viber: { kind: 'messenger', provider: 'viber', cost: 0.012, billing: 'delivered', send: p.viber.send, confirm: { timeout: '10m' } },
    sms: { kind: 'sms', provider: 'twilio', cost: 0.032, send: p.sms.send, confirm: { timeout: '5m' } },
    infobip: { kind: 'sms', provider: 'infobip', cost: 0.028, send: p.infobip.send, confirm: { timeout: '5m' } },
  };
}

const olena: Recipient = {
  id: 'olena',
  addresses: {
    sendgrid: 'olena@example.com',
    ses: 'olena@example.com',
    whatsapp: '380671234567',
    viber: '3SQNc4FPUQmysaM/AQEhXg==',
    sms: '+380671234567',
    infobip: '+380671234567',
  },
};

function orderReady(key: string, order: readonly string[]): Message {
  return {
    key,
    category: 'transactional',
    channels: order,
    policy: { order: 'message' },
    content: { subject: 'Your order is ready', text: 'Order 1042 is ready for pickup at Pharmacy 3 until 20:00.' },
  };
}

/** The router's events as one line each, in the order they were emitted. */
function eventLog(router: Router): string[] {
  const log: string[] = [];
  router.on('sent', (e) => log.push(`sent ${e.channel} ${e.providerMessageId}`));
  router.on('receipt', (e) => log.push(`receipt ${e.channel} ${e.status}`));
  router.on('fallback', (e) => log.push(`fallback ${e.channel} ${e.reason} → ${e.next ?? 'none'}`));
  router.on('delivered', (e) => log.push(`delivered ${e.channel}${e.late ? ' (late)' : ''}`));
  router.on('late-receipt', (e) => log.push(`late-receipt ${e.channel} ${e.status}`));
  router.on('exhausted', () => log.push('exhausted'));
  router.on('error', (e) => log.push(`error ${e.during} ${e.error.message}`));
  return log;
}

/** Each attempt as [channel, provider id, outcome or state, status history]. */
function attempts(cascade: Cascade | undefined): [string, string | undefined, string, string[]][] {
  return (cascade?.attempts ?? []).map((a) => [a.channel, a.providerMessageId, a.outcome ?? a.phase, a.history.map((h) => `${h.status}/${h.source}`)]);
}

/** Waits (bounded) until the step's send has returned its provider id and the router recorded it. */
async function sentStep(router: Router, cascadeId: string, step: number): Promise<Cascade> {
  return vi.waitFor(async () => {
    const cascade = await router.get(cascadeId);
    if (cascade?.attempts[step]?.providerMessageId === undefined) throw new Error(`step ${step} of ${cascadeId} has not been sent yet`);
    return cascade;
  }, WAIT);
}

// ---------------------------------------------------------------------------------------------------
// Real-shaped, correctly signed provider callbacks.

function twilioForm(sid: string, status: string, extra: Record<string, string> = {}): string {
  return new URLSearchParams({
    ApiVersion: '2010-04-01',
    AccountSid: TWILIO_ACCOUNT,
    From: '+15017250604',
    To: '+380671234567',
    MessageSid: sid,
    MessageStatus: status,
    SmsSid: sid,
    SmsStatus: status,
    ...extra,
  }).toString();
}

/** X-Twilio-Signature: base64 HMAC-SHA1 over the URL and the sorted `name + value` pairs. */
function twilioSignature(url: string, form: string, token = TWILIO_TOKEN): string {
  const pairs = [...new URLSearchParams(form)].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return createHmac('sha1', token).update(url + pairs.map(([k, v]) => k + v).join('')).digest('base64');
}

const TWILIO_PATH = '/webhooks/twilio?shop=kyiv-3';

function twilioHeaders(form: string, signature = twilioSignature(PUBLIC_ORIGIN + TWILIO_PATH, form)): Record<string, string> {
  return { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signature, 'i-twilio-idempotency-token': 'a0b1c2d3' };
}

function sendgridEvent(event: string, at: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    email: 'olena@example.com',
    timestamp: at,
    'smtp-id': `<${SENDGRID_ID}@ismtpd0006p1sjc2.sendgrid.net>`,
    event,
    category: ['order-ready'],
    sg_event_id: `${event}-${at}-ZyjAM5rnQmuI1KFInHQ3Nw`,
    sg_message_id: `${SENDGRID_ID}.filter0077p1las1.21536.5717FC482.0`,
    ...extra,
  };
}

/** The Signed Event Webhook headers: ECDSA P-256 over the timestamp followed by the raw body. */
function sendgridHeaders(body: string, timestamp = Math.floor(Date.now() / 1000), key: KeyObject = sendgridKeys.privateKey): Record<string, string> {
  return {
    'content-type': 'application/json',
    'x-twilio-email-event-webhook-timestamp': String(timestamp),
    'x-twilio-email-event-webhook-signature': sign('sha256', Buffer.from(`${timestamp}${body}`), key).toString('base64'),
  };
}

function whatsappBody(statuses: readonly Record<string, unknown>[]): string {
  return JSON.stringify({
    object: 'whatsapp_business_account',
    entry: [
      {
        id: '102290129340398',
        changes: [
          {
            value: { messaging_product: 'whatsapp', metadata: { display_phone_number: '15550783881', phone_number_id: '106540352242922' }, statuses },
            field: 'messages',
          },
        ],
      },
    ],
  });
}

function whatsappStatus(status: string, timestamp: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { id: WAMID, status, timestamp: String(timestamp), recipient_id: '380671234567', ...extra };
}

function hmacHeaders(name: string, secret: string, body: string, prefix = ''): Record<string, string> {
  return { 'content-type': 'application/json', [name]: prefix + createHmac('sha256', secret).update(body).digest('hex') };
}

const whatsappHeaders = (body: string, secret = WHATSAPP_SECRET) => hmacHeaders('x-hub-signature-256', secret, body, 'sha256=');
const viberHeaders = (body: string, token = VIBER_TOKEN) => hmacHeaders('x-viber-content-signature', token, body);

const SNS_SIGNED: Record<string, readonly string[]> = {
  Notification: ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type'],
  SubscriptionConfirmation: ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'],
};

/** An SNS message signed the way SNS does (SignatureVersion 2: SHA256withRSA over "Key\nValue\n" pairs). */
function snsBody(message: Record<string, string>, options: { key?: KeyObject | string; certUrl?: string } = {}): string {
  const canonical = (SNS_SIGNED[message['Type'] ?? ''] ?? []).filter((k) => k in message).map((k) => `${k}\n${message[k]}\n`).join('');
  const signature = sign('sha256', Buffer.from(canonical), options.key ?? SNS_TEST_KEY).toString('base64');
  return JSON.stringify({ ...message, SignatureVersion: '2', Signature: signature, SigningCertURL: options.certUrl ?? CERT_URL });
}

function snsSubscription(timestamp = new Date().toISOString(), topic = TOPIC): Record<string, string> {
  return {
    Type: 'SubscriptionConfirmation',
    MessageId: '165545c9-2a5c-472c-8df2-7ff2be2b3b1b',
    Token: '2336412f37fb687f5d51e6e2425c464dec',
    TopicArn: topic,
    Message: `You have chosen to subscribe to the topic ${topic}.\nTo confirm the subscription, visit the SubscribeURL included in this message.`,
    SubscribeURL: SUBSCRIBE_URL,
    Timestamp: timestamp,
  };
}

function snsNotification(sesEvent: string, timestamp = new Date().toISOString()): Record<string, string> {
  return {
    Type: 'Notification',
    MessageId: '19ba9823-d7f2-53c1-860e-cb10e0d13dfc',
    TopicArn: TOPIC,
    Subject: 'Amazon SES Email Event Notification',
    Message: sesEvent,
    Timestamp: timestamp,
  };
}

const SNS_HEADERS = { 'content-type': 'text/plain; charset=UTF-8', 'x-amz-sns-message-type': 'Notification' };

// ---------------------------------------------------------------------------------------------------
// The four framework examples, each started on 127.0.0.1 with an ephemeral port.

interface Running {
  readonly base: string;
  close(): Promise<void>;
}

async function listen(server: Server): Promise<Running> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

const frameworks: [string, (router: Router, config: WebhookConfig) => Promise<Running>][] = [
  ['Express', (router, config) => listen(createServer(createExpressApp(router, config)))],
  [
    'Fastify',
    async (router, config) => {
      const app = createFastifyApp(router, config);
      const base = await app.listen({ port: 0, host: '127.0.0.1' });
      return { base, close: () => app.close() };
    },
  ],
  ['Hono', (router, config) => listen(createAdaptorServer({ fetch: createHonoApp(router, config).fetch }) as Server)],
  ['Node http', (router, config) => listen(createNodeServer(router, config))],
];

interface Answer {
  readonly status: number;
  readonly text: string;
}

describe.each(frameworks)('webhooks on %s', (_name, start) => {
  let router: Router;
  let clock: SimulatedClock;
  let fake: Providers;
  let log: string[];
  let server: Running;
  let certificateUrls: string[];
  let confirmed: string[];
  let unknown: string[];

  beforeEach(async () => {
    clock = new SimulatedClock(START);
    fake = providers();
    router = createRouter({ clock, channels: channels(fake) });
    log = eventLog(router);
    certificateUrls = [];
    confirmed = [];
    unknown = [];
    server = await start(router, {
      publicOrigin: PUBLIC_ORIGIN,
      twilio: { authToken: TWILIO_TOKEN },
      sendgrid: { publicKey: sendgridKeys.publicKey.export({ format: 'der', type: 'spki' }).toString('base64') },
      whatsapp: { appSecret: WHATSAPP_SECRET, verifyToken: WHATSAPP_VERIFY },
      viber: { authToken: VIBER_TOKEN },
      sns: {
        topicArns: [TOPIC],
        getCertificate: async (url) => {
          certificateUrls.push(url);
          return SNS_TEST_CERT;
        },
        confirmSubscription: async (url) => void confirmed.push(url),
      },
      infobip: [{ username: 'old-dlr-user', password: 'rotated-out-password' }, INFOBIP_AUTH],
      onUnknown: (error) => void unknown.push(`${error.provider} ${error.field} ${error.status} ${error.providerMessageId ?? '-'}`),
    });
  });

  afterEach(async () => {
    await server.close();
    await router.close();
  });

  async function post(path: string, body: string, headers: Record<string, string>): Promise<Answer> {
    const response = await fetch(server.base + path, { method: 'POST', headers, body });
    return { status: response.status, text: await response.text() };
  }

  async function get(path: string): Promise<Answer> {
    const response = await fetch(server.base + path);
    return { status: response.status, text: await response.text() };
  }

  async function sendOrder(key: string, order: readonly string[]): Promise<string> {
    const { cascadeId } = await router.send(orderReady(key, order), olena);
    await sentStep(router, cascadeId, 0);
    return cascadeId;
  }

  it('a SendGrid bounce in a signed batch falls back to SMS; Twilio delivered, arriving before sent, ends the cascade', async () => {
    const id = await sendOrder('order-1042:sendgrid', ['sendgrid', 'sms']);
    const at = Math.floor(Date.now() / 1000);
    const batch = JSON.stringify([
      sendgridEvent('processed', at),
      sendgridEvent('deferred', at + 2, { response: '421 4.7.0 Try again later', attempt: '1' }),
      sendgridEvent('bounce', at + 9, { type: 'bounce', status: '5.1.1', reason: '550 5.1.1 The email account that you tried to reach does not exist.' }),
    ]);
    expect(await post('/webhooks/sendgrid', batch, sendgridHeaders(batch))).toEqual({ status: 200, text: '' });
    await sentStep(router, id, 1);

    const delivered = twilioForm(SMS_ID, 'delivered', { RawDlrDoneDate: '2601081102' });
    const sent = twilioForm(SMS_ID, 'sent');
    expect(await post(TWILIO_PATH, delivered, twilioHeaders(delivered))).toEqual({ status: 200, text: '' });
    expect(await post(TWILIO_PATH, sent, twilioHeaders(sent))).toEqual({ status: 200, text: '' });
    // Twilio signs no timestamp: a verbatim replay authenticates, and the router takes it as a duplicate.
    const before = await router.get(id);
    expect(await post(TWILIO_PATH, delivered, twilioHeaders(delivered))).toEqual({ status: 200, text: '' });
    expect(await router.get(id)).toEqual(before);

    const cascade = await router.get(id);
    expect(cascade?.status).toBe('delivered');
    expect(attempts(cascade)).toEqual([
      ['sendgrid', SENDGRID_ID, 'failed', ['accepted/send', 'failed/receipt']],
      ['sms', SMS_ID, 'delivered', ['accepted/send', 'delivered/receipt']],
    ]);
    expect(cascade?.attempts[0]?.error).toEqual({ code: 'bounce/5.1.1', message: '550 5.1.1 The email account that you tried to reach does not exist.', fault: 'recipient' });
    expect(cascade?.attempts[0]?.history[1]?.at).toBe((at + 9) * 1000);
    expect(log).toEqual([
      `sent sendgrid ${SENDGRID_ID}`,
      'receipt sendgrid failed',
      'fallback sendgrid failed → sms',
      `sent sms ${SMS_ID}`,
      'receipt sms delivered',
      'delivered sms',
    ]);
    expect([fake.sendgrid.requests.length, fake.sms.requests.length]).toEqual([1, 1]);
    expect(fake.sms.requests[0]?.address).toBe('+380671234567');
  });

  it('WhatsApp sent, delivered and read in one signed batch end the cascade on WhatsApp; no SMS is sent', async () => {
    const id = await sendOrder('order-1042:whatsapp', ['whatsapp', 'sms']);
    const body = whatsappBody([
      whatsappStatus('sent', 1767862805, { pricing: { billable: true, pricing_model: 'PMP', type: 'regular', category: 'utility' } }),
      whatsappStatus('delivered', 1767862806),
      whatsappStatus('read', 1767862860),
    ]);
    expect(await post('/webhooks/whatsapp', body, whatsappHeaders(body))).toEqual({ status: 200, text: '' });
    // Meta retries and duplicates: the same batch again changes nothing.
    const before = await router.get(id);
    expect(await post('/webhooks/whatsapp', body, whatsappHeaders(body))).toEqual({ status: 200, text: '' });
    expect(await router.get(id)).toEqual(before);
    await router.settled();

    const cascade = await router.get(id);
    expect(cascade?.status).toBe('delivered');
    expect(attempts(cascade)).toEqual([['whatsapp', WAMID, 'delivered', ['accepted/send', 'sent/receipt', 'delivered/receipt', 'read/receipt']]]);
    expect(cascade?.attempts[0]?.history.map((h) => h.at)).toEqual([START, 1767862805_000, 1767862806_000, 1767862860_000]);
    expect(cascade?.attempts[0]?.status).toBe('read');
    expect(cascade?.spendMicros).toBe(9_000);
    expect(log).toEqual([`sent whatsapp ${WAMID}`, 'receipt whatsapp sent', 'receipt whatsapp delivered', 'delivered whatsapp', 'receipt whatsapp read']);
    expect(fake.sms.requests).toEqual([]);
  });

  it('reads a Viber token beyond 2^53 digit for digit: a failure for a token that JSON.parse rounds the same changes nothing', async () => {
    const id = await sendOrder('order-1042:viber', ['viber', 'sms']);
    expect(Number('5466297578174182640')).toBe(Number(VIBER_ID));
    const otherFailed = '{"event":"failed","timestamp":1767862810000,"chat_hostname":"SN-CHAT-02_","message_token":5466297578174182640,"user_id":"01234567890A=","desc":"failure description"}';
    expect(await post('/webhooks/viber', otherFailed, viberHeaders(otherFailed))).toEqual({ status: 200, text: '' });
    expect(attempts(await router.get(id))).toEqual([['viber', VIBER_ID, 'waiting', ['accepted/send']]]);

    // The captured delivered callback, verbatim: token 5466297578174182639.
    expect(await post('/webhooks/viber', viber.delivered, viberHeaders(viber.delivered))).toEqual({ status: 200, text: '' });
    await router.settled();
    const cascade = await router.get(id);
    expect(cascade?.status).toBe('delivered');
    expect(attempts(cascade)).toEqual([['viber', VIBER_ID, 'delivered', ['accepted/send', 'delivered/receipt']]]);
    expect(cascade?.attempts[0]?.history[1]?.at).toBe(1595324677891);
    expect(log).toEqual([`sent viber ${VIBER_ID}`, 'receipt viber delivered', 'delivered viber']);
    expect(fake.sms.requests).toEqual([]);
  });

  it('confirms an SNS subscription only once its signature and topic check out; a signed SES delivery then ends the cascade', async () => {
    expect(await post('/webhooks/ses', snsBody(snsSubscription()), SNS_HEADERS)).toEqual({ status: 200, text: '' });
    expect(confirmed).toEqual([SUBSCRIBE_URL]);
    expect(certificateUrls).toEqual([CERT_URL]);

    const forged = snsBody(snsSubscription(), { key: strangerRsa.privateKey });
    expect(await post('/webhooks/ses', forged, SNS_HEADERS)).toEqual({ status: 403, text: 'sns: The SNS `Signature` does not match the message' });
    const otherTopic = snsBody(snsSubscription(undefined, 'arn:aws:sns:eu-central-1:210987654321:attacker'));
    expect(await post('/webhooks/ses', otherTopic, SNS_HEADERS)).toEqual({
      status: 403,
      text: 'sns: The topic "arn:aws:sns:eu-central-1:210987654321:attacker" is not one of `topicArns`',
    });
    const foreignCert = snsBody(snsSubscription(), { certUrl: 'https://sns.eu-central-1.amazonaws.com.evil.example/cert.pem' });
    expect(await post('/webhooks/ses', foreignCert, SNS_HEADERS)).toEqual({
      status: 403,
      text: 'sns: The `SigningCertURL` "https://sns.eu-central-1.amazonaws.com.evil.example/cert.pem" is not an https .pem URL on an sns.<region>.amazonaws.com host',
    });
    expect(confirmed).toEqual([SUBSCRIBE_URL]);
    expect(certificateUrls).toEqual([CERT_URL, CERT_URL]);

    const id = await sendOrder('order-1042:ses', ['ses', 'sms']);
    expect(await post('/webhooks/ses', snsBody(snsNotification(ses.delivery)), SNS_HEADERS)).toEqual({ status: 200, text: '' });
    await router.settled();
    const cascade = await router.get(id);
    expect(cascade?.status).toBe('delivered');
    expect(attempts(cascade)).toEqual([['ses', SES_ID, 'delivered', ['accepted/send', 'delivered/receipt']]]);
    expect(cascade?.attempts[0]?.history[1]?.at).toBe(Date.parse('2016-10-19T23:21:04.133Z'));
    expect(fake.sms.requests).toEqual([]);
  });

  it('checks Infobip\'s Basic auth before reading the body: an unauthenticated 1 MB body is a 401, never a 413 or a 400', async () => {
    const id = await sendOrder('order-1050:infobip', ['infobip', 'sms']);
    const report = (messageId: string) => ({
      messageId,
      to: '380671234567',
      sentAt: '2026-01-08T09:00:01.000+0000',
      doneAt: '2026-01-08T09:00:04.000+0000',
      price: { pricePerMessage: 0.028, currency: 'EUR' },
      status: { groupId: 3, groupName: 'DELIVERED', id: 5, name: 'DELIVERED_TO_HANDSET', description: 'Message delivered to handset' },
      error: { groupId: 0, groupName: 'OK', id: 0, name: 'NO_ERROR', description: 'No Error', permanent: false },
    });
    const json = { 'content-type': 'application/json' };
    const huge = `{"results":[${'9'.repeat(1024 * 1024)}]}`;
    expect(await post('/webhooks/infobip', huge, json)).toEqual({ status: 401, text: 'infobip: Missing the `Authorization` header: the request is not signed' });
    const wrong = `Basic ${Buffer.from('pharmacy3-dlr:guessed').toString('base64')}`;
    expect(await post('/webhooks/infobip', huge, { ...json, authorization: wrong })).toEqual({ status: 403, text: 'infobip: The Basic auth credentials are not the configured ones' });
    // Authenticated, a batch over Infobip's 100 results is refused before any result is read.
    const tooMany = JSON.stringify({ results: Array.from({ length: 101 }, () => report(INFOBIP_ID)) });
    expect(await post('/webhooks/infobip', tooMany, { ...json, authorization: INFOBIP_BASIC })).toEqual({
      status: 400,
      text: "infobip: Expected `results` to hold at most 100 events (Infobip's batch size, `maxResults`), got 101",
    });
    expect(attempts(await router.get(id))).toEqual([['infobip', INFOBIP_ID, 'waiting', ['accepted/send']]]);
    const body = JSON.stringify({ results: [report(INFOBIP_ID)] });
    expect(await post('/webhooks/infobip', body, { ...json, authorization: INFOBIP_BASIC })).toEqual({ status: 200, text: '' });
    await router.settled();
    const cascade = await router.get(id);
    expect(attempts(cascade)).toEqual([['infobip', INFOBIP_ID, 'delivered', ['accepted/send', 'delivered/receipt']]]);
    expect(cascade?.spendMicros).toBe(28_000);
    expect(fake.sms.requests).toEqual([]);
  });

  it("answers Meta's verification GET with the challenge, and a wrong or missing verify token with 403/401", async () => {
    const query = (token: string) => `/webhooks/whatsapp?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=${token}`;
    expect(await get(query(WHATSAPP_VERIFY))).toEqual({ status: 200, text: '1158201444' });
    expect(await get(query('guessed'))).toEqual({ status: 403, text: 'whatsapp: The `hub.verify_token` is not the configured verify token' });
    expect(await get('/webhooks/whatsapp?hub.mode=subscribe&hub.challenge=1158201444')).toEqual({
      status: 401,
      text: 'whatsapp: Expected `hub.mode=subscribe`, `hub.verify_token` and `hub.challenge` query parameters',
    });
  });

  it('refuses forged, tampered and replayed callbacks with 401/403, and nothing changes', async () => {
    const ids = [
      await sendOrder('order-1042:sms', ['sms', 'sendgrid']),
      await sendOrder('order-1043:sendgrid', ['sendgrid', 'sms']),
      await sendOrder('order-1044:whatsapp', ['whatsapp', 'sms']),
      await sendOrder('order-1045:viber', ['viber', 'sms']),
      await sendOrder('order-1046:ses', ['ses', 'sms']),
    ];
    const before = await Promise.all(ids.map((id) => router.get(id)));
    const logged = log.length;

    // A forged "delivered" would stop a cascade; a forged "failed" would make us pay for an SMS.
    const delivered = twilioForm(SMS_ID, 'delivered');
    const undelivered = twilioForm(SMS_ID, 'undelivered', { ErrorCode: '30003' });
    const twilioMismatch = { status: 403, text: 'twilio: The `X-Twilio-Signature` does not match the URL and parameters' };
    expect(await post(TWILIO_PATH, delivered, twilioHeaders(delivered, twilioSignature(PUBLIC_ORIGIN + TWILIO_PATH, delivered, 'another-auth-token')))).toEqual(twilioMismatch);
    expect(await post(TWILIO_PATH, delivered, twilioHeaders(delivered, twilioSignature(PUBLIC_ORIGIN + TWILIO_PATH, undelivered)))).toEqual(twilioMismatch);
    // Signed for another URL (the internal one, or another endpoint): Twilio signs the public URL.
    expect(await post(TWILIO_PATH, delivered, twilioHeaders(delivered, twilioSignature(server.base + TWILIO_PATH, delivered)))).toEqual(twilioMismatch);
    expect(await post('/webhooks/twilio?shop=kyiv-4', delivered, twilioHeaders(delivered))).toEqual(twilioMismatch);
    expect(await post(TWILIO_PATH, delivered, { 'content-type': 'application/x-www-form-urlencoded' })).toEqual({
      status: 401,
      text: 'twilio: Missing the `X-Twilio-Signature` header: the request is not signed',
    });

    const now = Math.floor(Date.now() / 1000);
    const bounce = JSON.stringify([sendgridEvent('bounce', now, { type: 'bounce', status: '5.1.1', reason: '550 5.1.1 No such user' })]);
    const sendgridDelivered = JSON.stringify([sendgridEvent('delivered', now, { response: '250 2.0.0 OK' })]);
    const sendgridMismatch = { status: 403, text: 'sendgrid: The `X-Twilio-Email-Event-Webhook-Signature` does not match the timestamp and body' };
    expect(await post('/webhooks/sendgrid', sendgridDelivered, sendgridHeaders(sendgridDelivered, now, strangerKeys.privateKey))).toEqual(sendgridMismatch);
    expect(await post('/webhooks/sendgrid', sendgridDelivered, sendgridHeaders(bounce))).toEqual(sendgridMismatch);
    const signed = sendgridHeaders(bounce, now);
    expect(await post('/webhooks/sendgrid', bounce, { ...signed, 'x-twilio-email-event-webhook-timestamp': String(now + 1) })).toEqual(sendgridMismatch);
    // A genuine request captured 25 hours ago and replayed: beyond SendGrid's 24 hours of retries.
    const old = now - 25 * 3600;
    const replay = await post('/webhooks/sendgrid', bounce, sendgridHeaders(bounce, old));
    expect(replay.status).toBe(403);
    expect(replay.text).toMatch(
      new RegExp(`^sendgrid: The signed timestamp ${new Date(old * 1000).toISOString()} is 9000[01]s old, outside the 86700s replay window$`),
    );
    expect(await post('/webhooks/sendgrid', bounce, { 'content-type': 'application/json' })).toEqual({
      status: 401,
      text: 'sendgrid: Missing the `X-Twilio-Email-Event-Webhook-Signature` header: the request is not signed',
    });

    const waFailed = whatsappBody([whatsappStatus('failed', 1767862805, { errors: [{ code: 131049, title: 'This message was not delivered to maintain healthy ecosystem engagement.' }] })]);
    const waDelivered = whatsappBody([whatsappStatus('delivered', 1767862805)]);
    const waMismatch = { status: 403, text: 'whatsapp: The `X-Hub-Signature-256` does not match the body' };
    expect(await post('/webhooks/whatsapp', waFailed, whatsappHeaders(waFailed, 'another-app-secret'))).toEqual(waMismatch);
    expect(await post('/webhooks/whatsapp', waFailed, whatsappHeaders(waDelivered))).toEqual(waMismatch);
    expect(await post('/webhooks/whatsapp', waFailed, { 'content-type': 'application/json', 'x-hub-signature': 'sha1=0a1b2c' })).toEqual({
      status: 401,
      text: 'whatsapp: Missing the `X-Hub-Signature-256` header: the request is not signed',
    });
    expect(await post('/webhooks/whatsapp', waFailed, { 'content-type': 'application/json', 'x-hub-signature-256': 'sha256=beef' })).toEqual({
      status: 403,
      text: 'whatsapp: Expected `X-Hub-Signature-256` to be "sha256=" and 64 hex digits',
    });

    const viberFailed = viber.failed.replace('4912661846655238145', VIBER_ID);
    const viberMismatch = { status: 403, text: 'viber: The `X-Viber-Content-Signature` does not match the body' };
    expect(await post('/webhooks/viber', viberFailed, viberHeaders(viberFailed, 'another-bot-token'))).toEqual(viberMismatch);
    expect(await post('/webhooks/viber', viberFailed, viberHeaders(viber.failed))).toEqual(viberMismatch);
    expect(await post('/webhooks/viber', viberFailed, { 'content-type': 'application/json' })).toEqual({
      status: 401,
      text: 'viber: Missing the `X-Viber-Content-Signature` header: the request is not signed',
    });

    const sesBounce = snsNotification(ses.bounce);
    expect(await post('/webhooks/ses', snsBody(sesBounce, { key: strangerRsa.privateKey }), SNS_HEADERS)).toEqual({
      status: 403,
      text: 'sns: The SNS `Signature` does not match the message',
    });
    const tampered = JSON.parse(snsBody(snsNotification(ses.delivery))) as Record<string, string>;
    expect(await post('/webhooks/ses', JSON.stringify({ ...tampered, Message: ses.bounce }), SNS_HEADERS)).toEqual({
      status: 403,
      text: 'sns: The SNS `Signature` does not match the message',
    });
    // SNS retries for at most an hour with the original Timestamp: two hours is a replay.
    const stale = await post('/webhooks/ses', snsBody(snsNotification(ses.bounce, new Date(Date.now() - 7_200_000).toISOString())), SNS_HEADERS);
    expect(stale.status).toBe(403);
    expect(stale.text).toMatch(/^sns: The signed timestamp \S+ is 720[01]s old, outside the 3900s replay window$/);

    await router.settled();
    expect(await Promise.all(ids.map((id) => router.get(id)))).toEqual(before);
    expect(log.length).toBe(logged);
    expect(Object.values(fake).map((p) => p.requests.length)).toEqual([1, 1, 1, 1, 1, 0]);
    expect(confirmed).toEqual([]);
  });

  it('answers correctly signed but malformed bodies with 400, and nothing changes; an unknown status is reported, not refused', async () => {
    const id = await sendOrder('order-1047:sms', ['sms', 'whatsapp']);
    const before = await router.get(id);
    const logged = log.length;

    const noStatus = new URLSearchParams({ AccountSid: TWILIO_ACCOUNT, MessageSid: SMS_ID, SmsSid: SMS_ID }).toString();
    expect(await post(TWILIO_PATH, noStatus, twilioHeaders(noStatus))).toEqual({
      status: 400,
      text: 'twilio: Expected `MessageStatus` to be a string, got undefined',
    });
    // A status this library does not know: answered 200 (a 4xx would be retried for nothing) and reported.
    const bogus = twilioForm(SMS_ID, 'bogus');
    expect(await post(TWILIO_PATH, bogus, twilioHeaders(bogus))).toEqual({ status: 200, text: '' });
    const notJson = '[{"event":"delivered",';
    expect(await post('/webhooks/sendgrid', notJson, sendgridHeaders(notJson))).toEqual({
      status: 400,
      text: 'sendgrid: Expected `body` to be JSON, got "[{\\"event\\":\\"delivered\\","',
    });
    // One unknown status in a batch does not lose the rest: the delivered is taken (its wamid matches no step
    // sent yet, so the router holds it), the `deleted` is reported.
    const deleted = whatsappBody([whatsappStatus('delivered', 1767862805), whatsappStatus('deleted', 1767862806)]);
    expect(await post('/webhooks/whatsapp', deleted, whatsappHeaders(deleted))).toEqual({ status: 200, text: '' });
    expect(unknown).toEqual([
      `twilio MessageStatus bogus ${SMS_ID}`,
      `whatsapp entry[0].changes[0].value.statuses[1].status deleted ${WAMID}`,
    ]);
    const noToken = '{"event":"delivered","timestamp":1767862810000,"chat_hostname":"SN-CHAT-02_","user_id":"3SQNc4FPUQmysaM/AQEhXg=="}';
    expect(await post('/webhooks/viber', noToken, viberHeaders(noToken))).toEqual({
      status: 400,
      text: 'viber: Expected `message_token` to be a non-negative integer, got undefined',
    });
    expect(await post('/webhooks/ses', snsBody(snsNotification('{"eventType":"Delivery"')), SNS_HEADERS)).toEqual({
      status: 400,
      text: 'ses: Expected `Message` to be a JSON string, got "{\\"eventType\\":\\"Delivery\\""',
    });

    await router.settled();
    expect(await router.get(id)).toEqual(before);
    expect(log.length).toBe(logged);
  });
});

// ---------------------------------------------------------------------------------------------------
// Channels without receipts: Telegram confirmed by acceptance, push confirmed by the app's ack.

describe('channels without receipts: Telegram by acceptance, push by the app’s acknowledgement', () => {
  const ACK_SECRET = 'b7e1c3a5d9f2e4a6c8b0d2f4a6c8e0b2';
  const SESSIONS = new Map([
    ['Bearer session-olena', 'olena'],
    ['Bearer session-taras', 'taras'],
  ]);
  const BLOCKED_CHAT = '987654321';
  const FLAKY_CHAT = '555000111';

  let router: Router;
  let clock: SimulatedClock;
  let log: string[];
  let pushes: { token: string; payload: PushPayload }[];
  let sms: FakeProvider;
  let telegramCalls: { path: string; body: { chat_id: string; text: string } }[];
  let telegramApi: Running;
  let app: Running;

  async function readJson(req: IncomingMessage): Promise<{ chat_id: string; text: string }> {
    let text = '';
    for await (const chunk of req) text += String(chunk);
    return JSON.parse(text) as { chat_id: string; text: string };
  }

  beforeEach(async () => {
    // A stand-in for the Telegram Bot API, answering as it does for a sent message and a blocked bot.
    telegramCalls = [];
    telegramApi = await listen(
      createServer((req, res) => {
        void readJson(req).then((body) => {
          telegramCalls.push({ path: req.url ?? '', body });
          const json = { 'content-type': 'application/json' };
          if (body.chat_id === FLAKY_CHAT && telegramCalls.filter((c) => c.body.chat_id === FLAKY_CHAT).length === 1) {
            req.socket.destroy();
            return;
          }
          if (body.chat_id === BLOCKED_CHAT) {
            res.writeHead(403, json).end('{"ok":false,"error_code":403,"description":"Forbidden: bot was blocked by the user"}');
            return;
          }
          const chat = { id: Number(body.chat_id), first_name: 'Olena', type: 'private' };
          const from = { id: 7000000001, is_bot: true, first_name: 'Pharmacy 3', username: 'pharmacy3_bot' };
          res.writeHead(200, json).end(JSON.stringify({ ok: true, result: { message_id: 4512, from, chat, date: 1767862800, text: body.text } }));
        });
      }),
    );
    clock = new SimulatedClock(START);
    pushes = [];
    sms = new FakeProvider(SMS_ID);
    const receiptless = receiptlessChannels({
      push: async (token, payload) => {
        pushes.push({ token, payload });
        return 'projects/pharmacy-3/messages/0:1767862800123456%31bd1c9631bd1c96';
      },
      ackSecret: ACK_SECRET,
      telegramBotToken: '7000000001:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw',
      telegramApiBase: telegramApi.base,
    });
    router = createRouter({ clock, channels: { ...receiptless, sms: { kind: 'sms', cost: 0.032, send: sms.send, confirm: { timeout: '5m' } } } });
    log = eventLog(router);
    app = await listen(createServer(createAckApp(router, { ackSecret: ACK_SECRET, authenticate: (authorization) => SESSIONS.get(authorization ?? '') })));
  });

  afterEach(async () => {
    await app.close();
    await router.close();
    await telegramApi.close();
  });

  function customer(id: string, addresses: Record<string, string>): Recipient {
    return { id, addresses };
  }

  async function ack(body: unknown, headers: Record<string, string>): Promise<Answer> {
    const response = await fetch(`${app.base}/app/acks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    return { status: response.status, text: await response.text() };
  }

  it('ends the cascade on Telegram as soon as the Bot API accepts the message, with nothing else sent', async () => {
    const recipient = customer('olena', { telegram: '123456789', push: 'fcm-token-olena', sms: '+380671234567' });
    const { cascadeId } = await router.send(orderReady('order-2001', ['telegram', 'push', 'sms']), recipient);
    const cascade = await vi.waitFor(async () => {
      const c = await router.get(cascadeId);
      if (c?.status !== 'delivered') throw new Error(`cascade is ${c?.status}`);
      return c;
    }, WAIT);
    expect(attempts(cascade)).toEqual([['telegram', '123456789:4512', 'delivered', ['accepted/send']]]);
    expect(telegramCalls).toEqual([
      { path: '/bot7000000001:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/sendMessage', body: { chat_id: '123456789', text: 'Order 1042 is ready for pickup at Pharmacy 3 until 20:00.' } },
    ]);
    expect([pushes.length, sms.requests.length]).toEqual([0, 0]);
  });

  it('retries Telegram after the Bot API dropped the connection, then ends the cascade by acceptance', async () => {
    const recipient = customer('olena', { telegram: FLAKY_CHAT, push: 'fcm-token-olena', sms: '+380671234567' });
    const { cascadeId } = await router.send(orderReady('order-2005', ['telegram', 'push', 'sms']), recipient);
    // The step's timeout and the retry's 1 s backoff are both armed on the simulated clock.
    await vi.waitFor(() => expect(clock.pendingTimers).toBe(2), WAIT);
    expect(telegramCalls).toHaveLength(1);
    await clock.advance(1_000);
    const cascade = await vi.waitFor(async () => {
      const c = await router.get(cascadeId);
      if (c?.status !== 'delivered') throw new Error(`cascade is ${c?.status}`);
      return c;
    }, WAIT);
    expect(attempts(cascade)).toEqual([['telegram', `${FLAKY_CHAT}:4512`, 'delivered', ['accepted/send']]]);
    expect(telegramCalls.map((c) => c.body.chat_id)).toEqual([FLAKY_CHAT, FLAKY_CHAT]);
    expect([pushes.length, sms.requests.length]).toEqual([0, 0]);
  });

  it("falls back at once from a blocked Telegram bot to push; the app's delivered and read acks end the cascade there", async () => {
    const recipient = customer('olena', { telegram: BLOCKED_CHAT, push: 'fcm-token-olena', sms: '+380671234567' });
    const { cascadeId } = await router.send(orderReady('order-2002', ['telegram', 'push', 'sms']), recipient);
    const sent = await sentStep(router, cascadeId, 1);
    const ackId = sent.attempts[1]!.providerMessageId!;
    expect(sent.attempts[0]).toMatchObject({ channel: 'telegram', outcome: 'send-error', error: { message: 'telegram: Forbidden: bot was blocked by the user', code: '403' } });
    expect(pushes).toEqual([
      {
        token: 'fcm-token-olena',
        payload: {
          title: 'Your order is ready',
          body: 'Order 1042 is ready for pickup at Pharmacy 3 until 20:00.',
          data: { ackId, ackSignature: ackSignature(ACK_SECRET, ackId, 'olena') },
        },
      },
    ]);
    expect(ackId).toMatch(/^push:/);

    // The app posts back what the push carried, as the signed-in user.
    const headers = { authorization: 'Bearer session-olena', 'x-ack-signature': pushes[0]!.payload.data.ackSignature };
    expect(await ack({ providerMessageId: ackId, status: 'delivered' }, headers)).toEqual({ status: 200, text: '{"outcome":"applied"}' });
    expect(await ack({ providerMessageId: ackId, status: 'read' }, headers)).toEqual({ status: 200, text: '{"outcome":"applied"}' });
    expect(await ack({ providerMessageId: ackId, status: 'read' }, headers)).toEqual({ status: 200, text: '{"outcome":"duplicate"}' });
    await router.settled();

    const cascade = await router.get(cascadeId);
    expect(cascade?.status).toBe('delivered');
    expect(attempts(cascade)).toEqual([
      ['telegram', undefined, 'send-error', []],
      ['push', ackId, 'delivered', ['accepted/send', 'delivered/receipt', 'read/receipt']],
    ]);
    expect(log).toEqual(['fallback telegram send-error → push', `sent push ${ackId}`, 'receipt push delivered', 'delivered push', 'receipt push read']);
    expect(sms.requests).toEqual([]);
  });

  it('falls back from push to SMS when no acknowledgement comes within the 2-minute wait', async () => {
    const recipient = customer('taras', { push: 'fcm-token-taras', sms: '+380501234567' });
    const { cascadeId, plan } = await router.send(orderReady('order-2003', ['telegram', 'push', 'sms']), recipient);
    expect(plan.skipped).toEqual([expect.objectContaining({ channel: 'telegram', reason: 'no-address' })]);
    await sentStep(router, cascadeId, 0);
    await clock.advance(2 * 60_000 - 1);
    expect(sms.requests).toEqual([]);
    await clock.advance(1);
    const cascade = await sentStep(router, cascadeId, 1);
    expect(attempts(cascade)).toEqual([
      ['push', pushes[0]!.payload.data.ackId, 'timeout', ['accepted/send']],
      ['sms', SMS_ID, 'waiting', ['accepted/send']],
    ]);
    expect(sms.requests.map((r) => r.address)).toEqual(['+380501234567']);
  });

  it('refuses acks without a signed-in user (401), malformed ones (400) and acks for another user’s push (403); nothing changes', async () => {
    const recipient = customer('olena', { push: 'fcm-token-olena', sms: '+380671234567' });
    const { cascadeId } = await router.send(orderReady('order-2004', ['push', 'sms']), recipient);
    await sentStep(router, cascadeId, 0);
    const { ackId, ackSignature: signature } = pushes[0]!.payload.data;
    const before = await router.get(cascadeId);
    const logged = log.length;

    const body = { providerMessageId: ackId, status: 'delivered' };
    expect(await ack(body, { 'x-ack-signature': signature })).toEqual({ status: 401, text: 'Sign in to acknowledge a message' });
    expect(await ack(body, { authorization: 'Bearer expired-session', 'x-ack-signature': signature })).toEqual({
      status: 401,
      text: 'Sign in to acknowledge a message',
    });
    const olenaHeaders = { authorization: 'Bearer session-olena', 'x-ack-signature': signature };
    expect(await ack({ providerMessageId: ackId, status: 'failed' }, olenaHeaders)).toEqual({
      status: 400,
      text: 'Expected `status` to be "delivered" or "read", got "failed"',
    });
    expect(await ack({ status: 'delivered' }, olenaHeaders)).toEqual({ status: 400, text: 'Expected `providerMessageId` to be the `ackId` of the push' });
    expect((await ack('{"providerMessageId":', olenaHeaders)).status).toBe(400);
    // Taras is signed in, but the push went to Olena: his ack (with her signature, or his own forged one) is refused.
    const tarasAck = { authorization: 'Bearer session-taras', 'x-ack-signature': signature };
    const forbidden = { status: 403, text: 'This acknowledgement is not for a message sent to you' };
    expect(await ack(body, tarasAck)).toEqual(forbidden);
    expect(await ack(body, { ...tarasAck, 'x-ack-signature': ackSignature('guessed-secret', ackId, 'taras') })).toEqual(forbidden);
    expect(await ack(body, { authorization: 'Bearer session-olena' })).toEqual(forbidden);

    await router.settled();
    expect(await router.get(cascadeId)).toEqual(before);
    expect(log.length).toBe(logged);
    expect(sms.requests).toEqual([]);
  });
});

describe('docs/webhooks.md', () => {
  it('shows every framework example exactly as the file these tests run', () => {
    const doc = readFileSync(new URL('../docs/webhooks.md', import.meta.url), 'utf8');
    for (const file of ['express.ts', 'fastify.ts', 'hono.ts', 'node-http.ts']) {
      const source = readFileSync(new URL(`../docs/examples/webhooks/${file}`, import.meta.url), 'utf8');
      expect(doc.includes(`\`\`\`ts\n${source.trimEnd()}\n\`\`\``), file).toBe(true);
    }
  });
});

describe('what the examples answer', () => {
  it('answers 503 when the router sheds load or the store is away, so the provider retries; nothing for other errors', async () => {
    const { webhookRejection } = await import('cascade-router/receipts');
    const { OverloadedError, StoreUnavailableError, RouterClosedError } = await import('cascade-router');
    expect(webhookRejection(new OverloadedError(10_000))).toEqual({ status: 503, message: expect.stringContaining('maxPending') });
    expect(webhookRejection(new StoreUnavailableError('route', { cause: new Error('ECONNREFUSED') }))?.status).toBe(503);
    expect(webhookRejection(new RouterClosedError())).toBe(undefined);
    expect(webhookRejection(new Error('boom'))).toBe(undefined);
  });
});

describe('snsCertificates (the SNS certificate cache of the examples)', () => {
  const url = (n: number) => `https://sns.us-east-1.amazonaws.com/SimpleNotificationService-${n}.pem`;
  function fakeFetch(status = 200, body = SNS_TEST_CERT) {
    const calls: string[] = [];
    const fetchPem = (async (input: string | URL | Request) => {
      calls.push(String(input));
      return new Response(body, { status });
    }) as typeof fetch;
    return { calls, fetchPem };
  }

  it('fetches a certificate once per URL and keeps the 16 most recently used', async () => {
    const { calls, fetchPem } = fakeFetch();
    const get = snsCertificates(fetchPem);
    expect(await get(url(0))).toBe(SNS_TEST_CERT);
    expect(await get(url(0))).toBe(SNS_TEST_CERT);
    expect(calls).toEqual([url(0)]);
    for (let n = 1; n <= 16; n++) await get(url(n));
    // 17 URLs seen: the least recently used (0) went; 16 is still there.
    await get(url(16));
    await get(url(0));
    expect(calls.filter((c) => c === url(0))).toHaveLength(2);
    expect(calls.filter((c) => c === url(16))).toHaveLength(1);
  });

  it('caches neither a non-200 answer nor a body that is not a PEM certificate', async () => {
    const missing = fakeFetch(404);
    const get = snsCertificates(missing.fetchPem);
    await expect(get(url(1))).rejects.toThrow(`GET ${url(1)}: 404`);
    await expect(get(url(1))).rejects.toThrow('404');
    expect(missing.calls).toHaveLength(2);
    const html = fakeFetch(200, '<html>gotcha</html>');
    await expect(snsCertificates(html.fetchPem)(url(2))).rejects.toThrow('not a PEM certificate');
  });
});
