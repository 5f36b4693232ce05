/**
 * Seeded draws (no Math.random): every draw about a message comes from a stream keyed by (seed, message,
 * what), so a message meets the same phone, the same latency and the same lost receipt in every run,
 * whichever provider carries it and whenever it is sent. The generator and its stream seeds are the
 * routing simulator's (bench/routing/prng.ts).
 */
import { Random as Stream, streamSeed } from '../routing/prng.js';

/** mulberry32 over a stream named by `parts`. */
export class Random extends Stream {
  constructor(seed: number, ...parts: readonly number[]) {
    super(streamSeed(seed, ...parts));
  }

  /** Log-normal with this median and shape (Box–Muller, its two draws in this order), at least 1 ms. */
  override logNormal(medianMs: number, sigma: number): number {
    const normal = Math.sqrt(-2 * Math.log(1 - this.next())) * Math.cos(2 * Math.PI * this.next());
    return Math.max(1, Math.round(medianMs * Math.exp(sigma * normal)));
  }
}
