import type { Transition } from '../core/transition.js';
import type { Cascade } from '../core/types.js';

/** Something that watches persisted changes: the log lines and the OpenTelemetry spans and metrics. */
export interface Observer {
  /** A cascade this router created, with what `context()` captured when `send()` was called. */
  started?(cascade: Cascade, context: unknown): void;
  /** A persisted change; `before` is the cascade it was made from, `'new'` for a new one, undefined when not known. */
  changed(done: Transition, before: Cascade | 'new' | undefined): void;
  /** The caller's context at `send()` (OpenTelemetry's active context). */
  context?(): unknown;
  /** The router closed: end what is open. */
  close?(): void;
}
