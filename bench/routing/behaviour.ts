/**
 * The hidden truth: what each provider does with one message on one channel. It follows from the
 * customer's persistent reachability plus per-message draws (latency, a lost receipt, whether it is
 * opened), keyed by (seed, job, channel), so every strategy meets the same outcome. Figures are cited in
 * bench/README.md ("Receipts") by the ids in the comments.
 */
import type { Job } from './workload.js';
import { Random } from './prng.js';

export const CHANNELS = ['push', 'email', 'viber', 'telegram', 'whatsapp', 'sms'] as const;
export type Channel = (typeof CHANNELS)[number];

export type ReceiptStep = readonly [status: 'delivered' | 'read' | 'failed', afterMs: number, error?: string];

export type Truth =
  /** The provider refuses the send: a permanent error (unregistered token, invalid number, bot blocked). */
  | { readonly kind: 'rejected'; readonly error: string; readonly transient: number }
  /** The provider accepts (after `transient` throttled or failed tries) and sends these receipts. */
  | {
      readonly kind: 'accepted';
      readonly transient: number;
      readonly receipts: readonly ReceiptStep[];
      /** When the message reached the customer at the level the job wants, from the send; undefined if never. */
      readonly reachedAfter: number | undefined;
    };

const SEC = 1000;
const MIN = 60 * SEC;
const HOUR = 60 * MIN;

// Per channel: online latency, offline share and latency, receipt loss, transient error rate: the customer's
// base (params.ts: A16–A21, R7, R11, R12 for the default base; F10–F13 for the family).

export function truth(seed: number, job: Job, channel: Channel): Truth {
  const r = Random.stream(seed, 3, job.index, CHANNELS.indexOf(channel));
  const figures = job.customer.params.receipts[channel];
  const transient = r.chance(figures.transient) ? (r.chance(0.1) ? 2 : 1) : 0;
  const c = job.customer;
  // A stress case: the customer lost this channel (app uninstalled: the push service still accepts, nothing
  // shows; mailbox closed: it bounces; Viber removed: "not a Viber user").
  const gone = c.lost !== undefined && c.lost.channel === channel && job.start >= c.lost.atMs;
  const wantsRead = job.success?.[channel] === 'read';
  const failed = (median: number, error: string): Truth => ({ kind: 'accepted', transient, receipts: [['failed', r.logNormal(median, 0.8), error]], reachedAfter: undefined });
  const silent: Truth = { kind: 'accepted', transient, receipts: [], reachedAfter: undefined };

  switch (channel) {
    case 'push':
      if (gone) return { kind: 'accepted', transient, receipts: [], reachedAfter: undefined };
      if (c.push === 'stale') return { kind: 'rejected', error: 'unregistered device token', transient };
      if (c.push !== 'ok') return silent; // notifications off: FCM accepts, the app never shows it
      break;
    case 'email':
      if (c.email === 'bounce' || gone) return failed(20 * SEC, '550 mailbox unavailable');
      break;
    case 'viber':
      if (!c.viber || gone) return failed(3 * SEC, 'not a Viber user');
      break;
    case 'whatsapp':
      if (!c.whatsapp) return failed(3 * SEC, '131026 recipient is not a WhatsApp user');
      break;
    case 'telegram':
      // Confirmed by acceptance: the Bot API answers the send itself, there are no receipts.
      if (c.telegram === 'blocked') return { kind: 'rejected', error: '403 Forbidden: bot was blocked by the user', transient };
      return { kind: 'accepted', transient, receipts: [], reachedAfter: 0 };
    case 'sms':
      if (c.sms === 'invalid') return { kind: 'rejected', error: '21211 invalid phone number', transient };
      if (c.sms === 'unreachable') return failed(2 * MIN, 'absent subscriber');
      break;
  }

  const delivered = r.chance(figures.offline) ? r.logNormal(figures.offlineMedian, 1.2) : r.logNormal(figures.median, 0.8);
  const readRate = channel === 'push' ? c.pushOpenRate : channel === 'email' ? c.emailOpenRate : channel === 'sms' ? 0 : c.params.messengerRead;
  const read = r.chance(readRate) ? delivered + r.logNormal(figures.readMedian, 1.2) : undefined;
  // A lost receipt: the message arrived, the provider's callback never did.
  const lostDelivered = r.chance(figures.lost);
  const lostRead = r.chance(figures.lost);
  const receipts: ReceiptStep[] = [];
  if (!lostDelivered) receipts.push(['delivered', delivered]);
  if (read !== undefined && !lostRead) receipts.push(['read', read]);
  const reachedAfter = wantsRead ? read : delivered;
  return { kind: 'accepted', transient, receipts, reachedAfter };
}

/** When the positive receipt at the job's success level arrives, from the send; undefined if none ever does. */
export function positiveReceiptAfter(t: Truth, job: Job, channel: Channel): number | undefined {
  if (t.kind !== 'accepted') return undefined;
  if (channel === 'telegram') return 0;
  const wanted = job.success?.[channel] === 'read' ? 'read' : 'delivered';
  let at: number | undefined;
  for (const [status, after] of t.receipts) {
    if (status === 'read' || (status === 'delivered' && wanted === 'delivered')) at = at === undefined ? after : Math.min(at, after);
  }
  return at;
}
