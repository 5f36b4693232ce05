import { describe, expect, it } from 'vitest';
import { createRouter, memoryStore, SimulatedClock, type CascadeStore } from 'cascade-router';

describe('router timers when the store fails', () => {
  it('retry a second after a failed claim instead of stalling until the next send or receipt', async () => {
    const start = Date.UTC(2026, 0, 8, 10);
    const clock = new SimulatedClock(start);
    const inner = memoryStore();
    let failClaims = 1;
    const store: CascadeStore = {
      ...inner,
      claimDue(now, limit) {
        // The claim at the push timeout fails (the router also wakes earlier, to renew its heartbeat).
        if (now >= start + 2 * 60_000 && failClaims-- > 0) throw new Error('store down');
        return inner.claimDue(now, limit);
      },
    };
    let n = 0;
    const send = async () => `id-${++n}`;
    const router = createRouter({
      clock,
      store,
      channels: {
        push: { kind: 'push', send, confirm: { timeout: '2m' } },
        sms: { kind: 'sms', cost: '0.05', send, confirm: { timeout: '5m' } },
      },
    });
    const errors: string[] = [];
    router.on('error', (e) => errors.push(`${e.during}: ${e.error.message}`));
    const { cascadeId } = await router.send(
      { key: 'k1', category: 'transactional', content: { text: 'Hi' } },
      { id: 'r1', addresses: { push: 'token', sms: '+380501234567' } },
    );

    await clock.advance(2 * 60_000);
    expect(errors).toEqual(['timer: store down']);
    expect((await router.get(cascadeId))?.attempts.map((a) => a.channel)).toEqual(['push']);

    await clock.advance(1_000);
    expect((await router.get(cascadeId))?.attempts.map((a) => [a.channel, a.outcome])).toEqual([
      ['push', 'timeout'],
      ['sms', undefined],
    ]);
    await router.close();
  });
});
