// Worst-case cost of reading and verifying hostile webhook bodies (issue #14: nothing a provider, or anyone
// posting to an unsigned endpoint, sends should hold the event loop for more than a few ms per KB).
// For every normalizer and verifier, bodies up to 1 MB built to hit each known slow path: a huge numeric
// price, a huge id or description, deep nesting, many small results, a huge form, inherited names.
// Prints the median and the worst of REPEATS runs per input, in ms and ms per KB. Run: npm run bench:receipts
import type * as Receipts from 'cascade-router/receipts';

const r = (await import(new URL('../dist/receipts.js', import.meta.url).href)) as typeof Receipts;

const REPEATS = 7;
const MB = 1024 * 1024;
const digits = (n: number) => '9'.repeat(n);
const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

interface Case {
  readonly name: string;
  readonly body: string;
  readonly run: (body: string) => unknown;
}

function price(field: (p: string) => string, run: (body: string) => unknown, name: string): Case {
  return { name: `${name}: 1 MB price`, body: field(digits(MB - 200)), run };
}

const cases: Case[] = [
  price((p) => JSON.stringify({ messageId: 'x', status: 'delivered', price: p }), (b) => r.vonageSmsReceipts(b), 'vonage-sms'),
  price((p) => `{"results":[{"messageId":"m","status":{"groupName":"DELIVERED","name":"DELIVERED_TO_HANDSET"},"price":{"pricePerMessage":"${p}"}}]}`, (b) => r.infobipReceipts(b), 'infobip'),
  price((p) => `{"results":[{"messageId":"m","status":{"groupName":"DELIVERED","name":"DELIVERED_TO_HANDSET"},"price":{"pricePerMessage":${p}}}]}`, (b) => r.infobipReceipts(b), 'infobip (number)'),
  price((p) => JSON.stringify({ message_uuid: 'u', status: 'delivered', usage: { price: p } }), (b) => r.vonageMessagesReceipts(b), 'vonage'),
  price((p) => JSON.stringify({ data: { event_type: 'message.sent', payload: { id: 'i', to: [{ status: 'sent' }], cost: { amount: p } } } }), (b) => r.telnyxReceipts(b), 'telnyx'),
  price((p) => `MessageUUID=u&Status=delivered&TotalAmount=${p}`, (b) => r.plivoReceipts(b), 'plivo'),
  { name: 'infobip: 9,000 results (refused at 100)', body: JSON.stringify({ results: Array.from({ length: 9000 }, (_, i) => ({ messageId: `m${i}`, status: { groupName: 'DELIVERED' } })) }), run: (b) => r.infobipReceipts(b) },
  { name: 'infobip: 1 MB messageId', body: JSON.stringify({ results: [{ messageId: 'x'.repeat(MB), status: { groupName: 'DELIVERED' } }] }), run: (b) => r.infobipReceipts(b) },
  { name: 'infobip: 1 MB nesting', body: `{"results":${nested(MB / 2 - 20)}}`, run: (b) => r.infobipReceipts(b) },
  { name: 'sendgrid: 1 MB reason', body: JSON.stringify([{ event: 'bounce', sg_message_id: 'a.filter1', reason: 'r'.repeat(MB) }]), run: (b) => r.sendgridReceipts(b) },
  { name: 'sendgrid: 10,000 unknown events', body: JSON.stringify(Array.from({ length: 10_000 }, () => ({ event: 'constructor', sg_message_id: 'a.filter1' }))), run: (b) => r.sendgridReceipts(b, { onUnknown: () => {} }) },
  { name: 'whatsapp: 1 MB timestamp digits', body: JSON.stringify({ object: 'whatsapp_business_account', entry: [{ changes: [{ field: 'messages', value: { statuses: [{ id: 'w', status: 'sent', timestamp: digits(MB) }] } }] }] }), run: (b) => r.whatsappReceipts(b) },
  { name: 'viber: 1 MB token literal', body: `{"event":"delivered","message_token":${digits(MB)}}`, run: (b) => r.viberReceipts(b) },
  { name: 'twilio: 1 MB form, 50,000 fields', body: Array.from({ length: 50_000 }, (_, i) => `f${i}=${i}`).join('&'), run: (b) => r.twilioReceipts(b) },
  { name: 'mailgun legacy: 1 MB message-headers', body: new URLSearchParams({ event: 'delivered', 'message-headers': JSON.stringify([['X', 'y'.repeat(MB)]]) }).toString(), run: (b) => r.mailgunLegacyReceipts(b) },
  {
    name: 'verifyTwilioSignature: 1 MB form, 50,000 fields',
    body: Array.from({ length: 50_000 }, (_, i) => `f${i}=${i}`).join('&'),
    run: (b) => attempt(() => r.verifyTwilioSignature({ url: 'https://a.example.com:443/p?x=1', headers: { 'X-Twilio-Signature': 'x' }, body: b }, { authToken: ['a', 'b'] })),
  },
  { name: 'verifyTwilioSignature: 1 MB URL', body: `https://a.example.com/${'p'.repeat(MB)}`, run: (b) => attempt(() => r.verifyTwilioSignature({ url: b, headers: { 'X-Twilio-Signature': 'x' }, body: '' }, { authToken: 'a' })) },
  { name: 'verifyWhatsAppSignature: 1 MB body, 3 secrets', body: 'x'.repeat(MB), run: (b) => attempt(() => r.verifyWhatsAppSignature({ headers: { 'x-hub-signature-256': `sha256=${'0'.repeat(64)}` }, body: b }, { appSecret: ['a', 'b', 'c'] })) },
  { name: 'verifyMailgunSignature: 1 MB token', body: JSON.stringify({ signature: { timestamp: '1', token: 't'.repeat(MB), signature: '0'.repeat(64) } }), run: (b) => attempt(() => r.verifyMailgunSignature(b, { signingKey: 'k' })) },
  { name: 'verifyPlivoSignature: 1 MB form', body: Array.from({ length: 50_000 }, (_, i) => `f${i}=${i}`).join('&'), run: (b) => attempt(() => r.verifyPlivoSignature({ url: 'https://a.example.com/p?z=1', headers: { 'X-Plivo-Signature-V3': 'x', 'X-Plivo-Signature-V3-Nonce': '1' }, body: b }, { authToken: 't' })) },
  { name: 'verifyVonageSmsSignature: 1 MB of fields', body: Array.from({ length: 50_000 }, (_, i) => `f${i}=${i}`).join('&') + `&sig=${'0'.repeat(64)}`, run: (b) => attempt(() => r.verifyVonageSmsSignature(b, { signatureSecret: 's', method: 'sha256' })) },
];

