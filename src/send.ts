import pRetry from 'p-retry';
import type { ResolvedChannel, ResolvedRetry } from './channels.js';
import type { LazyAbort } from './abort.js';
import { sleep, type Clock } from './clock.js';
import { SendError, isCascadeRouterError } from './errors.js';
import { toMicros, type Micros } from './money.js';
import { contentFor } from './planner.js';
import type { Cascade, Content, Message, Recipient, SendRequest, SendResult } from './types.js';

export type SendOutcome =
  | { readonly ok: true; readonly providerMessageId: string; readonly priceMicros: Micros | undefined }
  | { readonly ok: false; readonly error: { readonly message: string; readonly code?: string | undefined } };

const TRANSIENT_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EAI_AGAIN', 'EPIPE', 'ENETUNREACH', 'EHOSTUNREACH', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT']);

/** Whether a send error is worth retrying, and how long the provider asked us to wait. */
export function classifySendError(error: unknown): { permanent: boolean; retryAfterMs: number | undefined } {
  if (error instanceof SendError || (isCascadeRouterError(error) && 'permanent' in error)) {
    const e = error as SendError;
    return { permanent: e.permanent, retryAfterMs: e.retryAfterMs };
  }
  const fields = (typeof error === 'object' && error !== null ? error : {}) as Record<string, unknown>;
  const status = typeof fields.status === 'number' ? fields.status : typeof fields.statusCode === 'number' ? fields.statusCode : undefined;
  const retryAfterMs = typeof fields.retryAfterMs === 'number' ? fields.retryAfterMs : undefined;
  if (status !== undefined) {
    const transient = status === 408 || status === 425 || status === 429 || status >= 500;
    return { permanent: !transient, retryAfterMs };
  }
  if (typeof fields.code === 'string' && TRANSIENT_CODES.has(fields.code)) return { permanent: false, retryAfterMs };
  // A bug in the adapter will not fix itself on retry.
  if (error instanceof TypeError || error instanceof RangeError || error instanceof SyntaxError) return { permanent: true, retryAfterMs };
  return { permanent: false, retryAfterMs };
}

/**
 * Calls a channel's adapter, retrying transient errors with exponential backoff on the router's clock.
 * The first try is a plain call (p-retry costs microseconds we do not spend on the common case);
 * p-retry then counts and stops the retries, while the waits run on `clock` so simulated time drives them.
 */
export async function runSend(channel: ResolvedChannel, cascade: Cascade, step: number, abort: LazyAbort, clock: Clock): Promise<SendOutcome> {
  const request = (attempt: number): SendRequest => new Request(channel, cascade, step, attempt, abort);
  let firstError: unknown;
  try {
    return readResult(await channel.send(request(1)));
  } catch (error) {
    firstError = error;
  }
  const retry = channel.retry;
  const first = classifySendError(firstError);
  if (first.permanent || !retry || retry.retries === 0 || abort.aborted) return { ok: false, error: describe(firstError) };
  // p-retry replaces a try that succeeded just as the signal aborted with the abort error: keep what the provider accepted.
  let accepted: SendResult | undefined;
  try {
    await sleep(clock, backoff(retry, 0, first.retryAfterMs), abort.signal);
    const result = await pRetry(async (attempt) => (accepted = await channel.send(request(attempt + 1))), {
      retries: retry.retries - 1,
      minTimeout: 0,
      maxTimeout: 0,
      signal: abort.signal,
      shouldRetry: async ({ error, retriesConsumed }) => {
        const { permanent, retryAfterMs } = classifySendError(error);
        if (permanent) return false;
        await sleep(clock, backoff(retry, retriesConsumed + 1, retryAfterMs), abort.signal);
        return true;
      },
    });
    return readResult(result);
  } catch (error) {
    if (accepted !== undefined) return readResult(accepted);
    return { ok: false, error: describe(error) };
  }
}

/** A send request whose `signal` is made only if the adapter reads it. */
class Request implements SendRequest {
  readonly channel: string;
  readonly address: string;
  readonly content: Content;
  readonly message: Message;
  readonly recipient: Recipient;
  readonly cascadeId: string;
  readonly try: number;
  readonly #step: number;
  readonly #abort: LazyAbort;

  constructor(channel: ResolvedChannel, cascade: Cascade, step: number, attempt: number, abort: LazyAbort) {
    this.channel = channel.name;
    this.address = cascade.plan.steps[step]!.address;
    this.content = contentFor(cascade.message, channel);
    this.message = cascade.message;
    this.recipient = cascade.recipient;
    this.cascadeId = cascade.id;
    this.try = attempt;
    this.#step = step;
    this.#abort = abort;
  }

  get idempotencyKey(): string {
    return `${this.cascadeId}:${this.#step}`;
  }

  get signal(): AbortSignal {
    return this.#abort.signal;
  }
}

function backoff(retry: ResolvedRetry, retriesDone: number, retryAfterMs: number | undefined): number {
  return Math.max(Math.min(retry.maxDelayMs, retry.minDelayMs * retry.factor ** retriesDone), retryAfterMs ?? 0);
}

function readResult(result: SendResult): SendOutcome {
  const providerMessageId = typeof result === 'string' ? result : result?.providerMessageId;
  if (typeof providerMessageId !== 'string' || providerMessageId === '') {
    return { ok: false, error: { message: `Expected send() to resolve with the provider's message id, got ${JSON.stringify(result)}`, code: 'INVALID_SEND_RESULT' } };
  }
  const price = typeof result === 'string' ? undefined : result.price;
  return { ok: true, providerMessageId, priceMicros: readPrice(price) };
}

// The provider did accept the message: an unreadable price must not turn that into a failure.
function readPrice(price: unknown): Micros | undefined {
  if (typeof price !== 'number' && typeof price !== 'string') return undefined;
  try {
    return toMicros(price, 'price');
  } catch {
    return undefined;
  }
}

function describe(error: unknown): { message: string; code?: string | undefined } {
  if (error instanceof SendError) return { message: error.message, code: error.providerCode };
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return { message: error.message, code: typeof code === 'string' ? code : undefined };
  }
  return { message: String(error) };
}
