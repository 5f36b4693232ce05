/**
 * Model-based test of the cascade engine (router + pure core + memory store) against a small model.
 *
 * Commands (fc.commands + fc.asyncModelRun): sends (new and repeated idempotency keys, also two at once),
 * releasing adapter calls held by fc.scheduler (so a receipt can arrive before send() returned its id),
 * receipts for known provider ids (random statuses and prices; duplicated, reordered, late), replays of
 * earlier receipts, receipts for unknown ids, malformed receipts, SimulatedClock advances, cancels, and
 * bursts that run several of these concurrently, interleaved by fc.scheduler with pending adapter calls.
 *
 * Adapters take their outcome from a generated tape: resolve with an id (sometimes with a reported price),
 * throw a transient `SendError`, throw a permanent one, or resolve without an id. Every adapter call waits
 * on a task of the fc.scheduler, released by `release` commands (in an order fast-check chooses), by bursts,
 * or at the end of the run.
 *
 * The model is event driven: it follows the router's `sent` and `receipt` events (matching each applied
 * receipt to the receipt this test handed in, for its price) and keeps, per provider id, the statuses, the
 * price and whether the attempt is billed, derived from the channel declarations below, never from the plan.
 * Sequential receipt commands also predict the exact `handleReceipt` outcome from the model.
 *
 * Time only moves through the SimulatedClock: no wall clock, no sleeps. Everything is deterministic for a
 * given fast-check seed, and each failure prints the trace of its run. To replay a failure exactly:
 *   FC_SEED=<seed> npx vitest run --config test/vitest.config.ts test/engine.model.test.ts -t '<test title>'
 * (with the same FC_NUM_RUNS, if you changed it). FC_PATH=<path> FC_REPLAY_PATH=<replayPath> jump straight to the
 * shrunk commands, but fc.scheduler may then interleave them differently: in fast-check 4.10 the clones of a
 * generated scheduler share one random stream, so only a full replay from the seed repeats the interleaving.
 *
 * Not modelled: expiry of held receipts (the router holds unknown receipts for a year here) and
 * eviction of finished cascades (the store keeps them).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createRouter,
  InvalidReceiptError,
  memoryStore,
  SendError,
  SimulatedClock,
  TERMINAL,
  type Attempt,
  type Billing,
  type Cascade,
  type CascadeStore,
  type ChannelConfig,
  type ChannelKind,
  type Message,
  type Receipt,
  type ReceiptResult,
  type ReceiptStatus,
  type Recipient,
  type Router,
  type SendRequest,
  type SendResult,
  type StepEvent,
  type SuccessLevel,
} from 'cascade-router';

// ---------------------------------------------------------------------------------------------------------
// Channels: different costs, billing modes, success levels, timeouts and retry policies; one confirms by
// acceptance. The model reads prices and levels from here, not from the router's plan.

interface ChannelSpec {
  readonly kind: ChannelKind;
  readonly cost: number | string;
  readonly costMicros: number;
  readonly billing: Billing;
  readonly acceptance: boolean;
  readonly success: SuccessLevel;
  readonly timeout: string;
  readonly timeoutMs: number;
  readonly retry: ChannelConfig['retry'];
  /** The first try plus the retries. */
  readonly maxTries: number;
}

const SPECS = {
  push: { kind: 'push', cost: 0, costMicros: 0, billing: 'sent', acceptance: false, success: 'delivered', timeout: '2m', timeoutMs: 120_000, retry: { retries: 2, minDelay: '5s' }, maxTries: 3 },
  webhook: { kind: 'custom', cost: '0.0001', costMicros: 100, billing: 'sent', acceptance: true, success: 'accepted', timeout: '1m', timeoutMs: 60_000, retry: false, maxTries: 1 },
  email: { kind: 'email', cost: '0.001', costMicros: 1_000, billing: 'sent', acceptance: false, success: 'delivered', timeout: '30m', timeoutMs: 1_800_000, retry: { retries: 1, minDelay: '30s' }, maxTries: 2 },
  whatsapp: { kind: 'messenger', cost: 0.0085, costMicros: 8_500, billing: 'delivered', acceptance: false, success: 'delivered', timeout: '15m', timeoutMs: 900_000, retry: { retries: 1, minDelay: '2s' }, maxTries: 2 },
  viber: { kind: 'messenger', cost: '0.02', costMicros: 20_000, billing: 'delivered', acceptance: false, success: 'read', timeout: '10m', timeoutMs: 600_000, retry: {}, maxTries: 4 },
  sms: { kind: 'sms', cost: '0.05', costMicros: 50_000, billing: 'sent', acceptance: false, success: 'delivered', timeout: '5m', timeoutMs: 300_000, retry: { retries: 2, minDelay: '10s', maxDelay: '20s' }, maxTries: 3 },
} as const satisfies Record<string, ChannelSpec>;

type ChannelName = keyof typeof SPECS;
const NAMES = Object.keys(SPECS) as ChannelName[];
const spec = (name: string): ChannelSpec => SPECS[name as ChannelName];

const START = Date.UTC(2026, 0, 5, 9, 0, 0);
const HOLD = '365d';
const HOLD_MS = 365 * 86_400_000;
const FAR = 3 * 86_400_000;
const KEYS = 5;

const RANK: Record<ReceiptStatus, number> = { failed: 0, accepted: 1, sent: 2, delivered: 3, read: 4 };
const PHASE_RANK: Record<Attempt['phase'], number> = { sending: 0, waiting: 1, ended: 2 };
const STATUSES: readonly ReceiptStatus[] = ['accepted', 'sent', 'delivered', 'read', 'failed'];

// ---------------------------------------------------------------------------------------------------------
// The invariants, by name: every failure message starts with one of these.

const INV = {
  noSendAfterPositive: 'nothing is sent after a positive receipt (or after the attempt or cascade ended)',
  oneAttempt: 'at most one attempt per planned step, one adapter call sequence per idempotency key',
  spend: 'recorded spend equals the sum of billed attempts',
  oneCascadePerKey: 'the same idempotency key never starts a second cascade',
  forward: 'attempt statuses only move forward; failed is final',
  terminal: 'once every timeout has passed, every cascade is in exactly one terminal state and the clock has no pending work',
  receipts: 'receipts: unknown, malformed, duplicate and stale ones change nothing; a positive one ends the cascade; a failed one falls back',
  plan: 'the plan follows the channel declarations',
  clock: 'time only moves through the simulated clock',
  onTime: 'timers fire on time: no open cascade has an overdue timer, a timed-out step waited exactly its timeout',
  held: 'a receipt that arrives before send() returned its id is held and applied once the id is known',
  idsKept: 'a provider id that send() returned is never dropped, even if the step ended while send() was in flight',
} as const;

class InvariantError extends Error {
  override name = 'InvariantError';
}

function fail(invariant: string, detail: string): never {
  throw new InvariantError(`[${invariant}] ${detail}`);
}

// ---------------------------------------------------------------------------------------------------------
// Model pieces.

/** What a fake provider does with one adapter call. */
type Behavior =
  | { readonly kind: 'ok'; readonly priceMicros: number | undefined }
  | { readonly kind: 'transient' }
  | { readonly kind: 'permanent' }
  | { readonly kind: 'no-id' };

const describeBehavior = (b: Behavior): string => (b.kind === 'ok' ? `ok${b.priceMicros === undefined ? '' : ` price=${b.priceMicros}µ`}` : b.kind);

interface Call {
  readonly seq: number;
  readonly index: number;
  readonly at: number;
  readonly channel: string;
  readonly cascadeId: string;
  readonly key: string;
  readonly try: number;
  readonly address: string;
  readonly abortedAtCall: boolean;
  /** Read on every other call only: the router makes its AbortController lazily, when an adapter asks for it. */
  readonly signal: AbortSignal | undefined;
  readonly behavior: Behavior;
  readonly providerMessageId: string | undefined;
  settled: boolean;
}

/** A receipt handed to the router and not yet matched to an applied status. */
interface Inflight {
  readonly status: ReceiptStatus;
  readonly priceMicros: number | undefined;
}

/** The model of one attempt that got a provider id from its adapter. */
class ModelAttempt {
  readonly statuses: ReceiptStatus[] = [];
  status: ReceiptStatus | undefined;
  priceMicros: number | undefined;
  billed = false;
  indexed = false;

