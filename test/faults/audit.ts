/**
 * Issue #12's invariants, checked from the provider log (what the customer received), the receipts the
 * routers accepted, the routers' events and the cascades as Redis has them after the run. Each breach is
 * listed with what shows it; a re-send counts as legitimate only when the router that sent first was killed
 * before the second send. Times are the routers' own (one machine, one clock), not when the simulator got
 * round to a request: a router's answer to `handleReceipt()`, its stored claim (`attempt`/`resumed` event),
 * its call of the adapter.
 */
import type { Cascade } from 'cascade-router';
import type { AcceptedReceipt, ProviderCall, RouterEventLine } from './harness.js';

/**
 * A call is "after the step ended" when it came later than this after the first event that showed the step
 * ended: the ending router computes the end before its write reaches Redis, and a retry that read the step
 * still open just before that write may call the adapter a moment after the event. A retry that ignored the
 * end (issue #12, D) comes a whole backoff (1.5 s here) later.
 */
export const END_SLACK_MS = 250;

export interface Refusal {
  readonly op: 'send' | 'receipt';
  readonly code: string | undefined;
  readonly ms: number;
}

export interface AuditInput {
  readonly accepted: ReadonlySet<string>;
  readonly cascades: ReadonlyMap<string, Cascade | undefined>;
  readonly calls: readonly ProviderCall[];
  readonly receipts: readonly AcceptedReceipt[];
  readonly events: readonly RouterEventLine[];
  /** Router name → when it was sent SIGKILL. */
  readonly killed: ReadonlyMap<string, number>;
  readonly ledgerSpendMicros: number;
  readonly refusals: readonly Refusal[];
  /** Messages whose caller was still refused when it gave up, a minute after the load and the fault ended. */
  readonly unaccepted: readonly string[];
}

export interface Audit {
  readonly cascades: number;
  readonly messages: number;
  /** Accepted by send() but missing or not ended after the run. */
  readonly lost: string[];
  /** More than one terminal event for one cascade. */
  readonly endedTwice: string[];
  /** A message on a later step sent after a positive receipt for an earlier one was accepted by a router. */
  readonly extraAfterDelivery: string[];
  /** The same, where the earlier step's sender was killed before storing its send (its take-over found the step timed out). */
  readonly extraAfterDeliveryKilledSender: string[];
  /** A step the plan reached with no adapter call, its owner alive. */
  readonly neverSent: string[];
  readonly neverSentKilledOwner: string[];
  /** An adapter call for a step after it (or its cascade) ended. */
  readonly sentAfterEnd: string[];
  /** Steps sent twice with one idempotency key after their first sender was killed: key, first sender, second. */
  readonly resends: string[];
  /** Steps sent twice while their first sender lived. */
  readonly resendsWhileAlive: string[];
  readonly spendMismatches: string[];
  readonly ledgerMatches: boolean;
  readonly refusals: Record<string, number>;
  readonly slowestRefusalMs: number;
  /** Messages no router accepted within a minute after the fault ended: the store never came back for them. */
  readonly unaccepted: string[];
  /** For the first few cascades that broke an invariant: every event, provider call and receipt, in time order. */
  readonly trails: string[];
}

