import { Rng } from '../core/index.ts';

/**
 * The generator of synthetic telemetry: core's, on mulberry32, so the same seed gives the same
 * processes, latencies and status codes, and a demo or a bench run can be repeated. Not for
 * anything that needs real randomness.
 */
export function seededRandom(seed: number): Rng {
  return new Rng(seed, 'mulberry32');
}

/** A 32-bit seed from a base seed and a name (FNV-1a), so each agent has its own stream. */
export function deriveSeed(seed: number, name: string): number {
  let h = (0x811c9dc5 ^ (seed >>> 0)) >>> 0;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}
