import { z } from 'zod';
import type { Receipt, ReceiptStatus } from '../types.js';
import { WebhookError } from './errors.js';
import { check, jsonBody, lookupStatus } from './input.js';
import { decimalPrice } from './price.js';
import { receipt } from './receipt.js';
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

const InfobipStatus = z.looseObject({
  groupId: z.number().optional(),
  groupName: z.string().optional(),
  id: z.number().optional(),
  name: z.string().optional(),
  description: z.string().optional(),
});

const InfobipResult = z.looseObject({
  messageId: z.string().min(1),
  status: InfobipStatus.optional(),
  error: z
    .looseObject({ id: z.number().optional(), name: z.string().optional(), description: z.string().optional() })
    .nullish(),
  price: z.looseObject({ pricePerMessage: z.union([z.number(), z.string()]).optional() }).nullish(),
  doneAt: z.string().optional(),
  seenAt: z.string().optional(),
});

const InfobipReport = z.looseObject({ results: z.array(InfobipResult) });

type InfobipResult = z.infer<typeof InfobipResult>;

/**
 * Reads an Infobip delivery-report POST (SMS, WhatsApp, Viber, …): `results[]`, as JSON text, bytes or
 * parsed. A seen report (`seenAt`, no `status`) becomes `read`. `DELIVERED_TO_OPERATOR` is not final: `sent`.
 * `price.pricePerMessage` is carried as reported (in `price.currency`, which the receipt does not carry).
 */
export function infobipReceipts(body: unknown): Receipt[] {
  const report = check('infobip', InfobipReport, jsonBody('infobip', body));
  return report.results.map((result, index) => toReceipt(result, `results[${index}]`));
}

function toReceipt(result: InfobipResult, path: string): Receipt {
  if (result.status === undefined) {
    if (result.seenAt === undefined) {
      throw new WebhookError('infobip', `${path}.status`, `Expected \`${path}.status\` to be an object, got undefined`);
    }
    return receipt(result.messageId, 'read', { at: fromIso('infobip', `${path}.seenAt`, result.seenAt) });
  }
  const status = statusOf(result.status, `${path}.status`);
  const at = result.doneAt === undefined ? undefined : fromIso('infobip', `${path}.doneAt`, result.doneAt);
  const perMessage = result.price?.pricePerMessage;
  const price = perMessage === undefined ? undefined : decimalPrice('infobip', `${path}.price.pricePerMessage`, perMessage);
  if (status !== 'failed') return receipt(result.messageId, status, { at, price });
  // The error object names the cause (EC_ABSENT_SUBSCRIBER…); the status names the outcome.
  const error = result.error && result.error.id !== 0 ? result.error : undefined;
  return receipt(result.messageId, status, {
    at,
    price,
    errorCode: error?.name ?? result.status.name,
    errorMessage: error?.description ?? result.status.description,
  });
}

function statusOf(status: z.infer<typeof InfobipStatus>, path: string): ReceiptStatus {
  const group = status.groupName ?? (status.groupId === undefined ? undefined : GROUP_IDS.get(status.groupId));
  if (group === undefined && status.groupId !== undefined) {
    const ids = [...GROUP_IDS.keys()].join(', ');
    throw new WebhookError('infobip', `${path}.groupId`, `Expected \`${path}.groupId\` to be one of ${ids}, got ${status.groupId}`);
  }
  const mapped = lookupStatus('infobip', `${path}.groupName`, group, GROUPS);
  // Only DELIVERED_TO_HANDSET is final; DELIVERED_TO_OPERATOR (and any other DELIVERED_*) may still fail.
  const toHandset = status.name === 'DELIVERED_TO_HANDSET' || (status.name === undefined && status.id === 5);
  if (mapped === 'delivered' && !toHandset) return 'sent';
  return mapped;
}
