/**
 * Two routers on one shared store (a store instance each, as two processes) share provider health, rate limits
 * and frequency caps (issue #15): a breaker one opens the other adopts within a second or so, a blast through
 * both never exceeds a provider's rate, a cap counts messages from both. Run by the Redis and PostgreSQL tests.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createRouter, SendError, SimulatedClock, type CascadeStore, type ChannelConfig, type Recipient, type Router, type SendRequest } from 'cascade-router';
import { busiestWindow } from './windows.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const T0 = Date.UTC(2026, 0, 8, 10, 0);
const RECIPIENT: Recipient = { id: 'olena', addresses: { wa: '+380671234567', sms: '+380671234567' }, consent: { marketing: true } };

export interface SharedBackend {
  /** A fresh namespace (key prefix, schema) both routers' stores use, ready for them. */
  space(): Promise<string>;
  /** A store on `space` polling every second of `clock`. */
  store(space: string, clock: SimulatedClock): CascadeStore;
  /** Drops what the namespaces hold, once all are done. */
  drop(spaces: readonly string[]): Promise<void>;
}

export function twoRoutersSharing(name: string, skip: boolean, backend: () => SharedBackend): void {
  describe.skipIf(skip)(name, () => {
    const spaces: string[] = [];
    const routers: Router[] = [];
    const stores: CascadeStore[] = [];
    afterEach(async () => {
      for (const router of routers.splice(0)) await router.close();
      await Promise.all(stores.splice(0).map((store) => store.dispose()));
    });
    afterAll(async () => {
      await backend().drop(spaces);
    });

    async function pair(channels: (name: string) => Record<string, ChannelConfig>, caps?: Record<string, { max: number; per: string }>) {
      const space = await backend().space();
      spaces.push(space);
      const clock = new SimulatedClock(T0);
      const make = (name: string): Router => {
        const store = backend().store(space, clock);
        stores.push(store);
        const router = createRouter({ channels: channels(name), store, clock, instanceId: name, ...(caps ? { frequencyCaps: caps } : {}) });
        routers.push(router);
        return router;
      };
      return { clock, a: make('a'), b: make('b') };
    }

    it('never exceeds a provider\'s rate with a blast sent through both', async () => {
      const sends: number[] = [];
      let clock!: SimulatedClock;
      const { a, b, clock: c } = await pair(() => ({
        sms: {
          kind: 'sms',
          cost: '0.05',
          retry: false,
          confirm: { by: 'acceptance', timeout: '1h' },
          rate: { limit: 5 },
          send: async (request: SendRequest) => (sends.push(clock.now()), `sms:${request.idempotencyKey}`),
        },
      }));
      clock = c;
      const message = (i: number) => ({ key: `blast-${i}`, category: 'marketing', content: { text: 'Friday sushi' } });
      await Promise.all(Array.from({ length: 200 }, (_, i) => (i % 2 === 0 ? a : b).send(message(i), { ...RECIPIENT, id: `r${i}` })));
      for (let t = 0; t < 90 && sends.length < 200; t++) await clock.advance(SECOND);
      expect(sends).toHaveLength(200);
      expect(busiestWindow(sends, SECOND)).toBeLessThanOrEqual(5);
    }, 60_000);

    it('shares a breaker: the other router routes around the provider from its next look at the store', async () => {
      const calls: string[] = [];
      let failing = true;
      const channels = (name: string): Record<string, ChannelConfig> => ({
        wa: {
          kind: 'messenger',
          cost: '0.01',
          provider: 'meta',
          retry: false,
          confirm: { timeout: '1m' },
          send: async (request: SendRequest) => {
            calls.push(`${name}:meta`);
            if (failing) throw new SendError('503');
            return `meta:${request.idempotencyKey}`;
          },
        },
        sms: { kind: 'sms', cost: '0.05', retry: false, confirm: { timeout: '5m' }, send: async (request: SendRequest) => (calls.push(`${name}:sms`), `sms:${request.idempotencyKey}`) },
      });
      const { a, b, clock } = await pair(channels);
      const message = (key: string) => ({ key, category: 'transactional', content: { text: 'Hi' }, channels: ['wa', 'sms'], policy: { order: 'message' as const } });
      for (let i = 0; i < 10; i++) {
        await a.send(message(`a${i}`), RECIPIENT);
        await clock.advance(SECOND);
      }
      expect(a.health().find((h) => h.provider === 'meta')?.state).toBe('open');
      await clock.advance(2 * SECOND); // b wakes (pollMs) and reads the shared state
      calls.length = 0;
      for (let i = 0; i < 3; i++) {
        await b.send(message(`b${i}`), RECIPIENT);
        await clock.advance(SECOND);
      }
      expect(b.health().find((h) => h.provider === 'meta')).toMatchObject({ state: 'open', reason: 'errors' });
      expect(calls).toEqual(['b:sms', 'b:sms', 'b:sms']);
      failing = false;
    }, 60_000);

    it('counts a frequency cap over both routers', async () => {
      const sent: string[] = [];
      const { a, b, clock } = await pair(
        () => ({ sms: { kind: 'sms', cost: '0.05', retry: false, confirm: { by: 'acceptance' }, send: async (request: SendRequest) => (sent.push(request.message.key), `sms:${request.idempotencyKey}`) } }),
        { marketing: { max: 2, per: '1d' } },
      );
      const message = (key: string) => ({ key, category: 'marketing', content: { text: 'Sale' } });
      await a.send(message('m1'), RECIPIENT);
      await b.send(message('m2'), RECIPIENT);
      const third = await a.send(message('m3'), RECIPIENT);
      await clock.advance(SECOND);
      expect(sent.sort()).toEqual(['m1', 'm2']);
      expect([third.status, third.plan.skipped.map((s) => s.reason)]).toEqual(['exhausted', ['frequency-capped']]);
      await clock.advance(MINUTE);
    }, 60_000);
  });
}
