import { parseArgs } from 'node:util';
import { CliError } from './errors.js';
import { planCommand } from './plan.js';
import { simulateCommand } from './simulate/command.js';

const USAGE = `Usage:
  cascade-router plan --config <channels.json|.mjs> --message <json|file> --recipient <json|file> [--at <ISO time>] [--json]
      The plan for one message and recipient: the steps, their waits and the projected cost. Sends nothing.
  cascade-router simulate <history.csv|.jsonl> [--html <report.html>] [--json <figures.json>] [--seed <n>]
      Learns each recipient's reach and each channel's latency from your history, replays the period with
      SMS only, your current order, the default plan and learning, and prints what each would have cost.
      History columns: message_key, recipient, category, channel, sent_at, outcome (delivered, read, failed,
      none), receipt_at, price.`;

/** Runs the command line; returns the exit code. Output and errors go to the given writers. */
export async function main(argv: readonly string[], out: (text: string) => void, err: (text: string) => void): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
      out(USAGE);
      return command === undefined ? 2 : 0;
    }
    if (command === 'plan') {
      const { values } = parse(rest, { config: { type: 'string' }, message: { type: 'string' }, recipient: { type: 'string' }, at: { type: 'string' }, json: { type: 'boolean' } });
      out(await planCommand({ config: values['config'] as string | undefined, message: values['message'] as string | undefined, recipient: values['recipient'] as string | undefined, at: values['at'] as string | undefined, json: values['json'] === true }));
      return 0;
    }
    if (command === 'simulate') {
      const { values, positionals } = parse(rest, { html: { type: 'string' }, json: { type: 'string' }, seed: { type: 'string' } }, true);
      const seedText = (values['seed'] as string | undefined) ?? '1';
      if (!/^\d{1,9}$/.test(seedText)) throw new CliError(`--seed: expected a whole number, got ${JSON.stringify(seedText)}`, 2);
      if (positionals.length > 1) throw new CliError(`simulate takes one history file, got ${positionals.length}`, 2);
      const result = await simulateCommand({ history: positionals[0], html: values['html'] as string | undefined, json: values['json'] as string | undefined, seed: Number(seedText) });
      out(result.text);
      return 0;
    }
    throw new CliError(`Unknown command ${JSON.stringify(command)}\n\n${USAGE}`, 2);
  } catch (error) {
    if (error instanceof CliError) {
      err(`cascade-router: ${error.message}`);
      return error.exitCode;
    }
    // Never a stack trace: say what happened and where to report it.
    err(`cascade-router: unexpected error: ${error instanceof Error ? error.message : String(error)} (please report it with the command you ran)`);
    return 1;
  }
}

type Options = NonNullable<Parameters<typeof parseArgs>[0]>['options'];

function parse(args: readonly string[], options: Options, positionals = false): { values: Record<string, unknown>; positionals: string[] } {
  try {
    return parseArgs({ args: [...args], options, allowPositionals: positionals, strict: true });
  } catch (error) {
    throw new CliError(`${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`, 2);
  }
}