export function audit(input: AuditInput): Audit {
  const result: { -readonly [K in keyof Audit]: Audit[K] } = {
    cascades: input.accepted.size,
    messages: input.calls.filter((c) => c.sent).length,
    lost: [],
    endedTwice: [],
    extraAfterDelivery: [],
    extraAfterDeliveryKilledSender: [],
    neverSent: [],
    neverSentKilledOwner: [],
    sentAfterEnd: [],
    resends: [],
    resendsWhileAlive: [],
    spendMismatches: [],
    ledgerMatches: true,
    refusals: {},
    slowestRefusalMs: 0,
    unaccepted: [...input.unaccepted],
    trails: [],
  };
  const callsByKey = new Map<string, ProviderCall[]>();
  for (const call of input.calls) callsByKey.set(call.key, [...(callsByKey.get(call.key) ?? []), call]);
  const terminal = new Map<string, number>();
  const endSeen = new Map<string, number>();
  for (const e of input.events) {
    if (['delivered', 'exhausted', 'cancelled', 'expired'].includes(e.event)) terminal.set(e.cascadeId, (terminal.get(e.cascadeId) ?? 0) + 1);
    for (const step of e.ended ?? []) {
      const key = `${e.cascadeId}:${step}`;
      if (!endSeen.has(key) || endSeen.get(key)! > e.at) endSeen.set(key, e.at);
    }
    if (e.status !== undefined && ['delivered', 'exhausted', 'cancelled', 'expired'].includes(e.status)) {
      const key = `${e.cascadeId}:*`;
      if (!endSeen.has(key) || endSeen.get(key)! > e.at) endSeen.set(key, e.at);
    }
  }
  // When each router claimed each step (its `attempt` or `resumed` event, emitted once the claim was stored).
  const claimTimes = new Map<string, number[]>();
  for (const e of input.events) {
    if ((e.event !== 'attempt' && e.event !== 'resumed') || e.step === undefined) continue;
    const key = `${e.cascadeId}:${e.step}:${e.router}`;
    claimTimes.set(key, [...(claimTimes.get(key) ?? []), e.at]);
  }
  /** The latest claim of `call`'s step by its router before the call: the moment the router decided to send. */
  const claimedAt = (id: string, step: number, call: ProviderCall): number => {
    const calledAt = call.calledAt ?? call.at;
    const before = (claimTimes.get(`${id}:${step}:${call.router}`) ?? []).filter((at) => at <= calledAt);
    return before.length > 0 ? Math.max(...before) : calledAt;
  };
  const killedBefore = (router: string, at: number): boolean => (input.killed.get(router) ?? Infinity) < at;

  let spend = 0;
  for (const id of input.accepted) {
    const c = input.cascades.get(id);
    if (c === undefined || !['delivered', 'exhausted', 'cancelled', 'expired'].includes(c.status)) {
      result.lost.push(`${id}: ${c === undefined ? 'missing' : c.status}`);
      continue;
    }
    if ((terminal.get(id) ?? 0) > 1) result.endedTwice.push(id);
    spend += c.spendMicros;
    if (c.spendMicros !== c.attempts.reduce((sum, a) => sum + a.costMicros, 0)) result.spendMismatches.push(id);

    for (const attempt of c.attempts) {
      const key = `${id}:${attempt.step}`;
      const calls = callsByKey.get(key) ?? [];
      if (calls.length === 0) {
        (attempt.owner !== undefined && input.killed.has(attempt.owner) ? result.neverSentKilledOwner : result.neverSent).push(`${key} (${attempt.outcome}, owner ${attempt.owner})`);
      }
      const endedAt = Math.min(endSeen.get(key) ?? Infinity, endSeen.get(`${id}:*`) ?? Infinity, attempt.endedAt ?? Infinity, c.endedAt ?? Infinity);
      for (const call of calls) {
        if ((call.calledAt ?? call.at) > endedAt + END_SLACK_MS) result.sentAfterEnd.push(`${key} try ${call.try} by ${call.router}, ${(call.calledAt ?? call.at) - endedAt} ms after it ended`);
      }
      const firsts = calls.filter((call) => call.try === 1);
      for (const later of firsts.slice(1)) {
        const line = `${key}: ${firsts[0]!.router} then ${later.router}`;
        (firsts.slice(0, firsts.indexOf(later)).every((earlier) => killedBefore(earlier.router, later.at)) ? result.resends : result.resendsWhileAlive).push(line);
      }
    }

    // A positive receipt accepted for step s: no message on a later step after it.
    const positive = input.receipts.filter((r) => r.cascadeId === id && (r.status === 'delivered' || r.status === 'read') && r.outcome !== 'misrouted');
    for (const receipt of positive) {
      const attempt = c.attempts[receipt.step];
      if (attempt?.providerMessageId !== receipt.providerMessageId || !attempt.history.some((h) => h.source === 'receipt' && h.status === receipt.status)) continue;
      for (const later of c.attempts.slice(receipt.step + 1)) {
        const message = (callsByKey.get(`${id}:${later.step}`) ?? []).find((call) => call.sent);
        if (message === undefined) continue;
        // Times as the routers saw them (one machine, one clock): when the receipt's router answered, when the
        // sender stored its claim of the later step, when it called its adapter. A claim stored before the
        // receipt was accepted is a fallback decided in time; its call may trail it by the sender's own lag
        // (up to END_SLACK_MS; a router asks the store again before sending an older claim).
        const calledAt = message.calledAt ?? message.at;
        const claimed = claimedAt(id, later.step, message);
        if (calledAt <= receipt.at || (claimed <= receipt.at && calledAt - claimed <= END_SLACK_MS)) continue;
        const senders = (callsByKey.get(`${id}:${receipt.step}`) ?? []).map((call) => call.router);
        const line = `${id}: step ${later.step} sent ${calledAt - receipt.at} ms after step ${receipt.step}'s ${receipt.status} was accepted (${receipt.outcome}), claimed ${claimed - receipt.at} ms after it`;
        (senders.some((router) => killedBefore(router, message.at)) ? result.extraAfterDeliveryKilledSender : result.extraAfterDelivery).push(line);
      }
    }
  }
  result.ledgerMatches = spend === input.ledgerSpendMicros;
  const offenders = [...result.lost, ...result.extraAfterDelivery, ...result.neverSent, ...result.sentAfterEnd, ...result.resendsWhileAlive, ...result.endedTwice];
  const ids = [...new Set(offenders.map((line) => line.split(':')[0]!))].filter((id) => input.accepted.has(id));
  for (const id of ids.slice(0, 3)) result.trails.push(trail(id, input));
  for (const refusal of input.refusals) {
    const code = `${refusal.op}:${refusal.code ?? 'no answer'}`;
    result.refusals[code] = (result.refusals[code] ?? 0) + 1;
    result.slowestRefusalMs = Math.max(result.slowestRefusalMs, refusal.ms);
  }
  return result;
}

