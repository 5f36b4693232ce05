import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { tour } from '../docs/examples/api-tour.js';
import { learningTour } from '../docs/examples/learning.js';
import { providersTour } from '../docs/examples/providers.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));

describe('docs/examples', () => {
  it('the API tour prints what each call returned', async () => {
    expect(await tour()).toEqual([
      '0.1 × 10 = 1.00',
      "'1h30m' = 5400000 ms",
      'Cyrillic SMS: UCS-2, 94 units, 2 segments',
      'quiet hours end: 2026-01-16T06:00:00.000Z',
      'dry run: push 0.00 → viber 0.012 → sms 0.032; at most 0.044',
      'left out: email (no-consent)',
      'early receipt: held',
      '  event skipped: email (no-consent)',
      '  event attempt: push spend 0.00',
      '  event fallback: push spend 0.00',
      '  event attempt: viber spend 0.00',
      '  event sent: viber spend 0.00',
      '  event receipt: viber spend 0.00',
      'send: created true; again: created false',
      '  event receipt: viber spend 0.012',
      '  event delivered: viber spend 0.012',
      'delivered: applied',
      'duplicate: duplicate',
      'older: stale',
      'cascade delivered, spend 0.012',
      'malformed: INVALID_RECEIPT',
      'cancel: already-ended; unknown id: not-found',
      '429 is transient; 400 is permanent',
      'core: send → after the timeout fallback,attempt',
    ]);
  });

  it('the learning example learns who push and Viber reach, adapts the push wait and reports the saving', async () => {
    expect(await learningTour()).toEqual([
      'before: bob: push 120s → viber 600s → sms 300s',
      'after:  ann: push 3s → viber 600s → sms 300s',
      // Viber is billed on delivery and fails in 2 s for Bob: with money alone it costs nothing to try, so it
      // is no longer skipped (issue #13: a skip must save money); it never reached anyone, so it is never lost.
      'after:  bob: viber 600s → sms 300s; skipped push (unlikely)',
      '24 messages, 24 delivered, spent 0.60, double spend 0.00',
      // Bob's push: 4 misses take it for lost ((4/9)^4 = 0.039 <= 0.05 against push's channel-wide reach,
      // (3/7)^3 = 0.079 is not), then a probe after each 3 messages without it (rounds 7 and 11): 6 sends, not 7.
      '  push: 18 sent, 12 delivered, 0.00',
      '  sms: 12 sent, 12 delivered, 0.60',
      '  viber: 12 sent, 0 delivered, 0.00',
      'SMS only would have cost 1.20: saved 0.60',
    ]);
  });

  it('the providers example fails over from a failing SMS provider, routes around it once its breaker opens, and finds it back', async () => {
    expect(await providersTour()).toEqual([
      'three codes through twilio, the cheaper',
      '  failover: sms twilio → vonage (send-error)',
      '  failover: sms twilio → vonage (send-error)',
      '  provider-down: twilio (errors)',
      '  failover: sms twilio → vonage (send-error)',
      'twilio failing: open; the codes went through vonage',
      '  provider-up: twilio',
      'after the cool-down a probe finds twilio back: closed',
      'bounced email: email/sendgrid send-error, sms/twilio waiting',
      'sms: 13 sent, 0.1075 (twilio 5 sent, 0.0395; vonage 8 sent, 0.068)',
    ]);
  });

  it('the README quickstart runs and delivers by push', async () => {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'docs/examples/quickstart.ts'], { cwd: root, timeout: 60_000 });
    expect(stdout).toBe('plan: push → email → sms\ndelivered by push, spent 0.00\n');
  });
});
