import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fastMessage, fastRecipient, fastReceipt } from '../src/core/fast-parse.js';
import { messageSchema, receiptSchema, recipientSchema } from '../src/core/schema.js';

// Values near the shapes the fast paths take (so both branches are exercised), and anything at all.
const text = fc.oneof(fc.string({ maxLength: 4 }), fc.constantFrom('', 'a', 'delivered', 'failed', 'read', '__proto__'), fc.string({ minLength: 255, maxLength: 258 }));
const field = fc.oneof(text, fc.integer(), fc.double(), fc.constant(undefined), fc.constant(null), fc.boolean(), fc.anything({ maxDepth: 1 }));
const record = <T>(keys: readonly string[], value: fc.Arbitrary<T>) =>
  fc.oneof(
    fc.record(Object.fromEntries(keys.map((k) => [k, value])), { requiredKeys: [] }),
    fc.dictionary(fc.oneof(fc.constantFrom(...keys), fc.string({ maxLength: 3 })), value, { maxKeys: 5 }),
    fc.dictionary(fc.constantFrom(...keys), value).map((o) => Object.assign(Object.create(null) as object, o)),
  );
const nonEmpty = fc.string({ minLength: 1, maxLength: 4 });
/** `valid`, and the same with one field replaced by anything (a wrong type, undefined, an unknown key). */
const nearly = (valid: fc.Arbitrary<Record<string, unknown>>, keys: readonly string[]) =>
  fc.oneof(
    { weight: 3, arbitrary: valid },
    { weight: 3, arbitrary: fc.tuple(valid, fc.oneof(fc.constantFrom(...keys), fc.string({ maxLength: 3 })), field).map(([v, k, x]) => ({ ...v, [k]: x })) },
    { weight: 1, arbitrary: valid.map((v) => Object.assign(Object.create(null) as object, v)) },
    { weight: 1, arbitrary: fc.oneof(record(keys, fc.oneof(text, field)), field) },
  );
const content = nearly(fc.record({ text, subject: text, html: text, sms: text }, { requiredKeys: ['text'] }), ['text', 'subject', 'html', 'sms']);
const message = nearly(fc.record({ key: nonEmpty, category: nonEmpty, content }), ['key', 'category', 'content']);
const addresses = nearly(fc.dictionary(fc.oneof(fc.constantFrom('push', 'sms', '__proto__', 'constructor'), fc.string({ maxLength: 3 })), text, { maxKeys: 4 }), ['push', 'sms', '__proto__']);
const recipient = nearly(fc.record({ id: nonEmpty, addresses, timeZone: text, country: text }, { requiredKeys: ['id', 'addresses'] }), ['id', 'addresses', 'timeZone', 'country']);
const receipt = nearly(
  fc.record({ providerMessageId: fc.oneof(nonEmpty, text), status: fc.constantFrom('accepted', 'sent', 'delivered', 'read', 'failed', 'bounced'), at: fc.oneof(fc.double(), fc.integer()), provider: fc.oneof(nonEmpty, text) }, { requiredKeys: ['providerMessageId', 'status'] }),
  ['providerMessageId', 'status', 'at', 'provider'],
);

/** The fast path either declines (zod decides) or gives exactly zod's output, which zod accepts. */
function agrees(fast: (value: unknown) => unknown, schema: { safeParse(value: unknown): { success: boolean; data?: unknown } }, value: unknown): boolean {
  const given = fast(value);
  if (given === undefined) return false;
  const zod = schema.safeParse(value);
  expect(zod.success).toBe(true);
  expect(given).toStrictEqual(zod.data);
  expect(Object.keys(given as object)).toEqual(Object.keys(zod.data as object));
  return true;
}

/** Runs the property and checks that the inputs reached the fast path often enough to mean something. */
function check(arbitrary: fc.Arbitrary<unknown>, fast: (value: unknown) => unknown, schema: Parameters<typeof agrees>[1]): void {
  let taken = 0;
  fc.assert(fc.property(arbitrary, (value) => void (agrees(fast, schema, value) && taken++)), { numRuns: 3000 });
  expect(taken).toBeGreaterThan(300);
}

describe('validation fast paths', () => {
  it('a message the fast path accepts, zod accepts too, with the same output', () => {
    check(message, fastMessage, messageSchema);
  });

  it('a recipient the fast path accepts, zod accepts too, with the same output', () => {
    check(recipient, fastRecipient, recipientSchema);
  });

  it('a receipt the fast path accepts, zod accepts too, with the same output', () => {
    check(receipt, fastReceipt, receiptSchema);
  });

  it('takes the common shapes (so the fast path is the one that runs)', () => {
    expect(fastMessage({ key: 'k', category: 'transactional', content: { text: 'Hi' } })).toStrictEqual({ key: 'k', category: 'transactional', content: { text: 'Hi' } });
    expect(fastRecipient({ id: 'r', addresses: { push: 't', sms: '+380501234567' } })).toStrictEqual({ id: 'r', addresses: { push: 't', sms: '+380501234567' } });
    expect(fastReceipt({ providerMessageId: 'm1', status: 'delivered' })).toStrictEqual({ providerMessageId: 'm1', status: 'delivered' });
    // Declines what it does not cover: zod gives the output (or the error) for those.
    expect(fastMessage({ key: 'k', category: 'c', content: { text: 'Hi' }, deadline: '2m' })).toBeUndefined();
    expect(fastReceipt({ providerMessageId: 'm1', status: 'delivered', error: { code: '1' } })).toBeUndefined();
  });
});
