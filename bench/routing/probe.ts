/**
 * A development probe, not part of the benchmark: `node --import tsx bench/routing/probe.ts --seeds 201-220
 * --keys costAware,learnedDefault,clairvoyant [--messages 2000] [--stress loseChannel]` (`PROBE_DIST=../../other-dist/index.js`
 * to measure another build). Prints per population
 * each strategy's cost per delivered message (micro-units), delivery and spend per channel, as JSON lines.
 */
import type { Library } from './library.js';
import { drawParams } from './params.js';
import { costPerDeliveredMicros } from './report.js';
import { simulate } from './simulate.js';
import { STRESS_CASES } from './family.js';
import { strategyByKey, type Strategy } from './strategies.js';

const libUrl = new URL(process.env['PROBE_DIST'] ?? '../../dist/index.js', import.meta.url).href;
const lib = (await import(libUrl)) as Library;
const args = process.argv.slice(2);
const arg = (name: string, fallback: string): string => {
  const i = args.indexOf(`--${name}`);
  return i === -1 ? fallback : args[i + 1]!;
};
const range = arg('seeds', '201-220');
const [from, to] = range.includes('-') ? range.split('-').map(Number) : [Number(range), Number(range)];
const seeds = range.includes(',') ? range.split(',').map(Number) : Array.from({ length: to! - from! + 1 }, (_, i) => from! + i);
const keys = arg('keys', 'costAware,learnedDefault,clairvoyant').split(',');
const messages = Number(arg('messages', '2000'));
const stressName = arg('stress', '');
const strategies = keys.map((k) => strategyByKey(k)).filter((s): s is Strategy => s !== undefined);
for (const seed of seeds) {
  const stress = stressName === '' ? undefined : STRESS_CASES[stressName];
  const sim = await simulate({ lib, libUrl, parallel: Number(arg('parallel', '2')), messages, seed, strategies, scenario: { params: drawParams(seed), stress } });
  const row: Record<string, unknown> = { seed };
  for (const { key, outcome: o } of sim.results) {
    const ch: Record<string, string> = {};
    for (const [c, f] of Object.entries(o.channels)) ch[c] = `${f.sent}/${Math.round(f.spendMicros / 1000)}`;
    row[key] = { cpd: Math.round(costPerDeliveredMicros(o)), del: o.delivered, otp: [o.otp, o.otpInTime, o.otpSpendMicros], spend: o.spendMicros, ...(o.lostChecked > 0 ? { lost: +(o.lostHandled / o.lostChecked).toFixed(3), seen: [o.lostSeenOnce, o.lostSeenTwice, o.lostChecked] } : {}), ch };
  }
  console.log(JSON.stringify(row));
}
