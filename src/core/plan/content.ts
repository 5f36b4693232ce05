/** What a message asks of each channel: the content it sends there, the success it waits for, and quiet hours. */
import type { ResolvedChannel } from '../channels.js';
import { own } from '../own.js';
import type { Content, Message, Recipient, SuccessLevel } from '../types.js';

/** The content a channel sends: SMS text for SMS channels, then the channel's own overrides. */
export function contentFor(message: Message, channel: ResolvedChannel): Content {
  const base = message.content;
  const override = own(base.channels, channel.name);
  if (!override && (channel.kind !== 'sms' || base.sms === undefined)) return base;
  const text = channel.kind === 'sms' && base.sms !== undefined ? base.sms : base.text;
  return { text: override?.text ?? text, subject: override?.subject ?? base.subject, html: override?.html ?? base.html };
}

/** The success level a message wants on a channel. */
export function successFor(message: Message, channel: ResolvedChannel): SuccessLevel {
  if (channel.confirmBy === 'acceptance') return 'accepted';
  const wanted = message.success;
  if (wanted === undefined) return channel.success;
  if (typeof wanted === 'string') return wanted;
  return own(wanted, channel.name) ?? channel.success;
}

/** Whether the recipient's quiet hours hold this message back (an OTP ignores them unless its policy says otherwise). */
export function quietHoursApply(message: Message, recipient: Recipient): boolean {
  if (!recipient.quietHours) return false;
  const policy = message.policy?.quietHours ?? (message.category === 'otp' ? 'ignore' : 'respect');
  return policy === 'respect';
}
