import { systemClock, type Clock } from '../../core/index.ts';
import { ENTITY_KINDS, isNamespacedKind, type EntityKind } from '../entity-kinds.ts';
import { Term, type ClusterSlot, type GoneReason, type IndexEntry } from './entry.ts';
import { ConsoleError, ConsoleErrorCode } from '../errors.ts';
import { decodeCursor, encodeCursor } from './list-cursor.ts';
import { intersectKinds, parseQuery } from './query-parser.ts';
import type { MatchType } from './ranking.ts';
import { runSearch } from './search.ts';
import { TermDictionary } from './term-dictionary.ts';
import { RetentionQueue } from './retention-queue.ts';

/** One object as the index is fed it (labels are derived from `labels`, never fed). */
export interface EntityInput {
  readonly kind: Exclude<EntityKind, 'label'>;
  /** uid; the bare container id for a container. */
  readonly key: string;
  readonly name: string;
  /** For namespaced kinds. */
  readonly namespace?: string;
  /** A container's pod name. */
  readonly pod?: string;
  /** Labels of pods, workloads, nodes and namespaces: each `key=value` becomes a label entity. */
  readonly labels?: Readonly<Record<string, string>>;
  /** Deleted in Kubernetes: kept, flagged, for the retention window. */
  readonly deleted?: boolean;
}

/** An entity as the index returns it. */
export interface EntitySummary {
  readonly cluster: string;
  readonly kind: EntityKind;
  readonly name: string;
  /** Namespaced kinds only. */
  readonly namespace?: string;
  /** uid (container id for containers, `key=value` for labels). */
  readonly key: string;
  /** Containers: their pod's name. */
  readonly pod?: string;
  /** Labels: how many live objects carry it. */
  readonly count?: number;
  readonly live: boolean;
  /** Why it is no longer live: deleted in Kubernetes, or removed from the cluster's state. */
  readonly gone?: GoneReason;
  /** When it stopped being live (ms since the epoch); it is forgotten retentionMs later. */
  readonly goneAtMs?: number;
}

/** A search result: the entity, how it matched, and which characters of its name matched. */
export interface Suggestion extends EntitySummary {
  readonly match: MatchType;
  /** Typos (fuzzy matches); 0 otherwise. */
  readonly distance: number;
  /** [start, end) offsets into `name` of the characters that matched the query. */
  readonly highlights: ReadonlyArray<readonly [number, number]>;
}

export interface AutocompleteQuery {
  /** The search text: `[kinds:][namespace/]name` (see query-parser.ts). */
  readonly q: string;
  /** Only these kinds (intersected with a `kind:` prefix in `q`). */
  readonly kinds?: readonly EntityKind[];
  /** Only these clusters. */
  readonly clusters?: readonly string[];
  /** Default 10. */
  readonly limit?: number;
}

export interface AutocompleteResult {
  readonly text: string;
  readonly kinds: readonly EntityKind[];
  readonly namespace: string | undefined;
  readonly suggestions: Suggestion[];
}

export interface EntityListOptions {
  readonly clusters?: readonly string[];
  readonly namespace?: string;
  /** Default 100. */
  readonly limit?: number;
  /** The `next` cursor of the previous page. */
  readonly after?: string;
  /** Also entities that are no longer live (within retention). Default false. */
  readonly includeDeleted?: boolean;
}

export interface EntityPage {
  readonly items: EntitySummary[];
  /** Pass as `after` for the next page; undefined on the last page. */
  readonly next: string | undefined;
}

export interface IndexMemory {
  readonly entries: number;
  /** An estimate of the heap the index holds (bench/autocomplete.ts measures it). */
  readonly bytes: number;
}

export interface ClusterIndexStats extends IndexMemory {
  readonly live: number;
}

export interface IndexStats extends IndexMemory {
  readonly live: number;
  readonly terms: number;
  readonly byKind: Readonly<Record<EntityKind, number>>;
  readonly clusters: Readonly<Record<string, ClusterIndexStats>>;
}

export interface AutocompleteIndexOptions {
  /** How long entities that stopped being live stay findable (flagged). Default 1 h. */
  retentionMs?: number;
  /** Injected time (tests). */
  clock?: Clock;
}

/** Placeholder until the dictionary files a new entry under its term. */
const NO_TERM = new Term('', -1);

/**
 * Per-entry heap estimate: the entry object (13 fields: 128 bytes on 64-bit V8 without pointer
 * compression, Node's default) and its share of the cluster's key map, calibrated with
 * bench/autocomplete.ts (heap delta after GC within a few % at 150,000 pods). Names, keys and
 * namespaces are the state objects' own strings, not copies.
 */
