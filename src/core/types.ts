/**
 * The public types: messages, recipients, channels, receipts, plans, cascades and their attempts, with the two
 * constants that go with them (`TERMINAL`, `STATUS_RANK`). Over 250 lines because it is the one page a user
 * reads for the shapes the router takes and gives; each type is documented where it is declared.
 */
import type { Amount, Micros } from './money.js';
import type { Duration } from './duration.js';

/** What kind of channel this is; breaks cost ties (push before email before messenger before sms). */
export type ChannelKind = 'push' | 'email' | 'messenger' | 'sms' | 'custom';

/** When a channel charges: on every submission (`sent`, SMS) or only for delivered messages (most OTT messengers). */
export type Billing = 'sent' | 'delivered';

/** The status that ends the cascade for a step. */
export type SuccessLevel = 'accepted' | 'delivered' | 'read';

/** Normalized delivery status. `accepted < sent < delivered < read`; `failed` is final for its attempt. */
export type ReceiptStatus = 'accepted' | 'sent' | 'delivered' | 'read' | 'failed';

/** A normalized delivery callback (status webhook, delivery receipt). */
export interface Receipt {
  /** The id that the channel's `send()` returned for this message. */
  readonly providerMessageId: string;
  readonly status: ReceiptStatus;
  /** When the provider says the status happened (ms since epoch). Defaults to the time it is handled. */
  readonly at?: number | undefined;
  /** Why delivery failed, as the provider put it. */
  readonly error?: ReceiptError | undefined;
  /** The price the provider reports for this message; replaces the projected cost once billed. */
  readonly price?: Amount | undefined;
  /**
   * The provider that reported it, as `cascade-router/receipts` names it (`twilio`, `sendgrid`, …). A receipt
   * that names a provider applies only to an attempt whose channel declares that `provider`; one that names
   * none only to channels that declare none. See docs/semantics.md.
   */
  readonly provider?: string | undefined;
}

/** Why a receipt reports a failure. */
export interface ReceiptError {
  readonly code?: string | undefined;
  readonly message?: string | undefined;
  /**
   * Whose problem it is, when the provider's code says: `recipient` (invalid or unreachable number, hard
   * bounce, not on the messenger: another provider of the channel would fail too) or `provider` (queue
   * overflow, account or routing trouble, throttling: another provider may succeed).
   */
  readonly fault?: 'recipient' | 'provider' | undefined;
}

/** What a channel sends: the message's text, with optional subject and HTML. */
export interface Content {
  readonly text: string;
  readonly subject?: string | undefined;
  readonly html?: string | undefined;
}

/** A message's content, with a short SMS text and per-channel overrides. */
export interface MessageContent extends Content {
  /** Text for `sms` channels (shorter text means fewer billed segments). */
  readonly sms?: string | undefined;
  /** Overrides per channel name, merged over the base content. */
  readonly channels?: Readonly<Record<string, Partial<Content>>> | undefined;
}

/** How the planner orders eligible channels. */
export type OrderPolicy =
  /** Lowest expected cost first (cheapest first without estimates: docs/cost-model.md); ties by kind, then by the recipient's preferred order. */
  | 'cost'
  /** The recipient's `preferredOrder` strictly, then the rest by cost. */
  | 'recipient'
  /** The order of the message's own `channels` list. */
  | 'message';

export interface MessagePolicy {
  readonly order?: OrderPolicy | undefined;
  /** What to do with a step whose wait does not fit before the deadline: shorten it (default) or skip it. */
  readonly deadline?: 'shorten' | 'skip' | undefined;
  /** Whether steps wait for the end of the recipient's quiet hours. Default: `respect`, except category `otp`. */
  readonly quietHours?: 'respect' | 'ignore' | undefined;
  /**
   * What a second of waiting for delivery is worth, in the currency of the costs (e.g. `'0.0001'`).
   * With learned estimates, `order: 'cost'` weighs expected time against expected spend. Default 0 (cost only).
   */
  readonly valueOfTime?: Amount | undefined;
}

