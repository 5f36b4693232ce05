/**
 * The population family: the same strategies over many customer bases drawn from cited ranges
 * (params.ts `drawParams`), and over stress cases, each its own workload. Settings are chosen on training
 * seeds and reported on other, test seeds; the figures are the median and the worst case over the test
 * populations, per strategy. Used by main.ts (`family` and `stress` in `--json`) and by
 * test/bench-routing.test.ts in its small size.
 */
import type { Library } from './library.js';
import { drawParams, type Scenario, type Stress } from './params.js';
import { costPerDeliveredMicros, percentile } from './report.js';
import { simulate } from './simulate.js';
import { LEARNED_DEFAULT, STRATEGIES, strategyByKey, type Strategy } from './strategies.js';
import { WEEK_START } from './workload.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** What one strategy did on one population. */
export interface PopulationFigures {
  /** Cost per delivered message over the clairvoyant bound's. */
  readonly costRatio: number;
  readonly costPerDeliveredMicros: number;
  readonly deliveryRate: number;
  readonly p95Ms: number;
  /** OTPs delivered within their 2-minute deadline, of all OTPs; null without OTPs. */
  readonly otpInTime: number | null;
  /** What an OTP cost on average (micro-units). */
  readonly otpCostMicros: number | null;
  /** Double spend (by receipt times) as a share of spend. */
  readonly doubleSpendShare: number;
  /** Stress "lose a channel": of affected customers' third message after the loss, the share that planned it last or not at all. */
  readonly lostHandled: number | null;
  /** Of the same customers, the share that had shown the router at least one (two) misses of the lost channel by then: what evidence any learner had. */
  readonly lostSeenOnce: number | null;
  readonly lostSeenTwice: number | null;
}

export interface Spread {
  readonly median: number | null;
  readonly worst: number | null;
}

export interface StrategySpread {
  readonly costRatio: Spread;
  readonly deliveryRate: Spread;
  readonly p95Ms: Spread;
  readonly otpInTime: Spread;
  readonly otpCostVsSmsOnly: Spread;
  readonly doubleSpendShare: Spread;
  readonly lostHandled: Spread;
  readonly lostSeenOnce: Spread;
  readonly lostSeenTwice: Spread;
}

export interface FamilyResult {
  readonly messagesPerPopulation: number;
  readonly trainSeeds: readonly number[];
  readonly testSeeds: readonly number[];
  /** What the training seeds chose, and the candidates' median cost ratio there. */
  readonly chosen: { readonly learnedValueOfTime: string; readonly candidates: Readonly<Record<string, number>> };
  readonly strategies: Readonly<Record<string, StrategySpread>>;
  /** Per test seed, per strategy. */
  readonly populations: Readonly<Record<string, Readonly<Record<string, PopulationFigures>>>>;
  /** With default settings: on how many test populations learning cost no more per delivered message, delivered no less, and was no slower at p95 than the default plan. */
  readonly invariant: { readonly populations: number; readonly cost: number; readonly delivery: number; readonly p95: number };
}

export interface StressResult {
  readonly seeds: readonly number[];
  readonly strategies: Readonly<Record<string, StrategySpread>>;
  readonly invariant: FamilyResult['invariant'];
}

/** The candidates for the tuned learned strategy's value of time (per second), chosen on training seeds. */
export const VALUE_OF_TIME_CANDIDATES = ['0.0000001', '0.0000004', '0.000002'] as const;

export const STRESS_CASES: Readonly<Record<string, Stress>> = {
  // A quarter of customers lose their working free or cheap channel halfway through the week.
  loseChannel: { lose: { share: 0.25, atMs: WEEK_START + 3.5 * DAY } },
  // Most customers new: one or two messages each.
  newCustomers: { messagesPerCustomer: 1.5 },
  // The Viber provider fails every send for four hours on the second day.
  providerOutage: { outage: { channel: 'viber', fromMs: WEEK_START + DAY + 8 * HOUR, toMs: WEEK_START + DAY + 12 * HOUR } },
  // OTPs only (2-minute deadline): messengers fail at once for non-users, offline phones are slow.
  otpOnly: { otpOnly: true },
};

export interface FamilyOptions {
  readonly lib: Library;
  readonly libUrl?: string | undefined;
  readonly parallel?: number | undefined;
  readonly messages: number;
  readonly trainSeeds: readonly number[];
  readonly testSeeds: readonly number[];
  readonly stressSeeds: readonly number[];
  readonly onProgress?: ((line: string) => void) | undefined;
}

const REPORTED = ['smsOnly', 'costAware', 'learnedDefault', 'learned', 'reachOracle', 'clairvoyant'] as const;

function strategiesFor(learnedValueOfTime: string): Strategy[] {
  const learned = strategyByKey(`learned@${learnedValueOfTime}`)!;
  return [
    ...STRATEGIES.filter((s) => s.key === 'smsOnly' || s.key === 'costAware'),
    LEARNED_DEFAULT,
    learned,
    ...STRATEGIES.filter((s) => s.key === 'reachOracle' || s.key === 'clairvoyant'),
  ];
}

