import { createRequire } from 'node:module';
import type { ResolvedChannel } from '../core/channels.js';
import { ledgerDelta } from '../core/ledger.js';
import { formatMicros } from '../core/money.js';
import type { Transition } from '../core/transition.js';
import { TERMINAL, type Attempt, type Cascade } from '../core/types.js';
import { attemptAttributes, type Attributes } from './attributes.js';
import type { Observer } from './observer.js';

// The parts of @opentelemetry/api this uses, typed here so the package's types do not depend on it.
interface Span {
  setAttributes(attributes: Attributes): unknown;
  setStatus(status: { code: number; message?: string }): unknown;
  end(endTime?: Date): void;
}
interface Tracer {
  startSpan(name: string, options: { startTime?: Date; attributes?: Attributes; kind?: number }, context?: unknown): Span;
}
interface Counter {
  add(value: number, attributes?: Attributes): void;
}
interface Histogram {
  record(value: number, attributes?: Attributes): void;
}
interface Meter {
  createCounter(name: string, options?: { description?: string; unit?: string }): Counter;
  createUpDownCounter(name: string, options?: { description?: string; unit?: string }): Counter;
  createHistogram(name: string, options?: { description?: string; unit?: string }): Histogram;
}
interface OtelApi {
  trace: { getTracer(name: string, version?: string): Tracer; setSpan(context: unknown, span: Span): unknown; getTracerProvider?(): { getDelegate?(): unknown } };
  metrics: { getMeter(name: string, version?: string): Meter };
  ProxyTracerProvider?: new () => { getDelegate(): unknown };
  createNoopMeter?: () => unknown;
  context: { active(): unknown };
  ROOT_CONTEXT: unknown;
  SpanStatusCode: { UNSET: number; OK: number; ERROR: number };
  SpanKind: { INTERNAL: number };
}

/** Where spans and metrics go: by default the global providers an OpenTelemetry SDK registered. */
export interface TelemetryOptions {
  /** Any OpenTelemetry `TracerProvider`. Default: the global one (a no-op until an SDK registers one). */
  readonly tracerProvider?: { getTracer(name: string, version?: string): unknown } | undefined;
  /** Any OpenTelemetry `MeterProvider`. Default: the global one. */
  readonly meterProvider?: { getMeter(name: string, version?: string): unknown } | undefined;
}

const NAME = 'cascade-router';
/** Open cascade spans kept at most; the oldest are ended (marked unfinished) beyond it. */
const MAX_OPEN = 10_000;

/** @opentelemetry/api when it is installed, loaded on first use; undefined otherwise (nothing else changes). */
function loadApi(): OtelApi | undefined {
  try {
    return createRequire(import.meta.url)('@opentelemetry/api') as OtelApi;
  } catch {
    return undefined;
  }
}

interface OpenCascade {
  /** Undefined when the cascade was started by another router on the store: its attempts here are roots. */
  readonly span: Span | undefined;
  readonly context: unknown;
  readonly attempts: Map<number, Span>;
}

/**
 * A span per cascade (a child of the caller's active context at `send()`) and per attempt, and metrics:
 * sends, deliveries, fallbacks, cascades by outcome, spend and double spend per channel (micro-units), and
 * receipt latency per channel. Times are the router's clock, so simulated time shows as such. Undefined
 * when telemetry is off or @opentelemetry/api is not installed.
 */