/** One message to one recipient. */
export interface Message {
  /** Idempotency key: the same key never starts a second cascade. */
  readonly key: string;
  /** e.g. `transactional`, `marketing`, `otp`. Categories listed in the router's `consentRequired` need consent. */
  readonly category: string;
  readonly content: MessageContent;
  /** Only these channels may be used (and, with `policy.order: 'message'`, in this order). */
  readonly channels?: readonly string[] | undefined;
  /** No step is planned that could take spend past this amount. */
  readonly maxCost?: Amount | undefined;
  /** The message must be delivered within this long after it starts. */
  readonly deadline?: Duration | undefined;
  /** Do not start before this instant (ms since epoch or a Date). */
  readonly sendAt?: number | Date | undefined;
  /** Wait this long before starting a channel's step, counted from the end of the step before it. */
  readonly delays?: Readonly<Record<string, Duration>> | undefined;
  /** The success level wanted: one for every channel, or per channel name. Overrides the channel's own. */
  readonly success?: SuccessLevel | Readonly<Record<string, SuccessLevel>> | undefined;
  readonly policy?: MessagePolicy | undefined;
  /** Free-form data for your adapters and event handlers. */
  readonly metadata?: Readonly<Record<string, string>> | undefined;
}

/** Quiet hours in the recipient's local time, `HH:MM` 24-hour; may wrap midnight (`21:00`–`08:00`). */
export interface QuietHours {
  readonly start: string;
  readonly end: string;
}

/** The customer a message goes to. */
export interface Recipient {
  readonly id: string;
  /** Address per channel name: device token, email, phone number, chat id. A missing one skips the channel. */
  readonly addresses: Readonly<Record<string, string | undefined>>;
  /** Channels the customer opted out of. */
  readonly optedOut?: readonly string[] | undefined;
  /** The customer's preferred channel order: breaks cost ties, or is followed strictly with `policy.order: 'recipient'`. */
  readonly preferredOrder?: readonly string[] | undefined;
  /** Consent per category: `true` for every channel, or the channels consented to. */
  readonly consent?: Readonly<Record<string, boolean | readonly string[]>> | undefined;
  /** IANA time zone for quiet hours, e.g. `Europe/Kyiv`. Default `UTC`. */
  readonly timeZone?: string | undefined;
  readonly quietHours?: QuietHours | undefined;
  /**
   * ISO 3166-1 alpha-2 country (`UA`) for reading the recipient's phone numbers written nationally
   * (`050 123 4567`). Default: the router's `defaultCountry`.
   */
  readonly country?: string | undefined;
}

/** What a channel's cost function is told. */
export interface CostContext {
  readonly channel: string;
  readonly message: Message;
  readonly recipient: Recipient;
  readonly address: string;
  readonly content: Content;
}

/** A fixed price per message, or a function of the message and recipient. */
export type CostModel = Amount | ((context: CostContext) => Amount);

/** What a channel's `send()` adapter receives. */
export interface SendRequest {
  readonly channel: string;
  /** The provider this try goes through: its `name`, or for a channel declared with `send`, its `provider` or else the channel's name. */
  readonly provider: string;
  readonly address: string;
  readonly content: Content;
  readonly message: Message;
  readonly recipient: Recipient;
  /** Stable per attempt (also across crash re-sends): pass it to providers that deduplicate. */
  readonly idempotencyKey: string;
  readonly cascadeId: string;
  /** 1 for the first try, 2 for the first retry of a transient error, … */
  readonly try: number;
  /** Aborted when the step times out or the cascade is cancelled. */
  readonly signal: AbortSignal;
}

/** The provider's message id, or the id with the price the provider reported. */
export type SendResult = string | { readonly providerMessageId: string; readonly price?: Amount | undefined };

export type SendFunction = (request: SendRequest) => Promise<SendResult>;

