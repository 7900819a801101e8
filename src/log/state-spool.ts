/**
 * The current-state entries (c/ and o/ keys) of commits made as state (`CommitOptions.history`
 * false: a new stream's initial sync), held in memory until `UpdateLog.raiseFloor` writes them
 * in key order.
 *
 * Why: those keys are `<scope>/<uid>` and `<kind>/<uid>`, so a sync written as it arrives
 * inserts them in random order into a large B-tree. Measured at 150,000 pods (1.4 million such
 * keys): LMDB's write thread became what the sync waited for, random inserts touched every
 * leaf page (a gigabyte of the store mapped into the process), and the sync took 74 s; without
 * them 36 s. Written once at the end, sorted, every insert lands next to the previous one.
 *
 * Nothing is lost by holding them: no consumer may read the state of a sync before it ends
 * (docs/design.md §12: the service answers no replay until then), and a crash before they are
 * written leaves the sync unfinished in the store, which the next start runs again (the
 * service's `sync/as-state` marker, written before the sync). The source resourceVersions and
 * meta values of those commits are held too and written with the last state entries: a stored
 * resourceVersion says its kind's state is stored, so a restart after a crash lists every kind
 * again instead of resuming a watch over state it lost. Reading current state through the log
 * while entries are held is refused (LOG_STATE_PENDING) rather than answered from half of it.
 *
 * Memory: per entry a reference to the object key string the update already carries and its
 * version as a small integer, grouped by scope; the few tombstones keep their deletion time apart.
 */
import { ByteArena } from './byte-arena.ts';
import { encodeState } from './record-codec.ts';
import type { StoreOp } from './store.ts';

/** One c/ or o/ entry a state commit sets: the key is `prefix + suffix`. */
export interface SpooledState {
  /** `c/<scope>/` or `o/` (keys.ts): the same few strings again and again. */
  prefix: string;
  /** The escaped object key. */
  suffix: string;
  version: number;
  /** Present for a tombstone (the object was deleted at this time). */
  deletedAtMs?: number;
  /** True: the key is removed (a scope exit). */
  removed?: boolean;
}

/** The entries of one key prefix, in the order they were added. */
interface Group {
  suffixes: string[];
  /** > 0: the version; < 0: a tombstone at the negated version; REMOVED: the key goes. */
  versions: number[];
  /** A tombstone's deletion time, by its index in the group. */
  deletedAtMs: Map<number, number> | undefined;
}

const REMOVED = 0;

export class StateSpool {
  /**
   * Entries grouped by key prefix (a scope, or the object table), appended as they come: no
   * per-key map while the sync runs (a 1.4-million-entry Map of fresh key strings cost more
   * than the writes it saved). Sorting and keeping the last entry of each key happen once, in
   * ops().
   */
  readonly #groups = new Map<string, Group>();
  #entries = 0;
  /** The commits' resourceVersion and meta ops (commit-plan.ts builds them) by key: the last wins. */
  readonly #held = new Map<string, StoreOp>();

  /** State entries held (a key set twice counts twice). */
  get size(): number {
    return this.#entries;
  }

  /** True while anything is held (state entries, resourceVersions or meta). */
  get pending(): boolean {
    return this.#entries > 0 || this.#held.size > 0;
  }

  /**
   * One commit's entries and resourceVersion/meta ops, in commit order: a later entry or op
   * for the same key replaces the earlier one.
   */
  add(entries: readonly SpooledState[], heldOps: readonly StoreOp[] = []): void {
    for (const op of heldOps) if (op.type !== 'deleteRange') this.#held.set(op.key, op);
    for (const e of entries) {
      let group = this.#groups.get(e.prefix);
      if (!group) this.#groups.set(e.prefix, (group = { suffixes: [], versions: [], deletedAtMs: undefined }));
      const index = group.suffixes.length;
      group.suffixes.push(e.suffix);
      if (e.removed === true) {
        group.versions.push(REMOVED);
      } else if (e.deletedAtMs !== undefined) {
        group.versions.push(-e.version);
        (group.deletedAtMs ??= new Map()).set(index, e.deletedAtMs);
      } else {
        group.versions.push(e.version);
      }
    }
    this.#entries += entries.length;
  }

  /**
   * Everything held as store ops: the last entry of each key, in key order, `max` per array
   * (one store commit each), the resourceVersions and meta with the last array. The spool is
   * left as it is: `clear()` once all of them are written.
   */
  *ops(max: number): Generator<StoreOp[]> {
    // Keys are ASCII (keys.ts escapes every name), so code-unit order is the store's byte
    // order. A prefix ends with the only '/' of its escaped segment, so no prefix starts
    // another: ordering the groups by prefix and each group by suffix orders all keys.
    let ops: StoreOp[] = [];
    let arena = new ByteArena();
    for (const prefix of [...this.#groups.keys()].sort()) {
      const { suffixes, versions, deletedAtMs } = this.#groups.get(prefix) as Group;
      const order = sortedIndexes(suffixes);
      for (let k = 0; k < order.length; k++) {
        const i = order[k] as number;
        const suffix = suffixes[i] as string;
        // Equal suffixes are in the order they came: the last of a run is the latest.
        if (k + 1 < order.length && suffixes[order[k + 1] as number] === suffix) continue;
        const key = prefix + suffix;
        const v = versions[i] as number;
        if (v === REMOVED) ops.push({ type: 'delete', key });
        else if (v < 0) ops.push({ type: 'put', key, value: encodeState({ version: -v, deleted: true, deletedAtMs: deletedAtMs?.get(i) ?? 0 }, arena) });
        else ops.push({ type: 'put', key, value: encodeState({ version: v, deleted: false, deletedAtMs: 0 }, arena) });
        if (ops.length === max) {
          yield ops;
          ops = [];
          arena = new ByteArena();
        }
      }
    }
    for (const op of this.#held.values()) ops.push(op);
    if (ops.length > 0) yield ops;
  }

  clear(): void {
    this.#groups.clear();
    this.#entries = 0;
    this.#held.clear();
  }
}

/**
 * The indexes of `suffixes` in the order of the suffixes, equal ones by index. Sorted as
 * tagged strings (suffix, NUL, index in fixed-width base 36) with the engine's own string sort:
 * twice as fast here as sorting indexes with a comparator (500,000 object keys: 0.55 s against
 * 1.0 s). NUL sorts below every character a key may hold (keys.ts), so a suffix that starts
 * another still sorts first.
 */
function sortedIndexes(suffixes: readonly string[]): number[] {
  const width = Math.max(1, suffixes.length.toString(36).length);
  const tagged = suffixes.map((suffix, i) => `${suffix}\u0000${i.toString(36).padStart(width, '0')}`);
  tagged.sort();
  return tagged.map((t) => Number.parseInt(t.slice(t.length - width), 36));
}
