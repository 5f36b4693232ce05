import * as lib from 'cascade-router';
import { describe, expect, it } from 'vitest';
import { replaceSection } from '../bench/routing/docs.js';
import { jsonSummary } from '../bench/routing/report.js';
import { simulate, type Simulation } from '../bench/routing/simulate.js';
import { STRATEGIES } from '../bench/routing/strategies.js';
import { runFamily, STRESS_CASES } from '../bench/routing/family.js';
import { DEFAULT_PARAMS, drawParams } from '../bench/routing/params.js';

// The routing-cost simulator (bench/routing/) on a tiny workload, through the sources.
const MESSAGES = 2000;
let first: Simulation;

describe('routing-cost benchmark', () => {
  it('runs every strategy over the same world', async () => {
    first = await simulate({ lib, messages: MESSAGES, seed: 7 });
    expect(Object.keys(first.figures)).toEqual(['smsOnly', 'broadcast', 'staticCascade', 'costAware', 'learned', 'reachOracle', 'clairvoyant']);
    for (const f of Object.values(first.figures)) expect(f.messages).toBe(MESSAGES);
  }, 60_000);

  it('no strategy delivers more, or more cheaply per delivered message, than the clairvoyant bound', () => {
    const bound = first.figures['clairvoyant']!;
    const boundCost = lib.toMicros(bound.costPerDelivered);
    for (const [key, f] of Object.entries(first.figures)) {
      expect(f.delivered, key).toBeLessThanOrEqual(bound.delivered);
      expect(lib.toMicros(f.costPerDelivered), key).toBeGreaterThanOrEqual(boundCost);
      expect(f.costRatio ?? 1, key).toBeGreaterThanOrEqual(1);
    }
  });

  it('cascades reach nearly everyone the bound reaches, and pay no more than SMS only per delivered message', () => {
    const f = first.figures;
    expect(f['costAware']!.deliveryRate).toBeGreaterThanOrEqual(f['clairvoyant']!.deliveryRate - 0.03);
    expect(f['costAware']!.deliveryRate).toBeGreaterThan(f['smsOnly']!.deliveryRate);
    expect(lib.toMicros(f['costAware']!.costPerDelivered)).toBeLessThan(lib.toMicros(f['smsOnly']!.costPerDelivered));
    expect(lib.toMicros(f['costAware']!.costPerDelivered)).toBeLessThan(lib.toMicros(f['broadcast']!.costPerDelivered));
  });

  it('per-channel spend sums to the total exactly, and double spend is part of it', () => {
    for (const { key, outcome } of first.results) {
      const channels = Object.values(outcome.channels);
      expect(channels.every((c) => Number.isSafeInteger(c.spendMicros)), key).toBe(true);
      expect(channels.reduce((sum, c) => sum + c.spendMicros, 0), key).toBe(outcome.spendMicros);
      expect(outcome.doubleSpendMicros, key).toBeGreaterThanOrEqual(0);
      expect(outcome.doubleSpendMicros, key).toBeLessThanOrEqual(outcome.spendMicros);
    }
    expect(first.figures['smsOnly']!.doubleSpend).toBe('0.00');
    expect(first.figures['clairvoyant']!.doubleSpend).toBe('0.00');
  });

  it('SMS only sends nothing but SMS; the bound sends one message per delivered message', () => {
    const sms = first.results.find((r) => r.key === 'smsOnly')!.outcome.channels;
    expect(Object.entries(sms).filter(([, c]) => c.sent > 0).map(([name]) => name)).toEqual(['sms']);
    const bound = first.results.find((r) => r.key === 'clairvoyant')!.outcome;
    expect(Object.values(bound.channels).reduce((n, c) => n + c.sent, 0)).toBe(bound.delivered);
  });

  it('the same seed gives the same JSON; another seed another world', async () => {
    const again = await simulate({ lib, messages: MESSAGES, seed: 7 });
    expect(JSON.stringify(jsonSummary(again.figures))).toBe(JSON.stringify(jsonSummary(first.figures)));
    const bound = STRATEGIES.filter((s) => s.key === 'clairvoyant');
    const other = await simulate({ lib, messages: MESSAGES, seed: 8, strategies: bound });
    expect(other.figures['clairvoyant']!.spend).not.toBe(first.figures['clairvoyant']!.spend);
  }, 60_000);

  it('writes only between the routing markers of docs/benchmarks.md', () => {
    const doc = '# Benchmarks\n\nkept\n\n<!-- routing:start -->\nold\n<!-- routing:end -->\ntail\n';
    expect(replaceSection(doc, 'new table')).toBe('# Benchmarks\n\nkept\n\n<!-- routing:start -->\nnew table\n<!-- routing:end -->\ntail\n');
  });

  it('the family in its small size: test seeds apart from training seeds, the spread per strategy, every stress case', async () => {
    const { family, stress } = await runFamily({ lib, messages: 400, trainSeeds: [101], testSeeds: [201, 202], stressSeeds: [301] });
    expect(family.testSeeds.some((s) => family.trainSeeds.includes(s))).toBe(false);
    expect(Object.keys(family.populations)).toEqual(['201', '202']);
    expect(Object.keys(family.strategies)).toEqual(['smsOnly', 'costAware', 'learnedDefault', 'learned', 'reachOracle', 'clairvoyant']);
    for (const pop of Object.values(family.populations)) {
      for (const [key, f] of Object.entries(pop)) {
        expect(f.costRatio, key).toBeGreaterThanOrEqual(1);
        expect(f.deliveryRate, key).toBeLessThanOrEqual(pop['clairvoyant']!.deliveryRate);
      }
      expect(pop['smsOnly']!.doubleSpendShare).toBe(0);
    }
    for (const s of Object.values(family.strategies)) expect(s.costRatio.worst!).toBeGreaterThanOrEqual(s.costRatio.median!);
    expect(Object.keys(stress)).toEqual(Object.keys(STRESS_CASES));
    expect(stress['loseChannel']!.strategies['costAware']!.lostHandled.median).not.toBeNull();
    expect(stress['otpOnly']!.strategies['smsOnly']!.otpInTime.median).not.toBeNull();
  }, 120_000);

  it('draws different bases from different seeds, the same from the same, within the ranges', () => {
    expect(drawParams(5)).toEqual(drawParams(5));
    expect(drawParams(5)).not.toEqual(drawParams(6));
    for (let seed = 1; seed < 50; seed++) {
      const p = drawParams(seed);
      expect(p.emailBounce).toBeGreaterThanOrEqual(0.002);
      expect(p.emailBounce).toBeLessThanOrEqual(0.02);
      expect(p.pushOptIn.ios).toBeLessThanOrEqual(0.6);
      expect(Object.values(p.countryShare).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 3);
    }
    expect(DEFAULT_PARAMS.smsPerSegment.UA).toBe('0.1747');
  });
});
