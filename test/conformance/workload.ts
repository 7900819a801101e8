// A seeded random workload for the log conformance suite, and the reference model it is checked
// against. Payloads are JSON naming the object and the update's effect (a real payload carries
// the same information inside its protobuf), so a consumer can rebuild state from a tail alone.
import type { CommittedBatch, PendingUpdate, ScopedEntry, SnapshotEntry, UpdateState } from '../../src/log/index.ts';

import { seededRandom } from '../fixtures/updates.ts';

export { seededRandom };

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export interface PayloadInfo {
  k: string;
  s: UpdateState;
  n: number;
}

export function makePayload(objectKey: string, state: UpdateState, n: number, pad = 0): Uint8Array {
  return encoder.encode(JSON.stringify({ k: objectKey, s: state, n, p: 'x'.repeat(pad) }));
}

export function readPayload(payload: Uint8Array): PayloadInfo {
  const { k, s, n } = JSON.parse(decoder.decode(payload)) as PayloadInfo;
  return { k, s, n };
}

/** What a consumer holds for one object of a scope. */
export interface HeldObject {
  version: number;
  n: number;
  deleted: boolean;
}

export type ScopeState = Map<string, HeldObject>;

/** Applies a tail entry the way a consumer does: the payload says which object and what effect. */
export function applyEntry(state: ScopeState, entry: ScopedEntry): void {
  const info = readPayload(entry.payload);
  if (info.s === 'remove') state.delete(info.k);
  else state.set(info.k, { version: entry.version, n: info.n, deleted: info.s === 'tombstone' });
}

export function stateFromSnapshot(entries: readonly SnapshotEntry[]): ScopeState {
  const state: ScopeState = new Map();
  for (const e of entries) {
    const info = readPayload(e.payload);
    if (info.k !== e.objectKey) throw new Error(`snapshot entry ${e.objectKey} carries the payload of ${info.k}`);
    state.set(e.objectKey, { version: e.version, n: info.n, deleted: e.deleted });
  }
  return state;
}

/** Sorted plain form, for deepStrictEqual with a readable diff. */
export function plain(state: ScopeState): Array<[string, HeldObject]> {
  return [...state.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

interface ModelObject {
  key: string;
  node: string | undefined;
  deleted: boolean;
}

/**
 * The reference: every scope's state after each committed update, and when tombstones were
 * made (for retention checks).
 */
export class Model {
  readonly scopes = new Map<string, ScopeState>();
  readonly deletedAt = new Map<string, number>(); // `${scope}\n${objectKey}` -> ms of the tombstone
  head = 0;

  apply(batch: CommittedBatch): void {
    for (const u of batch.updates) {
      for (const { scope } of u.scopes) {
        let state = this.scopes.get(scope);
        if (!state) this.scopes.set(scope, (state = new Map()));
        applyEntry(state, { version: u.version, prevVersion: 0, payload: u.payload });
        const id = `${scope}\n${u.objectKey}`;
        if (u.state === 'tombstone') this.deletedAt.set(id, batch.committedAtMs);
        else this.deletedAt.delete(id);
      }
      this.head = u.version;
    }
  }

  /** A scope's expected state, without tombstones made before `cutoffMs`. */
  expected(scope: string, cutoffMs = Number.NEGATIVE_INFINITY): ScopeState {
    const out: ScopeState = new Map();
    for (const [key, held] of this.scopes.get(scope) ?? new Map<string, HeldObject>()) {
      if (held.deleted && (this.deletedAt.get(`${scope}\n${key}`) ?? 0) < cutoffMs) continue;
      out.set(key, held);
    }
    return out;
  }
}

/**
 * Generates batches of updates like a cluster's: pods created on a node (cluster + node scope),
 * changed, moved between nodes (scope exit from the old node), deleted (tombstones);
 * namespace-like objects published on every node scope.
 */
export class Workload {
  readonly #random: () => number;
  readonly #objects: ModelObject[] = [];
  readonly #nodes: string[];
  #counter = 0;

  readonly #maxLive: number;

  /** `maxLive` caps live objects (steady churn: creations turn into deletions at the cap). */
  constructor(seed: number, options: { nodes?: number; maxLive?: number } = {}) {
    this.#random = seededRandom(seed);
    this.#nodes = Array.from({ length: options.nodes ?? 4 }, (_, i) => `node/n${i}`);
    this.#maxLive = options.maxLive ?? Number.POSITIVE_INFINITY;
  }

  #pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.#random() * items.length)] as T;
  }

  #update(objectKey: string, state: UpdateState, scopes: string[]): PendingUpdate {
    return { objectKey, state, scopes, payload: makePayload(objectKey, state, ++this.#counter, Math.floor(this.#random() * 40)), kind: objectKey.split('/')[0] as string };
  }

  nextUpdates(): PendingUpdate[] {
    const r = this.#random();
    const live = this.#objects.filter((o) => !o.deleted);
    if ((r < 0.3 && live.length < this.#maxLive) || live.length < 3) {
      const node = this.#pick(this.#nodes);
      const obj = { key: `Pod/${(++this.#counter).toString(36)}`, node, deleted: false };
      this.#objects.push(obj);
      return [this.#update(obj.key, 'upsert', ['cluster', node])];
    }
    const obj = this.#pick(live);
    if (r < 0.55) return [this.#update(obj.key, 'upsert', obj.node ? ['cluster', obj.node] : ['cluster'])];
    if (r < 0.7 && obj.node) {
      const to = this.#pick(this.#nodes.filter((n) => n !== obj.node));
      const from = obj.node;
      obj.node = to;
      return [this.#update(obj.key, 'remove', [from]), this.#update(obj.key, 'upsert', ['cluster', to])];
    }
    if (r < 0.85 || live.length >= this.#maxLive) {
      obj.deleted = true;
      this.#objects.splice(this.#objects.indexOf(obj), 1);
      return [this.#update(obj.key, 'tombstone', obj.node ? ['cluster', obj.node] : ['cluster'])];
    }
    const ns = `Namespace/ns${Math.floor(this.#random() * 3)}`;
    return [this.#update(ns, 'upsert', ['cluster', ...this.#nodes])];
  }

  /** A batch of 1..maxUpdates updates. */
  nextBatch(maxUpdates: number): PendingUpdate[] {
    const n = 1 + Math.floor(this.#random() * maxUpdates);
    const out: PendingUpdate[] = [];
    while (out.length < n) out.push(...this.nextUpdates());
    return out;
  }

  get nodes(): readonly string[] {
    return this.#nodes;
  }
}
