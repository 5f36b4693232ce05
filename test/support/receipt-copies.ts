/**
 * The cases a store with `routeHint` must pass (test/redis.receipts.test.ts, test/postgres.receipts.test.ts):
 * a receipt for a cascade this router sent is committed against the copy it holds, without a route; a copy
 * another router made stale is refused by the compare-and-set and read again, so the answer is the one a
 * routed receipt gets (the same scenario on a router that holds no copies, `cacheSize: 0`, is the oracle).
 */
import { expect, it } from 'vitest';
import { SimulatedClock, type ChannelConfig, type Router } from 'cascade-router';

export const T0 = Date.UTC(2026, 0, 8, 10, 0);
export const channels = {
  push: { kind: 'push', cost: 0, confirm: { timeout: '2m' }, send: async ({ cascadeId }) => `push:${cascadeId}` },
  sms: { kind: 'sms', cost: '0.05', confirm: { timeout: '10m' }, send: async ({ cascadeId }) => `sms:${cascadeId}` },
} satisfies Record<string, ChannelConfig>;
const message = (key: string) => ({ key, category: 'transactional', content: { text: 'Your parcel is on its way' } });
const recipient = { id: 'r1', addresses: { push: 'token', sms: '+15555550100' } };

export interface CopyRouter {
  readonly router: Router;
  /** The store calls (script or statement names) made since the last time this was asked. */
  calls(): string[];
  close(): Promise<void>;
}

export interface CopyBackend {
  /** A fresh namespace (a key prefix, a migrated schema) that the routers of one case share. */
  space(label: string): Promise<string>;
  /** A router on its own connection in `space`, counting its calls; `cacheSize: 0` holds no copies. */
  router(space: string, clock: SimulatedClock, cacheSize?: number): CopyRouter;
}

/** Registers the cases; `calls` are what a receipt costs with the copy and routed. */
export function receiptCopyCases(backend: CopyBackend, calls: { readonly withCopy: readonly string[]; readonly routed: readonly string[] }): void {
  it('applies a receipt for its own cascade with one round trip (a commit), where a router without the copy routes first', async () => {
    const space = await backend.space('hint');
    const clock = new SimulatedClock(T0);
    for (const [cacheSize, expected] of [[undefined, calls.withCopy], [0, calls.routed]] as const) {
      const a = backend.router(space, clock, cacheSize);
      const key = `k-${cacheSize ?? 'copy'}`;
      await a.router.send(message(key), recipient);
      await a.router.settled();
      a.calls();
      await expect(a.router.handleReceipt({ providerMessageId: `push:${key}`, status: 'delivered' })).resolves.toMatchObject({ outcome: 'applied', status: 'delivered' });
      expect(a.calls()).toEqual(expected);
      await a.close();
    }
  });

  /** Router `a` sends; router `b` changes the cascade (`interfere`); then `a` gets a receipt. Its answer and the cascade after. */
  async function staleCopy(cacheSize: number | undefined, interfere: (b: Router, key: string) => Promise<unknown>, status: 'delivered' | 'sent' | 'failed') {
    const space = await backend.space('stale');
    const clock = new SimulatedClock(T0);
    const a = backend.router(space, clock, cacheSize);
    const b = backend.router(space, clock, 0);
    const key = `k-${status}`;
    await a.router.send(message(key), recipient);
    await a.router.settled();
    await interfere(b.router, key);
    clock.advance(1000);
    const answer = await a.router.handleReceipt({ providerMessageId: `push:${key}`, status });
    const cascade = (await a.router.get(key))!;
    await a.close();
    await b.close();
    return { answer, status: cascade.status, version: cascade.version, attempts: cascade.attempts.map((x) => [x.channel, x.phase, x.status]) };
  }

  const interferences: Record<string, (b: Router, key: string) => Promise<unknown>> = {
    'a sent receipt': (b, key) => b.handleReceipt({ providerMessageId: `push:${key}`, status: 'sent' }),
    'a cancel': (b, key) => b.cancel(key),
    'a delivered receipt': (b, key) => b.handleReceipt({ providerMessageId: `push:${key}`, status: 'delivered' }),
  };

  for (const [what, interfere] of Object.entries(interferences)) {
    for (const status of ['delivered', 'sent', 'failed'] as const) {
      it(`answers a "${status}" receipt on a copy made stale by another router's ${what} as a router that routes it does`, async () => {
        const withCopy = await staleCopy(undefined, interfere, status);
        const routed = await staleCopy(0, interfere, status);
        expect(withCopy).toEqual(routed);
      });
    }
  }
}
