import { formatMicros } from '../core/money.js';
import type { Logger } from '../runtime/reporter.js';
import type { Transition } from '../core/transition.js';
import type { Cascade } from '../core/types.js';
import type { Observer } from './observer.js';

/**
 * Writes what a user wants to see of each cascade to a pino-compatible logger: at `info` a cascade planned
 * and how it ended (with its spend), and late receipts with the double spend they caused; at `debug` every
 * attempt, send, receipt, fallback and skipped channel. Only the levels the logger has are used.
 */
export function logObserver(logger: Logger): Observer | undefined {
  const info = logger.info?.bind(logger);
  const debug = logger.debug?.bind(logger);
  if (info === undefined && debug === undefined) return undefined;
  const base = (cascade: Cascade) => ({ cascadeId: cascade.id, key: cascade.key });
  return {
    started(cascade) {
      info?.(
        { ...base(cascade), category: cascade.message.category, steps: cascade.plan.steps.map((s) => s.channel), maxSpend: formatMicros(cascade.plan.maxSpendMicros) },
        `cascade-router: planned ${cascade.key}: ${cascade.plan.steps.map((s) => s.channel).join(' → ') || 'no step'}`,
      );
      if (debug) for (const skip of cascade.plan.skipped) debug({ ...base(cascade), channel: skip.channel, reason: skip.reason, detail: skip.detail }, `cascade-router: skipped ${skip.channel}: ${skip.reason}`);
    },
    changed(done: Transition) {
      const cascade = done.cascade;
      for (const note of done.notes) {
        const fields = base(cascade);
        if (note.type === 'exhausted' || note.type === 'cancelled' || note.type === 'expired') {
          info?.({ ...fields, status: note.type, spend: formatMicros(cascade.spendMicros) }, `cascade-router: ${cascade.key} ${note.type}, spent ${formatMicros(cascade.spendMicros)}`);
          continue;
        }
        const attempt = cascade.attempts[note.step]!;
        const step = { ...fields, step: note.step, channel: attempt.channel };
        switch (note.type) {
          case 'delivered':
            info?.(
              { ...step, late: attempt.late === true, spend: formatMicros(cascade.spendMicros), ms: cascade.updatedAt - cascade.createdAt },
              `cascade-router: ${cascade.key} delivered by ${attempt.channel}${attempt.late === true ? ' (late)' : ''}, spent ${formatMicros(cascade.spendMicros)}`,
            );
            break;
          case 'late-receipt':
            info?.({ ...step, status: attempt.status, doubleSpend: formatMicros(cascade.doubleSpendMicros) }, `cascade-router: late ${attempt.status ?? 'receipt'} on ${attempt.channel} for ${cascade.key}: double spend ${formatMicros(cascade.doubleSpendMicros)}`);
            break;
          case 'attempt':
            debug?.({ ...step, cost: formatMicros(cascade.plan.steps[note.step]!.costMicros) }, `cascade-router: ${cascade.key} trying ${attempt.channel}`);
            break;
          case 'resumed':
            debug?.({ ...step, previousOwner: note.previousOwner }, `cascade-router: ${cascade.key} resumed ${attempt.channel} left by ${note.previousOwner ?? 'no instance'}`);
            break;
          case 'sent':
            debug?.({ ...step, providerMessageId: attempt.providerMessageId }, `cascade-router: ${cascade.key} sent on ${attempt.channel}`);
            break;
          case 'receipt':
            debug?.({ ...step, status: note.status, providerMessageId: attempt.providerMessageId }, `cascade-router: ${cascade.key} ${note.status} on ${attempt.channel}`);
            break;
          case 'fallback': {
            const next = note.next === undefined ? undefined : cascade.plan.steps[note.next]!.channel;
            debug?.({ ...step, reason: note.reason, next }, `cascade-router: ${cascade.key} ${attempt.channel} ${note.reason}${next === undefined ? '' : ` → ${next}`}`);
            break;
          }
        }
      }
    },
  };
}