export function telemetryObserver(
  options: TelemetryOptions | boolean | undefined,
  channels: ReadonlyMap<string, ResolvedChannel>,
  now: () => number,
): Observer | undefined {
  if (options === false) return undefined;
  const api = loadApi();
  if (api === undefined) return undefined;
  const given = typeof options === 'object' ? options : {};
  const tracer = (given.tracerProvider ?? api.trace).getTracer(NAME) as Tracer;
  const meter = (given.meterProvider ?? api.metrics).getMeter(NAME) as Meter;
  const sends = meter.createCounter('cascade_router.sends', { description: 'Sends the provider accepted' });
  const deliveries = meter.createCounter('cascade_router.deliveries', { description: 'Attempts that reached their success level (late ones too)' });
  const fallbacks = meter.createCounter('cascade_router.fallbacks', { description: 'Steps that fell back to the next channel' });
  const cascades = meter.createCounter('cascade_router.cascades', { description: 'Cascades ended, by outcome' });
  // Up-down: a price a receipt reports can lower what a send was billed.
  const spend = meter.createUpDownCounter('cascade_router.spend', { description: 'Spend per channel', unit: '{micro-unit}' });
  const doubleSpend = meter.createUpDownCounter('cascade_router.double_spend', { description: 'Spend on attempts that reached the customer after the first delivery, by receipt time', unit: '{micro-unit}' });
  const latency = meter.createHistogram('cascade_router.receipt.latency', { description: 'From the provider accepting a send to its success receipt', unit: 'ms' });
  const open = new Map<string, OpenCascade>();
  const provider = (channel: string) => channels.get(channel)?.providers[0]?.name;
  // With no SDK registered, the global providers are no-ops: spans that record nothing are not started
  // (asked again on every change, so an SDK registered later is picked up), and no-op counters not fed.
  const noopTracing = given.tracerProvider === undefined && api.ProxyTracerProvider !== undefined ? new api.ProxyTracerProvider().getDelegate() : undefined;
  const tracing = (): boolean => noopTracing === undefined || api.trace.getTracerProvider?.().getDelegate?.() !== noopTracing;
  const metering = given.meterProvider !== undefined || api.createNoopMeter === undefined || meter !== api.createNoopMeter();

  const endAttempt = (span: Span, attempt: Attempt): void => {
    span.setAttributes(attemptAttributes(attempt, provider(attempt.channel)));
    const failed = attempt.outcome === 'failed' || attempt.outcome === 'send-error';
    span.setStatus({ code: attempt.outcome === 'delivered' ? api.SpanStatusCode.OK : failed ? api.SpanStatusCode.ERROR : api.SpanStatusCode.UNSET, ...(failed && attempt.error ? { message: attempt.error.message } : {}) });
    span.end(new Date(attempt.endedAt ?? attempt.startedAt));
  };

  const endCascade = (id: string, state: OpenCascade, cascade: Cascade | undefined, unfinished: boolean): void => {
    open.delete(id);
    const at = new Date(cascade === undefined ? now() : cascade.updatedAt);
    for (const span of state.attempts.values()) span.end(at);
    if (state.span === undefined) return;
    if (cascade !== undefined) {
      state.span.setAttributes({
        'cascade_router.status': cascade.status,
        'cascade_router.spend': formatMicros(cascade.spendMicros),
        'cascade_router.spend_micros': cascade.spendMicros,
        'cascade_router.double_spend_micros': cascade.doubleSpendMicros,
        'cascade_router.attempts': cascade.attempts.length,
        ...(cascade.deliveredStep === undefined ? {} : { 'cascade_router.delivered_by': cascade.attempts[cascade.deliveredStep]!.channel }),
      });
      const code = cascade.status === 'delivered' ? api.SpanStatusCode.OK : cascade.status === 'exhausted' || cascade.status === 'expired' ? api.SpanStatusCode.ERROR : api.SpanStatusCode.UNSET;
      state.span.setStatus({ code, ...(code === api.SpanStatusCode.ERROR ? { message: `cascade ${cascade.status}` } : {}) });
    }
    if (unfinished) state.span.setAttributes({ 'cascade_router.unfinished': true });
    state.span.end(cascade === undefined ? at : new Date(cascade.endedAt ?? cascade.updatedAt));
  };

  const bound = (): void => {
    if (open.size <= MAX_OPEN) return;
    const [oldest, state] = open.entries().next().value!;
    endCascade(oldest, state, undefined, true);
  };

  return {
    context: () => api.context.active(),

    started(cascade, context) {
      if (!tracing()) return;
      const span = tracer.startSpan(
        'cascade-router.cascade',
        {
          startTime: new Date(cascade.createdAt),
          kind: api.SpanKind.INTERNAL,
          attributes: {
            'cascade_router.cascade_id': cascade.id,
            'cascade_router.category': cascade.message.category,
            'cascade_router.planned_steps': cascade.plan.steps.map((s) => s.channel).join(','),
            'cascade_router.max_spend_micros': cascade.plan.maxSpendMicros,
          },
        },
        context ?? api.ROOT_CONTEXT,
      );
      open.set(cascade.id, { span, context: api.trace.setSpan(context ?? api.ROOT_CONTEXT, span), attempts: new Map() });
      bound();
    },

    changed(done: Transition, before: Cascade | 'new' | undefined) {
      const cascade = done.cascade;
      const previous = before === 'new' ? undefined : before;
      const traced = tracing();
      let state = open.get(cascade.id);
      if (state === undefined && traced && !TERMINAL.has(cascade.status)) {
        state = { span: undefined, context: api.ROOT_CONTEXT, attempts: new Map() };
        open.set(cascade.id, state);
        bound();
      }
      if (traced || state !== undefined) cascade.attempts.forEach((attempt, index) => {
        if (before !== undefined && previous?.attempts[index] === attempt) return;
        let span = state?.attempts.get(index);
        if (span === undefined && previous?.attempts[index]?.phase !== 'ended') {
          span = tracer.startSpan(
            'cascade-router.attempt',
            { startTime: new Date(attempt.startedAt), kind: api.SpanKind.INTERNAL, attributes: { 'cascade_router.cascade_id': cascade.id, ...attemptAttributes(attempt, provider(attempt.channel)) } },
            state?.context ?? api.ROOT_CONTEXT,
          );
          state?.attempts.set(index, span);
          if (state === undefined) {
            endAttempt(span, attempt);
            return;
          }
        }
        if (span !== undefined && attempt.phase === 'ended') {
          endAttempt(span, attempt);
          state?.attempts.delete(index);
        }
      });
      if (metering) for (const note of done.notes) {
        if (note.type === 'exhausted' || note.type === 'cancelled' || note.type === 'expired') continue;
        const attempt = cascade.attempts[note.step]!;
        const labels = { 'cascade_router.channel': attempt.channel };
        if (note.type === 'sent') sends.add(1, labels);
        else if (note.type === 'fallback') fallbacks.add(1, { ...labels, 'cascade_router.reason': note.reason });
        else if (note.type === 'delivered' || (note.type === 'late-receipt' && !done.notes.some((n) => n.type === 'delivered' && n.step === note.step))) {
          // A late receipt after the cascade ended has no `delivered` note of its own: it is a delivery too.
          deliveries.add(1, { ...labels, 'cascade_router.late': attempt.late === true });
          const accepted = attempt.history.find((change) => change.source === 'send')?.at;
          const reached = attempt.history.find((change) => change.source === 'receipt' && (change.status === 'delivered' || change.status === 'read'))?.at;
          if (accepted !== undefined && reached !== undefined) latency.record(Math.max(0, reached - accepted), labels);
        }
      }
      if (metering && before !== undefined) {
        const delta = ledgerDelta(previous, cascade);
        if (delta !== undefined) {
          for (const [channel, c] of Object.entries(delta.channels)) if (c.spendMicros !== 0) spend.add(c.spendMicros, { 'cascade_router.channel': channel });
          if (delta.doubleSpendMicros !== 0) doubleSpend.add(delta.doubleSpendMicros);
        }
      }
      if (TERMINAL.has(cascade.status) && !(previous !== undefined && TERMINAL.has(previous.status))) {
        if (metering) cascades.add(1, { 'cascade_router.status': cascade.status });
        if (state !== undefined) endCascade(cascade.id, state, cascade, false);
      }
    },

    close() {
      for (const [id, state] of [...open]) endCascade(id, state, undefined, true);
    },
  };
}
