/** The router's options (and their checks) and the shapes its public methods answer (docs/api.md). */
import { randomBytes } from 'node:crypto';
import type { EventEmitter } from 'eventemitter3';
import type { PhoneNumberOptions } from '../core/channels.js';
import { toMs, type Duration } from '../core/duration.js';
import { InvalidConfigError } from '../core/errors.js';
import type { HealthOptions } from '../core/health.js';
import { resolveLearning, type LearningOptions, type ResolvedLearning } from '../core/learning.js';
import { toMicrosPerMs, type Amount } from '../core/money.js';
import { DEFAULT_CONSENT_REQUIRED } from '../core/planner.js';
import type { CascadeStatus, ChannelConfig, Message, Plan } from '../core/types.js';
import type { TelemetryOptions } from '../observe/telemetry.js';
import type { CascadeStore } from '../store/types.js';
import type { Clock } from './clock.js';
import type { RouterEvents } from './events.js';
import type { PacingOptions } from './pacing.js';
import type { Logger } from './reporter.js';

export interface RouterOptions {
  readonly channels: Readonly<Record<string, ChannelConfig>>;
  /** Default: a new `memoryStore()`, disposed on `close()`. */
  readonly store?: CascadeStore | undefined;
  /** Default: the system clock. Pass a `SimulatedClock` to run in simulated time. */
  readonly clock?: Clock | undefined;
  /** Message categories that need the recipient's consent. Default `['marketing']`. */
  readonly consentRequired?: readonly string[] | undefined;
  /** How long a receipt for an unknown provider id is held, in case its send() has not returned yet. Default 10m. */
  readonly holdUnknownReceipts?: Duration | undefined;
  /**
   * Makes a cascade's id from its message. Default: the message's idempotency key, so the id you
   * already hold is the one to `get()` or `cancel()`, and the store needs no separate key index.
   */
  readonly createId?: ((message: Message) => string) | undefined;
  /**
   * Learn each channel's reachability per recipient and its receipt latency from outcomes, and plan with
   * them: order by expected cost, skip channels that keep failing, adapt waits. Off by default. See docs/cost-model.md.
   */
  readonly learning?: boolean | LearningOptions | undefined;
  /**
   * What a second of a customer's waiting is worth, for messages whose `policy.valueOfTime` does not say:
   * with learning, it weighs time against money in the order and the waits. Default 0.
   */
  readonly valueOfTime?: Amount | undefined;
  /**
   * Names this router among the instances sharing its store: the steps it claims are `sending` in this name
   * until their send is recorded. Unique among live routers and not reused by a later process. Default: 12 random characters.
   */
  readonly instanceId?: string | undefined;
  /**
   * How long this router counts as alive after its last heartbeat, with a store it shares (one passed as
   * `store`). A step left `sending` by a router dead this long is sent again by another (same idempotency
   * key). It heartbeats every third of this while it has sends in flight. Default 30s.
   */
  readonly instanceTtl?: Duration | undefined;
  /**
   * Errors no caller can be given (a store outage during a timer, an adapter bug) and warnings (a receipt
   * posted to another provider's endpoint) are written here: any object with `error` and `warn` taking an
   * object first, such as a pino logger; with `info` and `debug` too, each cascade's course (docs/observability.md).
   * Without a logger or an `error` listener, each kind of error is written once to `console.error`.
   */
  readonly logger?: Logger | undefined;
  /**
   * OpenTelemetry spans (a cascade span under the caller's active context at `send()`, a span per attempt)
   * and metrics. On by default when `@opentelemetry/api` is installed (it records through the global
   * providers, no-ops until an SDK registers them); pass providers to use others, or `false` for none.
   */
  readonly telemetry?: TelemetryOptions | boolean | undefined;
  /**
   * Most operations (sends, receipts, cancels) in progress at once; beyond it `send()` and `handleReceipt()`
   * refuse with `OverloadedError` (`OVERLOADED`) instead of queueing: answer a webhook with 503 and the
   * provider retries. Only a store that answers asynchronously (Redis) has operations in progress.
   * Default 10,000.
   */
  readonly maxPending?: number | undefined;
  /**
   * Provider health: a breaker per provider that opens on errors and on silence (receipts that stop coming)
   * and steps route around while it is open; shared through the store when it can. `false` turns it off.
   * Default: on, with the defaults of `HealthOptions`. See docs/providers.md.
   */
  readonly health?: HealthOptions | false | undefined;
  /** When a provider's rate limit (`ProviderConfig.rate`) is used up: which messages go first. See docs/providers.md. */
  readonly pacing?: PacingOptions | undefined;
  /**
   * Per recipient, the most messages of a category in a window, e.g. `{ marketing: { max: 3, per: '1d' } }`:
   * a message beyond it is not sent (every channel skipped, `frequency-capped`; the cascade ends `exhausted`).
   * Counted by the store, over every router on it.
   */
  readonly frequencyCaps?: Readonly<Record<string, { readonly max: number; readonly per: Duration }>> | undefined;
  /**
   * Check the phone numbers of SMS channels (and of channels declaring `phoneNumbers: true`) with
   * libphonenumber-js before planning: each is sent as E.164, and an invalid one skips its channel
   * (`invalid-address`) before anything is sent or paid. `defaultCountry` (ISO 3166-1 alpha-2, `UA`) reads
   * numbers written nationally (`050 123 4567`, `00380…`) when the recipient has no `country`. Off by default.
   */
  readonly phoneNumbers?: PhoneNumberOptions | boolean | undefined;
}

