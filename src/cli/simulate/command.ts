import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { CliError } from '../errors.js';
import { progressBar, type Progress } from '../progress.js';
import { parseHistory } from './history.js';
import { reportHtml } from './html.js';
import { STRATEGIES, historyResult, replay, type StrategyResult } from './replay.js';
import { buildReport, textTable, type SimulateReport } from './report.js';
import { learnWorld } from './world.js';

export interface SimulateArguments {
  readonly history: string | undefined;
  /** Where the HTML report goes. Default: the history file's name with `.report.html`, in the working directory. */
  readonly html: string | undefined;
  /** Also write the figures as JSON here. */
  readonly json: string | undefined;
  readonly seed: number;
  readonly progress?: Progress | undefined;
}

export interface SimulateOutput {
  readonly text: string;
  readonly report: SimulateReport;
  readonly htmlPath: string;
}

/** `cascade-router simulate`: learns from the user's history and replays the period with each strategy. */
export async function simulateCommand(args: SimulateArguments): Promise<SimulateOutput> {
  if (args.history === undefined) throw new CliError('simulate needs a history file: cascade-router simulate <history.csv|history.jsonl>', 2);
  let text: string;
  try {
    text = readFileSync(args.history, 'utf8');
  } catch {
    throw new CliError(`${args.history}: no such file`);
  }
  const rows = parseHistory(args.history, text);
  const world = learnWorld(rows);
  const progress = args.progress ?? progressBar(STRATEGIES.length * world.messages.length);
  const results: StrategyResult[] = [historyResult(world)];
  try {
    for (const strategy of STRATEGIES) {
      progress.stage(`replaying ${strategy.label}`);
      results.push(await replay(world, strategy.name, { seed: args.seed, tick: () => progress.tick() }));
    }
  } finally {
    progress.done();
  }
  const report = buildReport(basename(args.history), world, results);
  const htmlPath = args.html ?? `${basename(args.history).replace(/\.(csv|jsonl|ndjson)$/i, '')}.report.html`;
  writeFileSync(htmlPath, reportHtml(report));
  if (args.json !== undefined) writeFileSync(args.json, `${JSON.stringify(report, null, 2)}\n`);
  const channels = [...world.channels.values()].map((c) => `${c.name} (${c.kind}, ${(c.delivered * 100).toFixed(0)}% of ${c.attempts} delivered)`).join(', ');
  const lines = [
    `${basename(args.history)}: ${world.messages.length} messages to ${world.recipients.size} recipients, ${report.period.from.slice(0, 10)} to ${report.period.to.slice(0, 10)}`,
    `Channels: ${channels}. Your current order: ${world.currentOrder.join(' → ')}.`,
    '',
    textTable(report),
    '',
    `Report: ${htmlPath}${args.json === undefined ? '' : `, figures: ${args.json}`}`,
  ];
  return { text: lines.join('\n'), report, htmlPath };
}