const ENTRY_BYTES = 140;

/**
 * An in-memory index of entity names of one or more clusters for autocomplete: namespaces,
 * nodes, services, workloads (Deployment, StatefulSet, DaemonSet, CronJob, Job, ReplicaSet),
 * pods, containers (by name, with their pod) and labels (`key=value`).
 *
 * - Fed synchronously (`upsert`, `remove`, `replace`): a search sees every change fed before
 *   it. clusters/cluster-feed.ts maps an SDK ClusterClient's state and changes onto these calls.
 * - Entities that stop being live (deleted in Kubernetes, or removed from the client's state)
 *   stay findable, flagged and ranked after live ones, for `retentionMs`; then they are
 *   forgotten. A label is live while a live object carries it.
 * - Searches: exact, prefix, substring and typo-tolerant (search.ts), filtered by kind,
 *   namespace and cluster, ranked (ranking.ts), with highlighted match ranges.
 * Not shared between threads; one event loop feeds and queries it.
 */
export class AutocompleteIndex {
  readonly retentionMs: number;
  readonly #clock: Clock;
  readonly #dicts = new Map<EntityKind, TermDictionary>(ENTITY_KINDS.map((k) => [k, new TermDictionary()]));
  readonly #clusters = new Map<string, ClusterSlot>();
  readonly #retention = new RetentionQueue<IndexEntry>();
  #seq = 0;
  #searches = 0;
  #labelTextBytes = 0;

  constructor(options: AutocompleteIndexOptions = {}) {
    const retentionMs = options.retentionMs ?? 3_600_000;
    if (!Number.isInteger(retentionMs) || retentionMs < 0) {
      throw new ConsoleError(ConsoleErrorCode.INVALID_OPTIONS, `retentionMs must be an integer ≥ 0, got ${String(retentionMs)}`);
    }
    this.retentionMs = retentionMs;
    this.#clock = options.clock ?? systemClock;
  }