  constructor(
    readonly id: string,
    readonly cascadeId: string,
    readonly step: number,
    readonly channel: string,
    readonly success: SuccessLevel,
    readonly sendPriceMicros: number | undefined,
  ) {}

  get billing(): Billing {
    return spec(this.channel).billing;
  }

  /** What the attempt costs: the last reported price, else the declared price; 0 until billed. */
  get costMicros(): number {
    return this.billed ? (this.priceMicros ?? spec(this.channel).costMicros) : 0;
  }
}

/** Whether `status` moves an attempt forward from `previous`. */
function forward(previous: ReceiptStatus | undefined, status: ReceiptStatus): boolean {
  if (previous === undefined) return true;
  if (previous === status || previous === 'failed') return false;
  if (status === 'failed') return RANK[previous] < RANK.delivered;
  return RANK[status] > RANK[previous];
}

function verdict(previous: ReceiptStatus | undefined, status: ReceiptStatus): 'applied' | 'duplicate' | 'stale' {
  if (previous === status) return 'duplicate';
  return forward(previous, status) ? 'applied' : 'stale';
}

const positive = (status: ReceiptStatus, success: SuccessLevel): boolean => status !== 'failed' && RANK[status] >= RANK[success];

function amount(micros: number, asNumber: boolean): number | string {
  if (asNumber) return micros / 1_000_000;
  return `${Math.floor(micros / 1_000_000)}.${String(micros % 1_000_000).padStart(6, '0')}`;
}

// ---------------------------------------------------------------------------------------------------------
// Messages and recipients.

type SuccessOption = SuccessLevel | Readonly<Record<string, SuccessLevel>> | undefined;

interface MessageOptions {
  readonly success: SuccessOption;
  readonly channels: readonly ChannelName[] | undefined;
  readonly delays: Readonly<Record<string, string>> | undefined;
}

interface RecipientSpec {
  readonly addresses: readonly ChannelName[];
  readonly optedOut: readonly ChannelName[];
}

const address = (name: string): string => `${name}-address-1`;

function buildMessage(key: string, options: MessageOptions): Message {
  return {
    key,
    category: 'transactional',
    content: { text: 'Your order 1042 has shipped', sms: 'Order 1042 shipped' },
    channels: options.channels,
    policy: options.channels ? { order: 'message' } : undefined,
    success: options.success,
    delays: options.delays,
  };
}

function buildRecipient(r: RecipientSpec): Recipient {
  const addresses: Record<string, string> = {};
  for (const name of r.addresses) addresses[name] = address(name);
  return { id: 'customer-1', addresses, optedOut: r.optedOut.length > 0 ? r.optedOut : undefined };
}

const describeOptions = (o: MessageOptions, r: RecipientSpec): string =>
  `{addresses:[${r.addresses.join(',')}]${r.optedOut.length ? ` optedOut:[${r.optedOut.join(',')}]` : ''}` +
  `${o.channels ? ` channels:[${o.channels.join(',')}]` : ''}${o.success ? ` success:${JSON.stringify(o.success)}` : ''}` +
  `${o.delays ? ` delays:${JSON.stringify(o.delays)}` : ''}}`;

/** The channels the plan must contain, in order: allowed, addressed, not opted out; by price or by the message's list. */
function expectedChannels(message: Message, recipient: Recipient): string[] {
  const eligible = NAMES.filter(
    (name) => (message.channels === undefined || message.channels.includes(name)) && !recipient.optedOut?.includes(name) && recipient.addresses[name] !== undefined,
  );
  if (message.channels) return message.channels.filter((name) => eligible.includes(name as ChannelName));
  return eligible.sort((a, b) => SPECS[a].costMicros - SPECS[b].costMicros);
}

function expectedSuccess(message: Message, name: string): SuccessLevel {
  const s = spec(name);
  if (s.acceptance) return 'accepted';
  const wanted = message.success;
  if (wanted === undefined) return s.success;
  if (typeof wanted === 'string') return wanted;
  return wanted[name] ?? s.success;
}

const DELAY_MS: Record<string, number> = { '10s': 10_000, '30s': 30_000, '1m': 60_000 };

// ---------------------------------------------------------------------------------------------------------
// Coverage across all runs: the generators must actually reach the interesting paths.

const coverage = {
  runs: 0,
  commands: 0,
  cascades: 0,
  calls: 0,
  retries: 0,
  heldReceiptsApplied: 0,
  lateReceipts: 0,
  positiveByAcceptance: 0,
  fallbackFailed: 0,
  fallbackTimeout: 0,
  fallbackSendError: 0,
  cancelled: 0,
  delivered: 0,
  exhausted: 0,
  duplicateOrStale: 0,
  malformed: 0,
  unknown: 0,
  burstOps: 0,
  repeatedKeys: 0,
  sendResolvedAfterAbort: 0,
};

// ---------------------------------------------------------------------------------------------------------
// The world: the router under test, its clock and scheduler, the fake providers and the model.

class World {
  readonly clock = new SimulatedClock(START);
  readonly store: CascadeStore = memoryStore({ retentionMs: Infinity });
  readonly router: Router;
  seq = 0;
  nextCascade = 0;
  readonly calls: Call[] = [];
  readonly callsByCascade = new Map<string, Call[]>();
  /** Provider ids the fake providers handed out, in order (some not yet returned to the router). */
  readonly issued: string[] = [];
  readonly byProvider = new Map<string, ModelAttempt>();
  readonly inflight = new Map<string, Inflight[]>();
  /** Idempotency key → cascade id, from `planned` events. */
  readonly keys = new Map<string, string>();
  /** Cascade id → plan, from `planned` events (before the first adapter call). */
  readonly plans = new Map<string, Cascade['plan']>();
  readonly cascadeIds: string[] = [];
  readonly positiveSeq = new Map<string, number>();
  readonly terminalSeq = new Map<string, number>();
  readonly terminalEvents = new Map<string, number>();
  readonly snapshots = new Map<string, Cascade>();
  readonly sentReceipts: Receipt[] = [];
  readonly violations: string[] = [];
  /** What each command of this run did, attached to the error when the run fails. */
  readonly trace: string[] = [];
  events = 0;
  ghosts = 0;

  constructor(
    readonly s: fc.Scheduler,
    readonly tape: readonly Behavior[],
    /** Also require that every id an adapter returned reaches the router (see the second test). */
    readonly strictIds: boolean,
  ) {
    const channels: Record<string, ChannelConfig> = {};
    for (const name of NAMES) {
      const c: ChannelSpec = SPECS[name];
      channels[name] = {
        kind: c.kind,
        cost: c.cost,
        billing: c.billing,
        send: (request) => this.onSend(name, request),
        confirm: c.acceptance ? { by: 'acceptance', timeout: c.timeout } : { timeout: c.timeout },
        ...(c.acceptance ? {} : { success: c.success }),
        retry: c.retry,
      };
    }
    this.router = createRouter({
      channels,
      clock: this.clock,
      store: this.store,
      holdUnknownReceipts: HOLD,
      createId: () => `c${this.nextCascade++}`,
    });
    this.listen();
  }

  violate(invariant: string, detail: string): void {
    this.violations.push(`[${invariant}] ${detail}`);
  }

  // -- fake providers ------------------------------------------------------------------------------------