/** What happened to cascade `id`, in time order, from the first thing seen of it: to read a failure without a rerun. */
function trail(id: string, input: AuditInput): string {
  const lines: { at: number; text: string }[] = [];
  for (const e of input.events) {
    if (e.cascadeId !== id) continue;
    const what = e.event === 'error' ? `error during ${e.during}: ${e.code ?? ''} ${e.message ?? ''}` : `${e.event}${e.step !== undefined ? ` step ${e.step}` : ''} → ${e.status ?? ''} ended [${(e.ended ?? []).join(',')}]`;
    lines.push({ at: e.at, text: `${e.router} ${what}` });
  }
  for (const call of input.calls) if (call.cascadeId === id) lines.push({ at: call.calledAt ?? call.at, text: `provider ← ${call.router}: ${call.channel} ${call.key} try ${call.try}${call.sent ? ' SENT' : ''}` });
  for (const r of input.receipts) if (r.cascadeId === id) lines.push({ at: r.at, text: `receipt ${r.status} for step ${r.step} accepted by ${r.router}: ${r.outcome}` });
  lines.sort((a, b) => a.at - b.at);
  const first = lines[0]?.at ?? 0;
  const c = input.cascades.get(id);
  const stored = c ? c.attempts.map((a) => `step ${a.step} ${a.channel} ${a.phase}/${a.outcome ?? '-'} owner ${a.owner ?? '-'}`).join('; ') : 'missing';
  return [`${id} (stored: ${c?.status ?? '-'}; ${stored})`, ...lines.map((l) => `    +${l.at - first} ms ${l.text}`)].join('\n');
}

/** One line per scenario for the closing note: the counts issue #12 asks for. */
export function summary(name: string, a: Audit): string {
  return [
    `${name}:`,
    `${a.cascades} cascades, ${a.messages} messages`,
    `lost ${a.lost.length}`,
    `extra after delivery ${a.extraAfterDelivery.length} (+${a.extraAfterDeliveryKilledSender.length} with a killed sender)`,
    `never sent ${a.neverSent.length} (+${a.neverSentKilledOwner.length} with a killed owner, timed out)`,
    `sent after end ${a.sentAfterEnd.length}`,
    `re-sends after a kill ${a.resends.length}${a.resends.length > 0 ? ` [${a.resends.slice(0, 3).join('; ')}${a.resends.length > 3 ? '; …' : ''}]` : ''}`,
    `re-sends while alive ${a.resendsWhileAlive.length}`,
    `refusals ${JSON.stringify(a.refusals)} (slowest ${a.slowestRefusalMs} ms)`,
    ...(a.unaccepted.length > 0 ? [`never accepted ${a.unaccepted.length}`] : []),
  ].join(' · ');
}
