/**
 * Two routers on one store, as two instances behind a load balancer (issue #12): random scenarios of sends,
 * receipts (early, late, duplicated, for steps not sent yet), cancels and time passing, each input handed
 * to either router, with adapters that answer after a while, fail transiently (retried with backoff) or
 * permanently. Run on the memory store and on Redis (two store instances on one prefix, as two processes).
 *
 * The invariants are checked from what the customer receives (a provider log of every adapter call) and
 * from the routers' events, never from the code under test's own bookkeeping:
 *   1. every message accepted ends in exactly one terminal state (one terminal event over both routers);
 *   2. no further channel is begun after a positive receipt was applied (or, held because it came before
 *      its send returned, taken in with the send's result);
 *   3. every step the plan reaches was sent (an adapter call for it exists): none silently dropped;
 *   4. no adapter call for a step after that step or its cascade ended;
 *   5. each step's first try happens once, by the router that claimed it (no router dies here);
 *   6. spend is exact: each cascade's spend is the sum of its billed attempts, and the ledger the sum of all.
 * Time only moves through the SimulatedClock. To replay a failure: FC_SEED=<seed> and the test's title.
 */
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createRouter,
  memoryStore,
  SendError,
  SimulatedClock,
  sleep,
  TERMINAL,
  type Cascade,
  type CascadeStore,
  type ChannelConfig,
  type Message,
  type ReceiptStatus,
  type Recipient,
  type Router,
  type SendRequest,
} from 'cascade-router';
import { redisStore } from 'cascade-router/redis';
import { dropPrefix, REDIS_URL, requireRedis, uniquePrefix } from './redis/helpers.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const T0 = Date.UTC(2026, 0, 8, 10, 0);
const CHANNELS = ['wa', 'email', 'sms'] as const;
const COST: Record<string, number> = { wa: 10_000, email: 1_000, sms: 50_000 };
const RECIPIENT: Recipient = { id: 'olena', addresses: { wa: '+380671234567', email: 'o@example.com', sms: '+380671234567' } };

type Behaviour = { readonly kind: 'ok' | 'transient' | 'permanent'; readonly latencyMs: number };
type Action =
  | { readonly type: 'send'; readonly router: 0 | 1; readonly message: number }
  | { readonly type: 'receipt'; readonly router: 0 | 1; readonly message: number; readonly step: number; readonly status: ReceiptStatus }
  | { readonly type: 'cancel'; readonly router: 0 | 1; readonly message: number }
  | { readonly type: 'advance'; readonly ms: number };

interface Scenario {
  readonly actions: readonly Action[];
  /** What the adapter does on each call, in call order per channel (then `ok` without delay). */
  readonly tapes: Readonly<Record<(typeof CHANNELS)[number], readonly Behaviour[]>>;
}

const behaviour = fc.record({
  kind: fc.constantFrom<Behaviour['kind']>('ok', 'ok', 'ok', 'transient', 'transient', 'permanent'),
  latencyMs: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 30 * SECOND })),
});
const router01 = fc.constantFrom<0 | 1>(0, 1);
const messageIndex = fc.integer({ min: 0, max: 3 });
const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ type: fc.constant('send' as const), router: router01, message: messageIndex }) },
  {
    weight: 5,
    arbitrary: fc.record({
      type: fc.constant('receipt' as const),
      router: router01,
      message: messageIndex,
      step: fc.integer({ min: 0, max: 2 }),
      status: fc.constantFrom<ReceiptStatus>('sent', 'delivered', 'delivered', 'read', 'failed'),
    }),
  },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('cancel' as const), router: router01, message: messageIndex }) },
  {
    weight: 4,
    arbitrary: fc.record({ type: fc.constant('advance' as const), ms: fc.oneof(fc.integer({ min: 0, max: 10 * SECOND }), fc.integer({ min: 10 * SECOND, max: 3 * MINUTE })) }),
  },
);
const scenario: fc.Arbitrary<Scenario> = fc.record({
  actions: fc.array(action, { minLength: 1, maxLength: 40 }),
  tapes: fc.record({ wa: fc.array(behaviour, { maxLength: 8 }), email: fc.array(behaviour, { maxLength: 8 }), sms: fc.array(behaviour, { maxLength: 8 }) }),
});

/** Issue #12's minimal case of D: sms retried after 20 s while the other router applies wa's late delivered receipt. */
const MINIMAL_D: Scenario = {
  actions: [
    { type: 'send', router: 1, message: 0 },
    { type: 'advance', ms: 2 * MINUTE },
    { type: 'receipt', router: 0, message: 0, step: 0, status: 'delivered' },
    { type: 'advance', ms: MINUTE },
  ],
  tapes: { wa: [], email: [{ kind: 'permanent', latencyMs: 0 }], sms: [{ kind: 'transient', latencyMs: 0 }] },
};
/** The same with the late receipt or a cancel handed to either router: one of them is not the sms step's owner. */
const MINIMAL_D_CASES: Scenario[] = ([0, 1] as const).flatMap((router) => [
  { ...MINIMAL_D, actions: MINIMAL_D.actions.map((a) => (a.type === 'receipt' ? { ...a, router } : a)) },
  { ...MINIMAL_D, actions: MINIMAL_D.actions.map((a) => (a.type === 'receipt' ? { type: 'cancel' as const, router, message: 0 } : a)) },
]);

