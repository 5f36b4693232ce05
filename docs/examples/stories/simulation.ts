/**
 * The simulated world the stories run in: a simulated clock, scripted providers behind each channel's
 * `send()` adapter, and a recorder that turns the router's events into a readable log and a result.
 * Nothing here is part of the library: it stands in for your providers and your backend.
 */
import {
  formatMicros,
  memoryStore,
  SendError,
  SimulatedClock,
  smsPerSegment,
  toMicros,
  toMs,
  type CancelResult,
  type Cascade,
  type CascadeStatus,
  type ChannelConfig,
  type Duration,
  type Message,
  type Micros,
  type Plan,
  type ReceiptStatus,
  type Recipient,
  type Router,
  type RouterEvents,
  type SendFunction,
} from 'cascade-router';

/** The SMS price list of every story: per segment, by destination prefix (Ukraine, Germany, elsewhere). */
export const SMS_PRICES = { default: 0.05, prefixes: { '+380': 0.032, '+49': 0.075 } } as const;
export const smsCost = smsPerSegment(SMS_PRICES);

/** A receipt a simulated provider sends back: its status, how long after the send, and an error text. */
export type ScriptedReceipt = readonly [status: ReceiptStatus, after: Duration, error?: string];

/** What a simulated provider does with one customer's message on one channel. */
export type Behaviour =
  /** Accepts the message, then sends these receipts; none at all means silence, so the step times out. */
  | readonly ScriptedReceipt[]
  /** Rejects the send with a permanent error (unregistered device token, invalid number). */
  | { readonly reject: string }
  /** Answers `429 Too Many Requests` with this Retry-After once, then accepts and sends the receipts. */
  | { readonly throttle: Duration; readonly then: readonly ScriptedReceipt[] };

/** One call a simulated provider received. */
export interface ProviderCall {
  readonly channel: string;
  readonly recipient: string;
  readonly message: string;
  readonly at: number;
  readonly text: string;
  readonly outcome: 'accepted' | 'rejected' | 'throttled';
  readonly providerMessageId?: string | undefined;
}

/** One router event a cascade went through, as the story saw it. */
export interface StoryEvent {
  readonly type: keyof RouterEvents;
  readonly channel: string | undefined;
  readonly at: number;
  /** What the cascade had been billed after this event. */
  readonly spend: string;
  /** Receipt status, fallback or skip reason. */
  readonly detail?: string | undefined;
}

/** One message of a story: its cascade as `router.get()` returns it, and what it cost. */
export interface StoryDelivery {
  readonly label: string;
  readonly recipient: string;
  readonly message: string;
  readonly status: CascadeStatus;
  /** Channels attempted, in order. */
  readonly channels: readonly string[];
  readonly cascade: Cascade;
  readonly events: readonly StoryEvent[];
  readonly spend: string;
  /** What this message would have cost sent by SMS alone (0 for a companion message with no SMS twin). */
  readonly smsOnly: string;
}

export interface StoryResult {
  readonly story: string;
  readonly title: string;
  readonly deliveries: readonly StoryDelivery[];
  /** Every call the simulated providers received. */
  readonly calls: readonly ProviderCall[];
  readonly spend: string;
  readonly smsOnly: string;
  readonly saving: string;
  readonly log: readonly string[];
}

export interface StoryOptions {
  /** Called with every log line as it happens. */
  readonly onLog?: ((line: string) => void) | undefined;
}

export interface SimulationOptions extends StoryOptions {
  readonly start: Date | number;
  /** The time zone the log shows times in. */
  readonly timeZone: string;
}

interface Sent {
  readonly cascadeId: string;
  readonly label: string;
  readonly recipient: string;
  readonly smsOnlyMicros: Micros;
}

export class Simulation {
  readonly clock: SimulatedClock;
  /** Keeps finished cascades readable for the whole story (the default store forgets them after 24 h). */
  readonly store = memoryStore({ retentionMs: Infinity });
  readonly log: string[] = [];
  readonly calls: ProviderCall[] = [];
  readonly #onLog: ((line: string) => void) | undefined;
  readonly #time: Intl.DateTimeFormat;
  readonly #behaviour = new Map<string, Readonly<Record<string, Behaviour>>>();
  readonly #labels = new Map<string, string>();
  readonly #events = new Map<string, StoryEvent[]>();
  readonly #spend = new Map<string, string>();
  readonly #sent: Sent[] = [];
  readonly #timeouts = new Map<string, number>();
  #router: Router | undefined;
  #seq = 0;