function attempt(run: () => unknown): unknown {
  try {
    return run();
  } catch (error) {
    return error;
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

console.log(`| input | KB | first call ms | median ms | worst ms | worst ms/KB |\n|---|--:|--:|--:|--:|--:|`);
let worstPerKb = 0;
let worstWarm = 0;
for (const c of cases) {
  const times: number[] = [];
  for (let i = 0; i <= REPEATS; i++) {
    const start = performance.now();
    try {
      c.run(c.body);
    } catch {
      // Refusals are the expected outcome; only the time matters here.
    }
    times.push(performance.now() - start);
  }
  // The first call includes compiling the code path (JIT); the rest are the steady state.
  const first = times.shift() ?? 0;
  const kb = Buffer.byteLength(c.body) / 1024;
  const worst = Math.max(first, ...times);
  worstPerKb = Math.max(worstPerKb, worst / kb);
  worstWarm = Math.max(worstWarm, ...times);
  console.log(`| ${c.name} | ${kb.toFixed(0)} | ${first.toFixed(2)} | ${median(times).toFixed(2)} | ${worst.toFixed(2)} | ${(worst / kb).toFixed(4)} |`);
}
console.log(`\nworst over all inputs and calls: ${worstPerKb.toFixed(4)} ms per KB; worst warm call: ${worstWarm.toFixed(1)} ms`);
