export { createRouter, Router } from './router.js';
export type { RouterOptions, SendReceipt, SendOptions, ReceiptResult, CancelResult, Logger, RouterListener } from './router.js';
export type { TelemetryOptions } from './observe/telemetry.js';
export { planCascade, DEFAULT_CONSENT_REQUIRED } from './planner.js';
export { expectedCost, orderKey } from './expected-cost.js';
export type { CostedStep } from './expected-cost.js';
export { memoryStore } from './store/memory.js';
export type { MemoryStoreOptions } from './store/memory.js';
export type { AdmitRequest, CascadeStore, CommitResult, HeldCounts, HeldReceipt, MaybePromise, Orphan, PaceAnswer, PaceRequest, SharedHealth, StatsUpdate } from './store/types.js';
export { sendingAttempt } from './store/types.js';
export { applyStatsUpdate, addLedgers, emptyStoreStats, statsTouched } from './store/stats.js';
export type { StoreStats } from './store/stats.js';
export { latencyBucket } from './learning.js';
export type { LearningOptions, Learned, Observation, LearnedOutcome, OutcomeCounts, ChannelStats } from './learning.js';
export type { Ledger, ChannelLedger, ProviderLedger, ChannelReport, SpendReport } from './ledger.js';
export { transition, transitionAll, startCascade } from './transition.js';
export type { CascadeInput, Effect, Note, Transition, Verdict } from './transition.js';
export { SimulatedClock, systemClock, sleep } from './clock.js';
export type { Clock, TimerHandle, SettleHook } from './clock.js';
export { smsPerSegment, byPrefix } from './cost.js';
export type { PhoneNumberOptions } from './channels.js';
export type { PriceTable } from './cost.js';
export { smsSegments } from './sms.js';
export type { SmsEncoding, SmsSegments } from './sms.js';
export { toMicros, toMicrosPerMs, formatMicros } from './money.js';
export type { Amount, Micros } from './money.js';
export { toMs } from './duration.js';
export type { Duration } from './duration.js';
export { endOfQuietHours } from './quiet-hours.js';
export { classifySendError } from './send.js';
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
} from './errors.js';
export type { ErrorCode } from './errors.js';
export { TERMINAL } from './types.js';
export type * from './types.js';
export type * from './events.js';
export type { HealthOptions, ProviderHealth, BreakerState } from './health.js';
export type { PacingOptions } from './pacing.js';
