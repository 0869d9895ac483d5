import seedrandom from 'seedrandom';

/**
 * A seeded pseudo-random generator (seedrandom's Alea): the same seed gives the same stream on
 * every machine. All randomness in the project (init, shuffling, splits, random labels) flows
 * from one of these, derived from the run's seed with {@link deriveSeed}.
 */
export class Rng {
  private readonly prng: seedrandom.PRNG;
  constructor(seed: number | string) {
    this.prng = seedrandom.alea(String(seed));
  }
  /** Uniform float in [0, 1). */
  next(): number {
    return this.prng();
  }
  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.prng() * n);
  }
  /** Standard normal N(0, 1) by Box–Muller. */
  normal(): number {
    let u = 0;
    while (u === 0) u = this.prng();
    const v = this.prng();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
  /** In-place Fisher–Yates shuffle; returns its argument. */
  shuffle<T extends { length: number; [i: number]: any }>(a: T): T {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
    return a;
  }
  /** A random permutation of 0..n-1 as Int32Array. */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    return this.shuffle(p);
  }
}

/** Derive a child seed from a parent seed and a purpose label (stable, 32-bit unsigned). */
export function deriveSeed(seed: number, label: string): number {
  const r = seedrandom.alea(`${seed}/${label}`);
  return Math.floor(r() * 2 ** 32) >>> 0;
}
