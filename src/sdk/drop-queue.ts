/**
 * A bounded single-consumer queue whose producer never waits (style habit 7).
 *
 * The SDK's producers are the NATS callback and the apply path: they must not block on a slow
 * reader (docs/design.md §11 in the small: one slow status or change reader must not stall the
 * client). So when the queue is full the overflow policy decides:
 * - `dropOldest`: the oldest item goes (status events: the newest matter most);
 * - `reset`: every queued item goes and the reader next receives one marker item built by
 *   `marker(dropped)` (change events: a reader that lost changes must re-read the state, and
 *   the marker tells it so).
 * Either way `dropped` counts what was lost. Iterate with `for await`; iteration ends after
 * `close()` once the queued items are delivered.
 */
export type OverflowPolicy = 'dropOldest' | 'reset';

export interface DropQueueOptions<T> {
  capacity: number;
  policy: OverflowPolicy;
  /** For `reset`: the item the reader gets in place of what was dropped. */
  marker?: (dropped: number) => T;
  /** Called when the reader stops iterating (return/break) or the queue closes. */
  onClose?: () => void;
}

export class DropQueue<T> implements AsyncIterableIterator<T> {
  readonly capacity: number;
  readonly #policy: OverflowPolicy;
  readonly #marker: ((dropped: number) => T) | undefined;
  readonly #onClose: (() => void) | undefined;
  #items: T[] = [];
  #head = 0;
  #dropped = 0;
  /** Items dropped since the last marker was delivered (reset policy). */
  #pendingMarker = 0;
  #closed = false;
  #waiter: ((result: IteratorResult<T>) => void) | undefined;

  constructor(options: DropQueueOptions<T>) {
    this.capacity = Math.max(1, Math.floor(options.capacity));
    this.#policy = options.policy;
    this.#marker = options.marker;
    this.#onClose = options.onClose;
  }

  get size(): number {
    return this.#items.length - this.#head;
  }

  /** Items lost to overflow since the queue was created. */
  get dropped(): number {
    return this.#dropped;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Adds an item without ever waiting; applies the overflow policy when full. */
  push(item: T): void {
    if (this.#closed) return;
    if (this.#waiter && this.#pendingMarker === 0) {
      const wake = this.#waiter;
      this.#waiter = undefined;
      wake({ value: item, done: false });
      return;
    }
    if (this.size >= this.capacity) {
      if (this.#policy === 'dropOldest') {
        this.#shift();
        this.#dropped++;
      } else {
        const lost = this.size + 1;
        this.#dropped += lost;
        this.#pendingMarker += lost;
        this.#items = [];
        this.#head = 0;
        this.#wakeWithMarker();
        return;
      }
    }
    this.#items.push(item);
  }

  next(): Promise<IteratorResult<T>> {
    if (this.#pendingMarker > 0 && this.#marker) return Promise.resolve({ value: this.#takeMarker(), done: false });
    if (this.size > 0) return Promise.resolve({ value: this.#shift(), done: false });
    if (this.#closed) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => {
      this.#waiter = resolve;
    });
  }

  return(): Promise<IteratorResult<T>> {
    this.close();
    this.#items = [];
    this.#head = 0;
    return Promise.resolve({ value: undefined, done: true });
  }

  /** Stops accepting items; the reader still gets what is queued, then `done`. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#waiter) {
      const wake = this.#waiter;
      this.#waiter = undefined;
      wake({ value: undefined, done: true });
    }
    this.#onClose?.();
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }

  #wakeWithMarker(): void {
    if (!this.#waiter || !this.#marker) return;
    const wake = this.#waiter;
    this.#waiter = undefined;
    wake({ value: this.#takeMarker(), done: false });
  }

  #takeMarker(): T {
    const n = this.#pendingMarker;
    this.#pendingMarker = 0;
    return (this.#marker as (dropped: number) => T)(n);
  }

  #shift(): T {
    const value = this.#items[this.#head] as T;
    this.#items[this.#head] = undefined as T;
    this.#head++;
    if (this.#head > 256 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return value;
  }
}
