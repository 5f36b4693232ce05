import type { z } from 'zod';
import { WebhookError, type WebhookProvider } from './errors.js';

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

/** A JSON body: raw text is parsed, anything else is taken as already parsed. */
export function jsonBody(provider: WebhookProvider, body: unknown): unknown {
  const text = rawText(body);
  if (text === undefined) {
    if (body === undefined || body === null) {
      throw new WebhookError(provider, 'body', `Expected \`body\` to be a JSON string or a parsed object, got ${show(body)}`);
    }
    return body;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw new WebhookError(provider, 'body', `Expected \`body\` to be JSON, got ${show(text)}`, { cause });
  }
}

/** A form-encoded body (or query string): raw text is decoded, `URLSearchParams` read, objects passed on. */
export function formBody(provider: WebhookProvider, body: unknown): unknown {
  if (body instanceof URLSearchParams) return Object.fromEntries(body);
  const text = rawText(body);
  if (text !== undefined) return Object.fromEntries(new URLSearchParams(text));
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
  }
  throw new WebhookError(provider, field, message, { cause: result.error });
}

/**
 * Looks a provider status up in its table. `null` in the table means "known, not a delivery status:
 * no receipt". Anything absent throws rather than being guessed.
 */
export function lookupStatus<S>(
  provider: WebhookProvider,
  field: string,
  value: string | undefined,
  table: ReadonlyMap<string, S>,
): S {
  const status = value === undefined ? undefined : table.get(value);
  if (status === undefined) {
    throw new WebhookError(
      provider,
      field,
      `Expected \`${field}\` to be one of ${[...table.keys()].join(', ')}, got ${show(value)}`,
    );
  }
  return status;
}