  /** Clusters fed so far, in the order they were first fed. */
  clusterNames(): string[] {
    return [...this.#clusters.keys()];
  }

  hasCluster(name: string): boolean {
    return this.#clusters.has(name);
  }

  /** Adds or updates an object; `deleted` flags it (kept for the retention window). */
  upsert(cluster: string, input: EntityInput): void {
    const slot = this.#cluster(cluster);
    const byKey = slot.byKind.get(input.kind) as Map<string, IndexEntry>;
    const entry = byKey.get(input.key);
    const namespace = isNamespacedKind(input.kind) ? (input.namespace ?? '') : '';
    if (!entry) {
      const created = this.#create(slot, input.kind, input.key, input.name, namespace);
      created.pod = input.pod ?? '';
      created.labels = input.labels;
      byKey.set(input.key, created);
      if (input.deleted) this.#markGone(created, 'deleted');
      else this.#labels(slot, undefined, input.labels);
      return;
    }
    const wasLive = entry.goneAtMs === 0;
    if (entry.name !== input.name) this.#rename(entry, input.name);
    entry.namespace = namespace;
    entry.pod = input.pod ?? '';
    const oldLabels = entry.labels;
    entry.labels = input.labels;
    if (input.deleted) {
      if (wasLive) {
        this.#labels(slot, oldLabels, undefined);
        this.#markGone(entry, 'deleted');
      } else {
        entry.gone = 'deleted';
      }
    } else {
      if (!wasLive) this.#revive(entry);
      this.#labels(slot, wasLive ? oldLabels : undefined, input.labels);
    }
  }

  /** The object left the cluster's state (it is kept, flagged `removed`, for the retention window). */
  remove(cluster: string, kind: Exclude<EntityKind, 'label'>, key: string): void {
    const slot = this.#clusters.get(cluster);
    const entry = slot?.byKind.get(kind)?.get(key);
    if (!slot || !entry || entry.goneAtMs !== 0) return;
    this.#labels(slot, entry.labels, undefined);
    this.#markGone(entry, 'removed');
  }

  /**
   * Replaces what the index holds of `cluster` with `entities` (a full state: after a
   * snapshot, or when changes were lost): everything fed, then every live entity not among
   * them removed (kept, flagged, for the retention window).
   */
  replace(cluster: string, entities: Iterable<EntityInput>): void {
    const slot = this.#cluster(cluster);
    const seen = new Map<EntityKind, Set<string>>();
    for (const e of entities) {
      let keys = seen.get(e.kind);
      if (!keys) seen.set(e.kind, (keys = new Set()));
      keys.add(e.key);
      this.upsert(cluster, e);
    }
    for (const [kind, byKey] of slot.byKind) {
      if (kind === 'label') continue;
      const keys = seen.get(kind);
      const missing = [...byKey.values()].filter((e) => e.goneAtMs === 0 && !keys?.has(e.key));
      for (const e of missing) this.remove(cluster, kind, e.key);
    }
  }

  /** Forgets a cluster entirely. */
  dropCluster(cluster: string): void {
    const slot = this.#clusters.get(cluster);
    if (!slot) return;
    for (const byKey of slot.byKind.values()) {
      for (const e of byKey.values()) (this.#dicts.get(e.kind) as TermDictionary).remove(e);
      byKey.clear(); // its retention records become stale
    }
    this.#clusters.delete(cluster);
  }

  /** Forgets entities whose retention ended. Cheap when none did. Returns how many. */
  sweep(): number {
    const due = this.#clock.now() - this.retentionMs;
    let purged = 0;
    for (;;) {
      const e = this.#retention.takeDue(due);
      if (e === undefined) return purged;
      // Stale records: revived (live again), or gone again later (a newer record exists), or purged.
      if (e.value.goneAtMs !== e.atMs || e.value.cluster.byKind.get(e.value.kind)?.get(e.value.key) !== e.value) continue;
      this.#purge(e.value);
      purged++;
    }
  }

  /** Searches (see AutocompleteQuery). Throws ConsoleError UNKNOWN_KIND for a bad `kind:` prefix. */
  search(query: AutocompleteQuery): AutocompleteResult {
    this.sweep();
    const parsed = parseQuery(query.q);
    const kinds = intersectKinds(parsed.kinds, query.kinds) ?? ENTITY_KINDS;
    const hits = runSearch(this.#dicts, {
      text: parsed.text,
      kinds,
      clusters: this.#clusterFilter(query.clusters),
      namespace: parsed.namespace,
      limit: query.limit ?? 10,
    }, () => ++this.#searches);
    return {
      text: parsed.text,
      kinds,
      namespace: parsed.namespace,
      suggestions: hits.map((h) => ({ ...summarize(h.entry), match: h.match, distance: h.distance, highlights: h.highlights })),
    };
  }

  /**
   * Entities of one kind in name order (then creation order), a page at a time. Throws
   * ConsoleError BAD_REQUEST for a cursor this index did not make.
   */
  list(kind: EntityKind, options: EntityListOptions = {}): EntityPage {
    this.sweep();
    const limit = options.limit ?? 100;
    const clusters = this.#clusterFilter(options.clusters);
    const namespace = options.namespace?.toLowerCase();
    const after = options.after === undefined ? undefined : decodeCursor(options.after);
    const items: EntitySummary[] = [];
    let last: IndexEntry | undefined;
    let more = false;
    (this.#dicts.get(kind) as TermDictionary).browseFrom(after?.text ?? '', true, (term) => {
      for (const e of term.slots) {
        if (e === undefined || (after && term.text === after.text && e.seq <= after.seq)) continue;
        if ((e.goneAtMs !== 0 && options.includeDeleted !== true) || (clusters && !clusters.has(e.cluster))) continue;
        if (namespace !== undefined && e.namespace !== namespace) continue;
        if (items.length === limit) {
          more = true;
          return false;
        }
        items.push(summarize(e));
        last = e;
      }
      return true;
    });
    return { items, next: more && last ? encodeCursor(last.term.text, last.seq) : undefined };
  }

  /** Entries, live entries, terms, and an estimate of the heap held, in all and per cluster. */
  stats(): IndexStats {
    this.sweep();
    const byKind = Object.fromEntries(ENTITY_KINDS.map((k) => [k, 0])) as Record<EntityKind, number>;
    let entries = 0;
    let live = 0;
    for (const slot of this.#clusters.values()) {
      entries += slot.total;
      live += slot.live;
      for (const [kind, byKey] of slot.byKind) byKind[kind] += byKey.size;
    }
    let terms = 0;
    let dictBytes = 0;
    for (const d of this.#dicts.values()) {
      terms += d.terms;
      dictBytes += d.estimateBytes();
    }
    const bytes = entries * ENTRY_BYTES + dictBytes + this.#labelTextBytes + this.#retention.size * 24;
    const clusters: Record<string, ClusterIndexStats> = {};
    for (const [name, slot] of this.#clusters) {
      clusters[name] = { entries: slot.total, live: slot.live, bytes: entries === 0 ? 0 : Math.round((bytes * slot.total) / entries) };
    }
    return { entries, live, terms, bytes, byKind, clusters };
  }

  /** Merges pending names into the sorted dictionaries now (after a bulk load; searches do it when due). */
  settle(): void {
    for (const d of this.#dicts.values()) d.settle();
  }

  #cluster(name: string): ClusterSlot {
    let slot = this.#clusters.get(name);
    if (!slot) {
      slot = { name, byKind: new Map(ENTITY_KINDS.map((k) => [k, new Map()])), live: 0, total: 0 };
      this.#clusters.set(name, slot);
    }
    return slot;
  }

  #clusterFilter(names: readonly string[] | undefined): Set<ClusterSlot> | undefined {
    if (names === undefined) return undefined;
    const set = new Set<ClusterSlot>();
    for (const n of names) {
      const slot = this.#clusters.get(n);
      if (slot) set.add(slot);
    }
    return set;
  }

