import type { ResolvedChannel } from '../core/channels.js';
import type { Clock } from './clock.js';
import type { PendingWork } from './drive.js';
import type { Pacing } from './pacing.js';
import type { Health } from './provider-health.js';
import type { Liveness } from './liveness.js';
import type { Reporter } from './reporter.js';
import type { CascadeStore, StatsUpdate } from '../store/types.js';
import type { Transition } from '../core/transition.js';
import type { Cascade } from '../core/types.js';

/** What the pieces of one router share (src/runtime/router.ts makes it). */
export interface RouterContext {
  readonly store: CascadeStore;
  readonly clock: Clock;
  readonly channels: ReadonlyMap<string, ResolvedChannel>;
  /** This router's name among the instances sharing its store: inputs it applies carry it as `by`. */
  readonly instanceId: string;
  /** Set when the store is shared with other routers (it was passed in). */
  readonly liveness: Liveness | undefined;
  readonly pending: PendingWork;
  readonly reporter: Reporter;
  /** The providers' breakers (admits sends, learns from their answers and receipts). */
  readonly health: Health;
  /** The providers' rate limits. */
  readonly pacing: Pacing;
  readonly closed: () => boolean;
  /** The ledger delta and learned outcomes a persisted change carries. */
  readonly update: (before: Cascade | undefined, after: Cascade) => StatsUpdate | undefined;
  /** Once a transition is persisted: report it, arm its timer, carry out its effects. */
  readonly after: (done: Transition, before?: Cascade | 'new') => void;
}
