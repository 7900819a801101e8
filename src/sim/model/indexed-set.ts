import type { Rng } from '../../core/index.ts';

/**
 * A set that can also hand out a uniformly random member in O(1): churn picks a random pod,
 * node or deployment thousands of times a second, and a Set has no random access.
 * Removal swaps the last member into the hole, so iteration order is not insertion order.
 */
export class IndexedSet<T> {
  readonly #items: T[] = [];
  readonly #positions = new Map<T, number>();

  get size(): number {
    return this.#items.length;
  }

  has(item: T): boolean {
    return this.#positions.has(item);
  }

  add(item: T): void {
    if (this.#positions.has(item)) return;
    this.#positions.set(item, this.#items.length);
    this.#items.push(item);
  }

  delete(item: T): boolean {
    const at = this.#positions.get(item);
    if (at === undefined) return false;
    const last = this.#items.pop() as T;
    this.#positions.delete(item);
    if (at < this.#items.length) {
      this.#items[at] = last;
      this.#positions.set(last, at);
    }
    return true;
  }

  /** A random member, or undefined when empty. */
  pick(rng: Rng): T | undefined {
    return this.#items.length === 0 ? undefined : this.#items[rng.int(this.#items.length)];
  }

  /** The member at position `i` (positions change on delete); for round-robin cursors. */
  at(i: number): T | undefined {
    return this.#items[i];
  }

  values(): readonly T[] {
    return this.#items;
  }
}
