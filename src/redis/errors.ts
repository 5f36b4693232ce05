import { CascadeRouterError, StoreUnavailableError } from '../core/errors.js';

export { StoreUnavailableError };

// Replies that mean "not now" rather than "wrong": the server is loading, failing over or busy.
const TRANSIENT_REPLY = /^(LOADING|READONLY|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|BUSY|NOREPLICAS|MISCONF)\b/;

/** Connection failures and transient replies become `StoreUnavailableError`; other replies (a bug, a key clash) pass through. */
export function toStoreError(operation: string, error: unknown): unknown {
  if (error instanceof CascadeRouterError) return error;
  const isReply = error instanceof Error && error.name === 'ReplyError';
  if (isReply && !TRANSIENT_REPLY.test(error.message)) return error;
  return new StoreUnavailableError(operation, { cause: error, store: 'Redis store' });
}
