import { formatUpid, type ProcessInfo, type Upid } from '../schema/index.ts';

/**
 * The service's processes (wire-protocol §12) in memory: by UPID, by pod, and per node the live
 * ones (counted against the live cap) and the stopped ones in the order they stopped (evicted
 * oldest first beyond the stopped cap, dropped after the retention). Every change is recorded as
 * dirty so the registry can write it to the store. Pure: time comes in as arguments.
 *
 * Memory is bounded by the caps: nodes × (live cap + stopped cap) records, each at most the
 * 4 KiB command line plus ~200 bytes; nodes are those the service's own state places pods on
 * (a report is accepted only for such a pod's container).
 */
export class ProcessTable {
  readonly #byUpid = new Map<string, ProcessInfo>();
  readonly #byPod = new Map<string, Set<string>>();
  readonly #nodes = new Map<string, { live: Set<string>; stopped: Map<string, number> }>();
  /** UPID keys changed since the last takeDirty: put (record present) or delete (absent). */
  #dirty = new Set<string>();
  readonly #maxStoppedPerNode: number;
  evicted = 0;
  expired = 0;

  constructor(options: { maxStoppedPerNode: number }) {
    this.#maxStoppedPerNode = options.maxStoppedPerNode;
  }

  get size(): number {
    return this.#byUpid.size;
  }

  get(upid: Upid): ProcessInfo | undefined {
    return this.#byUpid.get(formatUpid(upid));
  }

  liveOnNode(node: string): number {
    return this.#nodes.get(node)?.live.size ?? 0;
  }

  counts(): { live: number; stopped: number } {
    let live = 0;
    let stopped = 0;
    for (const n of this.#nodes.values()) {
      live += n.live.size;
      stopped += n.stopped.size;
    }
    return { live, stopped };
  }

  /** The pod's processes, oldest start first; stopped ones only with `includeStopped`. */
  ofPod(podUid: string, includeStopped: boolean): ProcessInfo[] {
    const out: ProcessInfo[] = [];
    for (const key of this.#byPod.get(podUid) ?? []) {
      const p = this.#byUpid.get(key) as ProcessInfo;
      if (includeStopped || p.stopTimeNs === 0n) out.push(p);
    }
    return out.sort((a, b) => (a.startTimeNs < b.startTimeNs ? -1 : a.startTimeNs > b.startTimeNs ? 1 : 0));
  }

  /** Live processes whose pod is gone (for the sweep to stop them). */
  liveOfPods(isGone: (podUid: string) => boolean): ProcessInfo[] {
    const out: ProcessInfo[] = [];
    for (const [podUid, keys] of this.#byPod) {
      if (!isGone(podUid)) continue;
      for (const key of keys) {
        const p = this.#byUpid.get(key) as ProcessInfo;
        if (p.stopTimeNs === 0n) out.push(p);
      }
    }
    return out;
  }

  /**
   * Stores `p` (a new process, or a new state of a known one: the caller merged it). A stopped
   * one beyond its node's stopped cap evicts that node's earliest-stopped process.
   */
  put(p: ProcessInfo, dirty = true): void {
    const key = formatUpid(p.upid);
    const old = this.#byUpid.get(key);
    if (old) this.#unindex(key, old);
    this.#byUpid.set(key, p);
    let pods = this.#byPod.get(p.podUid);
    if (!pods) this.#byPod.set(p.podUid, (pods = new Set()));
    pods.add(key);
    const node = this.#node(p.nodeName);
    if (p.stopTimeNs === 0n) node.live.add(key);
    else node.stopped.set(key, Number(p.stopTimeNs / 1_000_000n));
    if (dirty) this.#dirty.add(key);
    while (node.stopped.size > this.#maxStoppedPerNode) {
      const oldest = node.stopped.keys().next().value as string;
      this.#delete(oldest);
      this.evicted++;
    }
  }

  /**
   * Drops stopped processes that stopped at or before `cutoffMs`. Stops mostly arrive in time
   * order, so each node's stopped map is scanned from its oldest entry until a younger one;
   * a late report of an old stop waits behind it at most until that one expires.
   */
  expire(cutoffMs: number): number {
    let n = 0;
    for (const node of this.#nodes.values()) {
      for (const [key, stoppedAtMs] of node.stopped) {
        if (stoppedAtMs > cutoffMs) break;
        this.#delete(key);
        n++;
      }
    }
    this.expired += n;
    return n;
  }

  /** The UPID keys changed since the last call, with their record (undefined: deleted). */
  takeDirty(max: number): Array<[string, ProcessInfo | undefined]> {
    const out: Array<[string, ProcessInfo | undefined]> = [];
    for (const key of this.#dirty) {
      if (out.length >= max) break;
      out.push([key, this.#byUpid.get(key)]);
      this.#dirty.delete(key);
    }
    return out;
  }

  /** Marks keys dirty again (their write failed). */
  markDirty(keys: Iterable<string>): void {
    for (const key of keys) this.#dirty.add(key);
  }

  get dirtyCount(): number {
    return this.#dirty.size;
  }

  #delete(key: string): void {
    const p = this.#byUpid.get(key);
    if (!p) return;
    this.#unindex(key, p);
    this.#byUpid.delete(key);
    this.#dirty.add(key);
  }

  #unindex(key: string, p: ProcessInfo): void {
    const pods = this.#byPod.get(p.podUid);
    pods?.delete(key);
    if (pods?.size === 0) this.#byPod.delete(p.podUid);
    const node = this.#nodes.get(p.nodeName);
    node?.live.delete(key);
    node?.stopped.delete(key);
    if (node && node.live.size === 0 && node.stopped.size === 0) this.#nodes.delete(p.nodeName);
  }

  #node(name: string): { live: Set<string>; stopped: Map<string, number> } {
    let n = this.#nodes.get(name);
    if (!n) this.#nodes.set(name, (n = { live: new Set(), stopped: new Map() }));
    return n;
  }
}