  constructor(options: SimulationOptions) {
    this.clock = new SimulatedClock(options.start);
    this.#onLog = options.onLog;
    this.#time = new Intl.DateTimeFormat('en-GB', {
      timeZone: options.timeZone,
      weekday: 'short',
      day: '2-digit',
      month: 'short',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    });
  }

  /** Local time as the log prints it, e.g. `Thu 08 Jan 10:00:20`. */
  time(at: number): string {
    return this.#time.format(at).replace(',', '');
  }

  /** Tells the simulated providers what to do with this customer's messages, per channel. */
  customer(recipient: Recipient, behaviour: Readonly<Record<string, Behaviour>>): Recipient {
    this.#behaviour.set(recipient.id, behaviour);
    return recipient;
  }

  /** Returns the channels unchanged, remembering each one's configured wait so the log can say when a deadline cut it. */
  declare<T extends Readonly<Record<string, ChannelConfig>>>(channels: T): T {
    for (const [name, config] of Object.entries(channels)) this.#timeouts.set(name, toMs(config.confirm?.timeout ?? '10m'));
    return channels;
  }

  /** A `send()` adapter for a channel whose provider follows each customer's script. */
  adapter(channel: string): SendFunction {
    return async (request) => {
      const script = this.#behaviour.get(request.recipient.id)?.[channel] ?? [];
      const at = this.clock.now();
      const call = { channel, recipient: request.recipient.id, message: request.message.key, at, text: request.content.text };
      if (!Array.isArray(script) && 'reject' in script) {
        this.calls.push({ ...call, outcome: 'rejected' });
        this.#line(request.message.key, at, `→ ${pad(channel)} rejected by the provider: ${script.reject} (permanent)`);
        throw new SendError(script.reject, { permanent: true });
      }
      if (!Array.isArray(script) && 'throttle' in script && request.try === 1) {
        const retryAfterMs = toMs(script.throttle);
        this.calls.push({ ...call, outcome: 'throttled' });
        this.#line(request.message.key, at, `→ ${pad(channel)} 429 Too Many Requests, Retry-After ${duration(retryAfterMs)}: retried`);
        throw new SendError('429 Too Many Requests', { retryAfterMs });
      }
      const receipts: readonly ScriptedReceipt[] = Array.isArray(script) ? script : 'then' in script ? script.then : [];
      const providerMessageId = `${channel}-${++this.#seq}`;
      this.calls.push({ ...call, outcome: 'accepted', providerMessageId });
      for (const [status, after, error] of receipts) {
        this.clock.setTimer(at + toMs(after), () => void this.#deliverReceipt(providerMessageId, status, error));
      }
      return providerMessageId;
    };
  }

  /** Starts recording the router's events. Call once, right after `createRouter()`. */
  attach(router: Router): Router {
    this.#router = router;
    router.on('planned', (e) => {
      this.#record(e.key, 'planned', undefined, e.at, e.spend);
      this.#line(e.key, e.at, this.#describePlan(e.plan));
      if (e.plan.skipped.length > 0) {
        this.#line(e.key, e.at, `  skips ${e.plan.skipped.map((s) => `${s.channel} (${s.reason})`).join(', ')}`);
      }
      const first = e.plan.steps[0];
      if (first && first.startAt > e.at) this.#line(e.key, e.at, `  waits until ${this.time(first.startAt)}${waitReason(e.plan, e.cascade)}`);
    });
    router.on('skipped', (e) => this.#record(e.key, 'skipped', e.channel, e.at, e.spend, e.reason));
    router.on('attempt', (e) => this.#record(e.key, 'attempt', e.channel, e.at, e.spend));
    router.on('sent', (e) => {
      const step = e.cascade.plan.steps[e.step]!;
      const price = step.costMicros === 0 ? 'free' : `${formatMicros(step.costMicros)} ${step.billing === 'sent' ? 'billed on send' : 'if delivered'}`;
      this.#line(e.key, e.at, `→ ${pad(e.channel)} sent as ${e.providerMessageId} · ${price}${this.#spent(e.key, e.spend)}`);
      this.#record(e.key, 'sent', e.channel, e.at, e.spend);
    });
    router.on('receipt', (e) => {
      const error = e.status === 'failed' ? `: ${e.cascade.attempts[e.step]?.error?.message ?? 'no reason given'}` : '';
      this.#line(e.key, e.at, `← ${pad(e.channel)} ${e.status}${error}${this.#spent(e.key, e.spend)}`);
      this.#record(e.key, 'receipt', e.channel, e.at, e.spend, e.status);
    });
    router.on('fallback', (e) => {
      const attempt = e.cascade.attempts[e.step]!;
      const waited = duration(e.at - attempt.startedAt);
      const success = e.cascade.plan.steps[e.step]!.success === 'read' ? 'opened' : e.cascade.plan.steps[e.step]!.success;
      const why =
        e.reason !== 'timeout' ? (e.reason === 'failed' ? 'failed' : 'send error')
        : attempt.status === undefined || attempt.status === 'accepted' ? `no receipt within ${waited}`
        : `${attempt.status} but not ${success} within ${waited}`;
      this.#line(e.key, e.at, `↪ ${pad(e.channel)} ${why} → ${e.next ?? 'no channel left'}`);
      this.#record(e.key, 'fallback', e.channel, e.at, e.spend, e.reason);
    });
    router.on('delivered', (e) => {
      const status = e.cascade.attempts[e.step]?.status ?? 'delivered';
      this.#line(e.key, e.at, `✓ ${status} by ${e.channel}${e.late ? ' (late)' : ''} · spent ${e.spend}`);
      this.#record(e.key, 'delivered', e.channel, e.at, e.spend);
    });
    router.on('late-receipt', (e) => {
      this.#line(e.key, e.at, `! late ${e.status} on ${e.channel} after the cascade moved on · double spend ${e.doubleSpend}`);
      this.#record(e.key, 'late-receipt', e.channel, e.at, e.spend, e.status);
    });
    const ended = { exhausted: '✗ exhausted: no channel left', cancelled: '■ cancelled', expired: '✗ expired: the deadline passed' } as const;
    for (const type of ['exhausted', 'cancelled', 'expired'] as const) {
      router.on(type, (e) => {
        this.#line(e.key, e.at, `${ended[type]} · spent ${e.spend}`);
        this.#record(e.key, type, undefined, e.at, e.spend);
      });
    }
    router.on('error', (e) => this.#line(e.cascadeId ?? '', this.clock.now(), `error during ${e.during}: ${e.error.message}`));
    return router;
  }

  /**
   * Sends a message and remembers its SMS-only twin: the same content by SMS to the same phone.
   * `smsOnly: false` for a companion message (the email copy of a push) that an SMS-only sender would not send twice.
   */
  async send(message: Message, recipient: Recipient, options: { label?: string; smsOnly?: boolean } = {}): Promise<string> {
    const label = options.label ?? recipient.id;
    this.#labels.set(message.key, label);
    const { cascadeId } = await this.#routerOrThrow().send(message, recipient);
    const smsOnlyMicros = options.smsOnly === false ? 0 : smsOnlyCost(message, recipient);
    this.#sent.push({ cascadeId, label, recipient: recipient.id, smsOnlyMicros });
    return cascadeId;
  }

  /** What the backend does when the customer acts first (buys, books): stops the cascade. */
  async cancel(cascadeId: string, why: string): Promise<CancelResult> {
    const key = (await this.#routerOrThrow().get(cascadeId))?.key ?? cascadeId;
    this.#line(key, this.clock.now(), `backend: ${why} → router.cancel()`);
    return this.#routerOrThrow().cancel(cascadeId);
  }

  /** Closes the router and collects every cascade, its events and the totals. */
  async finish(story: string, title: string): Promise<StoryResult> {
    const router = this.#routerOrThrow();
    const deliveries: StoryDelivery[] = [];
    let spend = 0;
    let smsOnly = 0;
    for (const sent of this.#sent) {
      const cascade = await router.get(sent.cascadeId);
      if (!cascade) throw new Error(`cascade ${sent.cascadeId} (${sent.label}) is gone from the store`);
      spend += cascade.spendMicros;
      smsOnly += sent.smsOnlyMicros;
      deliveries.push({
        label: sent.label,
        recipient: sent.recipient,
        message: cascade.key,
        status: cascade.status,
        channels: cascade.attempts.map((attempt) => attempt.channel),
        cascade,
        events: this.#events.get(cascade.key) ?? [],
        spend: formatMicros(cascade.spendMicros),
        smsOnly: formatMicros(sent.smsOnlyMicros),
      });
    }
    await router.close();
    await this.store.dispose();
    const saving = formatMicros(smsOnly - spend);
    return { story, title, deliveries, calls: this.calls, spend: formatMicros(spend), smsOnly: formatMicros(smsOnly), saving, log: this.log };
  }

  #describePlan(plan: Plan): string {
    if (plan.steps.length === 0) return 'plan: no channel can carry this message';
    const steps = plan.steps.map((step) => {
      const cost = step.costMicros === 0 ? 'free' : `${formatMicros(step.costMicros)}${step.billing === 'delivered' ? ' if delivered' : ''}`;
      const delay = step.delayMs > 0 ? `${duration(step.delayMs)} later, ` : '';
      const configured = this.#timeouts.get(step.channel);
      const cut = configured !== undefined && configured > step.waitMs ? ` of ${duration(configured)}, cut by the deadline` : '';
      const until = step.success === 'delivered' ? '' : ` for ${step.success === 'read' ? 'opened' : step.success}`;
      return `${step.channel} (${delay}${cost}, waits ${duration(step.waitMs)}${cut}${until})`;
    });
    return `plan: ${steps.join(' → ')}`;
  }

  async #deliverReceipt(providerMessageId: string, status: ReceiptStatus, error: string | undefined): Promise<void> {
    const result = await this.#routerOrThrow().handleReceipt({ providerMessageId, status, ...(error === undefined ? {} : { error: { message: error } }) });
    if (result.outcome === 'held') this.#line('', this.clock.now(), `← receipt for unknown id ${providerMessageId}: held`);
  }

  #routerOrThrow(): Router {
    if (!this.#router) throw new Error('Call simulation.attach(router) first');
    return this.#router;
  }

  #spent(key: string, spend: string): string {
    const before = this.#spend.get(key) ?? '0.00';
    this.#spend.set(key, spend);
    return spend === before ? '' : ` · spent ${spend}`;
  }

  #record(key: string, type: keyof RouterEvents, channel: string | undefined, at: number, spend: string, detail?: string): void {
    let events = this.#events.get(key);
    if (!events) this.#events.set(key, (events = []));
    events.push({ type, channel, at, spend, detail });
  }

  #line(key: string, at: number, text: string): void {
    const line = `${this.time(at)}  ${(this.#labels.get(key) ?? key).padEnd(13)} ${text}`;
    this.log.push(line);
    this.#onLog?.(line);
  }
}

