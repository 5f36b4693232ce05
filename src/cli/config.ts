import { readFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { byPrefix, smsPerSegment, type PriceTable } from '../core/cost.js';
import { isCascadeRouterError } from '../core/errors.js';
import type { RouterOptions } from '../runtime/router.js';
import type { ChannelConfig, CostModel } from '../core/types.js';
import { CliError } from './errors.js';

/**
 * A config file: JSON (channels without `send`, cost as an amount or `{ "smsPerSegment": table }` /
 * `{ "byPrefix": table }`), or a JavaScript module whose default export is the router's options.
 */
export type CliConfig = Pick<RouterOptions, 'channels' | 'consentRequired' | 'valueOfTime'> & Record<string, unknown>;

const never = async (): Promise<never> => {
  throw new Error('The command line plans only: it never sends');
};

function costOf(file: string, name: string, cost: unknown): CostModel | undefined {
  if (cost === undefined || typeof cost === 'number' || typeof cost === 'string' || typeof cost === 'function') return cost as CostModel | undefined;
  if (typeof cost === 'object' && cost !== null) {
    const spec = cost as Record<string, unknown>;
    if (Object.hasOwn(spec, 'smsPerSegment')) return smsPerSegment(spec['smsPerSegment'] as PriceTable);
    if (Object.hasOwn(spec, 'byPrefix')) return byPrefix(spec['byPrefix'] as PriceTable);
  }
  throw new CliError(`${file}: \`channels.${name}.cost\`: expected an amount, { "smsPerSegment": { "default": … } } or { "byPrefix": { "default": … } }, got ${JSON.stringify(cost)}`);
}

/** Reads a config file; every channel's `send` is replaced by one that refuses (a dry run sends nothing). */
export async function loadConfig(path: string): Promise<CliConfig> {
  const file = basename(path);
  let raw: unknown;
  if (/\.(m?js|cjs)$/.test(path)) {
    try {
      const module = (await import(pathToFileURL(resolve(path)).href)) as { default?: unknown };
      raw = module.default ?? module;
    } catch (error) {
      throw new CliError(`${file}: could not load the module: ${error instanceof Error ? error.message : String(error)}`);
    }
  } else {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch {
      throw new CliError(`${path}: no such file`);
    }
    try {
      raw = JSON.parse(text);
    } catch (error) {
      throw new CliError(`${file}: not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  if (typeof raw !== 'object' || raw === null || typeof (raw as { channels?: unknown }).channels !== 'object' || (raw as { channels?: unknown }).channels === null) {
    throw new CliError(`${file}: expected an object with \`channels\``);
  }
  const config = raw as CliConfig;
  const channels: Record<string, ChannelConfig> = {};
  try {
    for (const [name, channel] of Object.entries(config.channels as unknown as Record<string, Record<string, unknown>>)) {
      const cost = costOf(file, name, channel['cost']);
      channels[name] = { ...(channel as unknown as ChannelConfig), send: never, ...(cost === undefined ? {} : { cost }) };
    }
  } catch (error) {
    if (isCascadeRouterError(error)) throw new CliError(`${file}: ${error.message}`);
    throw error;
  }
  return { ...config, channels };
}
