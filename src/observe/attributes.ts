import type { Attempt } from '../core/types.js';

/** Span and metric attributes: strings, numbers and booleans only, as OpenTelemetry takes them. */
export type Attributes = Record<string, string | number | boolean>;

/**
 * The attributes of one attempt: its channel, the provider that carries it, its step, its cost and how it
 * ended. The provider is the one the attempt names (a channel with several providers), else the channel's
 * only one (`channelProvider`).
 */
export function attemptAttributes(attempt: Attempt, channelProvider?: string): Attributes {
  const attributes: Attributes = {
    'cascade_router.channel': attempt.channel,
    'cascade_router.provider': attempt.provider ?? channelProvider ?? 'unspecified',
    'cascade_router.step': attempt.step,
    'cascade_router.cost_micros': attempt.costMicros,
    'cascade_router.billed': attempt.billed,
  };
  if (attempt.outcome !== undefined) attributes['cascade_router.outcome'] = attempt.outcome;
  if (attempt.late === true) attributes['cascade_router.late'] = true;
  if (attempt.error?.code !== undefined) attributes['cascade_router.error_code'] = attempt.error.code;
  return attributes;
}
