import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  WebhookError,
  infobipReceipts,
  mailgunReceipts,
  sendgridReceipts,
  sesReceipts,
  twilioReceipts,
  viberReceipts,
  vonageMessagesReceipts,
  vonageSmsReceipts,
  whatsappReceipts,
  type Receipt,
} from 'cascade-router/receipts';
import * as samples from './fixtures/samples.js';

const STATUSES = new Set(['accepted', 'sent', 'delivered', 'read', 'failed']);

function receiptsOf(output: unknown): readonly Receipt[] {
  if (Array.isArray(output)) return output as Receipt[];
  const result = output as { kind: string; receipts?: Receipt[] };
  return result.kind === 'receipts' ? (result.receipts ?? []) : [];
}

/** Every receipt is well formed: an id, a known status, a finite time, a decimal price. */
function assertReceipts(output: unknown): void {
  for (const receipt of receiptsOf(output)) {
    expect(typeof receipt.providerMessageId).toBe('string');
    expect(receipt.providerMessageId).not.toBe('');
    expect(STATUSES.has(receipt.status)).toBe(true);
    if (receipt.at !== undefined) expect(Number.isFinite(receipt.at)).toBe(true);
    if (receipt.price !== undefined) expect(String(receipt.price)).toMatch(/^\d+(\.\d{1,6})?$/);
  }
}

const normalizers: Record<string, (body: unknown) => unknown> = {
  twilio: twilioReceipts,
  sendgrid: sendgridReceipts,
  mailgun: mailgunReceipts,
  ses: sesReceipts,
  whatsapp: whatsappReceipts,
  vonageMessages: vonageMessagesReceipts,
  vonageSms: vonageSmsReceipts,
  infobip: infobipReceipts,
  viber: viberReceipts,
};

/** Real-shaped bodies to mutate, so the property also reaches the deep branches. */
const seeds: unknown[] = [
  samples.sendgridBatch,
  samples.mailgun.delivered,
  samples.mailgun.failedPermanent,
  samples.snsEnvelope(samples.ses.bounce),
  samples.snsEnvelope(samples.ses.delivery),
  samples.whatsapp.failed,
  samples.vonage.submitted,
  samples.vonageSms.delivered,
  samples.infobip.sms,
  samples.infobip.seen,
  samples.viber.failed,
  samples.twilio.whatsapp('read'),
].map((body) => (typeof body === 'string' ? JSON.parse(body) : body));

type Json = unknown;

/** Replaces the value at one random path of `value` with `replacement`. */
function mutate(value: Json, pick: number, replacement: Json): Json {
  const paths: (string | number)[][] = [];
  const walk = (node: Json, path: (string | number)[]) => {
    paths.push(path);
    if (Array.isArray(node)) node.forEach((child, i) => walk(child, [...path, i]));
    else if (typeof node === 'object' && node !== null) for (const [k, child] of Object.entries(node)) walk(child, [...path, k]);
  };
  walk(value, []);
  const path = paths[pick % paths.length] ?? [];
  if (path.length === 0) return replacement;
  const copy = structuredClone(value) as Record<string | number, Json>;
  let node: Record<string | number, Json> = copy;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, Json>;
  node[path[path.length - 1] as string | number] = replacement;
  return copy;
}

const mutatedSeed = fc
  .tuple(fc.constantFrom(...seeds), fc.nat(), fc.jsonValue())
  .map(([seed, pick, replacement]) => mutate(seed, pick, replacement));

const body = fc.oneof(
  fc.string(),
  fc.json(),
  fc.jsonValue(),
  fc.uint8Array({ maxLength: 64 }),
  fc.anything({ withBigInt: true, withNullPrototype: true }),
  mutatedSeed,
  mutatedSeed.map((value) => JSON.stringify(value)),
);

describe('normalizers on arbitrary input', () => {
  it.each(Object.entries(normalizers))(
    '%s: given any string, bytes or JSON, returns well-formed receipts or throws WebhookError, never anything else',
    (_name, normalize) => {
      fc.assert(
        fc.property(body, (input) => {
          let output: unknown;
          try {
            output = normalize(input);
          } catch (error) {
            expect(error).toBeInstanceOf(WebhookError);
            expect((error as WebhookError).code).toBe('INVALID_WEBHOOK');
            return;
          }
          assertReceipts(output);
        }),
        { numRuns: 400 },
      );
    },
  );

  it('viber: any unsigned 64-bit message_token in a raw body comes back digit for digit', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.constantFrom('delivered', 'seen', 'failed'), (token, event) => {
        const raw = `{"event":"${event}","timestamp":1595324677891,"message_token":${token},"user_id":"u"}`;
        expect(viberReceipts(raw)[0]?.providerMessageId).toBe(token.toString());
      }),
    );
  });
});
