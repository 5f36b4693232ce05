import pRetry, { AbortError } from 'p-retry';
import type { ResolvedChannel, ResolvedRetry } from './channels.js';
import type { LazyAbort } from './abort.js';
import { sleep, type Clock } from './clock.js';
import { SendError, isCascadeRouterError } from './errors.js';
import { toMicros, type Micros } from './money.js';
import { contentFor } from './planner.js';
import type { Cascade, Content, Message, Recipient, SendRequest, SendResult } from './types.js';

export type SendOutcome =
  | { readonly ok: true; readonly providerMessageId: string; readonly priceMicros: Micros | undefined }
  | { readonly ok: false; readonly error: { readonly message: string; readonly code?: string | undefined }; readonly ended?: undefined }
  /** Before a retry, the step turned out ended (timed out, cancelled, delivered by an earlier step) or no longer this router's. */
  | { readonly ok: false; readonly error: { readonly message: string; readonly code?: string | undefined }; readonly ended: true };

/**
 * Asked before every retry: whether the step is still current, still `sending` and still this router's.
 * A retry waits out its backoff on this router while another may end the step (a timeout, a cancel, a
 * late receipt of an earlier step), so the answer comes from the store, not from this router's memory.
 */
export type StillOurs = () => boolean | Promise<boolean>;

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
  // fetch() reports network failures as a TypeError whose cause carries the code.
  const cause = fields.cause as { code?: unknown } | undefined;
  if (error instanceof TypeError && (error.message === 'fetch failed' || (typeof cause?.code === 'string' && TRANSIENT_CODES.has(cause.code)))) {
    return { permanent: false, retryAfterMs };
  }
  // A bug in the adapter will not fix itself on retry.
  if (error instanceof TypeError || error instanceof RangeError || error instanceof SyntaxError) return { permanent: true, retryAfterMs };
  return { permanent: false, retryAfterMs };
}

/**
 * Calls a channel's adapter, retrying transient errors with exponential backoff on the router's clock.
 * The first try is a plain call (p-retry costs microseconds we do not spend on the common case);
 * p-retry then counts and stops the retries, while the waits run on `clock` so simulated time drives them.
 */
export function runSend(channel: ResolvedChannel, cascade: Cascade, step: number, abort: LazyAbort, clock: Clock, stillOurs: StillOurs): Promise<SendOutcome> {
  const retry = (error: unknown): Promise<SendOutcome> => retrySend(channel, cascade, step, abort, clock, stillOurs, error);
  let first: Promise<SendResult>;
  try {
    first = Promise.resolve(channel.send(new Request(channel, cascade, step, 1, abort)));
  } catch (error) {
    return retry(error);
  }
  return first.then(readResult, retry);
}

/**
 * After a first try failed: retry it if it is transient, with backoff, within the step's abort signal, and
 * only while the step is still ours (asked before every retry).
 */
async function retrySend(
  channel: ResolvedChannel,
  cascade: Cascade,
  step: number,
  abort: LazyAbort,
  clock: Clock,
  stillOurs: StillOurs,
  firstError: unknown,
): Promise<SendOutcome> {
  const retry = channel.retry;
  const first = classifySendError(firstError);
  if (first.permanent || !retry || retry.retries === 0 || abort.aborted) return { ok: false, error: describe(firstError) };
  // p-retry replaces a try that succeeded just as the signal aborted with the abort error: keep what the provider accepted.
  let accepted: SendResult | undefined;
  let lastError: unknown = firstError;
  let ended = false;
  try {
    await sleep(clock, backoff(retry, 0, first.retryAfterMs), abort.signal);
    const tryAgain = async (attempt: number): Promise<SendResult> => {
      let ours: boolean;
      try {
        ours = await stillOurs();
      } catch {
        // The store cannot say: do not send blind; the last error stands.
        throw new AbortError(asSendError(lastError));
      }
      if (!ours) {
        ended = true;
        abort.abort();
        throw new AbortError(asSendError(lastError));
      }
      try {
        return (accepted = await channel.send(new Request(channel, cascade, step, attempt + 1, abort)));
      } catch (error) {
        lastError = error;
        throw asSendError(error);
      }
    };
    const result = await pRetry(tryAgain, {
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
    if (ended) return { ok: false, error: describe(lastError), ended: true };
    return { ok: false, error: describe(error instanceof AbortError ? lastError : error) };
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
  if (typeof error === 'object' && error !== null) {
    const { message, code } = error as { message?: unknown; code?: unknown };
    return {
      message: typeof message === 'string' ? message : error instanceof Error ? error.name : JSON.stringify(error) ?? String(error),
      code: typeof code === 'string' || typeof code === 'number' ? String(code) : undefined,
    };
  }
  return { message: String(error) };
}

// p-retry rethrows anything that is not an Error without asking shouldRetry, and every TypeError it
// does not recognise: hand it our own classification instead.
function asSendError(error: unknown): SendError {
  if (error instanceof SendError) return error;
  const { permanent, retryAfterMs } = classifySendError(error);
  const { message, code } = describe(error);
  return new SendError(message, { permanent, ...(retryAfterMs === undefined ? {} : { retryAfterMs }), ...(code === undefined ? {} : { providerCode: code }), cause: error });
}
