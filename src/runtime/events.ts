import { formatMicros } from '../core/money.js';
import { projectedSpendMicros } from '../core/spend.js';
import type { Note } from '../core/transition.js';
import type { AttemptError, AttemptOutcome, Cascade, FailoverReason, Plan, PlanSkip, ReceiptStatus } from '../core/types.js';

/** Fields every event carries. Costs are decimal strings, exact. */
export interface CascadeEventBase {
  readonly cascadeId: string;
  readonly key: string;
  readonly recipientId: string;
  /** When the change happened (router clock, ms since epoch). */
  readonly at: number;
  /** The cascade after the change, as persisted. */
  readonly cascade: Cascade;
  /** What has been billed so far. */
  readonly spend: string;
  /** What will be billed if every open attempt is billed at its projected cost. */
  readonly projectedSpend: string;
}

export interface PlannedEvent extends CascadeEventBase {
  readonly plan: Plan;
}
export interface SkippedEvent extends CascadeEventBase, PlanSkip {}
export interface StepEvent extends CascadeEventBase {
  readonly step: number;
  readonly channel: string;
  /** A channel with several providers: the provider of the try this event is about. */
  readonly provider: string | undefined;
}
export interface AttemptEvent extends StepEvent {
  /** The step's projected cost. */
  readonly projectedCost: string;
}
export interface ResumedEvent extends StepEvent {
  /** The instance that claimed the step and died before its send was recorded. */
  readonly previousOwner: string | undefined;
  /** This router's instance id: it sends the step again, with the same idempotency key. */
  readonly owner: string;
}
export interface SentEvent extends StepEvent {
  readonly providerMessageId: string;
}
export interface ReceiptEvent extends StepEvent {
  readonly providerMessageId: string;
  readonly status: ReceiptStatus;
}
export interface FallbackEvent extends StepEvent {
  readonly reason: Extract<AttemptOutcome, 'failed' | 'timeout' | 'send-error'>;
  /** The channel tried next, if any. */
  readonly next: string | undefined;
}
export interface FailoverEvent extends StepEvent {
  /** The provider the step moved on from, and the one it sends through now (also `provider`). */
  readonly from: string;
  readonly to: string;
  /** A provider-side send error, a provider-side failure receipt, or an unhealthy provider. */
  readonly reason: FailoverReason;
  /** What the provider it moved on from said. */
  readonly error: AttemptError | undefined;
}
export interface PacedEvent extends StepEvent {
  /** When the try goes out: its provider's rate limit is used up until then. */
  readonly until: number;
}
export interface DeliveredEvent extends StepEvent {
  /** True when the delivering receipt came after the cascade had moved on. */
  readonly late: boolean;
}
export interface LateReceiptEvent extends StepEvent {
  readonly status: ReceiptStatus;
  /**
   * The cascade's double spend once this receipt is counted: what was paid for attempts that reached the
   * customer after the first delivery by receipt time (docs/cost-model.md#double-spend).
   */
  readonly doubleSpend: string;
}
export type EndedEvent = CascadeEventBase;
/** A provider's breaker opened: steps route around it (its channel's next provider, or the next channel). */
export interface ProviderDownEvent {
  readonly provider: string;
  /** A high rate of provider-side send failures, or receipts that stopped coming. */
  readonly reason: 'errors' | 'silence';
  readonly at: number;
  /** When probe sends start to test it again. */
  readonly until: number;
}
/** A provider's breaker closed again: its probes succeeded (or another router reported it healthy). */
export interface ProviderUpEvent {
  readonly provider: string;
  readonly at: number;
}
/**
 * Where an error that no caller could be given happened: recording a send's result (`send`), firing
 * timers and heartbeating (`timer`), starting up or taking over sends (`resume`), an event listener.
 */
export type ErrorStage = 'send' | 'timer' | 'resume' | 'listener';

export interface ErrorEvent {
  readonly error: Error;
  readonly cascadeId: string | undefined;
  readonly during: ErrorStage;
}

