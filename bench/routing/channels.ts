/**
 * The router's channel declarations and the fake providers behind them. Two channel profiles, as a
 * deployment would have (and as story 6 does): `general` waits as long as each channel's receipts
 * usually take; `otp` (channels `otp-push`, `otp-sms`, …, same addresses) waits seconds, so a 2-minute
 * deadline leaves room for several channels. One router declares both (each router on a SimulatedClock
 * costs a settle per fired timer, so one router runs twice as fast as two).
 */
import { CHANNELS, truth, type Channel, type Truth } from './behaviour.js';
import { costModels } from './prices.js';
import type { ChannelConfig, Library, SendFunction } from './library.js';
import type { Job } from './workload.js';
import type { Params, Stress } from './params.js';

export type Profile = 'general' | 'otp';

const KIND: Readonly<Record<Channel, ChannelConfig['kind']>> = {
  push: 'push',
  email: 'email',
  viber: 'messenger',
  telegram: 'messenger',
  whatsapp: 'messenger',
  sms: 'sms',
};

/** Fixed waits per channel (A22); the DESIGN.md sketch's for `general`, story 6's for `otp`. */
export const TIMEOUTS: Readonly<Record<Profile, Readonly<Record<Channel, string>>>> = {
  general: { push: '2m', email: '30m', viber: '10m', telegram: '1m', whatsapp: '10m', sms: '5m' },
  otp: { push: '15s', email: '5m', viber: '30s', telegram: '15s', whatsapp: '30s', sms: '1m' },
};

export function profileOf(job: Job): Profile {
  return job.story === 'otp' ? 'otp' : 'general';
}

/** The router's name for a channel in a profile: `sms`, `otp-sms`. */
export function channelName(profile: Profile, channel: Channel): string {
  return profile === 'otp' ? `otp-${channel}` : channel;
}

/** `otp-sms` → `sms`. */
export function baseChannel(name: string): string {
  return name.startsWith('otp-') ? name.slice(4) : name;
}

/** The job's channels under its profile's names, in the given order. */
export function channelsFor(job: Job, channels: readonly Channel[] = CHANNELS): string[] {
  const profile = profileOf(job);
  return channels.map((channel) => channelName(profile, channel));
}

/** What a fake provider needs from the world: the job a message belongs to, the time, where to put receipts. */
export interface ProviderWorld {
  readonly seed: number;
  readonly jobs: readonly Job[];
  now(): number;
  /** Schedules a provider callback (a receipt). */
  receipt(at: number, providerMessageId: string, status: 'delivered' | 'read' | 'failed', error: string | undefined): void;
  /** The base's prices. */
  readonly params: Params;
  /** A stress case: this provider fails every send in the window. */
  readonly outage?: Stress['outage'];
}

export function declareChannels(lib: Library, world: ProviderWorld): Record<string, ChannelConfig> {
  const models = costModels(lib, world.params);
  const channels: Record<string, ChannelConfig> = {};
  for (const profile of ['general', 'otp'] as const) {
    for (const channel of CHANNELS) {
      const timeout = TIMEOUTS[profile][channel];
      channels[channelName(profile, channel)] = {
        kind: KIND[channel],
        ...models[channel],
        send: fakeProvider(lib, channel, profile, world),
        confirm: channel === 'telegram' ? { by: 'acceptance', timeout } : { timeout },
        ...(profile === 'otp' ? { address: (recipient) => recipient.addresses[channel], learnAs: channel } : {}),
      };
    }
  }
  return channels;
}

/** A provider that consults the hidden truth and schedules its receipts at the simulated latency. */
function fakeProvider(lib: Library, channel: Channel, profile: Profile, world: ProviderWorld): SendFunction {
  let seq = 0;
  const prefix = `${profile === 'otp' ? 'o' : 'g'}-${channel}-`;
  return async (request) => {
    const job = world.jobs[Number(request.message.metadata?.['job'])]!;
    const outage = world.outage;
    if (outage !== undefined && outage.channel === channel && world.now() >= outage.fromMs && world.now() < outage.toMs) {
      throw new lib.SendError('503 Service Unavailable', { retryAfterMs: 1000 });
    }
    const t: Truth = truth(world.seed, job, channel);
    if (request.try <= t.transient) {
      throw new lib.SendError(channel === 'sms' ? '429 Too Many Requests' : '503 Service Unavailable', { retryAfterMs: 1000 });
    }
    if (t.kind === 'rejected') throw new lib.SendError(t.error, { permanent: true });
    const providerMessageId = `${prefix}${++seq}`;
    const now = world.now();
    for (const [status, after, error] of t.receipts) world.receipt(now + after, providerMessageId, status, error);
    return providerMessageId;
  };
}
