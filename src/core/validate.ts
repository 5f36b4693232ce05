import type { ResolvedChannel } from './channels.js';
import { toMs } from './duration.js';
import { InvalidInputError } from './errors.js';
import { toMicros, toMicrosPerMs } from './money.js';
import { assertTimeZone, parseClockTime } from './quiet-hours.js';
import { isCountry } from './phone.js';
import { fastMessage, fastRecipient } from './fast-parse.js';
import { messageSchema, parse, recipientSchema } from './schema.js';
import type { ChannelEstimate, Message, Recipient } from './types.js';

/** Validates a message at the public edge: shape, channel names, durations, amounts. */
export function validateMessage(value: unknown, channels: ReadonlyMap<string, ResolvedChannel>): Message {
  const message = fastMessage(value) ?? (parse(messageSchema, value, 'message') as Message);
  const known = (names: Iterable<string>, field: string): void => {
    for (const name of names) {
      if (!channels.has(name)) {
        throw new InvalidInputError(`Expected \`${field}\` to name declared channels (${[...channels.keys()].join(', ')}), got "${name}"`);
      }
    }
  };
  if (message.channels) known(message.channels, 'channels');
  if (message.delays) {
    known(Object.keys(message.delays), 'delays');
    for (const [name, delay] of Object.entries(message.delays)) toMs(delay, `delays.${name}`);
  }
  if (message.success && typeof message.success === 'object') known(Object.keys(message.success), 'success');
  if (message.content.channels) known(Object.keys(message.content.channels), 'content.channels');
  if (message.content.text === '' && !hasOverrideText(message)) {
    throw new InvalidInputError('Expected `content.text` to be a non-empty string (or `content.sms` or `content.channels.<name>.text` to give the channels text), got ""');
  }
  if (message.maxCost !== undefined) toMicros(message.maxCost, 'maxCost');
  if (message.policy?.valueOfTime !== undefined) toMicrosPerMs(message.policy.valueOfTime, 'policy.valueOfTime');
  if (message.deadline !== undefined && toMs(message.deadline, 'deadline') <= 0) {
    throw new InvalidInputError(`Expected \`deadline\` to be a positive duration, got ${JSON.stringify(message.deadline)}`);
  }
  if (message.sendAt !== undefined && !Number.isFinite(+message.sendAt)) {
    throw new InvalidInputError(`Expected \`sendAt\` to be a valid date, got ${String(message.sendAt)}`);
  }
  return message;
}

function hasOverrideText(message: Message): boolean {
  if (message.content.sms) return true;
  for (const override of Object.values(message.content.channels ?? {})) if (override.text) return true;
  return false;
}

/** Validates a recipient at the public edge, including its time zone and quiet hours. */
export function validateRecipient(value: unknown): Recipient {
  const recipient = fastRecipient(value) ?? (parse(recipientSchema, value, 'recipient') as Recipient);
  if (recipient.timeZone !== undefined) assertTimeZone(recipient.timeZone);
  if (recipient.country !== undefined && !isCountry(recipient.country)) {
    throw new InvalidInputError(`Expected \`country\` to be an ISO 3166-1 alpha-2 country code such as "UA", got ${JSON.stringify(recipient.country)}`);
  }
  if (recipient.quietHours) {
    parseClockTime(recipient.quietHours.start, 'quietHours.start');
    parseClockTime(recipient.quietHours.end, 'quietHours.end');
  }
  return recipient;
}

/** Validates learned estimates handed to a dry run: a Map by channel name of probabilities, latencies and waits. */
export function validateEstimates(value: unknown): ReadonlyMap<string, ChannelEstimate> {
  if (!(value instanceof Map)) throw new InvalidInputError(`Expected \`estimates\` to be a Map by channel name, got ${describe(value)}`);
  for (const [name, estimate] of value as Map<unknown, unknown>) {
    const field = `estimates.${String(name)}`;
    if (typeof estimate !== 'object' || estimate === null) throw new InvalidInputError(`Expected \`${field}\` to be an estimate, got ${describe(estimate)}`);
    const { probability, latencyMs, waitMs } = estimate as Record<string, unknown>;
    validateProbability(probability, `${field}.probability`);
    if (typeof latencyMs !== 'number' || !Number.isFinite(latencyMs) || latencyMs < 0) {
      throw new InvalidInputError(`Expected \`${field}.latencyMs\` to be a non-negative number of milliseconds, got ${describe(latencyMs)}`);
    }
    if (waitMs !== undefined && (typeof waitMs !== 'number' || !Number.isFinite(waitMs) || waitMs <= 0)) {
      throw new InvalidInputError(`Expected \`${field}.waitMs\` to be a positive number of milliseconds, got ${describe(waitMs)}`);
    }
  }
  return value as ReadonlyMap<string, ChannelEstimate>;
}

/** Validates a probability (an estimate's, or the threshold below which channels are `unlikely`). */
export function validateProbability(value: unknown, field: string): number {
  if (typeof value !== 'number' || !(value >= 0 && value <= 1)) {
    throw new InvalidInputError(`Expected \`${field}\` to be a number from 0 to 1, got ${describe(value)}`);
  }
  return value;
}

function describe(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : value instanceof Map ? 'a Map' : Array.isArray(value) ? 'an array' : String(value);
}
