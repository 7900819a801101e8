import type { Clock } from '../core/index.ts';

/**
 * Flow control of one replay answer (docs/design.md §11, wire protocol §7): the server publishes each
 * response with a reply subject and the consumer acknowledges it with ReplayAck. At most `max`
 * responses may be unacknowledged; `waitForRoom` holds the answer (and only this answer) until
 * an ack makes room, and gives up when no ack came for `timeoutMs`.
 *
 * Acks are cumulative: an ack for sequence s also acknowledges every response before it (a
 * consumer processes them in order), so a lost ack costs nothing once a later one arrives.
 */
export class AckWindow {
  readonly #max: number;
  #lastSent = -1;
  #acked = -1;
  #wake: (() => void) | undefined;

  constructor(max: number) {
    this.#max = max;
  }

  /** Responses sent and not yet acknowledged. */
  get inFlight(): number {
    return this.#lastSent - this.#acked;
  }

  /** Records that the response with `sequence` went out with a reply subject. */
  sent(sequence: number): void {
    if (sequence > this.#lastSent) this.#lastSent = sequence;
  }

  /**
   * Records an ack. Returns false for an ack of a response that was never sent (a confused or
   * hostile consumer): it is ignored and cannot open the window.
   */
  ack(sequence: number): boolean {
    if (sequence > this.#lastSent) return false;
    if (sequence > this.#acked) {
      this.#acked = sequence;
      const wake = this.#wake;
      this.#wake = undefined;
      wake?.();
    }
    return true;
  }

  /**
   * Resolves once fewer than `max` responses are in flight. Resolves `false` when no ack
   * arrived for `timeoutMs` while the window was full (the caller aborts the answer); rejects
   * with `signal.reason` when the signal aborts.
   */
  async waitForRoom(clock: Clock, timeoutMs: number, signal: AbortSignal): Promise<boolean> {
    while (this.inFlight >= this.#max) {
      signal.throwIfAborted();
      const before = this.#acked;
      const acked = new Promise<boolean>((resolve) => {
        this.#wake = () => resolve(true);
      });
      const timer = new AbortController();
      const onAbort = (): void => timer.abort(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      const expired = clock.sleep(timeoutMs, timer.signal).then(
        () => false,
        (err: unknown) => {
          if (signal.aborted) throw err;
          return true; // our own cancel after an ack: not a timeout
        },
      );
      try {
        await Promise.race([acked, expired]);
      } finally {
        signal.removeEventListener('abort', onAbort);
        timer.abort();
        this.#wake = undefined;
      }
      if (this.#acked === before) {
        signal.throwIfAborted();
        return false;
      }
    }
    return true;
  }
}
