import type { ClusterIndex, Entry } from './cluster-index.ts';

type Labels = Entry['labels'];
const EMPTY: ReadonlySet<string> = new Set();
const NO_KEYS: readonly string[] = [];

/**
 * Pods of each namespace by label `key=value`, kept only for the label keys that some
 * selector starts with (`app`, `k8s-app`, …): a new or changed Service finds its pods here
 * instead of scanning its namespace, and pod writes pay for one or two keys, not all labels.
 */
export class PodLabelIndex {
  readonly #index: ClusterIndex;
  /** namespace -> indexed label key -> number of selectors using it. */
  readonly #keys = new Map<string, Map<string, number>>();
  /** namespace -> "key=value" -> pod keys. */
  readonly #pods = new Map<string, Map<string, Set<string>>>();

  constructor(index: ClusterIndex) {
    this.#index = index;
  }

  /** The label keys selectors in `namespace` start with. */
  keys(namespace: string): Iterable<string> {
    return this.#keys.get(namespace)?.keys() ?? NO_KEYS;
  }

  pods(namespace: string, key: string, value: string): ReadonlySet<string> {
    return this.#pods.get(namespace)?.get(`${key}=${value}`) ?? EMPTY;
  }

  /** A selector starting with `key` appeared in `namespace`: index that key (once). */
  use(namespace: string, key: string): void {
    let keys = this.#keys.get(namespace);
    if (!keys) this.#keys.set(namespace, (keys = new Map()));
    const users = keys.get(key) ?? 0;
    keys.set(key, users + 1);
    if (users > 0) return;
    for (const podKey of this.#index.inNamespace(namespace, 'Pod')) {
      const value = this.#index.entry('Pod', podKey)?.labels?.[key];
      if (value !== undefined) this.#add(namespace, `${key}=${value}`, podKey);
    }
  }

  release(namespace: string, key: string): void {
    const keys = this.#keys.get(namespace);
    const users = (keys?.get(key) ?? 0) - 1;
    if (users > 0) {
      keys?.set(key, users);
      return;
    }
    keys?.delete(key);
    const pairs = this.#pods.get(namespace);
    for (const pair of [...(pairs?.keys() ?? [])]) if (pair.startsWith(`${key}=`)) pairs?.delete(pair);
  }

  /** A pod's labels went from `before` to `after`. */
  update(namespace: string, podKey: string, before: Labels, after: Labels): void {
    const keys = this.#keys.get(namespace);
    if (!keys) return;
    for (const key of keys.keys()) {
      const was = before?.[key];
      const is = after?.[key];
      if (was === is) continue;
      if (was !== undefined) this.#remove(namespace, `${key}=${was}`, podKey);
      if (is !== undefined) this.#add(namespace, `${key}=${is}`, podKey);
    }
  }

  #add(namespace: string, pair: string, podKey: string): void {
    let pairs = this.#pods.get(namespace);
    if (!pairs) this.#pods.set(namespace, (pairs = new Map()));
    let set = pairs.get(pair);
    if (!set) pairs.set(pair, (set = new Set()));
    set.add(podKey);
  }

  #remove(namespace: string, pair: string, podKey: string): void {
    const set = this.#pods.get(namespace)?.get(pair);
    set?.delete(podKey);
    if (set?.size === 0) this.#pods.get(namespace)?.delete(pair);
  }
}
