/** Every error this library throws carries one of these stable codes. See docs/errors.md. */
export type ErrorCode =
  | 'INVALID_INPUT'
  | 'INVALID_CONFIG'
  | 'INVALID_RECEIPT'
  | 'INVALID_WEBHOOK'
  | 'INVALID_SIGNATURE'
  | 'SEND_FAILED'
  | 'STORE_CONFLICT'
  | 'STORE_UNAVAILABLE'
  | 'ROUTER_CLOSED'
  | 'OVERLOADED';

const BRAND = Symbol.for('cascade-router.error');

/** Base class of every error the library throws. */
export class CascadeRouterError extends Error {
  readonly code: ErrorCode;
  readonly [BRAND] = true;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A public input (message, recipient, duration, amount) failed validation. */
export class InvalidInputError extends CascadeRouterError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INVALID_INPUT', message, options);
  }
}

/** The router's own configuration (channels, options) is invalid. */
export class InvalidConfigError extends CascadeRouterError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INVALID_CONFIG', message, options);
  }
}

/** A receipt passed to `handleReceipt()` is malformed. Nothing was changed. */
export class InvalidReceiptError extends CascadeRouterError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INVALID_RECEIPT', message, options);
  }
}

/** A cascade kept changing under this router's writes (other routers on the same store) and it gave up. */
export class StoreConflictError extends CascadeRouterError {
  constructor(cascadeId: string, tries: number) {
    super('STORE_CONFLICT', `Cascade ${cascadeId} changed under ${tries} writes in a row; nothing was applied`);
  }
}

/**
 * The store did not answer (down, restarting, unreachable, timed out, or refusing writes while it loads or
 * fails over). The change may or may not have been applied: each is applied whole or not at all, but a
 * write the client gave up on can still be applied once the store answers again. Retry once the store is
 * back: a retried change is recognised as applied (the same idempotency key, the same compare-and-set).
 */
export class StoreUnavailableError extends CascadeRouterError {
  constructor(operation: string, options: { cause: unknown; store?: string }) {
    const reason = options.cause instanceof Error ? options.cause.message : String(options.cause);
    super('STORE_UNAVAILABLE', `${options.store ?? 'Store'} unavailable during ${operation}: ${reason}`, { cause: options.cause });
  }
}

/**
 * The router has `maxPending` operations in progress: it refuses more instead of queueing them. Answer a
 * webhook with 503 (providers retry) and a `send()` caller with a retry after a backoff.
 */
export class OverloadedError extends CascadeRouterError {
  constructor(pending: number) {
    super('OVERLOADED', `The router has ${pending} operations in progress (its \`maxPending\`): retry shortly`);
  }
}

/** The router is closed and accepts no more work. */
export class RouterClosedError extends CascadeRouterError {
  constructor() {
    super('ROUTER_CLOSED', 'The router is closed: create a new one to send more messages');
  }
}

/**
 * Thrown by a channel's `send()` adapter to say how a failure should be treated.
 * `permanent: true` falls back at once; otherwise the send is retried with backoff,
 * waiting at least `retryAfterMs` when the provider asked for it (HTTP 429 Retry-After).
 */
export class SendError extends CascadeRouterError {
  readonly permanent: boolean;
  readonly retryAfterMs: number | undefined;
  readonly providerCode: string | undefined;
  /**
   * Whose fault it is: `provider` (an outage, throttling, an account problem: the channel's next provider may
   * succeed) or `recipient` (invalid number, unregistered device token: none would). Default: `recipient`
   * for a permanent error, `provider` for a transient one.
   */
  readonly fault: 'recipient' | 'provider' | undefined;

  constructor(
    message: string,
    options: { permanent?: boolean; retryAfterMs?: number; providerCode?: string; fault?: 'recipient' | 'provider'; cause?: unknown } = {},
  ) {
    super('SEND_FAILED', message, options.cause === undefined ? undefined : { cause: options.cause });
    this.permanent = options.permanent ?? false;
    this.retryAfterMs = options.retryAfterMs;
    this.providerCode = options.providerCode;
    this.fault = options.fault;
  }
}

/** True for any error thrown by this library, even from a second copy of it in node_modules. */
export function isCascadeRouterError(error: unknown): error is CascadeRouterError {
  return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[BRAND] === true;
}