  onSend(channel: string, request: SendRequest): Promise<SendResult> {
    const index = this.calls.length;
    const behavior = this.tape[index % this.tape.length]!;
    const providerMessageId = behavior.kind === 'ok' ? `pm-${index}` : undefined;
    const signal = index % 2 === 0 ? request.signal : undefined;
    const call: Call = {
      seq: this.seq++,
      index,
      at: this.clock.now(),
      channel,
      cascadeId: request.cascadeId,
      key: request.idempotencyKey,
      try: request.try,
      address: request.address,
      abortedAtCall: signal?.aborted ?? false,
      signal,
      behavior,
      providerMessageId,
      settled: false,
    };
    const mine = this.callsByCascade.get(call.cascadeId) ?? [];
    const previous = mine.filter((c) => c.channel === channel).at(-1);
    if (previous && !previous.settled) {
      this.violate(INV.oneAttempt, `${request.idempotencyKey}: try ${request.try} started while try ${previous.try} (call #${previous.index}) was in flight`);
    }
    mine.push(call);
    this.callsByCascade.set(call.cascadeId, mine);
    this.calls.push(call);
    coverage.calls++;
    if (request.try > 1) coverage.retries++;

    if (providerMessageId !== undefined) {
      const plan = this.plans.get(call.cascadeId);
      const step = plan ? plan.steps.findIndex((s) => s.channel === channel) : -1;
      if (!plan || step === -1) this.violate(INV.oneAttempt, `adapter ${channel} called for ${call.cascadeId}, which has no such planned step`);
      const success = plan && step !== -1 ? plan.steps[step]!.success : 'delivered';
      this.byProvider.set(providerMessageId, new ModelAttempt(providerMessageId, call.cascadeId, step, channel, success, behavior.kind === 'ok' ? behavior.priceMicros : undefined));
      this.issued.push(providerMessageId);
    }

    const label = `send#${index} ${request.idempotencyKey} ${channel} try ${request.try} → ${describeBehavior(behavior)}`;
    return this.s.schedule(Promise.resolve(), label).then((): SendResult => {
      call.settled = true;
      switch (behavior.kind) {
        case 'transient':
          throw new SendError('x');
        case 'permanent':
          throw new SendError('x', { permanent: true });
        case 'no-id':
          return '';
        case 'ok':
          if (call.signal?.aborted) coverage.sendResolvedAfterAbort++;
          return behavior.priceMicros === undefined
            ? providerMessageId!
            : { providerMessageId: providerMessageId!, price: amount(behavior.priceMicros, behavior.priceMicros % 2 === 0) };
      }
    });
  }

  // -- the router's events drive the model ---------------------------------------------------------------

  private listen(): void {
    const r = this.router;
    r.on('planned', (e) => {
      this.events++;
      this.seq++;
      const existing = this.keys.get(e.key);
      if (existing !== undefined) this.violate(INV.oneCascadePerKey, `key ${e.key} started ${e.cascadeId} although ${existing} owns it`);
      else this.keys.set(e.key, e.cascadeId);
      this.plans.set(e.cascadeId, e.plan);
      this.cascadeIds.push(e.cascadeId);
      coverage.cascades++;
    });
    r.on('skipped', () => void this.events++);
    r.on('attempt', () => void this.events++);
    r.on('fallback', (e) => {
      this.events++;
      if (e.reason === 'failed') coverage.fallbackFailed++;
      else if (e.reason === 'timeout') coverage.fallbackTimeout++;
      else coverage.fallbackSendError++;
    });
    r.on('late-receipt', () => {
      this.events++;
      coverage.lateReceipts++;
    });
    r.on('sent', (e) => {
      this.events++;
      const seq = this.seq++;
      const m = this.byProvider.get(e.providerMessageId);
      if (!m) return this.violate(INV.oneAttempt, `router reported ${e.providerMessageId} as sent, but no adapter returned it`);
      if (m.indexed) return this.violate(INV.oneAttempt, `${e.providerMessageId} reported as sent twice`);
      m.indexed = true;
      if ((this.inflight.get(m.id)?.length ?? 0) > 0) coverage.heldReceiptsApplied++;
      this.applyModel(m, 'accepted', m.sendPriceMicros, e, seq);
      if (positive('accepted', m.success)) coverage.positiveByAcceptance++;
    });
    r.on('receipt', (e) => {
      this.events++;
      const seq = this.seq++;
      const m = this.byProvider.get(e.providerMessageId);
      if (!m) return this.violate(INV.receipts, `receipt applied for ${e.providerMessageId}, which no adapter returned`);
      const list = this.inflight.get(m.id) ?? [];
      const index = list.findIndex((x) => x.status === e.status);
      if (index === -1) return this.violate(INV.receipts, `a ${e.status} receipt was applied to ${m.id}, but none was handed in`);
      const [entry] = list.splice(index, 1);
      this.applyModel(m, e.status, entry!.priceMicros, e, seq);
    });
    const ended = (type: string) => (e: { cascadeId: string; late?: boolean }) => {
      this.events++;
      const seq = this.seq++;
      if (!this.terminalSeq.has(e.cascadeId)) this.terminalSeq.set(e.cascadeId, seq);
      this.terminalEvents.set(e.cascadeId, (this.terminalEvents.get(e.cascadeId) ?? 0) + 1);
      if (type === 'delivered') coverage.delivered++;
      if (type === 'exhausted') coverage.exhausted++;
      if (type === 'cancelled') coverage.cancelled++;
    };
    r.on('delivered', ended('delivered'));
    r.on('exhausted', ended('exhausted'));
    r.on('cancelled', ended('cancelled'));
    r.on('expired', ended('expired'));
    r.on('error', (e) => this.violate('router error event', `${e.during} ${e.cascadeId ?? ''}: ${e.error.message}`));
  }

  /** Applies one status the router reports as applied, checking that it moves forward. */
  private applyModel(m: ModelAttempt, status: ReceiptStatus, priceMicros: number | undefined, e: StepEvent, seq: number): void {
    if (e.cascadeId !== m.cascadeId || e.step !== m.step) this.violate(INV.oneAttempt, `${m.id} belongs to ${m.cascadeId} step ${m.step}, event says ${e.cascadeId} step ${e.step}`);
    if (!forward(m.status, status)) this.violate(INV.forward, `${m.id}: ${status} applied after ${m.status ?? 'nothing'}`);
    m.statuses.push(status);
    m.status = status;
    if (priceMicros !== undefined) m.priceMicros = priceMicros;
    if (!m.billed && status !== 'failed' && (m.billing === 'sent' || RANK[status] >= RANK.delivered)) m.billed = true;
    if (positive(status, m.success)) {
      if (!this.positiveSeq.has(m.cascadeId)) this.positiveSeq.set(m.cascadeId, seq);
      if (!this.terminalSeq.has(m.cascadeId) && e.cascade.status !== 'delivered') {
        this.violate(INV.receipts, `positive ${status} for ${m.id} (success level ${m.success}) left ${m.cascadeId} ${e.cascade.status}`);
      }
    }
  }

  // -- helpers for commands ------------------------------------------------------------------------------

  pickIssued(pick: number): string | undefined {
    if (this.issued.length === 0) return undefined;
    return this.issued[this.issued.length - 1 - (pick % this.issued.length)];
  }

  ghost(): string {
    return `ghost-${this.ghosts++}`;
  }

  /** Records a receipt about to be handed in; in bursts, equal (id, status) pairs share one price so the match is unambiguous. */
  register(receipt: Receipt, priceMicros: number | undefined, burst: boolean): number | undefined {
    const list = this.inflight.get(receipt.providerMessageId) ?? [];
    const same = list.find((x) => x.status === receipt.status);
    const price = burst && same ? same.priceMicros : priceMicros;
    list.push({ status: receipt.status, priceMicros: price });
    this.inflight.set(receipt.providerMessageId, list);
    return price;
  }

  async snapshot(): Promise<Map<string, Cascade | undefined>> {
    const out = new Map<string, Cascade | undefined>();
    for (const id of this.cascadeIds) out.set(id, await this.router.get(id));
    return out;
  }

  async expectUnchanged(before: Map<string, Cascade | undefined>, events: number, calls: number, what: string): Promise<void> {
    for (const [id, cascade] of before) {
      if ((await this.router.get(id)) !== cascade) fail(INV.receipts, `${what} changed cascade ${id}`);
    }
    if (this.cascadeIds.length !== before.size) fail(INV.receipts, `${what} started a cascade`);
    if (this.events !== events) fail(INV.receipts, `${what} emitted ${this.events - events} event(s)`);
    if (this.calls.length !== calls) fail(INV.receipts, `${what} called an adapter`);
  }

  async allTerminal(): Promise<boolean> {
    for (const id of this.cascadeIds) {
      const c = await this.router.get(id);
      if (!c || !TERMINAL.has(c.status)) return false;
    }
    return true;
  }

  // -- the invariants, after every command ---------------------------------------------------------------

