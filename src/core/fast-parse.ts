/**
 * Fast paths for the shapes nearly every call has: a message with a key, a category and text content; a
 * recipient with an id and addresses; a receipt with an id and a status. Each gives exactly what its zod
 * schema (src/core/schema.ts) would give for that input, and undefined for anything else (a rare field, a
 * wrong type, an undefined value, an unknown key), which then goes through zod: errors always come from
 * zod, with its messages. test/fast-parse.test.ts compares both on arbitrary input.
 */
import type { Message, Receipt, Recipient } from './types.js';

type Fields = Record<string, unknown>;

/** A plain object (zod reads the same fields of it), or undefined. */
function plain(value: unknown): Fields | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null ? (value as Fields) : undefined;
}

/** Whether every own key of `value` is one of `allowed` (zod would strip others: leave those to it). */
function onlyKeys(value: Fields, allowed: ReadonlySet<string>): boolean {
  // for-in reads the keys without copying them into an array; an inherited one (a polluted prototype) fails the check.
  for (const key in value) if (!allowed.has(key)) return false;
  return true;
}

const MESSAGE_KEYS = new Set(['key', 'category', 'content']);
const CONTENT_KEYS = new Set(['text', 'subject', 'html', 'sms']);

export function fastMessage(value: unknown): Message | undefined {
  const m = plain(value);
  if (m === undefined || !onlyKeys(m, MESSAGE_KEYS)) return undefined;
  const { key, category } = m;
  if (typeof key !== 'string' || key.length === 0 || typeof category !== 'string' || category.length === 0) return undefined;
  const c = plain(m.content);
  if (c === undefined || !onlyKeys(c, CONTENT_KEYS)) return undefined;
  const { text, subject, html, sms } = c;
  if (typeof text !== 'string') return undefined;
  // Present keys only, in the schema's order, as zod builds its output.
  const content: { text: string; subject?: string; html?: string; sms?: string } = { text };
  if ('subject' in c) {
    if (typeof subject !== 'string') return undefined;
    content.subject = subject;
  }
  if ('html' in c) {
    if (typeof html !== 'string') return undefined;
    content.html = html;
  }
  if ('sms' in c) {
    if (typeof sms !== 'string') return undefined;
    content.sms = sms;
  }
  return { key, category, content };
}

const RECIPIENT_KEYS = new Set(['id', 'addresses', 'timeZone', 'country']);

export function fastRecipient(value: unknown): Recipient | undefined {
  const r = plain(value);
  if (r === undefined || !onlyKeys(r, RECIPIENT_KEYS)) return undefined;
  const { id, timeZone, country } = r;
  if (typeof id !== 'string' || id.length === 0) return undefined;
  const given = plain(r.addresses);
  if (given === undefined) return undefined;
  const addresses: Record<string, string> = {};
  for (const channel in given) {
    const address = given[channel];
    if (typeof address !== 'string' || channel === '__proto__' || !Object.hasOwn(given, channel)) return undefined;
    addresses[channel] = address;
  }
  const recipient: { id: string; addresses: Record<string, string>; timeZone?: string; country?: string } = { id, addresses };
  if ('timeZone' in r) {
    if (typeof timeZone !== 'string') return undefined;
    recipient.timeZone = timeZone;
  }
  if ('country' in r) {
    if (typeof country !== 'string') return undefined;
    recipient.country = country;
  }
  return recipient;
}

const RECEIPT_KEYS = new Set(['providerMessageId', 'status', 'at', 'provider']);
const STATUSES = new Set(['accepted', 'sent', 'delivered', 'read', 'failed']);

export function fastReceipt(value: unknown): Receipt | undefined {
  const r = plain(value);
  if (r === undefined || !onlyKeys(r, RECEIPT_KEYS)) return undefined;
  const { providerMessageId, status, at, provider } = r;
  if (typeof providerMessageId !== 'string' || providerMessageId.length === 0 || providerMessageId.length > 256) return undefined;
  if (typeof status !== 'string' || !STATUSES.has(status)) return undefined;
  const receipt: { providerMessageId: string; status: Receipt['status']; at?: number; provider?: string } = { providerMessageId, status: status as Receipt['status'] };
  if ('at' in r) {
    if (typeof at !== 'number' || !Number.isFinite(at)) return undefined;
    receipt.at = at;
  }
  if ('provider' in r) {
    if (typeof provider !== 'string' || provider.length === 0 || provider.length > 64) return undefined;
    receipt.provider = provider;
  }
  return receipt;
}
