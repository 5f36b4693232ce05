import { z } from 'zod';
import { InvalidConfigError, InvalidInputError, InvalidReceiptError } from './errors.js';

const amount = z.union([z.number(), z.string()]);
const duration = z.union([z.number(), z.string()]);
const level = z.enum(['accepted', 'delivered', 'read']);
const name = z.string().min(1);
// zod's record() is 2–3× slower than an empty object with a catchall, and these run on every send.
const dictionary = <T extends z.ZodType>(value: T) => z.object({}).catchall(value);
const fn = z.custom<(...args: never[]) => unknown>((value) => typeof value === 'function', 'Expected a function');

const content = z.object({
  text: z.string(),
  subject: z.string().optional(),
  html: z.string().optional(),
});

export const messageSchema = z.object({
  key: z.string().min(1),
  category: name,
  content: content.extend({
    sms: z.string().optional(),
    channels: dictionary(content.partial()).optional(),
  }),
  channels: z.array(name).optional(),
  maxCost: amount.optional(),
  deadline: duration.optional(),
  sendAt: z.union([z.number(), z.date()]).optional(),
  delays: dictionary(duration).optional(),
  success: z.union([level, dictionary(level)]).optional(),
  policy: z
    .object({
      order: z.enum(['cost', 'recipient', 'message']).optional(),
      deadline: z.enum(['shorten', 'skip']).optional(),
      quietHours: z.enum(['respect', 'ignore']).optional(),
      valueOfTime: amount.optional(),
    })
    .optional(),
  metadata: dictionary(z.string()).optional(),
});

export const recipientSchema = z.object({
  id: z.string().min(1),
  addresses: dictionary(z.string().optional()),
  optedOut: z.array(z.string()).optional(),
  preferredOrder: z.array(z.string()).optional(),
  consent: dictionary(z.union([z.boolean(), z.array(z.string())])).optional(),
  timeZone: z.string().optional(),
  quietHours: z.object({ start: z.string(), end: z.string() }).optional(),
  country: z.string().optional(),
});

// Bounded work per receipt: a receipt is held and stored (in Redis too), so nothing in it may be unbounded.
// The same caps as cascade-router/receipts: MAX_ID_LENGTH, MAX_CODE_LENGTH, MAX_MESSAGE_LENGTH, MAX_PRICE_LENGTH.
export const receiptSchema = z.object({
  providerMessageId: z.string().min(1).max(256),
  status: z.enum(['accepted', 'sent', 'delivered', 'read', 'failed']),
  at: z.number().finite().optional(),
  error: z
    .object({ code: z.string().max(64).optional(), message: z.string().max(1024).optional(), fault: z.enum(['recipient', 'provider']).optional() })
    .optional(),
  price: z.union([z.number(), z.string().max(40)]).optional(),
  provider: name.max(64).optional(),
});

const retry = z
  .union([
    z.literal(false),
    z.object({
      retries: z.number().int().min(0).optional(),
      minDelay: duration.optional(),
      maxDelay: duration.optional(),
      factor: z.number().min(1).optional(),
    }),
  ])
  .optional();

const rate = z.object({ limit: z.number().int().positive(), per: duration.optional() }).optional();

const providerSchema = z.object({
  name,
  send: fn,
  cost: z.union([amount, fn]).optional(),
  weight: z.number().positive().finite().optional(),
  receipts: name.optional(),
  retry,
  rate,
});

export const channelSchema = z.object({
  kind: z.enum(['push', 'email', 'messenger', 'sms', 'custom']),
  send: fn.optional(),
  providers: z.array(providerSchema).optional(),
  providerOrder: z.enum(['price', 'weight']).optional(),
  cost: z.union([amount, fn]).optional(),
  billing: z.enum(['sent', 'delivered']).optional(),
  confirm: z
    .object({
      by: z.enum(['receipt', 'acceptance']).optional(),
      timeout: duration.optional(),
      adaptive: z.union([z.literal(false), z.object({ min: duration.optional(), max: duration.optional() })]).optional(),
    })
    .optional(),
  success: level.optional(),
  retry,
  address: fn.optional(),
  learnAs: z.string().min(1).optional(),
  provider: name.optional(),
  rate,
  phoneNumbers: z.boolean().optional(),
});

type ErrorClass = new (message: string, options?: { cause?: unknown }) => Error;

/** Parses a public input, turning zod's issues into one readable typed error. */
export function parse<T>(schema: z.ZodType<T>, value: unknown, what: string, error: ErrorClass = InvalidInputError): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = result.error.issues.slice(0, 3).map((issue) => {
    const path = issue.path.length > 0 ? `\`${issue.path.join('.')}\`` : 'the value';
    return `${path}: ${issue.message}`;
  });
  throw new error(`Invalid ${what}: ${issues.join('; ')}`, { cause: result.error });
}

export const errorFor = { input: InvalidInputError, config: InvalidConfigError, receipt: InvalidReceiptError } as const;
