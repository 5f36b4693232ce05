/**
 * A store for fault tests in simulated time: a memory store behind promises (as a network store answers),
 * whose answers can be refused or lost on command. `down`: every call fails with `StoreUnavailableError`
 * and changes nothing (Redis unreachable). `lose`: a call is applied, then fails the same way (Redis ran
 * the command after the client gave up on it: a pause, a timeout). `only` limits the fault to some methods.
 */
import { memoryStore, StoreUnavailableError, type CascadeStore } from 'cascade-router';

export type FaultMode = 'up' | 'down' | 'lose';

export interface FaultyStore extends CascadeStore {
  mode: FaultMode;
  /** The methods the mode applies to; undefined: all. */
  only: ReadonlySet<string> | undefined;
  /** Every write the inner store applied: `[method, cascade id, version]`. */
  readonly writes: [string, string, number][];
  /** Every call, by method name, in order. */
  readonly calls: string[];
  /** Holds the answers of `method` (they wait, as behind a slow link) until the returned function is called. */
  pause(method: string): () => void;
  /** Called with each method name as the call starts. */
  onCall: ((method: string) => void) | undefined;
}

const unavailable = (method: string): StoreUnavailableError => new StoreUnavailableError(method, { cause: new Error('connection lost (test)') });

export function faultyStore(inner: CascadeStore = memoryStore()): FaultyStore {
  const gates = new Map<string, Promise<void>>();
  const store = {
    mode: 'up' as FaultMode,
    only: undefined as ReadonlySet<string> | undefined,
    writes: [] as [string, string, number][],
    calls: [] as string[],
    onCall: undefined as ((method: string) => void) | undefined,
    pause(method: string): () => void {
      let release!: () => void;
      gates.set(method, new Promise<void>((resolve) => (release = resolve)));
      return () => {
        gates.delete(method);
        release();
      };
    },
  };
  const faulty = (method: string): FaultMode => (store.only === undefined || store.only.has(method) ? store.mode : 'up');
  const call = async <T>(method: string, run: () => T | Promise<T>): Promise<T> => {
    store.calls.push(method);
    store.onCall?.(method);
    await gates.get(method);
    const mode = faulty(method);
    if (mode === 'down') throw unavailable(method);
    const answer = await run();
    if (mode === 'lose') throw unavailable(method);
    return answer;
  };
  const iterate = (method: string, source: () => AsyncIterable<never>) =>
    async function* () {
      if (faulty(method) !== 'up') throw unavailable(method);
      yield* source();
    };
  return Object.assign(store, {
    create: (cascade, update) =>
      call('create', async () => {
        const answer = await inner.create(cascade, update);
        if (answer.created) store.writes.push(['create', cascade.id, cascade.version]);
        return answer;
      }),
    get: (id) => call('get', () => inner.get(id)),
    commit: (next, providerIds, update, heldThrough) =>
      call('commit', async () => {
        const answer = await inner.commit(next, providerIds, update, heldThrough);
        if (answer.ok) store.writes.push(['commit', next.id, next.version]);
        return answer;
      }),
    route: (receipt, now, holdUntil) => call('route', () => inner.route(receipt, now, holdUntil)),
    heldCounts: () => call('heldCounts', () => inner.heldCounts()),
    claimDue: (now, limit) => call('claimDue', () => inner.claimDue(now, limit)),
    nextDueAt: () => call('nextDueAt', () => inner.nextDueAt()),
    learned: (recipientId, channels) => call('learned', () => inner.learned(recipientId, channels)),
    ledger: () => call('ledger', () => inner.ledger()),
    open: iterate('open', () => inner.open() as AsyncIterable<never>),
    heartbeat: (instanceId, ttlMs, now) => call('heartbeat', () => inner.heartbeat(instanceId, ttlMs, now)),
    leave: (instanceId) => call('leave', () => inner.leave(instanceId)),
    orphans: (now, self) => iterate('orphans', () => inner.orphans(now, self) as AsyncIterable<never>)(),
    dispose: () => inner.dispose(),
  } satisfies Omit<CascadeStore, 'open'> & { open: () => AsyncIterable<never> }) as FaultyStore;
}
