import type { EntityKind } from '../entity-kinds.ts';

/** Why an entity stopped being live: deleted in Kubernetes, or gone from the client's state. */
export type GoneReason = 'deleted' | 'removed';

/**
 * One indexed entity of one cluster (internal: the API returns copies). Strings are shared with
 * the client's state objects, not copied. Fields change in place on updates.
 */
export interface IndexEntry {
  readonly cluster: ClusterSlot;
  readonly kind: EntityKind;
  /** The entity's key within (cluster, kind): uid, bare container id, or `key=value` for a label. */
  readonly key: string;
  name: string;
  /** '' for cluster-wide kinds. */
  namespace: string;
  /** A container's pod name; '' otherwise. */
  pod: string;
  /** The object's labels (by reference), to count label entities; undefined for kinds without. */
  labels: Readonly<Record<string, string>> | undefined;
  /** Labels: how many live objects carry it. */
  count: number;
  /** 0 while live; else when it stopped being live (index clock, ms). */
  goneAtMs: number;
  gone: GoneReason | undefined;
  /** Creation order: the last tie-break in rankings (older first). */
  readonly seq: number;
  /** Where the entry sits in its term (set by the dictionary). */
  term: Term;
  slot: number;
}

/** Per-cluster bookkeeping of the index. */
export interface ClusterSlot {
  readonly name: string;
  /** (kind → key → entry) */
  readonly byKind: Map<EntityKind, Map<string, IndexEntry>>;
  live: number;
  total: number;
}

const EMPTY: Array<IndexEntry | undefined> = [];

/**
 * One distinct name (lowercased) of one kind with the entries that carry it, in creation
 * order. `slots` may hold holes (removed entries) until it is compacted.
 */
export class Term {
  readonly text: string;
  /** Id in the dictionary's gram index; reused after the term dies. */
  id: number;
  slots: Array<IndexEntry | undefined> = EMPTY;
  size = 0;
  /** Entries of this term that are live. */
  live = 0;
  dead = false;
  /** Last search that visited it (dedupes a term across match classes). */
  mark = 0;

  constructor(text: string, id: number) {
    this.text = text;
    this.id = id;
  }

  add(entry: IndexEntry): void {
    entry.term = this;
    entry.slot = this.slots.length;
    // Most names belong to one entity: a one-slot literal, not an empty array grown by push
    // (which reserves 17 slots).
    if (this.slots.length === 0) this.slots = [entry];
    else this.slots.push(entry);
    this.size++;
  }

  /** Removes an entry; returns true when the term is now empty. */
  remove(entry: IndexEntry): boolean {
    if (this.slots[entry.slot] !== entry) return false;
    this.slots[entry.slot] = undefined;
    this.size--;
    const holes = this.slots.length - this.size;
    if (holes > 8 && holes > this.size) this.#compact();
    return this.size === 0;
  }

  #compact(): void {
    const kept: IndexEntry[] = [];
    for (const e of this.slots) {
      if (e === undefined) continue;
      e.slot = kept.length;
      kept.push(e);
    }
    this.slots = kept;
  }
}
