import type { ReceiptError } from '../core/types.js';

/**
 * Whose fault a failure is: `recipient` (the address is wrong, unreachable or refuses: another provider of the
 * same channel would fail too) or `provider` (queue, account, route, throttling, filtering: another provider may
 * succeed). Each normalizer maps its provider's codes; an unmapped code leaves it unknown.
 */
export type Fault = NonNullable<ReceiptError['fault']>;

/**
 * Whose fault an SMTP enhanced status code (RFC 3463 `class.subject.detail`) says a bounce is: subjects 1
 * (addressing: no such user, bad domain) and 2 (mailbox: full, disabled) are the recipient's; 4 (network and
 * routing) and 7 (security and policy: blocklists, reputation, authentication) the sending side's. Others,
 * and text that is not such a code, are unknown.
 */
export function smtpFault(code: string | undefined): Fault | undefined {
  const subject = code === undefined ? undefined : /^[245]\.(\d{1,3})\.\d{1,3}\b/.exec(code.trim())?.[1];
  if (subject === '1' || subject === '2') return 'recipient';
  if (subject === '4' || subject === '7') return 'provider';
  return undefined;
}
