export { createRouter, Router } from './runtime/router.js';
export type { RouterOptions, SendReceipt, SendOptions, ReceiptResult, CancelResult, Logger, RouterListener } from './runtime/router.js';
export type { TelemetryOptions } from './observe/telemetry.js';
export { planCascade, DEFAULT_CONSENT_REQUIRED } from './core/planner.js';
export { expectedCost, orderKey } from './core/expected-cost.js';
export type { CostedStep } from './core/expected-cost.js';
export { memoryStore } from './store/memory.js';
export type { MemoryStoreOptions } from './store/memory.js';
export type { AdmitRequest, CascadeStore, CommitResult, HeldCounts, HeldReceipt, MaybePromise, Orphan, PaceAnswer, PaceRequest, SharedHealth, StatsUpdate } from './store/types.js';
export { sendingAttempt } from './store/types.js';
export { applyStatsUpdate, addLedgers, emptyStoreStats, statsTouched } from './store/stats.js';
export type { StoreStats } from './store/stats.js';
export { latencyBucket } from './core/learning.js';
export type { LearningOptions, Learned, Observation, LearnedOutcome, OutcomeCounts, ChannelStats } from './core/learning.js';
export type { Ledger, ChannelLedger, ProviderLedger, ChannelReport, SpendReport } from './core/ledger.js';
export { transition, transitionAll, startCascade } from './core/transition.js';
export type { CascadeInput, Effect, Note, Transition, Verdict } from './core/transition.js';
export { SimulatedClock, systemClock, sleep } from './runtime/clock.js';
export type { Clock, TimerHandle, SettleHook } from './runtime/clock.js';
export { smsPerSegment, byPrefix } from './core/cost.js';
export type { PhoneNumberOptions } from './core/channels.js';
export type { PriceTable } from './core/cost.js';
export { smsSegments } from './core/sms.js';
export type { SmsEncoding, SmsSegments } from './core/sms.js';
export { toMicros, toMicrosPerMs, formatMicros } from './core/money.js';
export type { Amount, Micros } from './core/money.js';
export { toMs } from './core/duration.js';
export type { Duration } from './core/duration.js';
export { endOfQuietHours } from './core/quiet-hours.js';
export { classifySendError } from './runtime/send.js';
export {
  CascadeRouterError,
  InvalidInputError,
  InvalidConfigError,
  InvalidReceiptError,
  RouterClosedError,
  StoreConflictError,
  StoreUnavailableError,
  OverloadedError,
  SendError,
  isCascadeRouterError,
} from './core/errors.js';
export type { ErrorCode } from './core/errors.js';
export { TERMINAL } from './core/types.js';
export type * from './core/types.js';
export type * from './runtime/events.js';
export type { HealthOptions, ProviderHealth, BreakerState } from './core/health.js';
export type { PacingOptions } from './runtime/pacing.js';
