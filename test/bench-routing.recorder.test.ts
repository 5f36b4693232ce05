import { describe, expect, it } from 'vitest';
import { Recorder, type LostWatch } from '../bench/routing/recorder.js';
import type { Cascade, Router } from '../bench/routing/library.js';

// The lose-channel stress's evidence count, driven by a scripted stream of router events: a miss counts
// only on the lost channel, at or after the loss, and only before the customer's third message is planned.
type Handler = (event: unknown) => void;

function scripted(): { router: Router; emit: (type: string, event: unknown) => void } {
  const handlers = new Map<string, Handler[]>();
  const router = { on: (type: string, h: Handler) => void handlers.set(type, [...(handlers.get(type) ?? []), h]) } as unknown as Router;
  return { router, emit: (type, event) => handlers.get(type)?.forEach((h) => h(event)) };
}

const cascade = (job: number, steps: readonly string[], attempts: readonly string[] = []): Cascade =>
  ({
    id: `c${job}`,
    message: { metadata: { job: String(job) } },
    plan: { steps: steps.map((channel) => ({ channel })) },
    attempts: attempts.map((channel, step) => ({ channel, step, billed: false })),
    spendMicros: 0,
    doubleSpendMicros: 0,
  }) as unknown as Cascade;

function recorder(): { outcome: Recorder['outcome']; emit: (type: string, event: unknown) => void } {
  const watch: LostWatch = { customer: 7, channel: 'push', atMs: 100 };
  // Jobs 0–3 are customer 7's; job 3 is their third message after the loss.
  const r = new Recorder(new Float64Array(4), false, new Uint8Array(4), { check: [undefined, undefined, undefined, 'push'], watch: [watch, watch, watch, watch] });
  const { router, emit } = scripted();
  r.attach(router, () => {});
  return { outcome: r.outcome, emit };
}

describe('routing bench: evidence of a lost channel', () => {
  it('counts a fallback from the lost channel and an exhausted cascade ending on it, from the loss on', () => {
    const { outcome, emit } = recorder();
    emit('fallback', { cascade: cascade(0, ['push', 'sms']), channel: 'push', at: 99 }); // before the loss
    emit('fallback', { cascade: cascade(1, ['email', 'sms']), channel: 'email', at: 150 }); // another channel
    emit('fallback', { cascade: cascade(1, ['push', 'sms']), channel: 'push', at: 100 }); // at the loss: counts
    emit('planned', { cascade: cascade(3, ['sms', 'push']) });
    expect(outcome).toMatchObject({ lostChecked: 1, lostHandled: 1, lostSeenOnce: 1, lostSeenTwice: 0 });
  });

  it('a miss after the third message was planned is not evidence for it', () => {
    const { outcome, emit } = recorder();
    emit('fallback', { cascade: cascade(1, ['push', 'sms']), channel: 'push', at: 120 });
    emit('exhausted', { cascade: cascade(2, ['sms', 'push'], ['sms', 'push']), at: 130, cascadeId: 'c2' });
    emit('planned', { cascade: cascade(3, ['push', 'sms']) });
    emit('fallback', { cascade: cascade(3, ['push', 'sms']), channel: 'push', at: 140 });
    expect(outcome).toMatchObject({ lostChecked: 1, lostHandled: 0, lostSeenOnce: 1, lostSeenTwice: 1 });
  });

  it('an exhausted cascade whose last attempt was another channel is no miss of the lost one', () => {
    const { outcome, emit } = recorder();
    emit('exhausted', { cascade: cascade(2, ['push', 'sms'], ['push', 'sms']), at: 130, cascadeId: 'c2' });
    emit('planned', { cascade: cascade(3, ['email', 'push', 'sms']) });
    expect(outcome).toMatchObject({ lostChecked: 1, lostHandled: 0, lostSeenOnce: 0, lostSeenTwice: 0 });
  });
});