/** The price of the same message by SMS alone, with the SMS channel's own cost model. */
export function smsOnlyCost(message: Message, recipient: Recipient): Micros {
  const address = recipient.addresses.sms;
  if (address === undefined) throw new Error(`recipient ${recipient.id} has no phone number: no SMS-only twin`);
  const text = message.content.channels?.sms?.text ?? message.content.sms ?? message.content.text;
  return toMicros(smsCost({ channel: 'sms', message, recipient, address, content: { text } }));
}

/** `90000` → `1m30s`. */
export function duration(ms: number): string {
  const units: readonly [string, number][] = [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]];
  let rest = ms;
  let text = '';
  for (const [unit, size] of units) {
    if (rest >= size) text += `${Math.floor(rest / size)}${unit}`;
    rest %= size;
  }
  return text === '' || rest > 0 ? `${text}${rest}ms` : text;
}

function waitReason(plan: Plan, cascade: Cascade): string {
  const first = plan.steps[0]!;
  const quiet = cascade.recipient.quietHours;
  if (quiet && first.startAt > plan.startAt + first.delayMs) {
    return ` (quiet hours ${quiet.start}–${quiet.end} ${cascade.recipient.timeZone ?? 'UTC'})`;
  }
  return cascade.message.sendAt === undefined ? '' : ' (sendAt)';
}

function pad(channel: string): string {
  return channel.padEnd(8);
}