  async checkInvariants(): Promise<void> {
    if (this.violations.length > 0) throw new InvariantError(this.violations.join('\n'));
    const idempotencyKeys = new Map<string, string>();
    for (const call of this.calls) {
      if (!this.plans.has(call.cascadeId)) fail(INV.oneAttempt, `adapter called for unknown cascade ${call.cascadeId}`);
      const owner = `${call.cascadeId}/${call.channel}`;
      const seen = idempotencyKeys.get(call.key);
      if (seen !== undefined && seen !== owner) fail(INV.oneAttempt, `idempotency key ${call.key} used by ${seen} and ${owner}`);
      idempotencyKeys.set(call.key, owner);
    }
    for (const [id, m] of this.byProvider) {
      const pending = (this.inflight.get(id) ?? []).filter((x) => forward(m.status, x.status));
      if (m.indexed && pending.length > 0) {
        fail(INV.held, `${id} (${m.cascadeId} step ${m.step}) is known to the router at ${m.status}, but receipts [${pending.map((x) => x.status).join()}] handed in for it were never applied`);
      }
    }
    if (this.strictIds) {
      for (const call of this.calls) {
        const m = call.providerMessageId === undefined ? undefined : this.byProvider.get(call.providerMessageId);
        if (call.settled && m && !m.indexed) {
          const pending = this.inflight.get(m.id) ?? [];
          fail(
            INV.idsKept,
            `call #${call.index} (${call.key} ${call.channel} try ${call.try}) returned ${m.id}${call.signal?.aborted ? ' after its signal was aborted' : ''}, ` +
              `but the router never recorded it${pending.length ? `; receipts [${pending.map((x) => x.status).join()}] for it are held forever` : ''}` +
              ` (${spec(call.channel).billing === 'sent' ? `billed on send: ${spec(call.channel).costMicros}µ of spend unrecorded` : 'billed on delivery'})`,
          );
        }
      }
    }
    const keyOwners = new Map<string, string>();
    for (const id of this.cascadeIds) {
      const c = await this.router.get(id);
      if (!c) fail(INV.oneCascadePerKey, `cascade ${id} is gone`);
      const owner = keyOwners.get(c.key);
      if (owner !== undefined) fail(INV.oneCascadePerKey, `key ${c.key} owns ${owner} and ${id}`);
      keyOwners.set(c.key, id);
      if (this.keys.get(c.key) !== id) fail(INV.oneCascadePerKey, `key ${c.key} maps to ${this.keys.get(c.key)}, cascade ${id} has it`);
      if (!this.snapshots.has(id)) this.checkPlan(c);
      this.checkAttempts(c);
      this.checkSpend(c);
      this.checkCalls(c);
      this.checkMonotonic(c);
      this.snapshots.set(id, c);
    }
  }

  private checkPlan(c: Cascade): void {
    const { plan, message, recipient } = c;
    const got = plan.steps.map((s) => s.channel);
    const want = expectedChannels(message, recipient);
    if (got.join() !== want.join()) fail(INV.plan, `${c.id}: steps [${got.join()}], expected [${want.join()}]`);
    let max = 0;
    for (const step of plan.steps) {
      const s = spec(step.channel);
      const delay = DELAY_MS[message.delays?.[step.channel] ?? ''] ?? 0;
      const problems = [
        step.costMicros !== s.costMicros && `cost ${step.costMicros} ≠ ${s.costMicros}`,
        step.billing !== s.billing && `billing ${step.billing} ≠ ${s.billing}`,
        step.waitMs !== s.timeoutMs && `wait ${step.waitMs} ≠ ${s.timeoutMs}`,
        step.success !== expectedSuccess(message, step.channel) && `success ${step.success} ≠ ${expectedSuccess(message, step.channel)}`,
        step.address !== address(step.channel) && `address ${step.address}`,
        step.delayMs !== delay && `delay ${step.delayMs} ≠ ${delay}`,
      ].filter(Boolean);
      if (problems.length > 0) fail(INV.plan, `${c.id} ${step.channel}: ${problems.join(', ')}`);
      max += s.costMicros;
    }
    if (plan.maxSpendMicros !== max) fail(INV.plan, `${c.id}: maxSpendMicros ${plan.maxSpendMicros} ≠ ${max}`);
  }

  private checkAttempts(c: Cascade): void {
    const steps = c.plan.steps;
    if (c.attempts.length > steps.length) fail(INV.oneAttempt, `${c.id} has ${c.attempts.length} attempts for ${steps.length} steps`);
    let open = 0;
    for (let i = 0; i < c.attempts.length; i++) {
      const a = c.attempts[i];
      if (!a) fail(INV.oneAttempt, `${c.id}: attempts[${i}] missing`);
      if (a.step !== i || a.channel !== steps[i]!.channel) fail(INV.oneAttempt, `${c.id}: attempts[${i}] is step ${a.step} ${a.channel}, plan says ${steps[i]!.channel}`);
      const history = a.history.map((h) => h.status);
      history.forEach((status, j) => {
        if (status === 'failed' && j !== history.length - 1) fail(INV.forward, `${c.id} step ${i}: history [${history.join()}] goes on after failed`);
        if (j > 0 && status !== 'failed' && RANK[status] <= RANK[history[j - 1]!]) fail(INV.forward, `${c.id} step ${i}: history [${history.join()}] moves back`);
        const source = a.history[j]!.source;
        if ((j === 0) !== (source === 'send') || (j === 0 && status !== 'accepted')) fail(INV.forward, `${c.id} step ${i}: history [${history.join()}] entry ${j} from ${source}`);
      });
      if (a.status !== history.at(-1)) fail(INV.forward, `${c.id} step ${i}: status ${a.status}, last history entry ${history.at(-1)}`);
      if ((a.providerMessageId !== undefined) !== history.length > 0) fail(INV.forward, `${c.id} step ${i}: history without provider id or the reverse`);
      if (a.providerMessageId !== undefined) {
        const m = this.byProvider.get(a.providerMessageId);
        if (!m) fail(INV.oneAttempt, `${c.id} step ${i}: provider id ${a.providerMessageId} was never returned by an adapter`);
        if (m.cascadeId !== c.id || m.step !== i) fail(INV.oneAttempt, `${a.providerMessageId} was sent for ${m.cascadeId} step ${m.step}, recorded on ${c.id} step ${i}`);
        if (m.statuses.join() !== history.join()) fail(INV.forward, `${a.providerMessageId}: router history [${history.join()}], model [${m.statuses.join()}]`);
      }
      if (a.phase !== 'ended') {
        open++;
        if (c.status !== 'active' || c.step !== i) fail(INV.oneAttempt, `${c.id} (${c.status} at step ${c.step}) has attempt ${i} still ${a.phase}`);
      }
    }
    if (open > 1) fail(INV.oneAttempt, `${c.id} has ${open} open attempts`);
    for (const a of c.attempts) {
      const timeoutMs = spec(a.channel).timeoutMs;
      if (a.outcome === 'timeout' && a.endedAt !== a.startedAt + timeoutMs) fail(INV.onTime, `${c.id} step ${a.step} (${a.channel}) started at ${a.startedAt} and timed out at ${a.endedAt}, not after ${timeoutMs} ms`);
    }
    if (!TERMINAL.has(c.status) && (c.timerAt === undefined || c.timerAt <= this.clock.now())) {
      fail(INV.onTime, `${c.id} is ${c.status} at step ${c.step} with timer ${c.timerAt}, clock at ${this.clock.now()}`);
    }
    const terminalEvents = this.terminalEvents.get(c.id) ?? 0;
    if (TERMINAL.has(c.status)) {
      if (terminalEvents !== 1) fail(INV.terminal, `${c.id} is ${c.status} after ${terminalEvents} terminal events`);
      if (c.timerAt !== undefined) fail(INV.terminal, `${c.id} is ${c.status} with a timer at ${c.timerAt}`);
    } else if (terminalEvents !== 0) {
      fail(INV.terminal, `${c.id} is ${c.status} after a terminal event`);
    }
  }

  private checkSpend(c: Cascade): void {
    let billed = 0;
    let model = 0;
    // Double spend as the customer counts it: every attempt that reached them after the first one did, by the
    // time its positive receipt carries, as the attempt recorded it (at the same instant, the earlier step first).
    const deliveries: { at: number; step: number; cost: number }[] = [];
    for (const a of c.attempts) {
      const m = a.providerMessageId === undefined ? undefined : this.byProvider.get(a.providerMessageId);
      const wantBilled = m?.billed ?? false;
      const wantCost = m?.costMicros ?? 0;
      if (a.billed !== wantBilled || a.costMicros !== wantCost) {
        fail(INV.spend, `${c.id} step ${a.step} (${a.channel}, ${a.providerMessageId ?? 'no id'}, [${a.history.map((h) => h.status).join()}]): billed=${a.billed} cost=${a.costMicros}, model billed=${wantBilled} cost=${wantCost}`);
      }
      if (!a.billed && a.costMicros !== 0) fail(INV.spend, `${c.id} step ${a.step}: unbilled attempt costs ${a.costMicros}`);
      if (a.billed) billed += a.costMicros;
      model += wantCost;
      const reached = a.history.find((h) => positive(h.status, c.plan.steps[a.step]!.success));
      if (reached !== undefined) deliveries.push({ at: reached.at, step: a.step, cost: wantCost });
    }
    if (c.spendMicros !== billed || c.spendMicros !== model) fail(INV.spend, `${c.id}: spendMicros ${c.spendMicros}, billed attempts ${billed}, model ${model}`);
    deliveries.sort((x, y) => x.at - y.at || x.step - y.step);
    const double = deliveries.slice(1).reduce((sum, d) => sum + d.cost, 0);
    if (c.doubleSpendMicros !== double) fail(INV.spend, `${c.id}: doubleSpendMicros ${c.doubleSpendMicros}, expected ${double}`);
  }