  #create(slot: ClusterSlot, kind: EntityKind, key: string, name: string, namespace: string): IndexEntry {
    // Every field set at once: one object shape for all entries.
    const entry: IndexEntry = {
      cluster: slot, kind, key, name, namespace, pod: '', labels: undefined, count: 0, goneAtMs: 0, gone: undefined, seq: ++this.#seq,
      term: NO_TERM, slot: 0,
    };
    (this.#dicts.get(kind) as TermDictionary).add(entry, name.toLowerCase());
    slot.total++;
    slot.live++;
    return entry;
  }

  #rename(entry: IndexEntry, name: string): void {
    const dict = this.#dicts.get(entry.kind) as TermDictionary;
    dict.remove(entry);
    entry.name = name;
    (entry as { seq: number }).seq = ++this.#seq; // appended to its new term: keeps slots in seq order
    dict.add(entry, name.toLowerCase());
  }

  #markGone(entry: IndexEntry, reason: GoneReason): void {
    if (entry.goneAtMs !== 0) return;
    (this.#dicts.get(entry.kind) as TermDictionary).setGone(entry, Math.max(1, this.#clock.now()));
    entry.gone = reason;
    entry.cluster.live--;
    this.#retention.push(entry, entry.goneAtMs);
  }

  #revive(entry: IndexEntry): void {
    (this.#dicts.get(entry.kind) as TermDictionary).setGone(entry, 0);
    entry.gone = undefined;
    entry.cluster.live++;
  }

  #purge(entry: IndexEntry): void {
    (this.#dicts.get(entry.kind) as TermDictionary).remove(entry);
    entry.cluster.byKind.get(entry.kind)?.delete(entry.key);
    entry.cluster.total--;
    if (entry.kind === 'label') this.#labelTextBytes -= 24 + entry.name.length;
  }

  /** Moves label counts from an object's old labels (undefined: it was not live) to its new ones. */
  #labels(slot: ClusterSlot, before: Readonly<Record<string, string>> | undefined, after: Readonly<Record<string, string>> | undefined): void {
    if (before === after) return;
    if (before) for (const k in before) if (after?.[k] !== before[k]) this.#countLabel(slot, `${k}=${before[k]}`, -1);
    if (after) for (const k in after) if (before?.[k] !== after[k]) this.#countLabel(slot, `${k}=${after[k]}`, 1);
  }

  #countLabel(slot: ClusterSlot, text: string, delta: 1 | -1): void {
    const byKey = slot.byKind.get('label') as Map<string, IndexEntry>;
    let entry = byKey.get(text);
    if (!entry) {
      if (delta < 0) return;
      entry = this.#create(slot, 'label', text, text, '');
      byKey.set(text, entry);
      this.#labelTextBytes += 24 + text.length;
    } else if (delta > 0 && entry.goneAtMs !== 0) {
      this.#revive(entry);
    }
    entry.count += delta;
    if (entry.count <= 0) {
      entry.count = 0;
      this.#markGone(entry, 'removed');
    }
  }
}

function summarize(e: IndexEntry): EntitySummary {
  const live = e.goneAtMs === 0;
  return {
    cluster: e.cluster.name,
    kind: e.kind,
    name: e.name,
    ...(isNamespacedKind(e.kind) ? { namespace: e.namespace } : {}),
    key: e.key,
    ...(e.kind === 'container' ? { pod: e.pod } : {}),
    ...(e.kind === 'label' ? { count: e.count } : {}),
    live,
    ...(live ? {} : { gone: e.gone, goneAtMs: e.goneAtMs }),
  };
}
