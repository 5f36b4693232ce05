import { readFileSync } from 'node:fs';
import { SimulatedClock } from '../runtime/clock.js';
import { isCascadeRouterError } from '../core/errors.js';
import { createRouter } from '../runtime/router.js';
import type { Message, Plan, Recipient } from '../core/types.js';
import { loadConfig } from './config.js';
import { CliError } from './errors.js';
import { formatDuration, money, table } from './format.js';

/** A JSON value given inline or as a file path. */
function jsonArgument(name: string, value: string | undefined): unknown {
  if (value === undefined) throw new CliError(`plan needs --${name}: a JSON object, or a file holding one`, 2);
  const text = value.trimStart().startsWith('{') ? value : readText(name, value);
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new CliError(`--${name}: not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function readText(name: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    throw new CliError(`--${name}: no such file: ${path}`);
  }
}

export interface PlanArguments {
  readonly config: string | undefined;
  readonly message: string | undefined;
  readonly recipient: string | undefined;
  /** When to plan for (ISO 8601); default now. */
  readonly at: string | undefined;
  readonly json: boolean;
}

/** `cascade-router plan`: the plan for one message and recipient against a config, sending nothing. */
export async function planCommand(args: PlanArguments): Promise<string> {
  if (args.config === undefined) throw new CliError('plan needs --config: the channels, as a JSON file or a JavaScript module', 2);
  const config = await loadConfig(args.config);
  const message = jsonArgument('message', args.message) as Message;
  const recipient = jsonArgument('recipient', args.recipient) as Recipient;
  const at = args.at === undefined ? Date.now() : Date.parse(args.at);
  if (!Number.isFinite(at)) throw new CliError(`--at: expected an ISO 8601 time, got ${JSON.stringify(args.at)}`, 2);
  let plan: Plan;
  try {
    const router = createRouter({ ...config, clock: new SimulatedClock(at) });
    plan = await router.plan(message, recipient);
    await router.close();
  } catch (error) {
    if (isCascadeRouterError(error)) throw new CliError(`${error.code}: ${error.message}`);
    throw error;
  }
  return args.json ? JSON.stringify(plan, null, 2) : describePlan(message, recipient, plan);
}

export function describePlan(message: Message, recipient: Recipient, plan: Plan): string {
  const lines = [`Plan for ${message.key} to ${recipient.id} (${message.category}), from ${new Date(plan.startAt).toISOString()}`];
  if (plan.steps.length === 0) lines.push('', 'No step: nothing would be sent.');
  else {
    const rows = plan.steps.map((step, i) => [
      String(i + 1),
      step.channel,
      step.address,
      formatDuration(step.startAt - plan.startAt),
      formatDuration(step.waitMs),
      money(step.costMicros),
      step.billing === 'delivered' ? 'if delivered' : 'when sent',
    ]);
    lines.push('', table(['step', 'channel', 'address', 'starts after', 'waits', 'cost', 'billed'], rows));
  }
  if (plan.skipped.length > 0) {
    lines.push('', 'Skipped:');
    for (const skip of plan.skipped) lines.push(`  ${skip.channel}: ${skip.reason} (${skip.detail})`);
  }
  lines.push('', `Projected cost: ${money(plan.bestSpendMicros)} if the first step delivers, at most ${money(plan.maxSpendMicros)} if every step is billed.`);
  if (plan.quietHours) lines.push('Quiet hours moved the start.');
  return lines.join('\n');
}
