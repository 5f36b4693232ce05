import { describe, expect, it } from 'vitest';
import { createRouter, InvalidConfigError, type ChannelConfig } from 'cascade-router';
import { resolveChannels } from '../src/core/channels.js';

const send = async (): Promise<string> => 'id';

describe('channel declarations', () => {
  it('apply the documented defaults', () => {
    const push = resolveChannels({ push: { kind: 'push', send } }).get('push')!;
    expect({ ...push, address: undefined }).toEqual({
      name: 'push',
      kind: 'push',
      providers: [{ name: 'push', send, cost: 0, fixedCostMicros: 0, weight: 1, receipts: undefined, retry: { retries: 3, minDelayMs: 1_000, maxDelayMs: 60_000, factor: 2 } }],
      multiProvider: false,
      providerOrder: 'price',
      cost: 0,
      fixedCostMicros: 0,
      billing: 'sent',
      confirmBy: 'receipt',
      timeoutMs: 600_000,
      adaptive: { minMs: 1_000, maxMs: 600_000 },
      success: 'delivered',
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
    expect([telegram.success, telegram.providers[0]!.retry]).toEqual(['accepted', undefined]);
  });

  it.each([
    [{}, 'Expected `channels` to declare at least one channel, got none'],
    [{ sms: { kind: 'pager', send } }, 'Invalid channel "sms": `kind`'],
    [{ sms: { kind: 'sms' } }, 'Expected channel "sms" to have exactly one of `send` or `providers`'],
    [{ sms: { kind: 'sms', send, providers: [{ name: 'a', send }] } }, 'Expected channel "sms" to have exactly one of `send` or `providers`'],
    [{ sms: { kind: 'sms', providers: [] } }, 'Expected `channels.sms.providers` to list at least one provider'],
    [{ sms: { kind: 'sms', providers: [{ name: 'a', send }, { name: 'a', send }] } }, 'Expected `channels.sms.providers[1].name` to be unique in the channel, got "a" twice'],
    [{ sms: { kind: 'sms', provider: 'twilio', providers: [{ name: 'a', send }] } }, 'Expected `channels.sms.provider` to be left out with `providers`'],
    [{ sms: { kind: 'sms', providers: [{ name: 'a', send, weight: 0 }] } }, 'Invalid channel "sms": `providers.0.weight`'],
    [{ sms: { kind: 'sms', providers: [{ name: 'a', send, retry: { minDelay: 'soon' } }] } }, 'Expected `channels.sms.providers[0].retry.minDelay`'],
    [{ sms: { kind: 'sms', send, confirm: { timeout: 0 } } }, 'Expected `channels.sms.confirm.timeout` to be a positive duration, got 0'],
    [{ sms: { kind: 'sms', send, billing: 'monthly' } }, 'Invalid channel "sms": `billing`'],
  ])('reject %j with InvalidConfigError', (channels, message) => {
    expect(() => createRouter({ channels: channels as Record<string, ChannelConfig> })).toThrow(InvalidConfigError);
    expect(() => createRouter({ channels: channels as Record<string, ChannelConfig> })).toThrow(message);
  });
});
