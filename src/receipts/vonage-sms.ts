import { z } from 'zod';
import type { Receipt, ReceiptStatus } from '../core/types.js';
import { WebhookError } from './errors.js';
import type { Fault } from './fault.js';
import { check, formBody, jsonBody, rawText, readStatus, show, type ReceiptOptions } from './input.js';
import { decimalPrice } from './price.js';
import { providerId, receipt } from './receipt.js';
import { fromUtcDateTime } from './time.js';

/** Vonage SMS API DLR `status` → receipt status; `null`: no useful information, no receipt. */
const STATUS = new Map<string, ReceiptStatus | null>([
  ['accepted', 'sent'],
  ['buffered', 'sent'],
  ['delivered', 'delivered'],
  ['expired', 'failed'],
  ['failed', 'failed'],
  ['rejected', 'failed'],
  // "No useful information available": the step's timeout decides.
  ['unknown', null],
]);

/** Vonage's documented `err-code` meanings, used as the error message. */
const ERR_CODES = new Map<string, string>([
  ['1', 'Unknown'],
  ['2', 'Absent Subscriber - Temporary'],
  ['3', 'Absent Subscriber - Permanent'],
  ['4', 'Call Barred by User'],
  ['5', 'Portability Error'],
  ['6', 'Anti-Spam Rejection'],
  ['7', 'Handset Busy'],
  ['8', 'Network Error'],
  ['9', 'Illegal Number'],
  ['10', 'Illegal Message'],
  ['11', 'Unroutable'],
  ['12', 'Destination Unreachable'],
  ['13', 'Subscriber Age Restriction'],
  ['14', 'Number Blocked by Carrier'],
  ['15', 'Prepaid Insufficient Funds'],
  ['99', 'General Error'],
]);

/**
 * `err-code` → whose fault: the subscriber's handset, number or subscription (`recipient`), or the route,
 * carrier filtering or network (`provider`). 1 (Unknown), 10 (Illegal Message) and 99 (General Error) are unknown.
 */
const FAULT = new Map<string, Fault>([
  ['2', 'recipient'],
  ['3', 'recipient'],
  ['4', 'recipient'],
  ['5', 'provider'],
  ['6', 'provider'],
  ['7', 'recipient'],
  ['8', 'provider'],
  ['9', 'recipient'],
  ['11', 'provider'],
  ['12', 'recipient'],
  ['13', 'recipient'],
  ['14', 'recipient'],
  ['15', 'recipient'],
]);

const scalar = z.union([z.string().max(64), z.number()]);

const VonageDlr = z.looseObject({
  messageId: providerId,
  status: z.string(),
  'err-code': scalar.optional(),
  price: scalar.optional(),
  'message-timestamp': z.string().optional(),
});

/**
 * Reads a Vonage SMS API delivery receipt: a JSON POST, a form POST or a GET query string (raw text,
 * bytes, `URLSearchParams` or parsed). Multi-part SMS get one DLR per part, each with its own id.
 */
export function vonageSmsReceipts(body: unknown, options: ReceiptOptions = {}): Receipt[] {
  const text = rawText(body);
  const fields = text !== undefined && text.trimStart().startsWith('{') ? jsonBody('vonage-sms', text) : formBody('vonage-sms', body);
  const dlr = check('vonage-sms', VonageDlr, fields);
  const status = readStatus('vonage-sms', 'status', dlr.status, STATUS, options, dlr.messageId);
  if (status === undefined || status === null) return [];
  const stamp = dlr['message-timestamp'];
  const at = stamp === undefined ? undefined : fromUtcDateTime('vonage-sms', 'message-timestamp', stamp);
  const price = dlr.price === undefined || dlr.price === '' ? undefined : decimalPrice('vonage-sms', 'price', dlr.price);
  const idField = 'messageId';
  if (status !== 'failed') return [receipt('vonage-sms', dlr.messageId, status, { at, price, idField })];
  const errorCode = dlr['err-code'] === undefined ? undefined : String(dlr['err-code']);
  if (errorCode !== undefined && !/^\d+$/.test(errorCode)) {
    throw new WebhookError('vonage-sms', 'err-code', `Expected \`err-code\` to be a number, got ${show(errorCode)}`);
  }
  const errorMessage = errorCode === undefined ? dlr.status : (ERR_CODES.get(errorCode) ?? dlr.status);
  const fault = errorCode === undefined ? undefined : FAULT.get(errorCode.replace(/^0+(?=\d)/, ''));
  return [receipt('vonage-sms', dlr.messageId, status, { at, price, errorCode, errorMessage, fault, idField })];
}