  private checkCalls(c: Cascade): void {
    const calls = this.callsByCascade.get(c.id) ?? [];
    const positiveAt = this.positiveSeq.get(c.id);
    const terminalAt = this.terminalSeq.get(c.id);
    const groups = new Map<number, Call[]>();
    for (const call of calls) {
      const what = `call #${call.index} (${call.key} ${call.channel} try ${call.try})`;
      if (positiveAt !== undefined && call.seq > positiveAt) fail(INV.noSendAfterPositive, `${what} came after a positive receipt for ${c.id}`);
      if (terminalAt !== undefined && call.seq > terminalAt) fail(INV.noSendAfterPositive, `${what} came after ${c.id} ended`);
      if (call.abortedAtCall) fail(INV.noSendAfterPositive, `${what} was made with an aborted signal`);
      const step = c.plan.steps.findIndex((s) => s.channel === call.channel);
      const attempt = c.attempts[step];
      if (step === -1 || !attempt) fail(INV.oneAttempt, `${what} has no attempt in ${c.id}`);
      if (call.at < attempt.startedAt) fail(INV.oneAttempt, `${what} at ${call.at} before its attempt started at ${attempt.startedAt}`);
      if (attempt.endedAt !== undefined && call.at > attempt.endedAt) fail(INV.noSendAfterPositive, `${what} at ${call.at} after its attempt ended at ${attempt.endedAt}`);
      if (call.address !== c.plan.steps[step]!.address) fail(INV.plan, `${what} sent to ${call.address}`);
      const group = groups.get(step) ?? [];
      group.push(call);
      groups.set(step, group);
    }
    for (const [step, group] of groups) {
      const tries = group.map((g) => g.try);
      const channel = c.plan.steps[step]!.channel;
      if (tries.some((t, i) => t !== i + 1)) fail(INV.oneAttempt, `${c.id} step ${step} (${channel}): tries [${tries.join()}], expected one sequence 1..n`);
      if (tries.length > spec(channel).maxTries) fail(INV.oneAttempt, `${c.id} step ${step} (${channel}): ${tries.length} tries, at most ${spec(channel).maxTries}`);
      if (new Set(group.map((g) => g.key)).size !== 1) fail(INV.oneAttempt, `${c.id} step ${step}: several idempotency keys`);
      if (group.filter((g) => g.providerMessageId !== undefined).length > 1) fail(INV.oneAttempt, `${c.id} step ${step}: more than one accepted send`);
    }
  }

  private checkMonotonic(c: Cascade): void {
    const prev = this.snapshots.get(c.id);
    if (!prev) return;
    if (c.version < prev.version || c.step < prev.step) fail(INV.forward, `${c.id} went back: version ${prev.version}→${c.version}, step ${prev.step}→${c.step}`);
    if (TERMINAL.has(prev.status) && (c.status !== prev.status || c.endedAt !== prev.endedAt)) {
      fail(INV.terminal, `${c.id} left terminal state ${prev.status} for ${c.status}`);
    }
    prev.attempts.forEach((p, i) => {
      const a = c.attempts[i];
      if (!a) fail(INV.oneAttempt, `${c.id}: attempt ${i} disappeared`);
      const same = p.history.every((h, j) => a.history[j]?.status === h.status && a.history[j]?.at === h.at && a.history[j]?.source === h.source);
      if (!same) fail(INV.forward, `${c.id} step ${i}: history [${p.history.map((h) => h.status).join()}] rewritten as [${a.history.map((h) => h.status).join()}]`);
      if (PHASE_RANK[a.phase] < PHASE_RANK[p.phase]) fail(INV.forward, `${c.id} step ${i}: state ${p.phase} → ${a.phase}`);
      if (p.outcome !== undefined && a.outcome !== p.outcome) fail(INV.forward, `${c.id} step ${i}: outcome ${p.outcome} → ${a.outcome}`);
      if (p.providerMessageId !== undefined && a.providerMessageId !== p.providerMessageId) fail(INV.forward, `${c.id} step ${i}: provider id changed`);
      if (p.billed && !a.billed) fail(INV.spend, `${c.id} step ${i}: unbilled after being billed`);
    });
  }

  // -- the end of a run ----------------------------------------------------------------------------------

  /** Moves time far past every timeout and releases every held adapter call, until nothing is left. */
  async finish(): Promise<void> {
    for (let round = 0; round < 10; round++) {
      await this.clock.advance(FAR);
      while (this.s.count() > 0) {
        await this.s.waitNext(1);
        await this.router.settled();
      }
      await this.checkInvariants();
      if (this.s.count() === 0 && (await this.allTerminal())) break;
    }
    await this.clock.advance(FAR);
    await this.checkInvariants();
    for (const id of this.cascadeIds) {
      const c = (await this.router.get(id))!;
      if (!TERMINAL.has(c.status)) fail(INV.terminal, `${id} is still ${c.status} at step ${c.step} (timer ${c.timerAt}) long after every timeout`);
      if ((this.terminalEvents.get(id) ?? 0) !== 1) fail(INV.terminal, `${id} reported ${this.terminalEvents.get(id) ?? 0} terminal events`);
    }
    if (this.s.count() !== 0) fail(INV.terminal, `${this.s.count()} adapter calls still held`);
    if (this.clock.pendingTimers !== 0) fail(INV.terminal, `${this.clock.pendingTimers} timer(s) still armed on the clock`);
  }

  async close(): Promise<void> {
    await this.router.close();
    await this.store.dispose();
  }
}

// ---------------------------------------------------------------------------------------------------------
// Commands.

type WorldCommand = fc.AsyncCommand<World, World>;

abstract class Step implements WorldCommand {
  /** What the command resolved to at run time (which id it picked), for the counterexample. */
  protected note = '';
  protected readonly movesClock: boolean = false;

  check(): boolean {
    return true;
  }

  async run(_model: World, w: World): Promise<void> {
    coverage.commands++;
    const t0 = w.clock.now();
    this.note = '';
    try {
      await this.act(w);
    } finally {
      w.trace.push(`${w.trace.length + 1}. at +${(t0 - START) / 1000}s ${this.label()}${this.note ? ` → ${this.note}` : ''}`);
    }
    await w.router.settled();
    if (!this.movesClock && w.clock.now() !== t0) fail(INV.clock, `${this.label()} moved the clock from ${t0} to ${w.clock.now()}`);
    await w.checkInvariants();
  }

  protected abstract act(w: World): Promise<void>;
  protected abstract label(): string;

  toString(): string {
    return this.label();
  }
}

class SendCommand extends Step {
  constructor(
    readonly key: string,
    readonly recipient: RecipientSpec,
    readonly options: MessageOptions,
  ) {
    super();
  }

  protected label(): string {
    return `send(${this.key}, ${describeOptions(this.options, this.recipient)})`;
  }

  protected async act(w: World): Promise<void> {
    const known = w.keys.get(this.key);
    if (known !== undefined) coverage.repeatedKeys++;
    const result = await w.router.send(buildMessage(this.key, this.options), buildRecipient(this.recipient));
    this.note = `${result.cascadeId} created=${result.created} ${result.status}`;
    if (known === undefined && !result.created) fail(INV.oneCascadePerKey, `new key ${this.key} did not start a cascade`);
    if (known !== undefined && (result.created || result.cascadeId !== known)) fail(INV.oneCascadePerKey, `key ${this.key} (owned by ${known}) gave ${result.cascadeId} created=${result.created}`);
    if (w.keys.get(this.key) !== result.cascadeId) fail(INV.oneCascadePerKey, `send returned ${result.cascadeId}, key ${this.key} maps to ${w.keys.get(this.key)}`);
    expect(result.plan).toEqual(w.plans.get(result.cascadeId));
  }
}

