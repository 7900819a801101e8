/**
 * A map by key with named secondary indexes: client-go's `Indexer` (tools/cache/index.go,
 * thread_safe_store.go) in TypeScript. Each index function returns the index values of an item
 * (pods → their node name; services → their member pod uids); `keysBy(index, value)` answers
 * "which items have this value" without a scan. Index values are recomputed from the old item
 * on replace/delete, so an index never keeps a stale entry.
 */
export type IndexFunc<T> = (item: T) => readonly string[];

const EMPTY: ReadonlySet<string> = new Set<string>();

export class Indexer<T, N extends string = string> {
  readonly #items = new Map<string, T>();
  readonly #fns: ReadonlyArray<readonly [N, IndexFunc<T>]>;
  readonly #indices = new Map<N, Map<string, Set<string>>>();

  constructor(indexes: Readonly<Record<N, IndexFunc<T>>>) {
    this.#fns = Object.entries(indexes) as Array<[N, IndexFunc<T>]>;
    for (const [name] of this.#fns) this.#indices.set(name, new Map());
  }

  get size(): number {
    return this.#items.size;
  }

  get(key: string): T | undefined {
    return this.#items.get(key);
  }

  has(key: string): boolean {
    return this.#items.has(key);
  }

  values(): IterableIterator<T> {
    return this.#items.values();
  }

  entries(): IterableIterator<[string, T]> {
    return this.#items.entries();
  }

  /** Adds or replaces the item under `key`, moving its index entries. */
  set(key: string, item: T): void {
    const old = this.#items.get(key);
    this.#items.set(key, item);
    for (const [name, fn] of this.#fns) {
      const index = this.#indices.get(name) as Map<string, Set<string>>;
      const before = old === undefined ? undefined : fn(old);
      const after = fn(item);
      if (before !== undefined && sameValues(before, after)) continue;
      if (before !== undefined) for (const v of before) removeFrom(index, v, key);
      for (const v of after) addTo(index, v, key);
    }
  }

  delete(key: string): T | undefined {
    const old = this.#items.get(key);
    if (old === undefined) return undefined;
    this.#items.delete(key);
    for (const [name, fn] of this.#fns) {
      const index = this.#indices.get(name) as Map<string, Set<string>>;
      for (const v of fn(old)) removeFrom(index, v, key);
    }
    return old;
  }

  /** Keys of the items whose index `name` contains `value` (a live view: do not mutate). */
  keysBy(name: N, value: string): ReadonlySet<string> {
    return this.#indices.get(name)?.get(value) ?? EMPTY;
  }

  /** The items whose index `name` contains `value`. */
  valuesBy(name: N, value: string): T[] {
    const out: T[] = [];
    for (const key of this.keysBy(name, value)) {
      const item = this.#items.get(key);
      if (item !== undefined) out.push(item);
    }
    return out;
  }

  /** The distinct values of index `name`. */
  indexValues(name: N): IterableIterator<string> {
    return (this.#indices.get(name) as Map<string, Set<string>>).keys();
  }

  clear(): void {
    this.#items.clear();
    for (const index of this.#indices.values()) index.clear();
  }
}

function sameValues(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function addTo(index: Map<string, Set<string>>, value: string, key: string): void {
  let keys = index.get(value);
  if (!keys) index.set(value, (keys = new Set()));
  keys.add(key);
}

function removeFrom(index: Map<string, Set<string>>, value: string, key: string): void {
  const keys = index.get(value);
  if (!keys) return;
  keys.delete(key);
  if (keys.size === 0) index.delete(value);
}
