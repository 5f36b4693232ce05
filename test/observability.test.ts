import { SpanStatusCode, context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimulatedClock, createRouter, type ErrorEvent, type Logger } from 'cascade-router';
import { observabilityTour } from '../docs/examples/observability.js';

const T0 = Date.UTC(2026, 0, 8, 10);
const ms = (time: [number, number]) => time[0] * 1000 + Math.round(time[1] / 1e6);

let contextManager: AsyncLocalStorageContextManager;
beforeAll(() => {
  contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
});
afterAll(() => {
  contextManager.disable();
  context.disable();
});

function otel() {
  const spans = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const meterProvider = new MeterProvider({ readers: [reader] });
  const metrics = async () => {
    await reader.forceFlush();
    const out = new Map<string, unknown>();
    for (const metric of exporter.getMetrics().at(-1)?.scopeMetrics.flatMap((s) => s.metrics) ?? []) {
      for (const point of metric.dataPoints) {
        const labels = Object.entries(point.attributes).map(([k, v]) => `${k.replace('cascade_router.', '')}=${String(v)}`).sort().join(',');
        out.set(`${metric.descriptor.name}{${labels}}`, typeof point.value === 'number' ? point.value : { count: point.value.count, sum: point.value.sum });
      }
    }
    return out;
  };
  return { spans, tracerProvider, meterProvider, metrics };
}

/** push (fcm, free, 2m) then SMS (twilio, 0.05): push stays silent, the SMS is delivered 5 s after its send, then push arrives late. */
async function pushThenSms(options: { telemetry?: Parameters<typeof createRouter>[0]['telemetry']; logger?: Logger } = {}) {
  const clock = new SimulatedClock(T0);
  const errors: ErrorEvent[] = [];
  const router = createRouter({
    clock,
    ...options,
    channels: {
      push: { kind: 'push', cost: 0, provider: 'fcm', send: async () => 'push-1', confirm: { timeout: '2m' } },
      sms: { kind: 'sms', cost: '0.05', provider: 'twilio', send: async () => 'sms-1', confirm: { timeout: '5m' } },
    },
  });
  router.on('error', (event) => errors.push(event));
  const caller = trace.getTracer('test').startSpan('POST /orders');
  await context.with(trace.setSpan(context.active(), caller), () =>
    router.send({ key: 'o-1', category: 'transactional', content: { text: 'Shipped' } }, { id: 'ann', addresses: { push: 'tok', sms: '+380501234567' } }),
  );
  caller.end();
  await clock.advance(2 * 60_000);
  await clock.advance(5_000);
  await router.handleReceipt({ providerMessageId: 'sms-1', status: 'delivered', provider: 'twilio' });
  await clock.advance(30 * 60_000);
  await router.handleReceipt({ providerMessageId: 'push-1', status: 'delivered', provider: 'fcm' });
  await router.settled();
  return { router, caller, errors };
}

