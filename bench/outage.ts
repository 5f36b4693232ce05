/**
 * Outage benchmark (issue #15): the WhatsApp provider failing every send, or silent (accepting, no
 * receipts), for four hours of a twelve-hour day, with one and with two providers on the channel, each run
 * `before` (one provider per channel, no breaker, no silence detection) and `after` (providers, health),
 * on the same seeded traffic; and a blast of 100,000 SMS against a provider's rate limit. Everything runs
 * through the real router on the memory store in simulated time. `outageBench()` returns the figures and
 * the targets; `npm run bench:outage` prints them (bench/outage/main.ts). The model: bench/README.md.
 */
import { runBlast, type BlastFigures } from './outage/blast.js';
import { runFigures, type RunFigures } from './outage/figures.js';
import type { Library } from './outage/library.js';
import { runOutage, type Mode, type Outage } from './outage/world.js';

export type { BlastFigures } from './outage/blast.js';
export type { RunFigures, SliceFigures } from './outage/figures.js';
export type { Mode, Outage } from './outage/world.js';

export interface OutageBenchOptions {
  readonly lib: Library;
  readonly seed?: number | undefined;
  /** Messages in each twelve-hour run. Default 20,000 (about 28 a minute). */
  readonly messages?: number | undefined;
  /** Messages in the blast. Default 100,000. */
  readonly blast?: number | undefined;
  readonly onProgress?: ((line: string) => void) | undefined;
}

export type Providers = 'one' | 'two';

export interface Target {
  readonly name: string;
  readonly target: string;
  /** What `before` measured on the same workload, and what `after` measures. */
  readonly before: string;
  readonly after: string;
  /** Whether `after` meets the target. */
  readonly met: boolean;
}

export interface OutageBench {
  readonly seed: number;
  readonly messages: number;
  /** runs[providers][mode][outage]. */
  readonly runs: Readonly<Record<Providers, Readonly<Record<Mode, Readonly<Record<Outage, RunFigures>>>>>>;
  readonly blast: Readonly<Record<Mode, BlastFigures>>;
  readonly targets: readonly Target[];
}

export const OUTAGE_DEFAULTS = { seed: 1, messages: 20_000, blast: 100_000 } as const;

const OUTAGES: readonly Outage[] = ['none', 'failing', 'silent'];
const MODES: readonly Mode[] = ['before', 'after'];

