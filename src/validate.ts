import type { ResolvedChannel } from './channels.js';
import { toMs } from './duration.js';
import { InvalidInputError } from './errors.js';
import { toMicros } from './money.js';
import { assertTimeZone, parseClockTime } from './quiet-hours.js';
import { messageSchema, parse, recipientSchema } from './schema.js';
import type { Message, Recipient } from './types.js';

/** Validates a message at the public edge: shape, channel names, durations, amounts. */
export function validateMessage(value: unknown, channels: ReadonlyMap<string, ResolvedChannel>): Message {
  const message = parse(messageSchema, value, 'message') as Message;
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
  if (message.maxCost !== undefined) toMicros(message.maxCost, 'maxCost');
  if (message.deadline !== undefined && toMs(message.deadline, 'deadline') <= 0) {
    throw new InvalidInputError(`Expected \`deadline\` to be a positive duration, got ${JSON.stringify(message.deadline)}`);
  }
  if (message.sendAt !== undefined && !Number.isFinite(+message.sendAt)) {
    throw new InvalidInputError(`Expected \`sendAt\` to be a valid date, got ${String(message.sendAt)}`);
  }
  return message;
}

/** Validates a recipient at the public edge, including its time zone and quiet hours. */
export function validateRecipient(value: unknown): Recipient {
  const recipient = parse(recipientSchema, value, 'recipient') as Recipient;
  if (recipient.timeZone !== undefined) assertTimeZone(recipient.timeZone);
  if (recipient.quietHours) {
    parseClockTime(recipient.quietHours.start, 'quietHours.start');
    parseClockTime(recipient.quietHours.end, 'quietHours.end');
  }
  return recipient;
}
