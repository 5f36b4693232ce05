/**
 * The cascade's timer (`Cascade.timerAt`), fired by a `tick`: a scheduled step begins, a paced try is sent, the
 * current step times out, or the deadline expires the cascade.
 */
import { TERMINAL } from '../types.js';
import type { Verdict } from '../transition.js';
import type { Draft } from './draft.js';
import { begin, end, endCurrent, fallBack } from './steps.js';

/**
 * A `tick` input: fires the cascade's timer if it is due. A step still `sending` under another router is left
 * to that router (it holds the send, and perhaps its result not yet stored) or to whoever takes it over (`resume`).
 */
export function tick(d: Draft): Verdict {
  const c = d.c;
  if (TERMINAL.has(c.status) || c.timerAt === undefined || c.timerAt > d.now) return 'unchanged';
  const current = c.status === 'active' ? d.list[c.step] : undefined;
  // A try waiting for its provider's rate is sent (or expired by the deadline) by whichever router fires its
  // timer: nothing is in flight.
  if (current?.pacedUntil !== undefined) return c.plan.deadlineAt !== undefined && d.now >= c.plan.deadlineAt ? fire(d) : unpace(d, c.step);
  if (current?.phase === 'sending' && d.by !== undefined && current.owner !== undefined && current.owner !== d.by) return 'unchanged';
  return fire(d);
}

/** The due timer's work: start a scheduled step, or end the current one by timeout (or the deadline). */
export function fire(d: Draft): Verdict {
  const c = d.c;
  if (c.plan.deadlineAt !== undefined && d.now >= c.plan.deadlineAt) {
    endCurrent(d, 'timeout');
    end(d, 'expired');
  } else if (c.status === 'scheduled') {
    begin(d, c.step);
  } else {
    endCurrent(d, 'timeout');
    fallBack(d, c.step, 'timeout');
  }
  return 'applied';
}

/** Its time come, a paced try is sent (claimed by the draft's router), and its wait for a receipt starts now. */
function unpace(d: Draft, step: number): Verdict {
  const c = d.c;
  const a = d.attempt(step);
  const planned = c.plan.steps[step]!;
  a.pacedUntil = undefined;
  a.owner = d.by;
  c.timerAt = d.now + planned.timeoutMs;
  if (c.plan.deadlineAt !== undefined) c.timerAt = Math.min(c.timerAt, c.plan.deadlineAt);
  d.effect({ type: 'send', step });
  d.note({ type: 'attempt', step });
  return 'applied';
}