async function population(options: FamilyOptions, seed: number, scenario: Scenario, strategies: readonly Strategy[]): Promise<Record<string, PopulationFigures>> {
  const sim = await simulate({ lib: options.lib, libUrl: options.libUrl, parallel: options.parallel, messages: options.messages, seed, strategies, scenario });
  const bound = sim.results.find((r) => r.key === 'clairvoyant')!.outcome;
  const boundCost = costPerDeliveredMicros(bound);
  const out: Record<string, PopulationFigures> = {};
  for (const { key, outcome: o } of sim.results) {
    const name = key.startsWith('learned@') ? 'learned' : key;
    const cost = costPerDeliveredMicros(o);
    out[name] = {
      costRatio: boundCost === 0 ? 1 : round(cost / boundCost),
      costPerDeliveredMicros: cost,
      deliveryRate: round(o.delivered / o.messages),
      p95Ms: percentile([...o.times].sort((a, b) => a - b), 0.95),
      otpInTime: o.otp === 0 ? null : round(o.otpInTime / o.otp),
      otpCostMicros: o.otp === 0 ? null : Math.round(o.otpSpendMicros / o.otp),
      doubleSpendShare: o.spendMicros === 0 ? 0 : round(o.doubleSpendMicros / o.spendMicros),
      lostHandled: o.lostChecked === 0 ? null : round(o.lostHandled / o.lostChecked),
      lostSeenOnce: o.lostChecked === 0 ? null : round(o.lostSeenOnce / o.lostChecked),
      lostSeenTwice: o.lostChecked === 0 ? null : round(o.lostSeenTwice / o.lostChecked),
    };
  }
  return out;
}

const round = (x: number): number => Math.round(x * 10_000) / 10_000;

function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return round(s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2);
}

/** Median and worst over populations; `higherIsWorse` says which end is the worst. */
function spread(values: readonly (number | null)[], higherIsWorse: boolean): Spread {
  const v = values.filter((x): x is number => x !== null);
  if (v.length === 0) return { median: null, worst: null };
  return { median: median(v), worst: round(higherIsWorse ? Math.max(...v) : Math.min(...v)) };
}

function spreads(pops: readonly Record<string, PopulationFigures>[]): Record<string, StrategySpread> {
  const out: Record<string, StrategySpread> = {};
  for (const key of REPORTED) {
    const rows = pops.map((p) => p[key]).filter((x): x is PopulationFigures => x !== undefined);
    out[key] = {
      costRatio: spread(rows.map((r) => r.costRatio), true),
      deliveryRate: spread(rows.map((r) => r.deliveryRate), false),
      p95Ms: spread(rows.map((r) => r.p95Ms), true),
      otpInTime: spread(rows.map((r) => r.otpInTime), false),
      otpCostVsSmsOnly: spread(
        pops.map((p) => (p[key]?.otpCostMicros == null || !p['smsOnly']?.otpCostMicros ? null : round(p[key]!.otpCostMicros! / p['smsOnly']!.otpCostMicros!))),
        true,
      ),
      doubleSpendShare: spread(rows.map((r) => r.doubleSpendShare), true),
      lostHandled: spread(rows.map((r) => r.lostHandled), false),
      lostSeenOnce: spread(rows.map((r) => r.lostSeenOnce), false),
      lostSeenTwice: spread(rows.map((r) => r.lostSeenTwice), false),
    };
  }
  return out;
}

function invariant(pops: readonly Record<string, PopulationFigures>[]): FamilyResult['invariant'] {
  let cost = 0;
  let delivery = 0;
  let p95 = 0;
  for (const p of pops) {
    const learned = p['learnedDefault']!;
    const plain = p['costAware']!;
    if (learned.costPerDeliveredMicros <= plain.costPerDeliveredMicros) cost++;
    if (learned.deliveryRate >= plain.deliveryRate) delivery++;
    if (learned.p95Ms <= plain.p95Ms) p95++;
  }
  return { populations: pops.length, cost, delivery, p95 };
}

export async function runFamily(options: FamilyOptions): Promise<{ family: FamilyResult; stress: Record<string, StressResult> }> {
  const progress = options.onProgress ?? (() => {});
  // Training seeds: choose the learned strategy's value of time by its median cost ratio there.
  const candidates: Record<string, number> = {};
  const bound = STRATEGIES.filter((s) => s.key === 'clairvoyant');
  for (const vot of VALUE_OF_TIME_CANDIDATES) {
    const ratios: number[] = [];
    for (const seed of options.trainSeeds) {
      const p = await population(options, seed, { params: drawParams(seed) }, [strategyByKey(`learned@${vot}`)!, ...bound]);
      ratios.push(p['learned']!.costRatio);
    }
    candidates[vot] = median(ratios) ?? Infinity;
    progress(`family: training, value of time ${vot}: median ${candidates[vot]}× the bound`);
  }
  const chosen = Object.entries(candidates).sort((a, b) => a[1] - b[1])[0]![0];
  const strategies = strategiesFor(chosen);

  const populations: Record<string, Record<string, PopulationFigures>> = {};
  for (const seed of options.testSeeds) {
    populations[seed] = await population(options, seed, { params: drawParams(seed) }, strategies);
    const l = populations[seed]!['learned']!;
    const d = populations[seed]!['costAware']!;
    progress(`family: test seed ${seed}: learned ${l.costRatio}×, default plan ${d.costRatio}×`);
  }
  const pops = Object.values(populations);
  const family: FamilyResult = {
    messagesPerPopulation: options.messages,
    trainSeeds: options.trainSeeds,
    testSeeds: options.testSeeds,
    chosen: { learnedValueOfTime: chosen, candidates },
    strategies: spreads(pops),
    populations,
    invariant: invariant(pops),
  };

  const stress: Record<string, StressResult> = {};
  for (const [name, disturbance] of Object.entries(STRESS_CASES)) {
    const rows: Record<string, PopulationFigures>[] = [];
    for (const seed of options.stressSeeds) rows.push(await population(options, seed, { params: drawParams(seed), stress: disturbance }, strategies));
    stress[name] = { seeds: options.stressSeeds, strategies: spreads(rows), invariant: invariant(rows) };
    progress(`stress ${name}: done`);
  }
  return { family, stress };
}
