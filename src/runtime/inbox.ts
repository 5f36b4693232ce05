import type { Changes } from './changes.js';
import type { RouterContext } from './context.js';
import { receiptInput, receiptPrice, type Misrouted } from '../core/receipt-input.js';
import { isPromise, type MaybePromise } from '../store/types.js';
import type { Transition } from '../core/transition.js';
import type { Cascade, CascadeStatus, Receipt } from '../core/types.js';

/** What `handleReceipt()` did with a receipt. */
export type ReceiptResult =
  | {
      /** The receipt moved its attempt forward. `late` when its cascade had already moved on. */
      readonly outcome: 'applied';
      readonly cascadeId: string;
      readonly channel: string;
      readonly status: CascadeStatus;
      readonly late: boolean;
    }
  | {
      /** The same status again (`duplicate`) or one behind what the attempt reached (`stale`): nothing changed. */
      readonly outcome: 'duplicate' | 'stale';
      readonly cascadeId: string;
      readonly channel: string;
      readonly status: CascadeStatus;
    }
  | {
      /**
       * The receipt names another provider than the attempt's channel declares (`provider`): it was posted
       * to another provider's endpoint, or the channel does not say which provider reports on it. Nothing changed.
       */
      readonly outcome: 'misrouted';
      readonly cascadeId: string;
      readonly channel: string;
      readonly status: CascadeStatus;
      readonly provider: string | undefined;
      readonly expected: string | undefined;
    }
  | {
      /**
       * No cascade sent this id (yet): the receipt is held until `heldUntil` in case its send() has not
       * returned, and taken into the cascade whose send reports the id. (`'unknown'` in 0.1.)
       */
      readonly outcome: 'held';
      readonly providerMessageId: string;
      readonly heldUntil: number;
    };

/**
 * Receipts on their way in: each is routed to the cascade that sent its provider id (or held for it) and
 * applied to the attempt it names, if the receipt is scoped to that attempt's channel. Receipts being
 * applied are known by provider id, so a timer about to time their step out waits for them.
 */
export class Inbox {
  readonly #ctx: RouterContext;
  readonly #changes: Changes;
  readonly #holdMs: number;
  /** Provider id → receipts for it being applied here (asynchronously). */
  readonly #queued = new Map<string, Set<Promise<unknown>>>();

  constructor(ctx: RouterContext, changes: Changes, holdMs: number) {
    this.#ctx = ctx;
    this.#changes = changes;
    this.#holdMs = holdMs;
  }

  /** Applies a validated receipt. */
  handle(receipt: Receipt): MaybePromise<ReceiptResult> {
    receiptPrice(receipt); // an unreadable price is refused here, before anything is stored
    const handling = this.#route(receipt);
    if (!isPromise(handling)) return handling;
    const id = receipt.providerMessageId;
    const queued = this.#queued.get(id) ?? new Set();
    this.#queued.set(id, queued);
    queued.add(handling);
    const done = (): void => {
      queued.delete(handling);
      if (queued.size === 0 && this.#queued.get(id) === queued) this.#queued.delete(id);
    };
    handling.then(done, done);
    return handling;
  }

  /** Settles once the receipts for this provider id being applied here now are applied (or failed); undefined if none. */
  queued(providerMessageId: string): Promise<unknown> | undefined {
    const queued = this.#queued.get(providerMessageId);
    return queued === undefined ? undefined : Promise.allSettled(queued);
  }

  /** Routes a receipt to its cascade and applies it there: without a generator or a promise while the store answers at once. */
  #route(receipt: Receipt): MaybePromise<ReceiptResult> {
    const received = this.#ctx.clock.now();
    const heldUntil = received + this.#holdMs;
    // A cascade this instance holds a copy of: committed against it at once (a stale copy is refused and read).
    const hint = this.#ctx.store.routeHint?.(receipt.providerMessageId);
    if (hint !== undefined) return this.#applyTo(hint.cascadeId, receipt, received, heldUntil, hint.cascade);
    const routing = this.#ctx.store.route(receipt, received, heldUntil);
    if (isPromise(routing)) return this.#routeLater(routing, receipt, received, heldUntil);
    return this.#applyTo(routing, receipt, received, heldUntil);
  }

  /** `#route` once a store's asynchronous answer comes, counted as the router's pending work. */
  async #routeLater(routing: Promise<string | undefined>, receipt: Receipt, received: number, heldUntil: number): Promise<ReceiptResult> {
    const { pending } = this.#ctx;
    pending.enter();
    try {
      return await this.#applyTo(await routing, receipt, received, heldUntil);
    } finally {
      pending.leave();
    }
  }

  /** Applies the receipt to cascade `cascadeId` (`copy`: a copy of it this instance holds, maybe stale, to commit against). */
  #applyTo(cascadeId: string | undefined, receipt: Receipt, received: number, heldUntil: number, copy?: Cascade): MaybePromise<ReceiptResult> {
    if (cascadeId === undefined) return { outcome: 'held', providerMessageId: receipt.providerMessageId, heldUntil };
    const { clock, channels, instanceId } = this.#ctx;
    let step = -1;
    let misrouted: (Misrouted & { status: CascadeStatus }) | undefined;
    const applying = this.#changes.applyNow(cascadeId, (cascade) => {
      // Called again on each read (a conflict, or a stale copy): only the last call's findings count.
      step = -1;
      misrouted = undefined;
      const taken = receiptInput(channels, cascade, receipt, received, clock.now(), instanceId);
      if (taken === undefined) return undefined;
      if ('misrouted' in taken) {
        misrouted = { ...taken.misrouted, status: cascade.status };
        return undefined;
      }
      step = taken.input.type === 'receipt' ? taken.input.step : -1;
      return taken.input;
    }, copy === undefined ? undefined : { base: copy });
    // Read once the change is done: `step` and `misrouted` are the last read's findings.
    if (isPromise(applying)) return applying.then((done) => this.#result(done, cascadeId, receipt, heldUntil, step, misrouted));
    return this.#result(applying, cascadeId, receipt, heldUntil, step, misrouted);
  }

  /** What `handleReceipt()` answers for a receipt applied (or not) to cascade `cascadeId`, at attempt `step`. */
  #result(done: Transition | undefined, cascadeId: string, receipt: Receipt, heldUntil: number, step: number, misrouted: (Misrouted & { status: CascadeStatus }) | undefined): ReceiptResult {
    if (misrouted) {
      const { channel, provider, expected, status } = misrouted;
      this.#ctx.reporter.warn({ cascadeId, providerMessageId: receipt.providerMessageId, channel, provider, expected }, 'a receipt names another provider than its channel declares: ignored');
      return { outcome: 'misrouted', cascadeId, channel, status, provider, expected };
    }
    if (!done) return { outcome: 'held', providerMessageId: receipt.providerMessageId, heldUntil };
    const { cascade, verdict, notes } = done;
    const channel = cascade.attempts[step]?.channel ?? '';
    if (verdict === 'applied') {
      return { outcome: 'applied', cascadeId, channel, status: cascade.status, late: notes.some((n) => n.type === 'late-receipt') };
    }
    return { outcome: verdict === 'duplicate' ? 'duplicate' : 'stale', cascadeId, channel, status: cascade.status };
  }
}
