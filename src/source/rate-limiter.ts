import type { Clock } from '../core/index.ts';

/**
 * Token bucket for requests to the API server: `qps` tokens per second, at most `burst`
 * saved up. Every LIST page and every watch start takes one, so a crash loop or a relist
 * storm cannot hammer the control plane (client-go's default is 5 qps, burst 10).
 */
export class RateLimiter {
  readonly #qps: number;
  readonly #burst: number;
  readonly #clock: Clock;
  #tokens: number;
  #last: number;
  #chain: Promise<void> = Promise.resolve();

  constructor(qps: number, burst: number, clock: Clock) {
    this.#qps = qps;
    this.#burst = Math.max(1, burst);
    this.#clock = clock;
    this.#tokens = this.#burst;
    this.#last = clock.now();
  }

  /** Resolves when a token is available; waiters are served in order. */
  take(signal?: AbortSignal): Promise<void> {
    const turn = this.#chain.then(() => this.#takeNow(signal));
    this.#chain = turn.catch(() => undefined);
    return turn;
  }

  async #takeNow(signal?: AbortSignal): Promise<void> {
    for (;;) {
      signal?.throwIfAborted();
      const now = this.#clock.now();
      this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#last) / 1000) * this.#qps);
      this.#last = now;
      if (this.#tokens >= 1) {
        this.#tokens -= 1;
        return;
      }
      await this.#clock.sleep(Math.ceil(((1 - this.#tokens) / this.#qps) * 1000), signal);
    }
  }
}