export async function outageBench(options: OutageBenchOptions): Promise<OutageBench> {
  const { lib } = options;
  const seed = options.seed ?? OUTAGE_DEFAULTS.seed;
  const messages = options.messages ?? OUTAGE_DEFAULTS.messages;
  const progress = options.onProgress ?? (() => {});
  const runs = {} as Record<Providers, Record<Mode, Record<Outage, RunFigures>>>;
  for (const [providers, count] of [['one', 1], ['two', 2]] as const) {
    runs[providers] = {} as Record<Mode, Record<Outage, RunFigures>>;
    for (const mode of MODES) {
      runs[providers][mode] = {} as Record<Outage, RunFigures>;
      for (const outage of OUTAGES) {
        const started = performance.now();
        runs[providers][mode][outage] = runFigures(lib, await runOutage({ lib, seed, messages }, { outage, providers: count, mode }));
        progress(`${outage} outage, ${providers} provider(s), ${mode}: ${((performance.now() - started) / 1000).toFixed(1)} s`);
      }
    }
  }
  const blast = {} as Record<Mode, BlastFigures>;
  for (const mode of MODES) {
    const started = performance.now();
    blast[mode] = await runBlast({ lib, seed, messages: options.blast ?? OUTAGE_DEFAULTS.blast }, mode);
    progress(`blast, ${mode}: ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
  return { seed, messages, runs, blast, targets: targets(runs, blast) };
}

const percent = (x: number): string => `${x >= 0 ? '+' : ''}${(100 * x).toFixed(1)}%`;
const minutes = (ms: number): string => (ms < 60_000 ? `${Math.round(ms / 1000)} s` : `${(ms / 60_000).toFixed(1)} min`);

function targets(runs: OutageBench['runs'], blast: OutageBench['blast']): Target[] {
  const list: Target[] = [];
  for (const outage of ['failing', 'silent'] as const) {
    const spend = (mode: Mode): { text: string; met: boolean } => {
      const base = runs.two[mode].none.window.spendMicros;
      const out = runs.two[mode][outage].window.spendMicros;
      // Same messages in both windows: compare the totals, in integer micro-units.
      return { text: `${percent(base === 0 ? 0 : out / base - 1)} (${runs.two[mode][outage].window.spendPerMessage} vs ${runs.two[mode].none.window.spendPerMessage})`, met: 100 * Math.abs(out - base) <= 5 * base };
    };
    list.push({ name: `two providers, ${outage}: spend per message`, target: 'within 5% of the no-outage run', before: spend('before').text, after: spend('after').text, met: spend('after').met });
    const failed = (mode: Mode): string => `${runs.two[mode][outage].window.undelivered} vs ${runs.two[mode].none.window.undelivered}`;
    list.push({
      name: `two providers, ${outage}: failed deliveries`,
      target: 'no more than the no-outage run',
      before: failed('before'),
      after: failed('after'),
      met: runs.two.after[outage].window.undelivered <= runs.two.after.none.window.undelivered,
    });
  }
  const share = (mode: Mode): number => runs.one[mode].silent.window.doubleSpendShare;
  list.push({ name: 'one provider, silent: double spend', target: "≤ 10% of the window's spend", before: percent(share('before')).slice(1), after: percent(share('after')).slice(1), met: share('after') <= 0.1 });
  const p95 = (mode: Mode): string => `${minutes(runs.one[mode].silent.window.p95Ms)} vs ${minutes(runs.one[mode].none.window.p95Ms)}`;
  list.push({ name: 'one provider, silent: p95 time to delivery', target: '≤ 2× the no-outage p95', before: p95('before'), after: p95('after'), met: runs.one.after.silent.window.p95Ms <= 2 * runs.one.after.none.window.p95Ms });
  const busiest = (mode: Mode): string => `${blast[mode].busiestWindow.toLocaleString('en')} calls in a second (limit ${blast[mode].limit})`;
  list.push({ name: `blast of ${blast.after.messages.toLocaleString('en')}: busiest window`, target: "never above the provider's rate", before: busiest('before'), after: busiest('after'), met: blast.after.busiestWindow <= blast.after.limit });
  return list;
}

const breaker = (f: RunFigures): string =>
  f.providerDown === 0 ? '–' : `${f.providerDown}×, ${f.noticedMs === null ? '–' : minutes(f.noticedMs)}, ${f.recoveredMs === null ? '–' : minutes(f.recoveredMs)}`;

/** The figures as markdown tables: the targets, then each run's window, then the blast. */
export function outageMarkdown(bench: OutageBench): string {
  const lines = ['| target | | before | after | met |', '|---|---|---|---|---|'];
  for (const t of bench.targets) lines.push(`| ${t.name} | ${t.target} | ${t.before} | ${t.after} | ${t.met ? 'yes' : '**no**'} |`);
  lines.push('', '| WhatsApp providers | outage | mode | spend per message | double spend | no positive receipt | p50 | p95 | wa-a breaker: opened, first after, closed after the end | calls to wa-a / wa-b / sms |', '|---|---|---|---|---|---|---|---|---|---|');
  for (const providers of ['one', 'two'] as const) {
    for (const outage of OUTAGES) {
      for (const mode of MODES) {
        const f = bench.runs[providers][mode][outage];
        const w = f.window;
        const calls = ['wa-a', 'wa-b', 'sms'].map((p) => (f.calls[p] ?? 0).toLocaleString('en')).join(' / ');
        lines.push(`| ${providers} | ${outage} | ${mode} | ${w.spendPerMessage} | ${w.doubleSpend} (${percent(w.doubleSpendShare).slice(1)}) | ${w.undelivered} of ${w.messages.toLocaleString('en')} | ${minutes(w.p50Ms)} | ${minutes(w.p95Ms)} | ${breaker(f)} | ${calls} |`);
      }
    }
  }
  lines.push('', '| blast | calls | 429s | busiest second | blast messages sent | failed | drained in | OTPs sent | OTP p95 / max wait |', '|---|---|---|---|---|---|---|---|---|');
  for (const mode of MODES) {
    const b = bench.blast[mode];
    lines.push(`| ${mode} | ${b.calls.toLocaleString('en')} | ${b.throttled.toLocaleString('en')} | ${b.busiestWindow.toLocaleString('en')} | ${b.blastSent.toLocaleString('en')} | ${b.blastFailed.toLocaleString('en')} | ${minutes(b.drainMs)} | ${b.otpsSent} of ${b.otps} | ${minutes(b.otpP95Ms)} / ${minutes(b.otpMaxMs)} |`);
  }
  return lines.join('\n');
}
