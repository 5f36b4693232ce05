import type { z } from 'zod';
import { UnknownStatusError, WebhookError, type WebhookProvider } from './errors.js';

/** How a normalizer treats an event whose status it does not know. */
export interface ReceiptOptions {
  /**
   * `true`: throw an `UnknownStatusError` for the first unknown status, and return nothing (the behaviour
   * before 0.2). Default `false`: skip that event, report it to `onUnknown`, and return the rest.
   */
  readonly strict?: boolean | undefined;
  /** Called once per skipped event, with the raw status and, when it could be read, the message id. */
  readonly onUnknown?: ((error: UnknownStatusError) => void) | undefined;
}

const utf8 = new TextDecoder('utf-8', { fatal: false });

/** The body as text when it arrived raw (a string or the bytes of one), else `undefined`. */
export function rawText(body: unknown): string | undefined {
  if (typeof body === 'string') return body;
  if (body instanceof Uint8Array) return utf8.decode(body);
  return undefined;
}

/** What a value is, for messages: `string "x"`, `number 5`, `an array`, `null`. */
export function show(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** No provider nests JSON deeper than this (WhatsApp's `entry[].changes[].value.statuses[].errors[]` is 8). */
export const MAX_JSON_DEPTH = 32;
/** Form fields read at most: Node's `querystring` and body-parser stop at 1,000 too; providers send a few dozen. */
export const MAX_FORM_FIELDS = 1000;

/** The nesting depth of JSON text, strings skipped: a linear scan that refuses a deep body before `JSON.parse` recurses into it. */
export function tooDeep(text: string, max: number = MAX_JSON_DEPTH): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i += 1; // backslash: skip the escaped character
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 91 || c === 123) {
      depth += 1;
      if (depth > max) return true;
    } else if (c === 93 || c === 125) depth -= 1;
  }
  return false;
}

/** A JSON body: raw text is parsed, anything else is taken as already parsed. */
export function jsonBody(provider: WebhookProvider, body: unknown): unknown {
  const text = rawText(body);
  if (text === undefined) {
    if (body === undefined || body === null) {
      throw new WebhookError(provider, 'body', `Expected \`body\` to be a JSON string or a parsed object, got ${show(body)}`);
    }
    return body;
  }
  if (tooDeep(text, MAX_JSON_DEPTH)) {
    throw new WebhookError(provider, 'body', `Expected \`body\` to be JSON nested at most ${MAX_JSON_DEPTH} levels deep`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw new WebhookError(provider, 'body', `Expected \`body\` to be JSON, got ${show(text)}`, { cause });
  }
}

/** Throws unless a form has at most `MAX_FORM_FIELDS` fields (counted before anything is decoded). */
export function checkFormSize(fields: number, fail: (message: string) => Error): void {
  if (fields > MAX_FORM_FIELDS) throw fail(`Expected at most ${MAX_FORM_FIELDS} form fields, got ${fields}`);
}

/** The number of `&`-separated parts of a form: an upper bound of its fields, counted without decoding. */
export function formParts(text: string): number {
  let parts = 1;
  for (let i = text.indexOf('&'); i !== -1; i = text.indexOf('&', i + 1)) parts += 1;
  return parts;
}

/** A form-encoded body (or query string): raw text is decoded, `URLSearchParams` read, objects passed on. */
export function formBody(provider: WebhookProvider, body: unknown): unknown {
  if (body instanceof URLSearchParams) return Object.fromEntries(body);
  const text = rawText(body);
  if (text !== undefined) {
    checkFormSize(formParts(text), (message) => new WebhookError(provider, 'body', message));
    return Object.fromEntries(new URLSearchParams(text));
  }
  if (typeof body === 'object' && body !== null && !Array.isArray(body)) return body;
  throw new WebhookError(provider, 'body', `Expected \`body\` to be a form-encoded string or an object, got ${show(body)}`);
}

/** `['entry', 0, 'status']` → `entry[0].status`, prefixed by where the value sits. */
export function fieldPath(path: readonly PropertyKey[], prefix = ''): string {
  let out = prefix;
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out === '' ? 'body' : out;
}

function article(expected: string): string {
  if (expected === 'array' || expected === 'object') return `an ${expected}`;
  return `a ${expected}`;
}

/** Validates `value` with `schema`, throwing a `WebhookError` that names the first bad field. */
export function check<T>(provider: WebhookProvider, schema: z.ZodType<T>, value: unknown, prefix = ''): T {
  const result = schema.safeParse(value, { reportInput: true });
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = fieldPath(issue?.path ?? [], prefix);
  let message = `Invalid \`${field}\`: ${issue?.message ?? 'unknown problem'}`;
  if (issue?.code === 'invalid_type') {
    message = `Expected \`${field}\` to be ${article(issue.expected)}, got ${show(issue.input)}`;
  } else if (issue?.code === 'invalid_value') {
    message = `Expected \`${field}\` to be one of ${issue.values.map(String).join(', ')}, got ${show(issue.input)}`;
  } else if (issue?.code === 'too_small' && issue.origin === 'string') {
    message = `Expected \`${field}\` to be a non-empty string, got ${show(issue.input)}`;
  } else if (issue?.code === 'too_big' && issue.origin === 'string') {
    const length = typeof issue.input === 'string' ? issue.input.length : '?';
    message = `Expected \`${field}\` to be at most ${String(issue.maximum)} characters, got ${length}`;
  }
  throw new WebhookError(provider, field, message, { cause: result.error });
}

/**
 * Looks a provider status up in its table (a `Map`: never a plain object, whose inherited `constructor` or
 * `__proto__` would answer for any input). `null` in the table means "known, not a delivery status: no
 * receipt". A missing status is malformed and throws `WebhookError`; an unknown one throws
 * `UnknownStatusError` in strict mode, else is reported to `onUnknown` and gives `undefined`: skip the event.
 */
export function readStatus<S>(
  provider: WebhookProvider,
  field: string,
  value: string | undefined,
  table: ReadonlyMap<string, S>,
  options: ReceiptOptions,
  providerMessageId?: string,
): S | undefined {
  if (value === undefined) {
    throw new WebhookError(provider, field, `Expected \`${field}\` to be one of ${[...table.keys()].join(', ')}, got undefined`);
  }
  const status = table.get(value);
  if (status !== undefined) return status;
  unknownStatus(() => new UnknownStatusError(provider, field, value, [...table.keys()], providerMessageId), options);
  return undefined;
}

/** Throws an unknown status in strict mode, else reports it; the error is only made when someone takes it. */
export function unknownStatus(error: () => UnknownStatusError, options: ReceiptOptions): void {
  if (options.strict === true) throw error();
  if (options.onUnknown === undefined) return;
  // A report is data, not a failure: its stack would point into this module and costs more than the rest of
  // reading the event (a signed 10,000-event batch of new event types stays a few ms per KB).
  const limit = Error.stackTraceLimit;
  let report: UnknownStatusError;
  try {
    Error.stackTraceLimit = 0;
    report = error();
  } finally {
    Error.stackTraceLimit = limit;
  }
  options.onUnknown(report);
}

/** Throws unless a batch holds at most `max` events: bounded work for one request. */
export function checkBatchSize(provider: WebhookProvider, field: string, list: unknown, max: number, why: string): void {
  if (Array.isArray(list) && list.length > max) {
    throw new WebhookError(provider, field, `Expected \`${field}\` to hold at most ${max} events (${why}), got ${list.length}`);
  }
}
