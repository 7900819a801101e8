import type { Clock } from './clock.ts';

export interface BackoffOptions {
  initialMs?: number;
  maxMs?: number;
  factor?: number;
  /** Fraction of each delay that is randomized, 0..1 ("full jitter" is 1). */
  jitter?: number;
  random?: () => number;
}

/**
 * Exponential backoff with jitter. `next()` returns the delay to wait before the next try;
 * `reset()` after a success (client-go resets its backoff once a watch delivers an event).
 */
export class Backoff {
  readonly #initialMs: number;
  readonly #maxMs: number;
  readonly #factor: number;
  readonly #jitter: number;
  readonly #random: () => number;
  #attempt = 0;

  constructor(options: BackoffOptions = {}) {
    this.#initialMs = options.initialMs ?? 200;
    this.#maxMs = options.maxMs ?? 30_000;
    this.#factor = options.factor ?? 2;
    this.#jitter = Math.min(1, Math.max(0, options.jitter ?? 0.5));
    this.#random = options.random ?? Math.random;
  }

  get attempt(): number {
    return this.#attempt;
  }

  next(): number {
    const base = Math.min(this.#maxMs, this.#initialMs * this.#factor ** this.#attempt);
    this.#attempt++;
    return Math.round(base * (1 - this.#jitter) + base * this.#jitter * this.#random());
  }

  /** Waits for the next delay on `clock`; rejects if `signal` aborts. */
  wait(clock: Clock, signal?: AbortSignal): Promise<void> {
    return clock.sleep(this.next(), signal);
  }

  reset(): void {
    this.#attempt = 0;
  }
}
