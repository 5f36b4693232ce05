/** The public surface cannot be bent by a caller: exported constants are frozen, and only the router emits its events. */
import { describe, expect, it } from 'vitest';
import { createRouter, DEFAULT_CONSENT_REQUIRED, SimulatedClock, TERMINAL, type DeliveredEvent } from 'cascade-router';

describe('public surface', () => {
  it('TERMINAL answers the four ending statuses and refuses add, delete and clear', () => {
    expect([...TERMINAL].sort()).toEqual(['cancelled', 'delivered', 'exhausted', 'expired']);
    expect(TERMINAL.has('delivered')).toBe(true);
    expect(TERMINAL.has('active')).toBe(false);
    const mutable = TERMINAL as Set<string>;
    expect(() => mutable.add('active')).toThrow(TypeError);
    expect(() => mutable.delete('delivered')).toThrow(TypeError);
    expect(() => mutable.clear()).toThrow(TypeError);
    expect(TERMINAL.size).toBe(4);
    expect(Object.isFrozen(TERMINAL)).toBe(true);
  });

  it('DEFAULT_CONSENT_REQUIRED is frozen: a caller cannot change which categories need consent for everyone', () => {
    expect(DEFAULT_CONSENT_REQUIRED).toEqual(['marketing']);
    expect(() => (DEFAULT_CONSENT_REQUIRED as string[]).push('transactional')).toThrow(TypeError);
    expect(DEFAULT_CONSENT_REQUIRED).toEqual(['marketing']);
  });

  it('a router is listened to with on, once and off, and has no emit for a caller to fake events with', async () => {
    const clock = new SimulatedClock(Date.UTC(2026, 0, 8));
    const router = createRouter({ clock, channels: { sms: { kind: 'sms', cost: '0.05', confirm: { timeout: '1m' }, send: async ({ cascadeId }) => `sms:${cascadeId}` } } });
    expect('emit' in router).toBe(false);
    const every: string[] = [];
    const first: string[] = [];
    const stopped: string[] = [];
    const onStopped = (event: DeliveredEvent): void => void stopped.push(event.cascadeId);
    expect(router.on('delivered', (event) => void every.push(event.cascadeId)).once('delivered', (event) => void first.push(event.cascadeId)).on('delivered', onStopped)).toBe(router);
    const deliver = async (key: string): Promise<void> => {
      await router.send({ key, category: 'transactional', content: { text: 'Your code is 1234' } }, { id: key, addresses: { sms: '+15555550100' } });
      await router.settled();
      await router.handleReceipt({ providerMessageId: `sms:${key}`, status: 'delivered' });
    };
    await deliver('a');
    router.off('delivered', onStopped);
    await deliver('b');
    expect([every, first, stopped]).toEqual([['a', 'b'], ['a'], ['a']]);
    await router.close();
  });
});