/** What `send()` resolves with. */
export interface SendReceipt {
  readonly cascadeId: string;
  readonly plan: Plan;
  /**
   * False when the idempotency key had already started a cascade: this is that cascade. True also when an
   * earlier `send()` of this router seemed to fail (the store did not answer) but its cascade was stored:
   * this call recognises it and starts it.
   */
  readonly created: boolean;
  readonly status: CascadeStatus;
}

/** How `send()` stores the cascade. */
export interface SendOptions {
  /**
   * Start the cascade inside your own open transaction: pass the connection it is open on (for
   * `postgresStore`, a node-postgres `Client`/`PoolClient`, or an adapter: docs/stores.md). The cascade is
   * written in that transaction and nothing is sent until it commits; then whichever router listens on the
   * store starts it. A rollback leaves no trace and sends nothing. Needs a store with `createInTransaction`.
   */
  readonly transaction?: unknown;
}

export type CancelResult =
  | { readonly outcome: 'cancelled'; readonly cascadeId: string; readonly status: 'cancelled' }
  | { readonly outcome: 'already-ended'; readonly cascadeId: string; readonly status: CascadeStatus }
  | { readonly outcome: 'not-found'; readonly cascadeId: string };

/** A listener of a router event: given that event's object (for a union of events, any of theirs). */
export type RouterListener<E extends keyof RouterEvents> = EventEmitter.EventListener<RouterEvents, E>;

const DEFAULT_MAX_PENDING = 10_000;

/** The router's scalar options, checked (an `InvalidConfigError` names the bad one) and with their defaults. */
export interface ResolvedRouterOptions {
  readonly consentRequired: ReadonlySet<string>;
  readonly holdMs: number;
  readonly learning: ResolvedLearning | undefined;
  readonly maxPending: number;
  readonly instanceId: string;
  readonly ttlMs: number;
}

export function resolveRouterOptions(options: RouterOptions): ResolvedRouterOptions {
  const consentRequired = new Set(options.consentRequired ?? DEFAULT_CONSENT_REQUIRED);
  const holdMs = toMs(options.holdUnknownReceipts ?? '10m', 'holdUnknownReceipts', InvalidConfigError);
  const learning = resolveLearning(options.learning);
  if (options.valueOfTime !== undefined) toMicrosPerMs(options.valueOfTime, 'valueOfTime', InvalidConfigError);
  const maxPending = options.maxPending ?? DEFAULT_MAX_PENDING;
  if (!(maxPending >= 1)) throw new InvalidConfigError(`Expected \`maxPending\` to be a positive number, got ${String(options.maxPending)}`);
  // 72 random bits, short: every attempt carries its owner's id.
  const instanceId = options.instanceId ?? randomBytes(9).toString('base64url');
  if (typeof instanceId !== 'string' || instanceId === '') {
    throw new InvalidConfigError(`Expected \`instanceId\` to be a non-empty string, got ${JSON.stringify(instanceId)}`);
  }
  const ttlMs = toMs(options.instanceTtl ?? '30s', 'instanceTtl', InvalidConfigError);
  if (ttlMs === 0) throw new InvalidConfigError('Expected `instanceTtl` to be a positive duration, got 0');
  return { consentRequired, holdMs, learning, maxPending, instanceId, ttlMs };
}