/** Two sends with the same key at once: exactly one cascade (none if the key is taken). */
class SendTwiceCommand extends Step {
  constructor(
    readonly key: string,
    readonly first: RecipientSpec,
    readonly second: RecipientSpec,
    readonly options: MessageOptions,
  ) {
    super();
  }

  protected label(): string {
    return `sendTwiceAtOnce(${this.key}, ${describeOptions(this.options, this.first)}, ${describeOptions(this.options, this.second)})`;
  }

  protected async act(w: World): Promise<void> {
    const known = w.keys.get(this.key);
    const message = buildMessage(this.key, this.options);
    const results = await Promise.all([w.router.send(message, buildRecipient(this.first)), w.router.send(message, buildRecipient(this.second))]);
    this.note = results.map((r) => `${r.cascadeId} created=${r.created}`).join(', ');
    const created = results.filter((r) => r.created).length;
    if (created !== (known === undefined ? 1 : 0)) fail(INV.oneCascadePerKey, `two sends of ${this.key} at once created ${created} cascades`);
    if (results[0]!.cascadeId !== results[1]!.cascadeId || results[0]!.cascadeId !== w.keys.get(this.key)) {
      fail(INV.oneCascadePerKey, `two sends of ${this.key} gave ${results[0]!.cascadeId} and ${results[1]!.cascadeId}`);
    }
  }
}

/** Lets fast-check's scheduler resolve some held adapter calls, in an order it chooses. */
class ReleaseCommand extends Step {
  constructor(readonly count: number) {
    super();
  }

  protected label(): string {
    return `releaseSends(${this.count})`;
  }

  protected async act(w: World): Promise<void> {
    let released = 0;
    while (released < this.count && w.s.count() > 0) {
      await w.s.waitNext(1);
      await w.router.settled();
      released++;
    }
    this.note = `released ${released}`;
  }
}

class AdvanceCommand extends Step {
  protected override readonly movesClock = true;

  constructor(readonly ms: number) {
    super();
  }

  protected label(): string {
    return `advance(${this.ms}ms)`;
  }

  protected async act(w: World): Promise<void> {
    const before = w.clock.now();
    await w.clock.advance(this.ms);
    if (w.clock.now() !== before + this.ms) fail(INV.clock, `advance(${this.ms}) moved the clock by ${w.clock.now() - before}`);
  }
}

interface ReceiptSpec {
  readonly pick: number;
  readonly status: ReceiptStatus;
  readonly priceMicros: number | undefined;
  readonly priceAsNumber: boolean;
  readonly atOffset: number | undefined;
  readonly withError: boolean;
}

function buildReceipt(w: World, id: string, r: ReceiptSpec, priceMicros: number | undefined): Receipt {
  return {
    providerMessageId: id,
    status: r.status,
    ...(priceMicros === undefined ? {} : { price: amount(priceMicros, r.priceAsNumber) }),
    ...(r.atOffset === undefined ? {} : { at: w.clock.now() + r.atOffset }),
    ...(r.withError && r.status === 'failed' ? { error: { code: '30003', message: 'Unreachable destination handset' } } : {}),
  };
}

/**
 * Hands one receipt to the router and checks the outcome the model predicts: `held` until the
 * router indexed the id, then applied / duplicate / stale by the status order; and what it did to the cascade.
 */
async function handOver(w: World, receipt: Receipt, priceMicros: number | undefined): Promise<string> {
  const id = receipt.providerMessageId;
  const m = w.byProvider.get(id);
  const before = await w.snapshot();
  const events = w.events;
  const calls = w.calls.length;
  const cascadeBefore = m ? before.get(m.cascadeId) : undefined;
  const attemptBefore = m ? cascadeBefore?.attempts[m.step] : undefined;
  const expected = m?.indexed ? verdict(m.status, receipt.status) : 'held';
  w.register(receipt, priceMicros, false);
  w.sentReceipts.push(receipt);

  const result: ReceiptResult = await w.router.handleReceipt(receipt);
  await w.router.settled();
  const note = `${id} → ${result.outcome}${result.outcome === 'applied' ? ` late=${result.late} ${result.status}` : ''}`;
  if (result.outcome !== expected) fail(INV.receipts, `${receipt.status} for ${id} (model status ${m?.status ?? 'none'}, indexed ${m?.indexed ?? false}): got ${result.outcome}, expected ${expected}`);

  if (result.outcome === 'held') {
    coverage.unknown++;
    if (result.heldUntil !== w.clock.now() + HOLD_MS) fail(INV.receipts, `held until ${result.heldUntil}`);
    await w.expectUnchanged(before, events, calls, `unknown receipt ${id}`);
    return note;
  }
  if (!m || !cascadeBefore || !attemptBefore) fail(INV.receipts, `${id} routed, but the model has no attempt for it`);
  if (result.cascadeId !== m.cascadeId || result.channel !== m.channel) fail(INV.receipts, `${id} routed to ${result.cascadeId}/${result.channel}`);
  if (result.outcome !== 'applied') {
    coverage.duplicateOrStale++;
    await w.expectUnchanged(before, events, calls, `${result.outcome} receipt ${receipt.status} for ${id}`);
    return note;
  }

  const after = (await w.router.get(m.cascadeId))!;
  const wasCurrent = cascadeBefore.status === 'active' && cascadeBefore.step === m.step && attemptBefore.phase !== 'ended';
  const isPositive = positive(receipt.status, m.success);
  const alreadyPositive = attemptBefore.status !== undefined && positive(attemptBefore.status, m.success);
  if (result.late !== (isPositive && !alreadyPositive && !wasCurrent)) fail(INV.receipts, `${receipt.status} for ${id}: late=${result.late}, current=${wasCurrent}`);
  if (result.status !== after.status) fail(INV.receipts, `result says ${result.status}, cascade is ${after.status}`);
  if (isPositive) {
    if (TERMINAL.has(cascadeBefore.status)) {
      if (after.status !== cascadeBefore.status) fail(INV.receipts, `late positive receipt moved ${m.cascadeId} from ${cascadeBefore.status} to ${after.status}`);
    } else if (after.status !== 'delivered' || after.deliveredStep !== m.step) {
      fail(INV.receipts, `positive ${receipt.status} for ${id} left ${m.cascadeId} ${after.status} (deliveredStep ${after.deliveredStep})`);
    }
  } else if (receipt.status === 'failed' && wasCurrent) {
    const moved = after.status === 'exhausted' || after.step === m.step + 1;
    if (!moved || after.attempts[m.step]!.outcome !== 'failed') fail(INV.receipts, `failed receipt for the current step of ${m.cascadeId} did not fall back (now ${after.status} at step ${after.step})`);
  } else if (after.status !== cascadeBefore.status || after.step !== cascadeBefore.step) {
    fail(INV.receipts, `${receipt.status} for ${id} moved ${m.cascadeId} from ${cascadeBefore.status}@${cascadeBefore.step} to ${after.status}@${after.step}`);
  }
  return note;
}

class ReceiptCommand extends Step {
  constructor(readonly r: ReceiptSpec) {
    super();
  }

  protected label(): string {
    const { pick, status, priceMicros, atOffset } = this.r;
    return `receipt(pick ${pick}, ${status}${priceMicros === undefined ? '' : `, price ${priceMicros}µ`}${atOffset === undefined ? '' : `, at now${atOffset >= 0 ? '+' : ''}${atOffset}`})`;
  }

  protected async act(w: World): Promise<void> {
    const id = w.pickIssued(this.r.pick) ?? w.ghost();
    this.note = await handOver(w, buildReceipt(w, id, this.r, this.r.priceMicros), this.r.priceMicros);
  }
}

/** Hands in an earlier receipt again: a duplicate, or an out-of-order one if newer ones came since. */
class ReplayCommand extends Step {
  constructor(readonly pick: number) {
    super();
  }

  protected label(): string {
    return `replayReceipt(pick ${this.pick})`;
  }

  protected async act(w: World): Promise<void> {
    if (w.sentReceipts.length === 0) return;
    const receipt = w.sentReceipts[w.sentReceipts.length - 1 - (this.pick % w.sentReceipts.length)]!;
    const price = receipt.price === undefined ? undefined : Math.round(Number(receipt.price) * 1_000_000);
    this.note = `${receipt.status} ` + (await handOver(w, receipt, price));
  }
}

