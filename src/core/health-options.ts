/** `RouterOptions.health`, and the same resolved with its defaults and checked, for `Breaker` (health.ts). */
import { toMs, type Duration } from './duration.js';
import { InvalidConfigError } from './errors.js';

/** `RouterOptions.health`: when a provider is taken for unhealthy, and how it is tried again. */
export interface HealthOptions {
  /** The window errors are counted over. Default `'1m'`. */
  readonly window?: Duration | undefined;
  /** Fewest sends in the window before the error rate counts. Default 10. */
  readonly minSends?: number | undefined;
  /** Opens at this share of provider-side failures among the window's sends. Default 0.5. */
  readonly errorRate?: number | undefined;
  /** How long it stays open before probes are let through; doubled each time probes fail, up to 32×. Default `'30s'`. */
  readonly coolDown?: Duration | undefined;
  /** Sends let through when half-open. Default 3. */
  readonly probes?: number | undefined;
  /**
   * Silence: opens when, among at least `minSends` accepted sends old enough to have had their receipt,
   * the share that got one falls below `ratio` times the provider's usual share (learned from at least
   * `learnFrom` sends), or when the last judged sends (at least 5) all missed their receipt and the usual
   * share makes such a run less likely than one in a million. `false` turns it off. Default
   * `{ minSends: 20, ratio: 0.25, learnFrom: 50 }`.
   */
  readonly silence?: { readonly minSends?: number; readonly ratio?: number; readonly learnFrom?: number } | false | undefined;
}

export interface ResolvedHealth {
  readonly windowMs: number;
  readonly minSends: number;
  readonly errorRate: number;
  readonly coolDownMs: number;
  readonly probes: number;
  readonly silence: { readonly minSends: number; readonly ratio: number; readonly learnFrom: number } | undefined;
}

export function resolveHealth(options: HealthOptions | undefined): ResolvedHealth {
  const o = options ?? {};
  const count = (value: number | undefined, fallback: number, field: string, min = 1): number => {
    const n = value ?? fallback;
    if (!Number.isInteger(n) || n < min) throw new InvalidConfigError(`Expected \`health.${field}\` to be an integer of at least ${min}, got ${String(value)}`);
    return n;
  };
  const share = (value: number | undefined, fallback: number, field: string): number => {
    const n = value ?? fallback;
    if (typeof n !== 'number' || !(n > 0 && n <= 1)) throw new InvalidConfigError(`Expected \`health.${field}\` to be a number in (0, 1], got ${String(value)}`);
    return n;
  };
  const silence = o.silence === false ? undefined : o.silence ?? {};
  return {
    windowMs: toMs(o.window ?? '1m', 'health.window', InvalidConfigError),
    minSends: count(o.minSends, 10, 'minSends'),
    errorRate: share(o.errorRate, 0.5, 'errorRate'),
    coolDownMs: toMs(o.coolDown ?? '30s', 'health.coolDown', InvalidConfigError),
    probes: count(o.probes, 3, 'probes'),
    silence:
      silence === undefined
        ? undefined
        : { minSends: count(silence.minSends, 20, 'silence.minSends'), ratio: share(silence.ratio, 0.25, 'silence.ratio'), learnFrom: count(silence.learnFrom, 50, 'silence.learnFrom') },
  };
}
