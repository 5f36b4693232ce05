import { CascadeRouterError } from '../errors.js';

/**
 * Redis did not answer (down, restarting, unreachable, timed out, or refusing writes while it loads).
 * Nothing was half-written: every change is one Lua script, applied whole or not at all. Retry once
 * Redis is back; the client reconnects on its own.
 */
export class StoreUnavailableError extends CascadeRouterError {
  constructor(operation: string, options: { cause: unknown }) {
    const reason = options.cause instanceof Error ? options.cause.message : String(options.cause);
    super('STORE_UNAVAILABLE', `Redis store unavailable during ${operation}: ${reason}`, options);
  }
}

// Replies that mean "not now" rather than "wrong": the server is loading, failing over or busy.
const TRANSIENT_REPLY = /^(LOADING|READONLY|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|BUSY|NOREPLICAS|MISCONF)\b/;

/** Connection failures and transient replies become `StoreUnavailableError`; other replies (a bug, a key clash) pass through. */
export function toStoreError(operation: string, error: unknown): unknown {
  if (error instanceof CascadeRouterError) return error;
  const isReply = error instanceof Error && error.name === 'ReplyError';
  if (isReply && !TRANSIENT_REPLY.test(error.message)) return error;
  return new StoreUnavailableError(operation, { cause: error });
}