interface Call {
  readonly router: string;
  readonly cascadeId: string;
  readonly step: number;
  readonly try: number;
  readonly at: number;
  readonly seq: number;
}

interface Applied {
  readonly providerMessageId: string;
  readonly status: ReceiptStatus;
  readonly cascadeId: string;
  readonly step: number;
  readonly at: number;
  readonly seq: number;
  readonly held: boolean;
}

/** Runs one scenario on two routers over `stores` (one store each, sharing their data) and checks the invariants. */
async function run(s: Scenario, makeStores: (clock: SimulatedClock) => readonly [CascadeStore, CascadeStore], settleMs: number, sequential: boolean): Promise<void> {
  const clock = new SimulatedClock(T0);
  const stores = makeStores(clock);
  let seq = 0;
  const calls: Call[] = [];
  const tapes = { wa: [...s.tapes.wa], email: [...s.tapes.email], sms: [...s.tapes.sms] };
  const channels = (name: string): Record<string, ChannelConfig> => {
    const send = (channel: (typeof CHANNELS)[number]) => async (request: SendRequest): Promise<string> => {
      const step = Number(request.idempotencyKey.slice(request.idempotencyKey.lastIndexOf(':') + 1));
      calls.push({ router: name, cascadeId: request.cascadeId, step, try: request.try, at: clock.now(), seq: seq++ });
      const b = tapes[channel].shift() ?? { kind: 'ok', latencyMs: 0 };
      if (b.latencyMs > 0) await sleep(clock, b.latencyMs);
      if (b.kind === 'transient') throw new SendError('503 (test)');
      if (b.kind === 'permanent') throw new SendError('invalid number (test)', { permanent: true });
      return `${channel}:${request.idempotencyKey}`;
    };
    return {
      wa: { kind: 'messenger', cost: '0.01', billing: 'delivered', send: send('wa'), retry: false, confirm: { timeout: '2m' } },
      email: { kind: 'email', cost: '0.001', send: send('email'), retry: { retries: 2, minDelay: '10s' }, confirm: { timeout: '1m' } },
      sms: { kind: 'sms', cost: '0.05', send: send('sms'), retry: { retries: 1, minDelay: '20s' }, confirm: { timeout: '5m' } },
    };
  };
  const names = ['A', 'B'] as const;
  const terminalEvents = new Map<string, number>();
  const errors: string[] = [];
  const begun: { cascadeId: string; step: number; seq: number; at: number }[] = [];
  const routers: Router[] = names.map((name, i) => {
    const router = createRouter({ channels: channels(name), store: stores[i]!, clock, instanceId: name });
    for (const end of ['delivered', 'exhausted', 'cancelled', 'expired'] as const) {
      router.on(end, (e) => void terminalEvents.set(e.cascadeId, (terminalEvents.get(e.cascadeId) ?? 0) + 1));
    }
    router.on('attempt', (e) => void begun.push({ cascadeId: e.cascadeId, step: e.step, seq: seq++, at: e.at }));
    router.on('error', (e) => void errors.push(`${name} ${e.during}: ${e.error.message}`));
    return router;
  });
  const accepted = new Set<string>();
  const applied: Applied[] = [];
  const key = (message: number) => `m${message}`;
  try {
    const pending: Promise<unknown>[] = [];
    for (const a of s.actions) {
      let work: Promise<unknown> | undefined;
      if (a.type === 'advance') {
        await Promise.all(pending.splice(0));
        await clock.advance(a.ms);
        continue;
      } else if (a.type === 'send') {
        const message: Message = { key: key(a.message), category: 'transactional', content: { text: 'Hi' }, channels: CHANNELS, policy: { order: 'message' } };
        work = routers[a.router]!.send(message, RECIPIENT).then((r) => void accepted.add(r.cascadeId));
      } else if (a.type === 'receipt') {
        const id = key(a.message);
        const providerMessageId = `${CHANNELS[a.step]}:${id}:${a.step}`;
        work = routers[a.router]!.handleReceipt({ providerMessageId, status: a.status }).then((result) => {
          const positive = a.status === 'delivered' || a.status === 'read';
          if (positive && (result.outcome === 'applied' || result.outcome === 'held')) {
            applied.push({ providerMessageId, status: a.status, cascadeId: id, step: a.step, at: clock.now(), seq: seq++, held: result.outcome === 'held' });
          }
        });
      } else {
        work = routers[a.router]!.cancel(key(a.message));
      }
      if (sequential) await work;
      else pending.push(work);
    }
    await Promise.all(pending);
    await clock.advance(settleMs);

    const cascades = new Map<string, Cascade>();
    for (const id of accepted) cascades.set(id, (await routers[0]!.get(id))!);
    let spend = 0;
    for (const [id, c] of cascades) {
      // 1. one terminal state
      expect(TERMINAL.has(c.status), `${id} ended (${c.status})`).toBe(true);
      expect(terminalEvents.get(id), `${id}: terminal events`).toBe(1);
      // 6. exact spend
      expect(c.spendMicros).toBe(c.attempts.reduce((sum, attempt) => sum + attempt.costMicros, 0));
      for (const attempt of c.attempts) if (attempt.billed) expect(attempt.costMicros).toBe(COST[attempt.channel]);
      spend += c.spendMicros;
      for (const attempt of c.attempts) {
        const stepCalls = calls.filter((call) => call.cascadeId === id && call.step === attempt.step);
        // 3. sent, not silently dropped; 5. first try once, by its owner
        expect(stepCalls.filter((call) => call.try === 1), `${id} step ${attempt.step}: first tries`).toHaveLength(1);
        expect(new Set(stepCalls.map((call) => call.router)), `${id} step ${attempt.step}: callers`).toEqual(new Set([attempt.owner]));
        // 4. nothing sent for a step after it ended
        const endedAt = attempt.endedAt ?? c.endedAt;
        if (endedAt !== undefined) {
          for (const call of stepCalls) expect(call.at, `${id} step ${attempt.step} try ${call.try} after it ended`).toBeLessThanOrEqual(endedAt);
        }
      }
    }
    // 2. no further channel after a positive receipt was applied
    for (const receipt of applied) {
      const c = cascades.get(receipt.cascadeId);
      if (!c) continue;
      const attempt = c.attempts[receipt.step];
      if (attempt?.providerMessageId !== receipt.providerMessageId) continue; // held for a send that never returned this id: it applies to nothing
      const sentAt = attempt.history.find((h) => h.source === 'send')?.at;
      // Held: it applied only if taken in (a `failed` before it is final, and makes it stale).
      if (receipt.held && !attempt.history.some((h) => h.source === 'receipt' && h.status === receipt.status)) continue;
      const from = receipt.held ? Math.max(receipt.at, sentAt!) : receipt.at;
      const later = begun.filter((b) => b.cascadeId === receipt.cascadeId && b.step > receipt.step && (b.at > from || (!receipt.held && b.seq > receipt.seq && b.at === from)));
      expect(later, `${receipt.cascadeId}: steps begun after step ${receipt.step}'s positive receipt`).toEqual([]);
    }
    expect((await stores[0].ledger()).spendMicros).toBe(spend);
    expect(errors).toEqual([]);
  } finally {
    for (const router of routers) await router.close();
  }
}