/** Retry policy for transient send errors (network, 5xx, 429). */
export interface RetryOptions {
  /** Retries after the first try. Default 3. */
  readonly retries?: number | undefined;
  /** First backoff delay. Default 1s. */
  readonly minDelay?: Duration | undefined;
  /** Longest backoff delay. Default 1m. */
  readonly maxDelay?: Duration | undefined;
  /** Backoff growth per retry. Default 2. */
  readonly factor?: number | undefined;
}

/** How a channel confirms delivery. */
export interface ConfirmOptions {
  /** `receipt` (default): wait for a delivery callback; `acceptance`: the provider accepting the send counts as delivery. */
  readonly by?: 'receipt' | 'acceptance' | undefined;
  /** How long the step waits (send, retries and receipt) before falling back. Default 10m. */
  readonly timeout?: Duration | undefined;
  /**
   * With `learning` on, the step waits the observed receipt latency's high quantile instead of `timeout`,
   * within these bounds (default: from 1s up to `timeout`; set `max` above `timeout` to let a channel that
   * answers slowly be waited for longer). `false` keeps `timeout` always.
   */
  readonly adaptive?: { readonly min?: Duration | undefined; readonly max?: Duration | undefined } | false | undefined;
}

/**
 * One provider of a channel (a channel may have several: if SendGrid is down, send through Mailgun). A
 * step that fails for a provider reason moves to the channel's next provider, in the same step; a failure
 * about the recipient moves to the next channel. See docs/providers.md.
 */
export interface ProviderConfig {
  /** Names the provider: in attempts, events, the spend report and `router.health()`. Unique in its channel. */
  readonly name: string;
  readonly send: SendFunction;
  /** What a message through it costs. Default: the channel's `cost`. */
  readonly cost?: CostModel | undefined;
  /** With the channel's `providerOrder: 'weight'`: its share of first tries. Default 1. */
  readonly weight?: number | undefined;
  /** The name receipts for its sends carry (`Receipt.provider`, as `cascade-router/receipts` names it). Default: `name`. */
  readonly receipts?: string | undefined;
  /** Retries of its transient send errors. Default: the channel's `retry`. */
  readonly retry?: RetryOptions | false | undefined;
  /**
   * The most sends it takes in any window of `per` (default `'1s'`), over every router on the store: sends
   * beyond it wait their turn (`paced` events), urgent messages first. See `RouterOptions.pacing`.
   */
  readonly rate?: { readonly limit: number; readonly per?: Duration | undefined } | undefined;
}

/** A channel as the user declares it. */
export interface ChannelConfig {
  readonly kind: ChannelKind;
  /** The adapter, for a channel with one provider; or give `providers`. */
  readonly send?: SendFunction | undefined;
  /**
   * Several providers for this channel, tried in `providerOrder`: a provider-side failure (transient errors
   * after retries, 5xx, 429, an open breaker, a provider-side failure receipt) goes to the next one in the
   * same step; a recipient-side one (invalid number, hard bounce) to the next channel. Instead of `send`.
   */
  readonly providers?: readonly ProviderConfig[] | undefined;
  /** How `providers` are tried: cheapest first (default), or the first by weight (chosen per message, stably) and then the rest by weight. */
  readonly providerOrder?: 'price' | 'weight' | undefined;
  /** Default 0 (free). */
  readonly cost?: CostModel | undefined;
  /** Default `sent`. */
  readonly billing?: Billing | undefined;
  readonly confirm?: ConfirmOptions | undefined;
  /** The level that ends the cascade. Default `delivered` (`accepted` when confirming by acceptance). */
  readonly success?: SuccessLevel | undefined;
  /** `false` disables retries. */
  readonly retry?: RetryOptions | false | undefined;
  /**
   * With `learning` on: the name under which this channel's outcomes are learned. Channels that reach the
   * same people through the same provider (an `otp-sms` beside `sms`) can share one history. Default: its own name.
   */
  readonly learnAs?: string | undefined;
  /** Where to find the address; default `recipient.addresses[channelName]`. */
  readonly address?: ((recipient: Recipient) => string | undefined) | undefined;
  /** For a channel with one provider (`send`): its rate limit, as `ProviderConfig.rate`. */
  readonly rate?: { readonly limit: number; readonly per?: Duration | undefined } | undefined;
  /**
   * The provider whose receipts report on this channel's sends, as `cascade-router/receipts` names it
   * (`twilio`, `sendgrid`, `infobip`, …): only receipts that name it apply to this channel's attempts, so a
   * receipt posted to another provider's endpoint cannot settle them. Undefined: only receipts that name
   * no provider apply (receipts you build yourself).
   */
  readonly provider?: string | undefined;
  /**
   * Whether the address is a phone number, parsed and checked with libphonenumber-js before planning: sent
   * as E.164, and an invalid number skips the channel (`invalid-address`) before anything is sent or paid.
   * Default: true for `kind: 'sms'` when the router has `phoneNumbers` on, false otherwise (set it on a
   * WhatsApp or Viber channel addressed by number, or `false` on an SMS channel addressed otherwise).
   */
  readonly phoneNumbers?: boolean | undefined;
}

