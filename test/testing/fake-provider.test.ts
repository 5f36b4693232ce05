import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { SimulatedClock, createRouter, type Receipt } from 'cascade-router';
import { twilioReceipts, verifyTwilioSignature } from 'cascade-router/receipts';
import { fakeProvider, signTwilioWebhook } from 'cascade-router/testing';

const T0 = Date.UTC(2026, 0, 8, 10);
const message = (key: string) => ({ key, category: 'transactional', content: { text: 'Your order has shipped' } });
const recipient = { id: 'ann', addresses: { push: 'token-1', sms: '+380501234567' } };

describe('fakeProvider in simulated time', () => {
  it('delivers after the configured latency: the cascade ends on push and SMS is never sent', async () => {
    const clock = new SimulatedClock(T0);
    let router!: ReturnType<typeof createRouter>;
    const push = fakeProvider({ name: 'fcm', clock, outcome: { status: 'delivered', after: '3s' }, deliver: (r) => router.handleReceipt(r) });
    const sms = fakeProvider({ name: 'twilio', clock, deliver: (r) => router.handleReceipt(r) });
    router = createRouter({
      clock,
      channels: {
        push: { kind: 'push', cost: 0, provider: 'fcm', send: push.send, confirm: { timeout: '1m' } },
        sms: { kind: 'sms', cost: '0.05', provider: 'twilio', send: sms.send, confirm: { timeout: '5m' } },
      },
    });
    const { cascadeId } = await router.send(message('m1'), recipient);
    await clock.advance(2_999);
    expect((await router.get(cascadeId))?.status).toBe('active');
    await clock.advance(1);
    expect((await router.get(cascadeId))?.status).toBe('delivered');
    expect(push.receipts.map(({ receipt, at }) => [receipt.status, receipt.provider, at - T0])).toEqual([['delivered', 'fcm', 3_000]]);
    await clock.runAll();
    expect(sms.sends).toHaveLength(0);
    await router.close();
  });

  it('silence falls back after the timeout; a failure falls back at once; a permanent send error falls back without a retry', async () => {
    const clock = new SimulatedClock(T0);
    let router!: ReturnType<typeof createRouter>;
    const deliver = (r: Receipt) => router.handleReceipt(r);
    const byKey: Record<string, 'silent' | 'failed' | 'error'> = { a: 'silent', b: 'failed', c: 'error' };
    const push = fakeProvider({
      clock,
      deliver,
      outcome: (request) => {
        const kind = byKey[request.message.key]!;
        return kind === 'error' ? { status: 'error', permanent: true } : kind === 'failed' ? { status: 'failed', after: '10s' } : { status: 'silent' };
      },
    });
    const sms = fakeProvider({ clock, deliver, outcome: { status: 'delivered', after: '5s' } });
    router = createRouter({
      clock,
      channels: {
        push: { kind: 'push', cost: 0, send: push.send, confirm: { timeout: '1m' } },
        sms: { kind: 'sms', cost: '0.05', send: sms.send, confirm: { timeout: '5m' } },
      },
    });
    for (const key of ['a', 'b', 'c']) await router.send(message(key), recipient);
    await clock.runAll();
    const smsSentAt = Object.fromEntries(sms.sends.map((s) => [s.request.message.key, s.at - T0]));
    expect(smsSentAt).toEqual({ a: 60_000, b: 10_000, c: 0 });
    expect(push.sends.map((s) => s.request.message.key)).toEqual(['a', 'b', 'c']);
    for (const key of ['a', 'b', 'c']) expect((await router.get(key))?.status).toBe('delivered');
    await router.close();
  });

  it('draws outcomes from shares with a seed: the same seed repeats the run exactly, and the shares come out near their values', async () => {
    const draw = async (seed: number) => {
      const clock = new SimulatedClock(T0);
      const received: string[] = [];
      const provider = fakeProvider({ clock, seed, deliver: (r) => received.push(r.status), outcome: { delivered: 0.6, failed: 0.1, errors: 0.1, latency: ['1s', '9s'] } });
      const outcomes: string[] = [];
      for (let i = 0; i < 2000; i++) {
        const request = { channel: 'sms', provider: 'sms', address: 'x', message: message(`k${i}`), recipient, content: { text: 'x' }, idempotencyKey: `k${i}`, cascadeId: `k${i}`, try: 1, signal: new AbortController().signal };
        outcomes.push(await provider.send(request).then(() => 'accepted', () => 'error'));
      }
      await clock.runAll();
      return { outcomes, received, latencies: provider.receipts.map((r, i) => r.at - provider.sends.filter((s) => s.providerMessageId !== undefined && s.outcome.status !== 'silent')[i]!.at) };
    };
    const one = await draw(7);
    expect(await draw(7)).toEqual(one);
    const share = (list: string[], value: string) => list.filter((x) => x === value).length / 2000;
    // Binomial(2000, p): 4 standard deviations is under 0.045 for every share here.
    expect(Math.abs(share(one.received, 'delivered') - 0.6)).toBeLessThan(0.045);
    expect(Math.abs(share(one.received, 'failed') - 0.1)).toBeLessThan(0.03);
    expect(Math.abs(share(one.outcomes, 'error') - 0.1)).toBeLessThan(0.03);
    expect(Math.min(...one.latencies)).toBeGreaterThanOrEqual(1_000);
    expect(Math.max(...one.latencies)).toBeLessThanOrEqual(9_000);
  });
});