describe('two routers on one memory store', () => {
  it("never begins a channel after a positive receipt applied, never sends a step after it ended, never drops a step, ends each message once, spends exactly", async () => {
    await fc.assert(
      fc.asyncProperty(fc.boolean(), scenario, async (sequential, s) => {
        await run(s, () => {
          const store = memoryStore();
          return [store, store];
        }, 30 * MINUTE, sequential);
      }),
      { numRuns: Number(process.env.FC_NUM_RUNS ?? 150), examples: MINIMAL_D_CASES.map((d) => [true, d] as [boolean, Scenario]) },
    );
  });
});

const skip = await requireRedis('test/engine.two-routers.test.ts');

describe.skipIf(skip)('two routers on one Redis (a store instance each, as two processes)', () => {
  let admin: Redis;
  const prefixes: string[] = [];
  beforeAll(() => {
    admin = new Redis(REDIS_URL);
  });
  afterAll(async () => {
    for (const prefix of prefixes) await dropPrefix(admin, prefix);
    await admin.quit();
  });

  it("never begins a channel after a positive receipt applied, never sends a step after it ended, never drops a step, ends each message once, spends exactly", async () => {
    await fc.assert(
      fc.asyncProperty(fc.boolean(), scenario, async (sequential, s) => {
        const prefix = uniquePrefix('two');
        prefixes.push(prefix);
        let stores: CascadeStore[] = [];
        try {
          await run(s, (clock) => (stores = [0, 1].map(() => redisStore({ url: REDIS_URL, prefix, pollMs: 5000, clock }))) as [CascadeStore, CascadeStore], 30 * MINUTE, sequential);
        } finally {
          await Promise.all(stores.map((store) => store.dispose()));
          await dropPrefix(admin, prefix);
        }
      }),
      { numRuns: Number(process.env.FC_NUM_RUNS_REDIS ?? 25), examples: MINIMAL_D_CASES.map((d) => [true, d] as [boolean, Scenario]) },
    );
  }, 240_000);
});