class UnknownReceiptCommand extends Step {
  constructor(readonly status: ReceiptStatus) {
    super();
  }

  protected label(): string {
    return `unknownReceipt(${this.status})`;
  }

  protected async act(w: World): Promise<void> {
    const id = w.ghost();
    const before = await w.snapshot();
    const events = w.events;
    const calls = w.calls.length;
    const result = await w.router.handleReceipt({ providerMessageId: id, status: this.status });
    await w.router.settled();
    this.note = `${id} → ${result.outcome}`;
    if (result.outcome !== 'held') fail(INV.receipts, `receipt for never-issued ${id} gave ${result.outcome}`);
    coverage.unknown++;
    await w.expectUnchanged(before, events, calls, `unknown receipt ${id}`);
  }
}

const MALFORMED: readonly { readonly name: string; readonly make: (id: string) => unknown }[] = [
  { name: 'null', make: () => null },
  { name: 'a bare string', make: () => 'delivered' },
  { name: 'no status', make: (id) => ({ providerMessageId: id }) },
  { name: 'unknown status', make: (id) => ({ providerMessageId: id, status: 'bounced' }) },
  { name: 'empty id', make: () => ({ providerMessageId: '', status: 'delivered' }) },
  { name: 'no id', make: () => ({ status: 'read' }) },
  { name: 'numeric id', make: () => ({ providerMessageId: 42, status: 'delivered' }) },
  { name: 'negative price', make: (id) => ({ providerMessageId: id, status: 'delivered', price: -0.01 }) },
  { name: 'word price', make: (id) => ({ providerMessageId: id, status: 'delivered', price: 'free' }) },
  { name: 'sub-micro price', make: (id) => ({ providerMessageId: id, status: 'read', price: 0.0000001 }) },
  { name: 'NaN time', make: (id) => ({ providerMessageId: id, status: 'read', at: Number.NaN }) },
  { name: 'infinite time', make: (id) => ({ providerMessageId: id, status: 'delivered', at: Number.POSITIVE_INFINITY }) },
  { name: 'string error', make: (id) => ({ providerMessageId: id, status: 'failed', error: 'unreachable' }) },
];

class MalformedReceiptCommand extends Step {
  constructor(
    readonly variant: number,
    readonly pick: number,
  ) {
    super();
  }

  protected label(): string {
    return `malformedReceipt(${MALFORMED[this.variant]!.name}, pick ${this.pick})`;
  }

  protected async act(w: World): Promise<void> {
    const id = w.pickIssued(this.pick) ?? 'pm-0';
    const body = MALFORMED[this.variant]!.make(id);
    this.note = JSON.stringify(body) ?? String(body);
    const before = await w.snapshot();
    const events = w.events;
    const calls = w.calls.length;
    const error = await w.router.handleReceipt(body as Receipt).then(
      (result) => fail(INV.receipts, `malformed receipt ${this.note} was taken: ${JSON.stringify(result)}`),
      (e: unknown) => e,
    );
    if (!(error instanceof InvalidReceiptError) || error.code !== 'INVALID_RECEIPT') fail(INV.receipts, `malformed receipt ${this.note} threw ${String(error)}`);
    await w.router.settled();
    coverage.malformed++;
    await w.expectUnchanged(before, events, calls, `malformed receipt ${this.note}`);
  }
}

class CancelCommand extends Step {
  constructor(readonly pick: number) {
    super();
  }

  protected label(): string {
    return `cancel(pick ${this.pick})`;
  }

  protected async act(w: World): Promise<void> {
    const ids = w.cascadeIds;
    const id = ids.length === 0 || this.pick % (ids.length + 1) === ids.length ? 'no-such-cascade' : ids[ids.length - 1 - (this.pick % (ids.length + 1))]!;
    const before = await w.router.get(id);
    const result = await w.router.cancel(id);
    await w.router.settled();
    this.note = `${id} → ${result.outcome}`;
    const after = await w.router.get(id);
    if (!before) {
      if (result.outcome !== 'not-found') fail(INV.receipts, `cancel of unknown ${id} gave ${result.outcome}`);
    } else if (TERMINAL.has(before.status)) {
      if (result.outcome !== 'already-ended' || result.status !== before.status || after !== before) fail(INV.terminal, `cancel of ${before.status} ${id} gave ${JSON.stringify(result)}`);
    } else {
      if (result.outcome !== 'cancelled' || after?.status !== 'cancelled') fail(INV.terminal, `cancel of ${before.status} ${id} gave ${result.outcome}, now ${after?.status}`);
      const current = before.status === 'active' ? before.attempts[before.step] : undefined;
      if (current && current.phase !== 'ended' && after.attempts[before.step]!.outcome !== 'cancelled') fail(INV.terminal, `cancel left the open attempt of ${id} ${after.attempts[before.step]!.outcome}`);
    }
  }
}

type BurstOp =
  | { readonly kind: 'receipt'; readonly r: ReceiptSpec }
  | { readonly kind: 'send'; readonly key: string; readonly recipient: RecipientSpec; readonly options: MessageOptions }
  | { readonly kind: 'cancel'; readonly pick: number };

const describeOp = (op: BurstOp): string =>
  op.kind === 'receipt' ? `receipt(pick ${op.r.pick}, ${op.r.status})` : op.kind === 'send' ? `send(${op.key})` : `cancel(pick ${op.pick})`;

/**
 * Several receipts, sends and cancels at once, each started by a task of fc.scheduler: fast-check interleaves
 * them with each other and with held adapter calls (a receipt may race the send() that returns its id).
 */
class BurstCommand extends Step {
  constructor(readonly ops: readonly BurstOp[]) {
    super();
  }

  protected label(): string {
    return `burst([${this.ops.map(describeOp).join(', ')}])`;
  }

  protected async act(w: World): Promise<void> {
    const outcomes: string[] = [];
    const checks: (() => Promise<void>)[] = [];
    const run = async (op: BurstOp, i: number): Promise<void> => {
      coverage.burstOps++;
      if (op.kind === 'receipt') {
        const id = w.pickIssued(op.r.pick) ?? w.ghost();
        const receipt0 = buildReceipt(w, id, op.r, op.r.priceMicros);
        const priceMicros = w.register(receipt0, op.r.priceMicros, true);
        const receipt = buildReceipt(w, id, op.r, priceMicros);
        w.sentReceipts.push(receipt);
        const result = await w.router.handleReceipt(receipt);
        outcomes[i] = `${id} ${receipt.status} → ${result.outcome}`;
        if (!w.byProvider.has(id) && result.outcome !== 'held') fail(INV.receipts, `receipt for never-issued ${id} gave ${result.outcome}`);
        if (result.outcome !== 'held' && result.cascadeId !== w.byProvider.get(id)!.cascadeId) fail(INV.receipts, `${id} routed to ${result.cascadeId}`);
      } else if (op.kind === 'send') {
        const result = await w.router.send(buildMessage(op.key, op.options), buildRecipient(op.recipient));
        outcomes[i] = `send ${op.key} → ${result.cascadeId} created=${result.created}`;
        checks.push(async () => {
          if (w.keys.get(op.key) !== result.cascadeId) fail(INV.oneCascadePerKey, `send ${op.key} in a burst returned ${result.cascadeId}, the key maps to ${w.keys.get(op.key)}`);
        });
      } else {
        const ids = w.cascadeIds;
        const id = ids.length === 0 ? 'no-such-cascade' : ids[ids.length - 1 - (op.pick % ids.length)]!;
        const result = await w.router.cancel(id);
        outcomes[i] = `cancel ${id} → ${result.outcome}`;
        checks.push(async () => {
          const after = await w.router.get(id);
          if (result.outcome === 'cancelled' && after?.status !== 'cancelled') fail(INV.terminal, `cancel of ${id} said cancelled, cascade is ${after?.status}`);
          if (result.outcome === 'already-ended' && (!after || !TERMINAL.has(after.status))) fail(INV.terminal, `cancel of ${id} said already-ended, cascade is ${after?.status}`);
        });
      }
    };
    const tasks = this.ops.map((op, i) => w.s.schedule(Promise.resolve(), `burst#${i} ${describeOp(op)}`).then(() => run(op, i)));
    const all = Promise.allSettled(tasks);
    await w.s.waitFor(all);
    const settled = await all;
    await w.router.settled();
    this.note = outcomes.join('; ');
    for (const s of settled) if (s.status === 'rejected') throw s.reason;
    for (const check of checks) await check();
  }
}

