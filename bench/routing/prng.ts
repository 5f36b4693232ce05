/**
 * A seeded PRNG (no Math.random anywhere in the simulator). Every draw about a customer or a message
 * comes from a stream keyed by (seed, what, index), so the hidden truth of one message on one channel is
 * the same whichever strategy asks, in whatever order: strategies face the very same world.
 */

/** 32-bit integer hash (Murmur3 finalizer), used to derive independent stream seeds. */
function mix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A seed for the stream named by `parts` (numbers) under the run's seed. */
export function streamSeed(seed: number, ...parts: readonly number[]): number {
  let h = mix(seed ^ 0x9e3779b9);
  for (const part of parts) h = mix(h ^ Math.imul(part + 0x632be5ab, 0x27d4eb2f));
  return h;
}

/** mulberry32: small, fast, good enough for a simulation; deterministic for a given seed. */
export class Random {
  #state: number;

  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  static stream(seed: number, ...parts: readonly number[]): Random {
    return new Random(streamSeed(seed, ...parts));
  }

  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.#state = (this.#state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** Integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** One of `items`, weighted by `weight(item)`. */
  weighted<T>(items: readonly T[], weight: (item: T) => number): T {
    let total = 0;
    for (const item of items) total += weight(item);
    let r = this.next() * total;
    for (const item of items) {
      r -= weight(item);
      if (r < 0) return item;
    }
    return items[items.length - 1]!;
  }

  /** Standard normal (Box–Muller). */
  normal(): number {
    const u = 1 - this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** Log-normal with the given median and shape: long-tailed, like receipt latencies. */
  logNormal(medianMs: number, sigma: number): number {
    return Math.max(1, Math.round(medianMs * Math.exp(sigma * this.normal())));
  }
}
