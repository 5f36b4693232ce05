import pRetry, { AbortError } from 'p-retry';
import type { ResolvedChannel, ResolvedProvider, ResolvedRetry } from '../core/channels.js';
import type { LazyAbort } from './abort.js';
import { sleep, type Clock } from './clock.js';
import { SendError, isCascadeRouterError } from '../core/errors.js';
import { toMicros, type Micros } from '../core/money.js';
import { contentFor } from '../core/planner.js';
import type { AttemptError, Cascade, Content, Message, Recipient, SendRequest, SendResult } from '../core/types.js';

export type SendOutcome =
  | { readonly ok: true; readonly providerMessageId: string; readonly priceMicros: Micros | undefined }
  | { readonly ok: false; readonly error: AttemptError; readonly ended?: undefined }
  /** Before a retry, the step turned out ended (timed out, cancelled, delivered by an earlier step) or no longer this router's. */
  | { readonly ok: false; readonly error: AttemptError; readonly ended: true };

/** What one send goes through: the step's channel, the provider of its current try, and which try that is. */
export interface SendTarget {
  readonly channel: ResolvedChannel;
  readonly provider: ResolvedProvider;
  /** 0 for the step's first provider, 1 after one failover, … (part of the idempotency key). */
  readonly index: number;
}

/**
 * Asked before every retry: whether the step is still current, still `sending` and still this router's.
 * A retry waits out its backoff on this router while another may end the step (a timeout, a cancel, a
 * late receipt of an earlier step), so the answer comes from the store, not from this router's memory.
 */
export type StillOurs = () => boolean | Promise<boolean>;

const TRANSIENT_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EAI_AGAIN', 'EPIPE', 'ENETUNREACH', 'EHOSTUNREACH', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT']);

/** How a send error is handled: whether retrying can help, how long the provider asked us to wait, whose fault it is. */
export interface SendErrorClass {
  readonly permanent: boolean;
  readonly retryAfterMs: number | undefined;
  /** `provider`: another provider of the channel may succeed (a step moves to it); `recipient`: none would. */
  readonly fault: 'recipient' | 'provider';
}

/** HTTP statuses that are about the provider account, not the message: another provider may succeed. */
const PROVIDER_STATUS = new Set([401, 402, 403, 407]);

/**
 * Whether a send error is worth retrying, how long the provider asked us to wait, and whose fault it is.
 * Transient errors (408, 425, 429, 5xx, network failures) and account errors (401, 402, 403, 407) are the
 * provider's; other 4xx the recipient's (invalid number, unregistered token). A `SendError` says it itself.
 */
export function classifySendError(error: unknown): SendErrorClass {
  if (error instanceof SendError || (isCascadeRouterError(error) && 'permanent' in error)) {
    const e = error as SendError;
    return { permanent: e.permanent, retryAfterMs: e.retryAfterMs, fault: e.fault ?? (e.permanent ? 'recipient' : 'provider') };
  }
  const fields = (typeof error === 'object' && error !== null ? error : {}) as Record<string, unknown>;
  const status = typeof fields.status === 'number' ? fields.status : typeof fields.statusCode === 'number' ? fields.statusCode : undefined;
  const retryAfterMs = typeof fields.retryAfterMs === 'number' ? fields.retryAfterMs : undefined;
  if (status !== undefined) {
    const transient = status === 408 || status === 425 || status === 429 || status >= 500;
    return { permanent: !transient, retryAfterMs, fault: transient || PROVIDER_STATUS.has(status) ? 'provider' : 'recipient' };
  }
  if (typeof fields.code === 'string' && TRANSIENT_CODES.has(fields.code)) return { permanent: false, retryAfterMs, fault: 'provider' };
  // fetch() reports network failures as a TypeError whose cause carries the code.
  const cause = fields.cause as { code?: unknown } | undefined;
  if (error instanceof TypeError && (error.message === 'fetch failed' || (typeof cause?.code === 'string' && TRANSIENT_CODES.has(cause.code)))) {
    return { permanent: false, retryAfterMs, fault: 'provider' };
  }
  // A bug in the adapter will not fix itself on retry; another provider's adapter may work.
  if (error instanceof TypeError || error instanceof RangeError || error instanceof SyntaxError) return { permanent: true, retryAfterMs, fault: 'provider' };
  return { permanent: false, retryAfterMs, fault: 'provider' };
}

