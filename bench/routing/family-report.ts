/**
 * The family's tables and chart for docs/benchmarks.md: per strategy, the median and the worst case over the
 * test populations, and per stress case the same; the chart draws each strategy's cost over the bound as a
 * bar from its median to its worst population.
 */
import { duration } from './report.js';
import type { FamilyResult, Spread, StrategySpread, StressResult } from './family.js';

const LABELS: Readonly<Record<string, string>> = {
  smsOnly: 'SMS only',
  costAware: 'default plan',
  learnedDefault: 'learning: true (defaults)',
  learned: 'learned (tuned on training seeds)',
  reachOracle: "knows each customer's channels",
  clairvoyant: 'clairvoyant bound',
};

const x = (v: number | null): string => (v === null ? '–' : `${v.toFixed(2)}×`);
const pct = (v: number | null): string => (v === null ? '–' : `${(v * 100).toFixed(1)}%`);
const time = (v: number | null): string => (v === null ? '–' : duration(v));
const pair = (s: Spread, f: (v: number | null) => string): string => `${f(s.median)} / ${f(s.worst)}`;

function rows(strategies: Readonly<Record<string, StrategySpread>>, lost: boolean): string[] {
  const head = lost
    ? ['| strategy | cost vs bound | delivered | p95 | OTP in time | OTP cost vs SMS only | double spend | lost channel handled by the 3rd message | ≥1 / ≥2 misses seen by then |', '|---|--:|--:|--:|--:|--:|--:|--:|--:|']
    : ['| strategy | cost vs bound | delivered | p95 | OTP in time | OTP cost vs SMS only | double spend |', '|---|--:|--:|--:|--:|--:|--:|'];
  return [
    ...head,
    ...Object.entries(strategies).map(([key, s]) =>
      [
        `| \`${key}\` ${LABELS[key] ?? ''}`,
        pair(s.costRatio, x),
        pair(s.deliveryRate, pct),
        pair(s.p95Ms, time),
        pair(s.otpInTime, pct),
        pair(s.otpCostVsSmsOnly, x),
        pair(s.doubleSpendShare, pct),
        ...(lost ? [pair(s.lostHandled, pct), `${pct(s.lostSeenOnce.median)} / ${pct(s.lostSeenTwice.median)}`] : []),
      ].join(' | ') + ' |',
    ),
  ];
}

export function familyTables(family: FamilyResult, stress: Readonly<Record<string, StressResult>>): string {
  const inv = (i: FamilyResult['invariant']): string =>
    `learning with default settings cost no more per delivered message than the default plan on ${i.cost} of ${i.populations}, delivered no less on ${i.delivery}, was no slower at p95 on ${i.p95}`;
  const out = [
    `### Over the population family (median / worst of ${family.testSeeds.length} test populations)`,
    '',
    `${family.messagesPerPopulation.toLocaleString('en')} messages per population, each drawn from the ranges in bench/README.md ("The population family"), test seeds ${family.testSeeds[0]}–${family.testSeeds.at(-1)}. ` +
      `The tuned learned strategy's value of time (${family.chosen.learnedValueOfTime} a second) was chosen on training seeds ${family.trainSeeds.join(', ')} ` +
      `(median cost vs bound there: ${Object.entries(family.chosen.candidates).map(([v, r]) => `${v}: ${r.toFixed(3)}×`).join(', ')}). ` +
      `Double spend is by receipt times, as a share of spend. Invariant: ${inv(family.invariant)}.`,
    '',
    ...rows(family.strategies, false),
  ];
  for (const [name, s] of Object.entries(stress)) {
    out.push('', `#### Stress: ${name} (median / worst of ${s.seeds.length} populations)`, '', `Invariant: ${inv(s.invariant)}.`, '', ...rows(s.strategies, name === 'loseChannel'));
  }
  return out.join('\n');
}

const W = 720;
const ROW = 26;

/** Bars from median to worst cost over the bound, per strategy, for the family and each stress case (log scale). */
export function familyChart(family: FamilyResult, stress: Readonly<Record<string, StressResult>>): string {
  const groups: [string, Readonly<Record<string, StrategySpread>>][] = [['family', family.strategies], ...Object.entries(stress).map(([k, v]) => [k, v.strategies] as [string, Readonly<Record<string, StrategySpread>>])];
  const keys = Object.keys(family.strategies).filter((k) => k !== 'clairvoyant');
  const H = 60 + groups.length * (keys.length * ROW + 24);
  const left = 250;
  const right = W - 30;
  const max = Math.max(2, ...groups.flatMap(([, g]) => keys.map((k) => g[k]?.costRatio.worst ?? 1)));
  const sx = (v: number): number => left + (Math.log10(v) / Math.log10(max)) * (right - left);
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="system-ui, sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="14" font-weight="600">Cost per delivered message over the bound: median (dot) to worst (bar end), log scale</text>`,
  ];
  for (const v of [1, 1.1, 1.2, 1.5, 2, 5, 10, 20]) {
    if (v > max) break;
    out.push(`<line x1="${sx(v)}" x2="${sx(v)}" y1="34" y2="${H - 10}" stroke="${v === 1 ? '#2a7' : '#eee'}"/>`, `<text x="${sx(v)}" y="32" text-anchor="middle" fill="#555">${v}×</text>`);
  }
  let y = 50;
  for (const [name, g] of groups) {
    out.push(`<text x="10" y="${y + 4}" font-weight="600">${name}</text>`);
    y += 18;
    for (const k of keys) {
      const s = g[k];
      if (s?.costRatio.median == null) continue;
      const m = sx(Math.max(1, s.costRatio.median));
      const w = sx(Math.max(1, s.costRatio.worst!));
      const colour = k === 'learned' || k === 'learnedDefault' ? '#d33' : k === 'costAware' ? '#36c' : '#888';
      out.push(
        `<text x="20" y="${y + 4}" fill="#222">${k}</text>`,
        `<line x1="${m}" x2="${w}" y1="${y}" y2="${y}" stroke="${colour}" stroke-width="6" stroke-linecap="round"/>`,
        `<circle cx="${m}" cy="${y}" r="5" fill="${colour}"/>`,
        `<text x="${Math.min(w + 8, right - 60)}" y="${y + 4}" fill="#555">${s.costRatio.median.toFixed(2)}–${s.costRatio.worst!.toFixed(2)}×</text>`,
      );
      y += ROW;
    }
    y += 6;
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
