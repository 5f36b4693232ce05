/**
 * Logs, traces and metrics of one cascade: a pino-style logger at debug level, and OpenTelemetry with the
 * SDK's in-memory exporters (in production, an OTLP exporter instead: see docs/observability.md).
 *
 *   npx tsx docs/examples/observability.ts
 */
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { SimulatedClock, createRouter, type Logger } from 'cascade-router';

export async function observabilityTour(): Promise<string[]> {
  const lines: string[] = [];
  // The caller's context follows async calls, as in a server instrumented with the Node SDK.
  const contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
  const spans = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
  const metrics = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({ exporter: metrics, exportIntervalMillis: 3_600_000 });
  const meterProvider = new MeterProvider({ readers: [reader] });

  // Any pino-compatible logger: fields first, then the message.
  const logger: Logger = {
    debug: (_fields, message) => lines.push(`debug ${message}`),
    info: (_fields, message) => lines.push(`info  ${message}`),
    warn: (_fields, message) => lines.push(`warn  ${message}`),
    error: (_fields, message) => lines.push(`error ${message}`),
  };

  const clock = new SimulatedClock(Date.UTC(2026, 0, 8, 10));
  const router = createRouter({
    clock,
    logger,
    telemetry: { tracerProvider, meterProvider },
    channels: {
      push: { kind: 'push', cost: 0, provider: 'fcm', send: async () => 'push-1', confirm: { timeout: '2m' } },
      sms: { kind: 'sms', cost: '0.05', provider: 'twilio', send: async () => 'sms-1', confirm: { timeout: '5m' } },
    },
  });

  // The request that sends the message has a span; the cascade's span is its child.
  const request = tracerProvider.getTracer('shop').startSpan('POST /orders/1042/ship');
  await context.with(trace.setSpan(context.active(), request), () =>
    router.send({ key: 'order-1042', category: 'transactional', content: { text: 'Your order has shipped' } }, { id: 'ann', addresses: { push: 'tok', sms: '+380501234567' } }),
  );
  request.end();
  await clock.advance(2 * 60_000); // push stays silent: SMS after 2 minutes
  await clock.advance(4_000);
  await router.handleReceipt({ providerMessageId: 'sms-1', status: 'delivered', provider: 'twilio' });
  await clock.advance(60 * 60_000);
  // The push arrives an hour late: the SMS reached the phone first, so the push (free) is the redundant one.
  await router.handleReceipt({ providerMessageId: 'push-1', status: 'delivered', provider: 'fcm' });
  await router.settled();
  await router.close();

  const finished = spans.getFinishedSpans();
  const byId = new Map(finished.map((span) => [span.spanContext().spanId, span]));
  for (const span of finished) {
    const parent = span.parentSpanContext === undefined ? undefined : byId.get(span.parentSpanContext.spanId);
    const ms = (span.endTime[0] - span.startTime[0]) * 1000 + Math.round((span.endTime[1] - span.startTime[1]) / 1e6);
    const channel = span.attributes['cascade_router.channel'];
    lines.push(`span ${span.name}${channel === undefined ? '' : ` ${String(channel)}`} (${ms / 1000}s)${parent === undefined ? '' : ` under ${parent.name}`}`);
  }
  await reader.forceFlush();
  for (const metric of metrics.getMetrics().flatMap((m) => m.scopeMetrics).flatMap((s) => s.metrics)) {
    for (const point of metric.dataPoints) {
      const value = typeof point.value === 'number' ? point.value : `count ${point.value.count}, sum ${point.value.sum}`;
      const labels = Object.entries(point.attributes).map(([k, v]) => `${k.replace('cascade_router.', '')}=${String(v)}`).join(' ');
      lines.push(`metric ${metric.descriptor.name}${labels === '' ? '' : ` {${labels}}`}: ${value}`);
    }
  }
  await meterProvider.shutdown();
  await tracerProvider.shutdown();
  contextManager.disable();
  return lines;
}

if (import.meta.url === `file://${process.argv[1]}`) for (const line of await observabilityTour()) console.log(line);