/** What the router expects of a channel for one recipient (learned; see docs/cost-model.md). */
export interface ChannelEstimate {
  /** Probability that a send reaches the step's success level within the step's wait, 0..1. */
  readonly probability: number;
  /** Expected time from the send to success when it succeeds (ms). */
  readonly latencyMs: number;
  /**
   * Probability that the step fails at once (a failure receipt, a permanent send error) rather than
   * waiting out its wait without an answer. Default 0: every miss waits the whole wait.
   */
  readonly failure?: number | undefined;
  /** The wait to use instead of the channel's configured timeout (adaptive timeout), ms; undefined keeps the timeout. */
  readonly waitMs?: number | undefined;
  /**
   * Shorter waits the planner may choose instead, each as `[waitMs, probability, latencyMs]` (success within
   * that wait, and the mean latency of those successes), ascending, ending at `waitMs`. With a value of time,
   * a step that has steps after it waits the one that minimizes what it costs to wait plus what falling back
   * costs (see docs/cost-model.md). Undefined: the step waits `waitMs`.
   */
  readonly arrival?: readonly (readonly [waitMs: number, probability: number, latencyMs: number])[] | undefined;
  /**
   * False when the estimate comes from channel-wide figures alone (the recipient has no history on the
   * channel): without a value of time, the planner then orders the channel by its price, as the default plan
   * does, so a new customer never costs more than without learning. Undefined counts as the recipient's own.
   */
  readonly personal?: boolean | undefined;
}

/**
 * Why the planner (or the runtime) left a channel out. `unlikely`: its learned probability is below the
 * router's threshold; `no-content`: the message's text is empty and no override gives this channel one;
 * `provider-unhealthy`: every provider of the channel has its breaker open; `frequency-capped`: the recipient
 * had as many messages of this category as `RouterOptions.frequencyCaps` allows (every channel is skipped).
 */
export type SkipReason =
  | 'not-allowed'
  | 'opted-out'
  | 'no-consent'
  | 'no-address'
  | 'invalid-address'
  | 'no-content'
  | 'provider-unhealthy'
  | 'frequency-capped'
  | 'unlikely'
  | 'over-budget'
  | 'deadline';

export interface PlanSkip {
  readonly channel: string;
  readonly reason: SkipReason;
  readonly detail: string;
}

/** One step of a plan. */
export interface PlanStep {
  readonly channel: string;
  readonly kind: ChannelKind;
  readonly address: string;
  /** Wait before starting, counted from the end of the previous step (ms). */
  readonly delayMs: number;
  /** How long the step waits for success before falling back, as planned (ms): the timeout, shortened to fit a deadline. */
  readonly waitMs: number;
  /** The channel's timeout, or its learned wait when an estimate gives one (ms). At run time a step waits this long, cut only by the deadline. */
  readonly timeoutMs: number;
  readonly success: SuccessLevel;
  readonly billing: Billing;
  /** Projected cost in micro-units (1e-6 of the currency unit). */
  readonly costMicros: Micros;
  /**
   * The learned probability of success within the step's planned wait (under a deadline, within its share of
   * it); undefined when the channel had no estimate.
   */
  readonly probability?: number | undefined;
  /** With an estimate: the mean latency of those successes (ms), so `expectedCost(plan.steps)` counts time. */
  readonly latencyMs?: number | undefined;
  /** With an estimate: the chance the step fails at once (a failure receipt, a permanent send error). */
  readonly failure?: number | undefined;
  /** When the step would start if every step before it ran to its timeout (ms since epoch). */
  readonly startAt: number;
  /**
   * A channel with several providers: the ones this step may try, in order, each with its projected cost
   * (`costMicros` is the first one's). Those whose cost would take spend past `maxCost` are left out.
   */
  readonly providers?: readonly PlanProvider[] | undefined;
}

