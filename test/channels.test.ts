import { describe, expect, it } from 'vitest';
import { createRouter, InvalidConfigError, type ChannelConfig } from 'cascade-router';
import { resolveChannels } from '../src/channels.js';

const send = async (): Promise<string> => 'id';

describe('channel declarations', () => {
  it('apply the documented defaults', () => {
    const push = resolveChannels({ push: { kind: 'push', send } }).get('push')!;
    expect({ ...push, send: undefined, address: undefined }).toEqual({
      name: 'push',
      kind: 'push',
      send: undefined,
      cost: 0,
      fixedCostMicros: 0,
      billing: 'sent',
      confirmBy: 'receipt',
      timeoutMs: 600_000,
      adaptive: { minMs: 1_000, maxMs: 600_000 },
      success: 'delivered',
      retry: { retries: 3, minDelayMs: 1_000, maxDelayMs: 60_000, factor: 2 },
      address: undefined,
      learnAs: 'push',
      order: 0,
    });
    expect(push.address({ id: 'r', addresses: { push: 'token' } })).toBe('token');
  });

  it('takes adaptive wait bounds and a learnAs name, and rejects bounds that cannot hold', () => {
    const resolved = resolveChannels({
      sms: { kind: 'sms', send, confirm: { timeout: '5m', adaptive: { min: '10s', max: '1h' } }, learnAs: 'twilio-sms' },
      push: { kind: 'push', send, confirm: { adaptive: false } },
    });
    expect([resolved.get('sms')!.adaptive, resolved.get('sms')!.learnAs]).toEqual([{ minMs: 10_000, maxMs: 3_600_000 }, 'twilio-sms']);
    expect(resolved.get('push')!.adaptive).toBeUndefined();
    expect(() => resolveChannels({ sms: { kind: 'sms', send, confirm: { adaptive: { min: '2m', max: '1m' } } } })).toThrow(
      'Expected `channels.sms.confirm.adaptive` to have 0 < min <= max, got min 120000 ms and max 60000 ms',
    );
    expect(() => resolveChannels({ sms: { kind: 'sms', send, learnAs: '' } as never })).toThrow(InvalidConfigError);
  });

  it('confirming by acceptance makes the success level accepted; retry: false disables retries', () => {
    const telegram = resolveChannels({ telegram: { kind: 'messenger', send, confirm: { by: 'acceptance' }, success: 'read', retry: false } }).get('telegram')!;
    expect([telegram.success, telegram.retry]).toEqual(['accepted', undefined]);
  });

  it.each([
    [{}, 'Expected `channels` to declare at least one channel, got none'],
    [{ sms: { kind: 'pager', send } }, 'Invalid channel "sms": `kind`'],
    [{ sms: { kind: 'sms' } }, 'Invalid channel "sms": `send`'],
    [{ sms: { kind: 'sms', send, confirm: { timeout: 0 } } }, 'Expected `channels.sms.confirm.timeout` to be a positive duration, got 0'],
    [{ sms: { kind: 'sms', send, billing: 'monthly' } }, 'Invalid channel "sms": `billing`'],
  ])('reject %j with InvalidConfigError', (channels, message) => {
    expect(() => createRouter({ channels: channels as Record<string, ChannelConfig> })).toThrow(InvalidConfigError);
    expect(() => createRouter({ channels: channels as Record<string, ChannelConfig> })).toThrow(message);
  });
});
