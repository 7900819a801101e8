/**
 * A bound on the node scopes (NATS subjects `kubemeta.<cluster>.node.<node>`) the service
 * publishes on. A node's scope costs the service a heartbeat per interval, index and head
 * entries in the store, and a subject on NATS, forever after its first update; and its name
 * comes from `spec.nodeName` of any pod, which anyone who may create pods can set to anything
 * (the API server accepts pods bound to nodes that do not exist). Without a bound, a script
 * creating pods with random node names would grow all of that without limit.
 *
 * A node name holds a slot while a Node object or at least one pod refers to it; a new name
 * gets a slot only while fewer than `max` are held. A pod or Node refused a slot is published
 * on the cluster scope only (as if unscheduled) and counted; it enters its node's scope on
 * its next change after room returns. Names in the store at restart always get their slot
 * back (`force`), so a lowered limit never strands objects in scopes nobody updates again.
 */
export class NodeScopeBudget {
  readonly max: number;
  /** node name → holders (pod uids, `Node/<uid>`). */
  readonly #holders = new Map<string, Set<string>>();
  /** Objects refused a slot so far. */
  refused = 0;

  constructor(max: number) {
    if (!Number.isSafeInteger(max) || max < 1) throw new RangeError(`the node scope limit must be a positive integer, got ${String(max)}`);
    this.max = max;
  }

  /** Node scopes held now. */
  get size(): number {
    return this.#holders.size;
  }

  /**
   * The node whose scope `holder` is published on: `node` when it holds or gets a slot, else
   * undefined (cluster scope only). `force` takes a slot beyond the limit (restore).
   */
  admit(node: string | undefined, holder: string, force = false): string | undefined {
    if (node === undefined) return undefined;
    const holders = this.#holders.get(node);
    if (holders) {
      holders.add(holder);
      return node;
    }
    if (!force && this.#holders.size >= this.max) {
      this.refused++;
      return undefined;
    }
    this.#holders.set(node, new Set([holder]));
    return node;
  }

  /** The node names holding a scope now. */
  nodes(): IterableIterator<string> {
    return this.#holders.keys();
  }

  /** Whether `node` has a scope now (for objects that take no slot of their own). */
  has(node: string | undefined): node is string {
    return node !== undefined && this.#holders.has(node);
  }

  /** `holder` no longer refers to `node`; the slot frees with its last holder. */
  release(node: string | undefined, holder: string): void {
    if (node === undefined) return;
    const holders = this.#holders.get(node);
    if (!holders) return;
    holders.delete(holder);
    if (holders.size === 0) this.#holders.delete(node);
  }
}