export interface PlanProvider {
  readonly name: string;
  readonly costMicros: Micros;
}

/** The ordered steps for a message, with their waits and projected costs. Pure data. */
export interface Plan {
  readonly createdAt: number;
  /** When the first step may start. */
  readonly startAt: number;
  readonly deadlineAt?: number | undefined;
  readonly steps: readonly PlanStep[];
  readonly skipped: readonly PlanSkip[];
  /** The most this cascade can spend: every step billed (micro-units). */
  readonly maxSpendMicros: Micros;
  /** What the cascade pays if its first step succeeds (micro-units). */
  readonly bestSpendMicros: Micros;
  readonly quietHours: boolean;
}

/** One status an attempt went through. */
export interface AttemptStatusChange {
  readonly status: ReceiptStatus;
  readonly at: number;
  /** `send`: the provider accepted the send; `receipt`: a delivery callback. */
  readonly source: 'send' | 'receipt';
}

/** How an attempt ended. */
export type AttemptOutcome = 'delivered' | 'failed' | 'timeout' | 'send-error' | 'cancelled' | 'superseded';

/** Why a step moved from one of its channel's providers to the next. */
export type FailoverReason = 'send-error' | 'failed' | 'unhealthy';

/**
 * An earlier try of a step, through a provider the step then moved on from (failover): it ended failed, by
 * a provider-side send error (no id) or failure receipt, or was not sent (its provider unhealthy).
 */
export interface ProviderTry {
  readonly provider: string;
  readonly startedAt: number;
  readonly endedAt: number;
  readonly reason: FailoverReason;
  readonly providerMessageId?: string | undefined;
  readonly status?: ReceiptStatus | undefined;
  readonly history: readonly AttemptStatusChange[];
  readonly billed: boolean;
  /** What this try cost (0 until billed); also counted in its attempt's `costMicros`. */
  readonly costMicros: Micros;
  readonly priceMicros?: Micros | undefined;
  readonly error?: AttemptError | undefined;
}

/** Why an attempt (or one of its tries) failed, as the adapter or the provider's receipt said. */
export interface AttemptError {
  readonly message: string;
  readonly code?: string | undefined;
  /** Whose problem it is, when known: another provider may succeed (`provider`), or none would (`recipient`). */
  readonly fault?: 'recipient' | 'provider' | undefined;
}

