/**
 * Entries that stopped being live, in the order they stopped. The retention window is the same
 * for all, so the oldest record is always the next to expire: a FIFO, no heap. Records are not
 * removed when an entry comes back to life; the taker checks that a record is still current.
 */
export class RetentionQueue<T> {
  #items: Array<{ readonly value: T; readonly atMs: number }> = [];
  #head = 0;

  get size(): number {
    return this.#items.length - this.#head;
  }

  /** Records that `value` stopped being live at `atMs` (non-decreasing across calls). */
  push(value: T, atMs: number): void {
    this.#items.push({ value, atMs });
  }

  /** The oldest record if it is at or before `dueMs`, removed; else undefined. */
  takeDue(dueMs: number): { readonly value: T; readonly atMs: number } | undefined {
    const next = this.#items[this.#head];
    if (next === undefined || next.atMs > dueMs) return undefined;
    this.#items[this.#head] = undefined as never;
    this.#head++;
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return next;
  }
}