describe('a SendError from another copy of the package (as cascade-router/testing\'s CJS build throws)', () => {
  it('keeps its permanence and its provider code: the step falls back at once, and the attempt records the code', async () => {
    const clock = new SimulatedClock(T0);
    // What a second copy's SendError looks like to this one: another class with the shared brand.
    const foreign = Object.assign(new Error('Invalid number'), { [Symbol.for('cascade-router.error')]: true, code: 'SEND_FAILED', permanent: true, providerCode: '21211' });
    const router = createRouter({
      clock,
      channels: {
        sms: { kind: 'sms', cost: '0.05', send: async () => { throw foreign; }, confirm: { timeout: '5m' } },
        email: { kind: 'email', cost: '0.06', send: async () => 'e-1', confirm: { timeout: '5m' } },
      },
    });
    await router.send(message('foreign'), { id: 'r', addresses: { sms: '+380501234567', email: 'a@example.com' } });
    await router.settled();
    const cascade = await router.get('foreign');
    expect(cascade?.attempts.map((a) => [a.channel, a.outcome, a.error?.code])).toEqual([
      ['sms', 'send-error', '21211'],
      ['email', undefined, undefined],
    ]);
    expect(clock.now()).toBe(T0);
    await router.close();
  });
});

describe('fakeProvider in real time, posting signed webhooks to a real server', () => {
  it('the server verifies each Twilio callback and hands it to the router: the cascade is delivered', async () => {
    const authToken = 'test-auth-token';
    let router!: ReturnType<typeof createRouter>;
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      req.on('end', () => {
        const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}${req.url ?? ''}`;
        try {
          verifyTwilioSignature({ url, headers: req.headers, body }, { authToken });
        } catch {
          res.writeHead(403).end();
          return;
        }
        void Promise.all(twilioReceipts(body).map((r) => router.handleReceipt(r))).then(() => res.writeHead(204).end());
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/twilio/status`;
    const statuses: number[] = [];
    const sms = fakeProvider({
      name: 'twilio',
      outcome: { status: 'delivered', after: 20 },
      deliver: async (receipt) => {
        const request = signTwilioWebhook({ url, authToken, params: { MessageSid: receipt.providerMessageId, MessageStatus: receipt.status, AccountSid: 'AC1' } });
        const response = await fetch(request.url, { method: 'POST', headers: request.headers, body: request.body });
        statuses.push(response.status);
      },
    });
    router = createRouter({ channels: { sms: { kind: 'sms', cost: '0.05', provider: 'twilio', send: sms.send, confirm: { timeout: '1m' } } } });
    try {
      const { cascadeId } = await router.send(message('real-1'), recipient);
      const deadline = Date.now() + 5_000;
      // Bounded wait on the condition: the provider has its answer and the cascade its receipt.
      while ((statuses.length === 0 || (await router.get(cascadeId))?.status !== 'delivered') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
      expect((await router.get(cascadeId))?.status).toBe('delivered');
      expect(statuses).toEqual([204]);
    } finally {
      sms.stop();
      await router.close();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
