import { ClosedError, InvalidArgumentError } from './errors.ts';

/**
 * A FIFO with a fixed capacity, one consumer, and backpressure.
 *
 * `push` waits while the queue is full (the producer slows down instead of memory growing);
 * `offer` never waits and returns false when full, for producers that must not block and
 * mark a gap instead (the overflow policy is the caller's, and it should count it).
 * Iterating with `for await` takes items until `close()` and the queue has drained.
 * Unlike nats.js's iterator queue or client-go's pendingNotifications, it never grows past
 * `capacity`.
 */
export class BoundedQueue<T> implements AsyncIterable<T> {
  readonly capacity: number;
  #items: T[] = [];
  #head = 0;
  #closed = false;
  #error: Error | undefined;
  #waitingTaker: ((value: IteratorResult<T>) => void) | undefined;
  #takerReject: ((err: Error) => void) | undefined;
  #waitingPushers: Array<() => void> = [];

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new InvalidArgumentError('capacity', `must be a positive integer, got ${capacity}`);
    }
    this.capacity = capacity;
  }

  get size(): number {
    return this.#items.length - this.#head;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Adds an item if there is room; false when full. Throws after close(). */
  offer(item: T): boolean {
    if (this.#closed) throw new ClosedError('queue');
    if (this.#waitingTaker) {
      const take = this.#waitingTaker;
      this.#clearTaker();
      take({ value: item, done: false });
      return true;
    }
    if (this.size >= this.capacity) return false;
    this.#items.push(item);
    return true;
  }

  /** Adds an item, waiting for room. Rejects with ClosedError if the queue closes first. */
  async push(item: T, signal?: AbortSignal): Promise<void> {
    while (!this.offer(item)) {
      signal?.throwIfAborted();
      await new Promise<void>((resolve, reject) => {
        const wake = (): void => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        };
        const onAbort = (): void => {
          this.#waitingPushers = this.#waitingPushers.filter((w) => w !== wake);
          reject(signal?.reason);
        };
        this.#waitingPushers.push(wake);
        signal?.addEventListener('abort', onAbort, { once: true });
      });
    }
  }

  /** Takes the next item; `done` once closed and drained. Rejects if closed with an error. */
  take(): Promise<IteratorResult<T>> {
    if (this.size > 0) {
      const value = this.#items[this.#head] as T;
      this.#items[this.#head] = undefined as T;
      this.#head++;
      if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
        this.#items = this.#items.slice(this.#head);
        this.#head = 0;
      }
      this.#wakePusher();
      return Promise.resolve({ value, done: false });
    }
    if (this.#closed) {
      return this.#error ? Promise.reject(this.#error) : Promise.resolve({ value: undefined, done: true });
    }
    if (this.#waitingTaker) throw new InvalidArgumentError('queue', 'only one consumer may wait at a time');
    return new Promise((resolve, reject) => {
      this.#waitingTaker = resolve;
      this.#takerReject = reject;
    });
  }

  /**
   * Stops accepting items. Items already queued are still delivered; waiting pushers are
   * released (their push retries, sees the close, and throws ClosedError). With `error`, the
   * consumer gets that error after the queued items.
   */
  close(error?: Error): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#error = error;
    if (this.#waitingTaker) {
      const take = this.#waitingTaker;
      const reject = this.#takerReject;
      this.#clearTaker();
      if (error) reject?.(error);
      else take({ value: undefined, done: true });
    }
    const pushers = this.#waitingPushers;
    this.#waitingPushers = [];
    for (const wake of pushers) wake();
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => this.take(),
      return: () => {
        this.close();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }

  #clearTaker(): void {
    this.#waitingTaker = undefined;
    this.#takerReject = undefined;
  }

  #wakePusher(): void {
    const wake = this.#waitingPushers.shift();
    wake?.();
  }
}
