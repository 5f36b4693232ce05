/**
 * The clairvoyant lower bound, from the hidden truth: for each message, the cheapest channel whose
 * positive receipt (at the message's success level) would have come, within the deadline and before the
 * customer bought, at that channel's receipt latency. It sends one message and never waits for a
 * timeout, so no strategy can beat its cost per delivered message or its delivery rate.
 */
import { CHANNELS, positiveReceiptAfter, truth, type Channel } from './behaviour.js';
import { costModels } from './prices.js';
import { channelFigures, emptyOutcome, type Outcome } from './recorder.js';
import type { Library, Micros } from './library.js';
import type { Job } from './workload.js';

export function clairvoyant(lib: Library, seed: number, jobs: readonly Job[]): Outcome {
  const models = costModels(lib, jobs[0]?.customer.params);
  const outcome = emptyOutcome(jobs.length);
  for (const job of jobs) {
    if (job.purchaseAt !== undefined && job.purchaseAt <= job.start) {
      outcome.cancelled++; // bought before anything could go out
      continue;
    }
    let best: { channel: Channel; cost: Micros; after: number } | undefined;
    for (const channel of CHANNELS) {
      const address = job.customer.recipient.addresses[channel];
      if (address === undefined) continue;
      const after = positiveReceiptAfter(truth(seed, job, channel), job, channel);
      if (after === undefined) continue;
      if (job.deadlineMs !== undefined && after > job.deadlineMs) continue;
      if (job.purchaseAt !== undefined && job.start + after >= job.purchaseAt) continue;
      const cost = costOf(lib, models[channel]!.cost ?? 0, channel, job, address);
      if (!best || cost < best.cost || (cost === best.cost && after < best.after)) best = { channel, cost, after };
    }
    if (!best) continue;
    outcome.delivered++;
    outcome.times.push(best.after);
    outcome.spendMicros += best.cost;
    const figures = channelFigures(outcome, best.channel);
    figures.sent++;
    figures.spendMicros += best.cost;
  }
  return outcome;
}

function costOf(lib: Library, model: NonNullable<ReturnType<typeof costModels>[string]['cost']>, channel: Channel, job: Job, address: string): Micros {
  if (typeof model !== 'function') return lib.toMicros(model);
  const content = channel === 'sms' ? { text: job.message.content.sms ?? job.message.content.text } : job.message.content;
  return lib.toMicros(model({ channel, message: { ...job.message, key: `m${job.index}` }, recipient: job.customer.recipient, address, content }));
}