/**
 * Calls a channel's adapter, retrying transient errors with exponential backoff on the router's clock.
 * The first try is a plain call (p-retry costs microseconds we do not spend on the common case);
 * p-retry then counts and stops the retries, while the waits run on `clock` so simulated time drives them.
 */
export function runSend(target: SendTarget, cascade: Cascade, step: number, abort: LazyAbort, clock: Clock, stillOurs: StillOurs): Promise<SendOutcome> {
  const retry = (error: unknown): Promise<SendOutcome> => retrySend(target, cascade, step, abort, clock, stillOurs, error);
  let first: Promise<SendResult>;
  try {
    first = Promise.resolve(target.provider.send(new Request(target, cascade, step, 1, abort)));
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
  target: SendTarget,
  cascade: Cascade,
  step: number,
  abort: LazyAbort,
  clock: Clock,
  stillOurs: StillOurs,
  firstError: unknown,
): Promise<SendOutcome> {
  const retry = target.provider.retry;
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
        return (accepted = await target.provider.send(new Request(target, cascade, step, attempt + 1, abort)));
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
  readonly provider: string;
  readonly address: string;
  readonly content: Content;
  readonly message: Message;
  readonly recipient: Recipient;
  readonly cascadeId: string;
  readonly try: number;
  readonly #step: number;
  readonly #index: number;
  readonly #abort: LazyAbort;

  constructor(target: SendTarget, cascade: Cascade, step: number, attempt: number, abort: LazyAbort) {
    this.channel = target.channel.name;
    this.provider = target.provider.name;
    this.address = cascade.plan.steps[step]!.address;
    this.content = contentFor(cascade.message, target.channel);
    this.message = cascade.message;
    this.recipient = cascade.recipient;
    this.cascadeId = cascade.id;
    this.try = attempt;
    this.#step = step;
    this.#index = target.index;
    this.#abort = abort;
  }

  /** `<cascade id>:<step>`, and `:<n>` for the step's nth failover to another provider. */
  get idempotencyKey(): string {
    return this.#index === 0 ? `${this.cascadeId}:${this.#step}` : `${this.cascadeId}:${this.#step}:${this.#index}`;
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
    return { ok: false, error: { message: `Expected send() to resolve with the provider's message id, got ${JSON.stringify(result)}`, code: 'INVALID_SEND_RESULT', fault: 'provider' } };
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

/** What a failed send records: the error's message and code, and whose fault it is. */
function describe(error: unknown): AttemptError {
  const { fault } = classifySendError(error);
  // A SendError from another copy of the package (cascade-router/testing's CJS build has its own) too.
  if (error instanceof SendError || (isCascadeRouterError(error) && 'providerCode' in error)) {
    return { message: error.message, code: (error as SendError).providerCode, fault };
  }
  if (typeof error === 'object' && error !== null) {
    const { message, code } = error as { message?: unknown; code?: unknown };
    return {
      message: typeof message === 'string' ? message : error instanceof Error ? error.name : JSON.stringify(error) ?? String(error),
      code: typeof code === 'string' || typeof code === 'number' ? String(code) : undefined,
      fault,
    };
  }
  return { message: String(error), fault };
}

// p-retry rethrows anything that is not an Error without asking shouldRetry, and every TypeError it
// does not recognise: hand it our own classification instead.
function asSendError(error: unknown): SendError {
  if (error instanceof SendError) return error;
  const { permanent, retryAfterMs, fault } = classifySendError(error);
  const { message, code } = describe(error);
  return new SendError(message, { permanent, fault, ...(retryAfterMs === undefined ? {} : { retryAfterMs }), ...(code === undefined ? {} : { providerCode: code }), cause: error });
}
