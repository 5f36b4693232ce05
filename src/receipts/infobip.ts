import { z } from 'zod';
import type { Receipt, ReceiptStatus } from '../core/types.js';
import { UnknownStatusError, WebhookError } from './errors.js';
import type { Fault } from './fault.js';
import { checkBatchSize, check, jsonBody, readStatus, unknownStatus, type ReceiptOptions } from './input.js';
import { decimalPrice } from './price.js';
import { providerId, receipt } from './receipt.js';
import { fromIso } from './time.js';

/** Infobip status group (by `groupName`) → receipt status. DELIVERED is refined by `name` below. */
const GROUPS = new Map<string, ReceiptStatus>([
  ['PENDING', 'sent'],
  ['DELIVERED', 'delivered'],
  ['UNDELIVERABLE', 'failed'],
  ['EXPIRED', 'failed'],
  ['REJECTED', 'failed'],
]);

/** The documented `groupId`s, for reports that carry only the id. */
const GROUP_IDS = new Map<number, string>([
  [1, 'PENDING'],
  [2, 'UNDELIVERABLE'],
  [3, 'DELIVERED'],
  [4, 'EXPIRED'],
  [5, 'REJECTED'],
]);

/** Infobip's error groups: the handset (absent, unknown, memory full) or the operator's network. */
const ERROR_GROUP_FAULT = new Map<string, Fault>([
  ['HANDSET_ERRORS', 'recipient'],
  ['OPERATOR_ERRORS', 'provider'],
]);
const ERROR_GROUP_IDS = new Map<number, string>([
  [1, 'HANDSET_ERRORS'],
  [3, 'OPERATOR_ERRORS'],
]);

/** Infobip sends up to 100 reports per request unless the subscription's `maxBucketSize` says otherwise. */
export const INFOBIP_MAX_RESULTS = 100;

export interface InfobipReceiptOptions extends ReceiptOptions {
  /** The most results one request may carry. Default 100 (Infobip's default bucket); raise it to your `maxBucketSize`. */
  readonly maxResults?: number | undefined;
}

const text = z.string();

const InfobipStatus = z.looseObject({
  groupId: z.number().optional(),
  groupName: text.optional(),
  id: z.number().optional(),
  name: text.optional(),
  description: text.optional(),
});

const InfobipResult = z.looseObject({
  messageId: providerId,
  status: InfobipStatus.optional(),
  error: z
    .looseObject({ id: z.number().optional(), name: text.optional(), description: text.optional(), groupId: z.number().optional(), groupName: text.optional() })
    .nullish(),
  price: z.looseObject({ pricePerMessage: z.union([z.number(), z.string()]).optional() }).nullish(),
  doneAt: text.optional(),
  seenAt: text.optional(),
});

const InfobipReport = z.looseObject({ results: z.array(z.unknown()) });

type InfobipResult = z.infer<typeof InfobipResult>;

/**
 * Reads an Infobip delivery-report POST (SMS, WhatsApp, Viber, …): `results[]`, as JSON text, bytes or
 * parsed. A seen report (`seenAt`, no `status`) becomes `read`. `DELIVERED_TO_OPERATOR` is not final: `sent`.
 * `price.pricePerMessage` is carried as reported (in `price.currency`, which the receipt does not carry).
 * More than `maxResults` (100) results is refused before any is read: the endpoint has no signature.
 */
export function infobipReceipts(body: unknown, options: InfobipReceiptOptions = {}): Receipt[] {
  const parsed = jsonBody('infobip', body);
  const max = options.maxResults ?? INFOBIP_MAX_RESULTS;
  checkBatchSize('infobip', 'results', (parsed as { results?: unknown } | null)?.results, max, `Infobip's batch size, \`maxResults\``);
  const report = check('infobip', InfobipReport, parsed);
  const receipts: Receipt[] = [];
  report.results.forEach((item, index) => {
    const path = `results[${index}]`;
    const found = toReceipt(check('infobip', InfobipResult, item, path), path, options);
    if (found !== undefined) receipts.push(found);
  });
  return receipts;
}

function toReceipt(result: InfobipResult, path: string, options: ReceiptOptions): Receipt | undefined {
  const idField = `${path}.messageId`;
  if (result.status === undefined) {
    if (result.seenAt === undefined) {
      throw new WebhookError('infobip', `${path}.status`, `Expected \`${path}.status\` to be an object, got undefined`);
    }
    return receipt('infobip', result.messageId, 'read', { at: fromIso('infobip', `${path}.seenAt`, result.seenAt), idField });
  }
  const status = statusOf(result.status, `${path}.status`, options, result.messageId);
  if (status === undefined) return undefined;
  const at = result.doneAt === undefined ? undefined : fromIso('infobip', `${path}.doneAt`, result.doneAt);
  const perMessage = result.price?.pricePerMessage;
  const price = perMessage === undefined ? undefined : decimalPrice('infobip', `${path}.price.pricePerMessage`, perMessage);
  if (status !== 'failed') return receipt('infobip', result.messageId, status, { at, price, idField });
  // The error object names the cause (EC_ABSENT_SUBSCRIBER…); the status names the outcome.
  const error = result.error && result.error.id !== 0 ? result.error : undefined;
  const group = error?.groupName ?? (error?.groupId === undefined ? undefined : ERROR_GROUP_IDS.get(error.groupId));
  return receipt('infobip', result.messageId, status, {
    at,
    price,
    errorCode: error?.name ?? result.status.name,
    errorMessage: error?.description ?? result.status.description,
    fault: group === undefined ? undefined : ERROR_GROUP_FAULT.get(group),
    idField,
  });
}

function statusOf(status: z.infer<typeof InfobipStatus>, path: string, options: ReceiptOptions, id: string): ReceiptStatus | undefined {
  const group = status.groupName ?? (status.groupId === undefined ? undefined : GROUP_IDS.get(status.groupId));
  if (group === undefined && status.groupId !== undefined) {
    const known = [...GROUP_IDS.keys()].map(String);
    unknownStatus(() => new UnknownStatusError('infobip', `${path}.groupId`, String(status.groupId), known, id), options);
    return undefined;
  }
  const mapped = readStatus('infobip', `${path}.groupName`, group, GROUPS, options, id);
  // Only DELIVERED_TO_HANDSET is final; DELIVERED_TO_OPERATOR (and any other DELIVERED_*) may still fail.
  const toHandset = status.name === 'DELIVERED_TO_HANDSET' || (status.name === undefined && status.id === 5);
  if (mapped === 'delivered' && !toHandset) return 'sent';
  return mapped;
}
