import type { Billing } from './types.js';

/**
 * The expected cost of a cascade, and the order that minimizes it (docs/cost-model.md).
 *
 * Model: step k is sent only if every step before it failed; it succeeds with probability p_k,
 * independently of the others. It costs e_k = c_k when billed on submission (`sent`) and e_k = p_k·c_k
 * when billed on delivery. It takes τ_k = p_k·latency_k + (1 − p_k)·wait_k of waiting on average, and a
 * millisecond of waiting is worth λ micro-units. Writing a_k = e_k + λ·τ_k, an ordered list costs
 *
 *   E = Σ_k a_k · Π_{j<k} (1 − p_j).
 *
 * Why sorting by a/p minimizes E (the exchange argument): swap two adjacent steps i, j. Steps before
 * them are untouched, and steps after them are reached with the same probability q·(1 − p_i)(1 − p_j)
 * either way, so only the two terms change: q·(a_i + (1 − p_i)·a_j) against q·(a_j + (1 − p_j)·a_i).
 * Their difference is q·(p_j·a_i − p_i·a_j), so i belongs first exactly when a_i/p_i ≤ a_j/p_j. Any
 * order with an adjacent pair out of that order gets no worse by swapping it, and bubble-sorting by
 * a/p reaches the sorted order one such swap at a time: no permutation beats it. A step with p = 0
 * never ends the cascade and can only add cost, so it goes last (key +∞).
 *
 * The deadline is not part of the model: the planner picks the order first, then walks it and
 * shortens or skips the steps that do not fit (as without estimates). A cut step changes what the
 * later steps are reached with, but never their relative order. Step delays and quiet hours are not
 * counted in τ either: they add the same waiting whatever the order.
 */

/** One step as the expected-cost model sees it. A `PlanStep` fits: no probability is 1, no latency 0. */
export interface CostedStep {
  /** Price in micro-units. */
  readonly costMicros: number;
  readonly billing: Billing;
  /** Probability that the step ends the cascade, 0..1. Default 1. */
  readonly probability?: number | undefined;
  /** Expected time from the send to success when it succeeds (ms). Default 0. */
  readonly latencyMs?: number | undefined;
  /** Probability that the step fails at once (a failure receipt or a permanent send error) instead of waiting out its wait. Default 0. */
  readonly failure?: number | undefined;
  /** How long the step waits before falling back (ms). */
  readonly waitMs: number;
}

/**
 * The sort key of a step: (e + λ·τ) / p, in micro-units; +Infinity when p = 0.
 * `microsPerMs` is λ, what a millisecond of waiting is worth in micro-units (a value of time per second / 1000).
 */
export function orderKey(step: CostedStep, microsPerMs = 0): number {
  return keyOf(step.costMicros, step.billing, step.probability ?? 1, step.latencyMs ?? 0, step.waitMs, microsPerMs, step.failure ?? 0);
}

/** Expected spend plus λ·expected waiting of steps tried in this order, in micro-units (a float). */
export function expectedCost(steps: readonly CostedStep[], microsPerMs = 0): number {
  let total = 0;
  let reach = 1;
  for (const step of steps) {
    const p = step.probability ?? 1;
    total += reach * stepCost(step.costMicros, step.billing, p, step.latencyMs ?? 0, step.waitMs, microsPerMs, step.failure ?? 0);
    reach *= 1 - p;
  }
  return total;
}

/** Expected time spent on a step: successes after their latency, fast failures at once, the silent rest after the whole wait. */
export function stepTime(p: number, latencyMs: number, waitMs: number, failure: number): number {
  return p * latencyMs + Math.max(0, 1 - p - failure) * waitMs;
}

/** What trying one step costs in expectation, not counting the steps after it: e + λ·τ. */
export function stepCost(costMicros: number, billing: Billing, p: number, latencyMs: number, waitMs: number, microsPerMs: number, failure: number): number {
  const spend = billing === 'delivered' ? p * costMicros : costMicros;
  return microsPerMs === 0 ? spend : spend + microsPerMs * stepTime(p, latencyMs, waitMs, failure);
}

/** `orderKey` on plain numbers, for the planner's hot path. */
export function keyOf(costMicros: number, billing: Billing, p: number, latencyMs: number, waitMs: number, microsPerMs: number, failure = 0): number {
  if (!(p > 0)) return Infinity;
  // e/p written so that no division touches the price when it need not: billed on delivery, e/p is the
  // price itself; at p = 1 it is the price; so equal prices tie exactly instead of by rounding noise.
  const price = billing === 'delivered' || p === 1 ? costMicros : costMicros / p;
  if (microsPerMs === 0) return price;
  const time = stepTime(p, latencyMs, waitMs, failure);
  return price + (microsPerMs * time) / p;
}
