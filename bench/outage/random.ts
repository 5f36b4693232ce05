/**
 * Seeded draws (no Math.random): every draw about a message comes from a stream keyed by (seed, message,
 * what), so a message meets the same phone, the same latency and the same lost receipt in every run,
 * whichever provider carries it and whenever it is sent.
 */

/** Murmur3's finalizer: a 32-bit hash to derive stream seeds. */
function mix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** mulberry32 over a stream named by `parts`. */
export class Random {
  #state: number;

  constructor(seed: number, ...parts: readonly number[]) {
    let h = mix(seed ^ 0x9e3779b9);
    for (const part of parts) h = mix(h ^ Math.imul(part + 0x632be5ab, 0x27d4eb2f));
    this.#state = h;
  }

  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.#state = (this.#state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  /** Log-normal with this median and shape (Box–Muller), at least 1 ms: long-tailed, like receipt latencies. */
  logNormal(medianMs: number, sigma: number): number {
    const normal = Math.sqrt(-2 * Math.log(1 - this.next())) * Math.cos(2 * Math.PI * this.next());
    return Math.max(1, Math.round(medianMs * Math.exp(sigma * normal)));
  }
}