/** The router's typed events; each is emitted after the change it reports is persisted. */
export interface RouterEvents {
  planned: (event: PlannedEvent) => void;
  skipped: (event: SkippedEvent) => void;
  attempt: (event: AttemptEvent) => void;
  resumed: (event: ResumedEvent) => void;
  sent: (event: SentEvent) => void;
  receipt: (event: ReceiptEvent) => void;
  fallback: (event: FallbackEvent) => void;
  failover: (event: FailoverEvent) => void;
  paced: (event: PacedEvent) => void;
  'provider-down': (event: ProviderDownEvent) => void;
  'provider-up': (event: ProviderUpEvent) => void;
  delivered: (event: DeliveredEvent) => void;
  'late-receipt': (event: LateReceiptEvent) => void;
  exhausted: (event: EndedEvent) => void;
  cancelled: (event: EndedEvent) => void;
  expired: (event: EndedEvent) => void;
  error: (event: ErrorEvent) => void;
}

export function eventBase(cascade: Cascade, at: number): CascadeEventBase {
  return {
    cascadeId: cascade.id,
    key: cascade.key,
    recipientId: cascade.recipient.id,
    at,
    cascade,
    spend: formatMicros(cascade.spendMicros),
    projectedSpend: formatMicros(projectedSpendMicros(cascade)),
  };
}

/**
 * The event that reports a note of a persisted transition. Each type is one object literal with its fields
 * in one fixed order (one hidden class per type, no spreads): built only when someone listens.
 */
export function eventFor(note: Note, cascade: Cascade): Parameters<RouterEvents[Note['type']]>[0] {
  const cascadeId = cascade.id;
  const key = cascade.key;
  const recipientId = cascade.recipient.id;
  const at = cascade.updatedAt;
  const spend = formatMicros(cascade.spendMicros);
  const projectedSpend = formatMicros(projectedSpendMicros(cascade));
  if (note.type === 'exhausted' || note.type === 'cancelled' || note.type === 'expired') return { cascadeId, key, recipientId, at, cascade, spend, projectedSpend };
  const step = note.step;
  const attempt = cascade.attempts[step]!;
  const channel = attempt.channel;
  const provider = attempt.provider;
  switch (note.type) {
    case 'attempt':
      return { cascadeId, key, recipientId, at, cascade, spend, projectedSpend, step, channel, provider, projectedCost: formatMicros(cascade.plan.steps[step]!.costMicros) };
    case 'resumed':
      return { cascadeId, key, recipientId, at, cascade, spend, projectedSpend, step, channel, provider, previousOwner: note.previousOwner, owner: attempt.owner! };
    case 'sent':
      return { cascadeId, key, recipientId, at, cascade, spend, projectedSpend, step, channel, provider, providerMessageId: attempt.providerMessageId! };
    case 'receipt':
      return { cascadeId, key, recipientId, at, cascade, spend, projectedSpend, step, channel, provider, providerMessageId: attempt.providerMessageId!, status: note.status };
    case 'paced':
      return { cascadeId, key, recipientId, at, cascade, spend, projectedSpend, step, channel, provider, until: note.until };
    case 'failover': {
      const tried = attempt.failovers!.findLast((t) => t.provider === note.from);
      return { cascadeId, key, recipientId, at, cascade, spend, projectedSpend, step, channel, provider, from: note.from, to: note.to, reason: note.reason, error: tried?.error };
    }
    case 'fallback': {
      const next = note.next === undefined ? undefined : cascade.plan.steps[note.next]!.channel;
      return { cascadeId, key, recipientId, at, cascade, spend, projectedSpend, step, channel, provider, reason: note.reason, next };
    }
    case 'delivered':
      return { cascadeId, key, recipientId, at, cascade, spend, projectedSpend, step, channel, provider, late: attempt.late === true };
    case 'late-receipt':
      return { cascadeId, key, recipientId, at, cascade, spend, projectedSpend, step, channel, provider, status: attempt.status!, doubleSpend: formatMicros(cascade.doubleSpendMicros) };
  }
}
