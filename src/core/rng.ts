import { Buffer } from 'node:buffer';

/**
 * The one seeded pseudo-random generator: everything that must give the same values for the
 * same seed on every machine draws from it — the simulated cluster (names, uids, IPs, container
 * ids, node placement, churn), the simulated agents' telemetry, and the tests' seeded
 * workloads and fault schedules. Math.random and crypto.randomUUID are never used on those paths.
 *
 * Two bit generators sit under one API because recorded seeds name their sequences:
 * xoshiro128** (seeded through splitmix32, the default) makes the sim's scenarios, mulberry32
 * the telemetry and the chaos schedules of docs/reliability.md. Changing either would make
 * every recorded seed describe another run.
 */
export type RngAlgorithm = 'xoshiro128**' | 'mulberry32';

let scratch = Buffer.alloc(32);

/** The alphabet Kubernetes uses for generated name suffixes (no vowels, no look-alikes). */
export const NAME_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

export class Rng {
  readonly #mulberry: boolean;
  #a: number;
  #b = 0;
  #c = 0;
  #d = 0;

  constructor(seed: number, algorithm: RngAlgorithm = 'xoshiro128**') {
    this.#mulberry = algorithm === 'mulberry32';
    let s = seed >>> 0;
    if (this.#mulberry) {
      this.#a = s;
      return;
    }
    const next = (): number => {
      // splitmix32: spreads a small seed over the four state words
      s = (s + 0x9e3779b9) | 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.#a = next();
    this.#b = next();
    this.#c = next();
    this.#d = next();
  }

  /** A uniformly distributed unsigned 32-bit integer. */
  uint32(): number {
    if (this.#mulberry) {
      this.#a = (this.#a + 0x6d2b79f5) >>> 0;
      let t = this.#a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return (t ^ (t >>> 14)) >>> 0;
    }
    const result = Math.imul(rotl(Math.imul(this.#b, 5), 7), 9) >>> 0;
    const t = this.#b << 9;
    this.#c ^= this.#a;
    this.#d ^= this.#b;
    this.#b ^= this.#c;
    this.#a ^= this.#d;
    this.#c ^= t;
    this.#d = rotl(this.#d, 11);
    return result;
  }

  /** A float in [0, 1). */
  float(): number {
    return this.uint32() / 4294967296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }

  /** An integer in [min, max]. */
  between(min: number, max: number): number {
    return min + this.int(max - min + 1);
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.float() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('Rng.pick needs a non-empty array');
    return items[this.int(items.length)] as T;
  }

  /** A standard normal variate (Box-Muller), for skewed sizes such as replica counts. */
  normal(): number {
    const u = 1 - this.float();
    const v = this.float();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** `n` lowercase hex characters. */
  hex(n: number): string {
    const words = Math.ceil(n / 8);
    if (scratch.length < words * 4) scratch = Buffer.alloc(words * 4);
    for (let i = 0; i < words; i++) scratch.writeUInt32BE(this.uint32(), i * 4);
    // Buffer's hex encoding is native and gives a flat string, cheap for 600,000 container ids.
    const out = scratch.toString('hex', 0, words * 4);
    return out.length === n ? out : out.slice(0, n);
  }

  /** An RFC 4122 version 4 uuid. */
  uuid(): string {
    const h = this.hex(32);
    const variant = '89ab'[this.uint32() & 3] as string;
    return [h.slice(0, 8), h.slice(8, 12), `4${h.slice(13, 16)}`, variant + h.slice(17, 20), h.slice(20, 32)].join('-');
  }

  /** `n` characters of a Kubernetes generated-name suffix (`nginx-7c5ddbdf54-x8kqz`). */
  suffix(n: number): string {
    let out = '';
    for (let i = 0; i < n; i++) out += NAME_ALPHABET[this.int(NAME_ALPHABET.length)];
    return out;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