/** One try of one plan step. */
export interface Attempt {
  readonly step: number;
  readonly channel: string;
  /**
   * Where the attempt is in its life: `sending` until the provider answers the send, then `waiting` for
   * receipts, or `ended` (then `outcome` says how). Not to be confused with `status`, what its receipts said.
   */
  readonly phase: 'sending' | 'waiting' | 'ended';
  readonly startedAt: number;
  /**
   * The router instance that claimed the step and carries out its send (`RouterOptions.instanceId`). While the
   * attempt is `sending`, no other instance sends it, unless this one dies first: then one takes it over.
   */
  readonly owner?: string | undefined;
  readonly providerMessageId?: string | undefined;
  /** The highest status its receipts (and the provider's acceptance) reached, or `failed`. */
  readonly status?: ReceiptStatus | undefined;
  readonly history: readonly AttemptStatusChange[];
  /** How it ended, once `phase` is `ended`. A delivery after it ended, or past the deadline, leaves it as it was and sets `late`. */
  readonly outcome?: AttemptOutcome | undefined;
  readonly endedAt?: number | undefined;
  /** Whether this attempt (its current try) has been billed. */
  readonly billed: boolean;
  /** What it cost (the provider's price when reported, else the projected cost), its earlier tries' included; 0 until billed. */
  readonly costMicros: Micros;
  /** A channel with several providers: the provider of the current try. Fields above are the current try's. */
  readonly provider?: string | undefined;
  /** Earlier tries of this step through providers it moved on from, oldest first. */
  readonly failovers?: readonly ProviderTry[] | undefined;
  /**
   * Set while the current try waits for its provider's rate limit: it is sent at this time (the step's
   * timer), by whichever router fires it, and its wait for a receipt starts then.
   */
  readonly pacedUntil?: number | undefined;
  /** A price the provider reported, in micro-units. */
  readonly priceMicros?: Micros | undefined;
  /** A positive receipt that came after the cascade had moved on. */
  readonly late?: boolean | undefined;
  readonly error?: AttemptError | undefined;
}

/** Why an attempt (or one of its tries) failed, as the adapter or the provider's receipt said. */
export interface AttemptError {
  readonly message: string;
  readonly code?: string | undefined;
  /** Whose problem it is, when known: another provider may succeed (`provider`), or none would (`recipient`). */
  readonly fault?: 'recipient' | 'provider' | undefined;
}

/** The terminal outcomes and the two running states. */
export type CascadeStatus = 'scheduled' | 'active' | 'delivered' | 'exhausted' | 'cancelled' | 'expired';

/** The running state of one message. Immutable: every change produces a new object. */
export interface Cascade {
  readonly id: string;
  readonly key: string;
  readonly message: Message;
  readonly recipient: Recipient;
  readonly plan: Plan;
  readonly status: CascadeStatus;
  /** Index of the current (or next) plan step. */
  readonly step: number;
  readonly attempts: readonly Attempt[];
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly endedAt?: number | undefined;
  /** When the next timer (step start, step timeout or deadline) is due. */
  readonly timerAt?: number | undefined;
  /** Sum of billed attempts (micro-units). */
  readonly spendMicros: Micros;
  /** Spend on attempts that reached the customer after the first delivery by receipt time (docs/cost-model.md#double-spend). */
  readonly doubleSpendMicros: Micros;
  /**
   * The step (index into `attempts`) that delivered the message: the earliest step whose attempt reached its
   * success level before the deadline, even late (after the cascade moved on). Named `deliveredBy` up to 0.1.0
   * (see docs/CHANGELOG.md); a cascade stored under that name reads back with this one (`readStoredCascade`).
   */
  readonly deliveredStep?: number | undefined;
  /** Incremented on every change; stores compare it before writing. */
  readonly version: number;
}

/** Sets that refuse changes: the Set constructor adds its values through `add` before the set is listed here. */
const frozenSets = new WeakSet<object>();

/** A Set that refuses changes once built: an exported constant that no caller can alter for everyone. */
class FrozenSet<T> extends Set<T> {
  constructor(values: readonly T[]) {
    super(values);
    frozenSets.add(this);
    Object.freeze(this);
  }
  override add(value: T): this {
    if (frozenSets.has(this)) throw new TypeError('Cannot add to a frozen set');
    return super.add(value);
  }
  override delete(): boolean {
    throw new TypeError('Cannot delete from a frozen set');
  }
  override clear(): void {
    throw new TypeError('Cannot clear a frozen set');
  }
}

/** The statuses that end a cascade. Frozen. */
export const TERMINAL: ReadonlySet<CascadeStatus> = new FrozenSet<CascadeStatus>(['delivered', 'exhausted', 'cancelled', 'expired']);

/** Receipt statuses in order (`accepted < sent < delivered < read`); `failed` ranks below them all. */
export const STATUS_RANK: Readonly<Record<ReceiptStatus, number>> = Object.freeze({ failed: 0, accepted: 1, sent: 2, delivered: 3, read: 4 });