// ---------------------------------------------------------------------------------------------------------
// Arbitraries.

const keyArb = fc.nat({ max: KEYS - 1 }).map((i) => `order-${i}`);
const recipientArb: fc.Arbitrary<RecipientSpec> = fc.record({
  addresses: fc.subarray(NAMES, { minLength: 1 }),
  optedOut: fc.oneof({ arbitrary: fc.constant([] as ChannelName[]), weight: 3 }, { arbitrary: fc.subarray(NAMES, { maxLength: 2 }), weight: 1 }),
});
const successArb: fc.Arbitrary<SuccessOption> = fc.oneof(
  { arbitrary: fc.constant(undefined), weight: 4 },
  { arbitrary: fc.constantFrom<SuccessLevel>('accepted', 'delivered', 'read'), weight: 2 },
  { arbitrary: fc.constant({ viber: 'delivered', sms: 'read', email: 'accepted' } as const), weight: 1 },
);
const optionsArb: fc.Arbitrary<MessageOptions> = fc.record({
  success: successArb,
  channels: fc.oneof({ arbitrary: fc.constant(undefined), weight: 3 }, { arbitrary: fc.shuffledSubarray(NAMES, { minLength: 1 }), weight: 1 }),
  delays: fc.constantFrom(undefined, undefined, { email: '1m' }, { sms: '30s', push: '10s' }),
});
const receiptSpecArb: fc.Arbitrary<ReceiptSpec> = fc.record({
  pick: fc.nat({ max: 7 }),
  status: fc.constantFrom(...STATUSES),
  priceMicros: fc.option(fc.integer({ min: 0, max: 90_000 }), { nil: undefined, freq: 3 }),
  priceAsNumber: fc.boolean(),
  atOffset: fc.option(fc.integer({ min: -600_000, max: 600_000 }), { nil: undefined }),
  withError: fc.boolean(),
});
const burstOpArb: fc.Arbitrary<BurstOp> = fc.oneof(
  { arbitrary: receiptSpecArb.map((r) => ({ kind: 'receipt' as const, r })), weight: 4 },
  { arbitrary: fc.record({ key: keyArb, recipient: recipientArb, options: optionsArb }).map((x) => ({ kind: 'send' as const, ...x })), weight: 2 },
  { arbitrary: fc.nat({ max: 5 }).map((pick) => ({ kind: 'cancel' as const, pick })), weight: 1 },
);

const commandArb: fc.Arbitrary<WorldCommand> = fc.oneof(
  { arbitrary: fc.tuple(keyArb, recipientArb, optionsArb).map(([k, r, o]) => new SendCommand(k, r, o)), weight: 5 },
  { arbitrary: fc.tuple(keyArb, recipientArb, recipientArb, optionsArb).map(([k, a, b, o]) => new SendTwiceCommand(k, a, b, o)), weight: 1 },
  { arbitrary: fc.integer({ min: 1, max: 3 }).map((n) => new ReleaseCommand(n)), weight: 6 },
  { arbitrary: receiptSpecArb.map((r) => new ReceiptCommand(r)), weight: 8 },
  { arbitrary: fc.nat({ max: 5 }).map((p) => new ReplayCommand(p)), weight: 2 },
  { arbitrary: fc.constantFrom(...STATUSES).map((s) => new UnknownReceiptCommand(s)), weight: 1 },
  { arbitrary: fc.tuple(fc.nat({ max: MALFORMED.length - 1 }), fc.nat({ max: 5 })).map(([v, p]) => new MalformedReceiptCommand(v, p)), weight: 1 },
  {
    arbitrary: fc.constantFrom(1_000, 5_000, 20_000, 60_000, 180_000, 600_000, 1_800_000, 7_200_000).map((ms) => new AdvanceCommand(ms)),
    weight: 5,
  },
  { arbitrary: fc.nat({ max: 5 }).map((p) => new CancelCommand(p)), weight: 1 },
  { arbitrary: fc.array(burstOpArb, { minLength: 2, maxLength: 5 }).map((ops) => new BurstCommand(ops)), weight: 2 },
);

const behaviorArb: fc.Arbitrary<Behavior> = fc.oneof(
  { arbitrary: fc.option(fc.integer({ min: 0, max: 90_000 }), { nil: undefined, freq: 2 }).map((priceMicros) => ({ kind: 'ok' as const, priceMicros })), weight: 6 },
  { arbitrary: fc.constant({ kind: 'transient' as const }), weight: 2 },
  { arbitrary: fc.constant({ kind: 'permanent' as const }), weight: 1 },
  { arbitrary: fc.constant({ kind: 'no-id' as const }), weight: 1 },
);

// ---------------------------------------------------------------------------------------------------------

const env = (name: string): string | undefined => process.env[name];
const NUM_RUNS = Number(env('FC_NUM_RUNS') ?? 500);
const MAX_COMMANDS = 40;

/** Runs the model; FC_SEED (and FC_PATH / FC_REPLAY_PATH, see the top of the file) replay a reported failure. */
async function runModel(strictIds: boolean, numRuns: number): Promise<void> {
  const seed = env('FC_SEED');
  const path = env('FC_PATH');
  const replayPath = env('FC_REPLAY_PATH');
  await fc.assert(
    fc.asyncProperty(
      fc.scheduler(),
      fc.array(behaviorArb, { minLength: 1, maxLength: 24 }),
      fc.commands([commandArb], { maxCommands: MAX_COMMANDS, size: 'max', ...(replayPath === undefined ? {} : { replayPath }) }),
      async (s, tape, commands) => {
        coverage.runs++;
        const world = new World(s, tape, strictIds);
        try {
          await fc.asyncModelRun(() => ({ model: world, real: world }), commands);
          await world.finish();
        } catch (error) {
          if (error instanceof Error) error.message += `\nWhat this run did:\n  ${world.trace.join('\n  ')}\n  then: advance far past every timeout, release every held send`;
          throw error;
        } finally {
          await world.close();
        }
      },
    ),
    { numRuns, ...(seed === undefined ? {} : { seed: Number(seed) }), ...(path === undefined ? {} : { path }) },
  );
}

describe('cascade router against a model (random sends, receipts, clock advances, cancels and adapter outcomes; adapter calls resolved in an order chosen by fc.scheduler)', () => {
  it(
    'after every command: nothing is sent after a positive receipt; at most one attempt per planned step and one adapter call sequence per idempotency key; ' +
      'recorded spend equals the sum of billed attempts; the same idempotency key never starts a second cascade; attempt statuses only move forward (failed is final); ' +
      'a receipt that arrives before send() returned its id is applied once the id is known; ' +
      'timeouts fire on time; and once time passes every timeout, every cascade is in exactly one terminal state and the clock has no pending work',
    async () => {
      await runModel(false, NUM_RUNS);
      if (env('FC_COVERAGE')) console.info(coverage);
      // The generators must reach the paths the invariants are about (counted over all runs).
      expect(coverage.heldReceiptsApplied, 'receipts held until send() returned the id').toBeGreaterThan(0);
      expect(coverage.lateReceipts, 'late positive receipts').toBeGreaterThan(0);
      expect(coverage.retries, 'retried transient send errors').toBeGreaterThan(0);
      expect(coverage.fallbackSendError, 'fallbacks on send errors').toBeGreaterThan(0);
      expect(coverage.fallbackFailed, 'fallbacks on failed receipts').toBeGreaterThan(0);
      expect(coverage.fallbackTimeout, 'fallbacks on timeouts').toBeGreaterThan(0);
      expect(coverage.positiveByAcceptance, 'deliveries confirmed by acceptance').toBeGreaterThan(0);
      expect(coverage.duplicateOrStale, 'duplicate or stale receipts').toBeGreaterThan(0);
      expect(coverage.cancelled, 'cancelled cascades').toBeGreaterThan(0);
      expect(coverage.repeatedKeys, 'repeated idempotency keys').toBeGreaterThan(0);
    },
  );

  it('a provider id that send() returned is never dropped: when the step times out or the cascade is cancelled while send() (or a retry) is in flight and the provider accepts anyway, the id is recorded and its receipts are applied', async () => {
    await runModel(true, Math.max(1, Math.round(NUM_RUNS / 2)));
  });
});
