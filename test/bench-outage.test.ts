import * as lib from 'cascade-router';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { outageBench, outageMarkdown, type OutageBench } from '../bench/outage.js';
import { busiestWindow } from '../bench/outage/blast.js';
import { busiestWindow as windowOracle } from './support/windows.js';

// The outage benchmark (bench/outage*) on a tiny workload, through the sources.
const MESSAGES = 1500;
const BLAST = 3000;
let bench: OutageBench;

describe('outage benchmark', () => {
  it('runs every outage with one and two providers, before and after, and the blast', async () => {
    bench = await outageBench({ lib, messages: MESSAGES, blast: BLAST, seed: 3 });
    expect(Object.keys(bench.runs)).toEqual(['one', 'two']);
    for (const providers of ['one', 'two'] as const) {
      expect(Object.keys(bench.runs[providers])).toEqual(['before', 'after']);
      for (const mode of ['before', 'after'] as const) expect(Object.keys(bench.runs[providers][mode])).toEqual(['none', 'failing', 'silent']);
    }
    expect(Object.keys(bench.blast)).toEqual(['before', 'after']);
    expect(bench.targets.map((t) => t.name)).toEqual([
      'two providers, failing: spend per message',
      'two providers, failing: failed deliveries',
      'two providers, silent: spend per message',
      'two providers, silent: failed deliveries',
      'one provider, silent: double spend',
      'one provider, silent: p95 time to delivery',
      `blast of ${BLAST.toLocaleString('en')}: busiest window`,
    ]);
    for (const t of bench.targets) expect(typeof t.met).toBe('boolean');
    expect(outageMarkdown(bench)).toContain('| target |');
    expect(JSON.parse(JSON.stringify(bench))).toEqual(bench);
  }, 120_000);

  it("every run's spend is what the providers invoice: WhatsApp per delivery receipt posted, SMS per send accepted", () => {
    for (const providers of ['one', 'two'] as const) {
      for (const mode of ['before', 'after'] as const) {
        for (const [outage, f] of Object.entries(bench.runs[providers][mode])) {
          const receipts = (f.deliveredReceipts['wa-a'] ?? 0) + (f.deliveredReceipts['wa-b'] ?? 0);
          // P5 and P2 (bench/outage/world.ts): 0.0456 and 0.075, in micro-units.
          expect(f.day.spendMicros, `${providers} ${mode} ${outage}`).toBe(45_600 * receipts + 75_000 * (f.accepted['sms'] ?? 0));
        }
      }
    }
  });

  it('each slice adds up: delivered and not, double spend within spend, the same window of messages in every run', () => {
    const windows = new Set<number>();
    for (const providers of ['one', 'two'] as const) {
      for (const mode of ['before', 'after'] as const) {
        for (const f of Object.values(bench.runs[providers][mode])) {
          for (const s of [f.window, f.day]) {
            expect(s.delivered + s.undelivered).toBe(s.messages);
            expect(s.doubleSpendMicros).toBeGreaterThanOrEqual(0);
            expect(s.doubleSpendMicros).toBeLessThanOrEqual(s.spendMicros);
            expect(s.p50Ms).toBeLessThanOrEqual(s.p95Ms);
          }
          expect(f.day.messages).toBe(MESSAGES);
          windows.add(f.window.messages);
        }
      }
    }
    expect(windows.size).toBe(1);
    // Only `after` has breakers, and without an outage none opens.
    for (const providers of ['one', 'two'] as const) {
      for (const f of Object.values(bench.runs[providers].before)) expect(f.providerDown).toBe(0);
      expect(bench.runs[providers].after.none.providerDown).toBe(0);
    }
  });

  it("the paced blast cannot have gone faster than the provider's rate allows, and the provider never refused it", () => {
    const { after, before } = bench.blast;
    expect(after.blastSent).toBe(BLAST);
    expect(after.throttled).toBe(0);
    // At most `limit` calls in any second: N sends take at least N / limit - 1 seconds after the first.
    expect(after.drainMs).toBeGreaterThanOrEqual((BLAST / after.limit - 1) * 1000);
    expect(after.busiestWindow).toBeLessThanOrEqual(after.limit);
    // Unpaced, the flood exceeds the rate and the provider refuses most of it.
    expect(before.busiestWindow).toBeGreaterThan(before.limit);
    expect(before.throttled).toBeGreaterThan(0);
  });

  it("the benchmark's busiest window matches a separate count over every half-open window", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 5000 }), { maxLength: 200 }), fc.integer({ min: 1, max: 1500 }), (times, windowMs) => {
        const sorted = [...times].sort((a, b) => a - b);
        expect(busiestWindow(sorted, windowMs)).toBe(windowOracle(sorted, windowMs));
      }),
    );
  });
});