describe('OpenTelemetry, through the SDK\'s in-memory exporters', () => {
  it('a cascade span under the caller\'s active span at send(), an attempt span per step under it, in the router\'s (simulated) time', async () => {
    const { spans, tracerProvider, meterProvider } = otel();
    trace.setGlobalTracerProvider(tracerProvider);
    try {
      const { router, caller } = await pushThenSms({ telemetry: { tracerProvider, meterProvider } });
      await router.close();
      const finished = spans.getFinishedSpans();
      const byName = (name: string, channel?: string): ReadableSpan =>
        finished.find((s) => s.name === name && (channel === undefined || s.attributes['cascade_router.channel'] === channel))!;
      const cascade = byName('cascade-router.cascade');
      expect(cascade.spanContext().traceId).toBe(caller.spanContext().traceId);
      expect(cascade.parentSpanContext?.spanId).toBe(caller.spanContext().spanId);
      const push = byName('cascade-router.attempt', 'push');
      const sms = byName('cascade-router.attempt', 'sms');
      for (const attempt of [push, sms]) expect(attempt.parentSpanContext?.spanId).toBe(cascade.spanContext().spanId);
      // Times: push from T0 to its timeout at 2m; SMS from 2m to its receipt 5 s later; the cascade ends with it.
      expect([ms(push.startTime) - T0, ms(push.endTime) - T0, ms(sms.startTime) - T0, ms(sms.endTime) - T0]).toEqual([0, 120_000, 120_000, 125_000]);
      expect([ms(cascade.startTime) - T0, ms(cascade.endTime) - T0]).toEqual([0, 125_000]);
      expect(push.attributes).toMatchObject({ 'cascade_router.provider': 'fcm', 'cascade_router.outcome': 'timeout', 'cascade_router.cost_micros': 0 });
      expect(sms.attributes).toMatchObject({ 'cascade_router.provider': 'twilio', 'cascade_router.outcome': 'delivered', 'cascade_router.cost_micros': 50_000, 'cascade_router.billed': true });
      expect([push.status.code, sms.status.code, cascade.status.code]).toEqual([SpanStatusCode.UNSET, SpanStatusCode.OK, SpanStatusCode.OK]);
      expect(cascade.attributes).toMatchObject({ 'cascade_router.status': 'delivered', 'cascade_router.spend': '0.05', 'cascade_router.delivered_by': 'sms' });
    } finally {
      trace.disable();
    }
  });

  it('metrics: sends, deliveries (the late push too), the fallback, spend and double spend per channel, receipt latency per channel', async () => {
    const { tracerProvider, meterProvider, metrics } = otel();
    const { router } = await pushThenSms({ telemetry: { tracerProvider, meterProvider } });
    await router.close();
    expect(Object.fromEntries(await metrics())).toEqual({
      'cascade_router.sends{channel=push}': 1,
      'cascade_router.sends{channel=sms}': 1,
      'cascade_router.fallbacks{channel=push,reason=timeout}': 1,
      'cascade_router.deliveries{channel=sms,late=false}': 1,
      'cascade_router.deliveries{channel=push,late=true}': 1,
      'cascade_router.cascades{status=delivered}': 1,
      'cascade_router.spend{channel=sms}': 50_000,
      // The late push reached the phone after the SMS did (by receipt times): it, not the SMS, is the
      // redundant one, and it is free, so no double spend is recorded.
      'cascade_router.receipt.latency{channel=sms}': { count: 1, sum: 5_000 },
      'cascade_router.receipt.latency{channel=push}': { count: 1, sum: 2 * 60_000 + 5_000 + 30 * 60_000 },
    });
  });

  it('records nothing with telemetry: false; with none given it uses the global providers (no-ops until an SDK registers them)', async () => {
    const { spans, tracerProvider, meterProvider, metrics } = otel();
    const off = await pushThenSms({ telemetry: false });
    await off.router.close();
    trace.setGlobalTracerProvider(tracerProvider);
    try {
      const global = await pushThenSms();
      await global.router.close();
    } finally {
      trace.disable();
    }
    // Only the run on the global provider recorded: its caller span and its three spans.
    expect(spans.getFinishedSpans().map((s) => s.name).sort()).toEqual(['POST /orders', 'cascade-router.attempt', 'cascade-router.attempt', 'cascade-router.cascade']);
    expect((await metrics()).size).toBe(0);
    await meterProvider.shutdown();
  });

  it('a broken exporter is an error event (during listener), never a failed cascade', async () => {
    const tracerProvider = { getTracer: () => ({ startSpan: () => { throw new Error('exporter down'); } }) };
    const { router, errors } = await pushThenSms({ telemetry: { tracerProvider } });
    expect((await router.get('o-1'))?.status).toBe('delivered');
    expect(errors.map((e) => [e.during, e.error.message])).toContainEqual(['listener', 'exporter down']);
    await router.close();
  });
});

describe('the logger: pino-compatible, info and debug when the logger has them', () => {
  it('writes the plan and the outcome at info, each step at debug, with the fields first', async () => {
    const lines: [string, Record<string, unknown>, string][] = [];
    const at = (level: string) => (fields: Record<string, unknown>, message?: string) => lines.push([level, fields, message ?? '']);
    const { router } = await pushThenSms({ telemetry: false, logger: { error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug') } });
    await router.close();
    expect(lines.filter(([level]) => level === 'info').map(([, , message]) => message)).toEqual([
      'cascade-router: planned o-1: push → sms',
      'cascade-router: o-1 delivered by sms, spent 0.05',
      'cascade-router: late delivered on push for o-1: double spend 0.00',
    ]);
    expect(lines.filter(([level]) => level === 'debug').map(([, fields]) => fields['channel'])).toEqual(['push', 'push', 'push', 'sms', 'sms', 'sms', 'push']);
    expect(lines.find(([level]) => level === 'info')?.[1]).toMatchObject({ cascadeId: 'o-1', key: 'o-1', steps: ['push', 'sms'] });
  });

  it('a logger with only error and warn (as before) gets no info or debug calls, and the router runs as before', async () => {
    const lines: string[] = [];
    const { router } = await pushThenSms({ telemetry: false, logger: { error: (_f, m) => lines.push(`error ${m}`), warn: (_f, m) => lines.push(`warn ${m}`) } });
    expect((await router.get('o-1'))?.status).toBe('delivered');
    expect(lines).toEqual([]);
    await router.close();
  });
});

describe('docs/examples/observability.ts', () => {
  it('prints the log lines, the span tree and the metrics of one cascade', async () => {
    const lines = await observabilityTour();
    expect(lines.filter((line) => line.startsWith('span cascade-router'))).toEqual([
      'span cascade-router.attempt push (120s) under cascade-router.cascade',
      'span cascade-router.attempt sms (4s) under cascade-router.cascade',
      'span cascade-router.cascade (124s) under POST /orders/1042/ship',
    ]);
    // The SMS reached the phone first; the push an hour later is the redundant one, and free: no double spend.
    expect(lines.some((line) => line.startsWith('metric cascade_router.double_spend'))).toBe(false);
    expect(lines).toContain('info  cascade-router: order-1042 delivered by sms, spent 0.05');
  });
});
