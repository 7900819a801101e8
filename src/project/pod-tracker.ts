import { create } from '@bufbuild/protobuf';
import type { Clock } from '../core/index.ts';
import { ProjectorStateError } from './k8s-fields.ts';
import { ContainerState, ContainerUpdateSchema, PodUpdateSchema, decodeResourceUpdate, type ContainerUpdate, type PodUpdate } from '../schema/index.ts';
import { projectPod } from './convert-pod.ts';
import type { NodeScopeBudget } from './node-scope-budget.ts';
import { payloadHash } from './payload-hash.ts';
import { CLUSTER, makeScopeExit, makeUpdate, nodeScopeName, type Projection, type ProjectedUpdate } from './projection.ts';

// The last published state of each pod and container is kept as its encoded update (the
// payload the log stored), not as a decoded message: a decoded PodUpdate with its conditions,
// containers and owner references is about 3 KB of small heap objects, its encoding about a
// fifth of that in one buffer, and it is only read back when the object is deleted or stops
// (measured at 9,000 pods: 28 MB of decoded messages, 62,000 of them PodUpdate/ContainerUpdate
// objects, that every full GC had to mark).

interface ContainerEntry {
  name: string;
  type: number;
  /** '' while the container has no id (then it is not published on its own). */
  cid: string;
  /** Last published update (encoded), to publish its stop from when it disappears. */
  last: Uint8Array | undefined;
  hash: number;
  /**
   * Whether `last` is live in the store (an upsert); a stopped instance's last update is a
   * tombstone, which a restore from the store does not read back (see capture()).
   */
  live: boolean;
}

interface PodEntry {
  /** Last published update (encoded): a deletion found by a relist is published from it. */
  last: Uint8Array;
  hash: number;
  name: string;
  namespace: string;
  /** spec.nodeName as last published ('' while unscheduled). */
  nodeName: string;
  containers: ContainerEntry[];
  /** The node whose scope the pod is published on (undefined: cluster scope only). */
  node: string | undefined;
}

/** A pod and its containers in a projector image (PodTracker.capture, Projector.capturePods). */
export interface PodImage {
  uid: string;
  name: string;
  namespace: string;
  nodeName: string;
  /** The pod's stored update and its payloadHash. */
  payload: Uint8Array;
  hash: number;
  containers: ContainerImage[];
}

export interface ContainerImage {
  name: string;
  type: number;
  cid: string;
  /** The container's live stored update; undefined when it has none (no id yet, or stopped). */
  payload: Uint8Array | undefined;
  hash: number;
}

export interface PodChange {
  uid: string;
  namespace: string;
  /** The node scope the pod is published on now / was before (see NodeScopeBudget). */
  node: string | undefined;
  previousNode: string | undefined;
  deleted: boolean;
  ownerReferences: PodUpdate['ownerReferences'];
}

/**
 * Pods and their container instances: projection, change suppression, and stops. A restarted
 * container gets a new id; the old instance is published stopped, never dropped silently
 * (docs/design.md §9). Keeps the last published update of each pod and container, encoded (see above),
 * so a deletion discovered by a relist still carries the object's last state.
 */
export class PodTracker {
  readonly #pods = new Map<string, PodEntry>();
  /** Containers restored before their pod (the store lists Container/ keys before Pod/). */
  readonly #orphans = new Map<string, Array<[ContainerUpdate, Uint8Array, number]>>();
  readonly #clock: Clock;
  readonly #budget: NodeScopeBudget;
  suppressed = 0;

  constructor(clock: Clock, budget: NodeScopeBudget) {
    this.#clock = clock;
    this.#budget = budget;
  }

  get size(): number {
    return this.#pods.size;
  }

  uids(): IterableIterator<string> {
    return this.#pods.keys();
  }

  /** The node whose scope a known pod is published on. */
  scopeNodeOf(uid: string): string | undefined {
    return this.#pods.get(uid)?.node;
  }

  /** A known pod's last published state, or undefined when it is unknown or deleted. */
  pod(uid: string): PodUpdate | undefined {
    const p = this.#pods.get(uid);
    return p ? podOf(p.last) : undefined;
  }

  /** The last published state of a pod, as a Kubernetes-shaped stub for a DELETED event. */
  stub(uid: string): unknown {
    const p = this.#pods.get(uid);
    return p ? { metadata: { uid, name: p.name, namespace: p.namespace }, spec: { nodeName: p.nodeName } } : undefined;
  }

  upsert(object: unknown, out: Projection): PodChange {
    const { pod, containers } = projectPod(object);
    const previous = this.#pods.get(pod.uid);
    const previousNode = previous?.node;
    const node = this.#scopeNode(pod, previous);
    const scopes = scopesOf(node);
    const moved = previous !== undefined && previousNode !== node;
    if (moved && previousNode !== undefined) this.#leaveNode(pod.uid, previous, previousNode, out);
    const podUpdate = makeUpdate('Pod', pod.uid, 'pod', pod, scopes, 'upsert');
    const hash = payloadHash(podUpdate.payload);
    this.#push(out, podUpdate, previous?.hash === hash && !moved);
    const entries: ContainerEntry[] = [];
    for (const c of containers) {
      const u = makeUpdate('Container', c.containerId, 'container', c, scopes, c.stopTimeNs !== 0n ? 'tombstone' : 'upsert');
      const h = payloadHash(u.payload);
      const old = previous?.containers.find((p) => p.cid === c.containerId);
      this.#push(out, u, old?.hash === h && !moved);
      entries.push({ name: c.name, type: c.type, cid: c.containerId, last: u.payload, hash: h, live: u.state === 'upsert' });
    }
    for (const old of previous?.containers ?? []) {
      if (old.last && !entries.some((e) => e.cid === old.cid)) out.updates.push(stopped(containerOf(old.last), scopes, BigInt(this.#clock.now()) * 1_000_000n));
    }
    for (const c of pod.containers) if (c.containerId === '') entries.push({ name: c.name, type: c.type, cid: '', last: undefined, hash: 0, live: false });
    this.#pods.set(pod.uid, { last: podUpdate.payload, hash, name: pod.name, namespace: pod.namespace, nodeName: pod.nodeName, containers: entries, node });
    return { uid: pod.uid, namespace: pod.namespace, node, previousNode, deleted: false, ownerReferences: pod.ownerReferences };
  }

  /** Publishes the pod and every container instance stopped at `deletedAt`. */
  delete(object: unknown, deletedAt: bigint, out: Projection): PodChange {
    const { pod: fromEvent } = projectPod(object, deletedAt);
    const previous = this.#pods.get(fromEvent.uid);
    const base = previous ? podOf(previous.last) : fromEvent;
    const pod = create(PodUpdateSchema, { ...base, stopTimeNs: deletedAt });
    // A pod never seen is published on its node's scope only if that scope exists already.
    const node = previous ? previous.node : this.#budget.has(pod.nodeName || undefined) ? pod.nodeName : undefined;
    this.#budget.release(previous?.node, pod.uid);
    const scopes = scopesOf(node);
    out.updates.push(makeUpdate('Pod', pod.uid, 'pod', pod, scopes, 'tombstone'));
    const fromEventContainers = projectPod(object, deletedAt).containers;
    const seen = new Set<string>();
    for (const c of fromEventContainers) {
      seen.add(c.containerId);
      out.updates.push(makeUpdate('Container', c.containerId, 'container', c, scopes, 'tombstone'));
    }
    for (const old of previous?.containers ?? []) {
      if (old.last && !seen.has(old.cid)) out.updates.push(stopped(containerOf(old.last), scopes, deletedAt));
    }
    this.#pods.delete(pod.uid);
    return { uid: pod.uid, namespace: pod.namespace, node: undefined, previousNode: node, deleted: true, ownerReferences: pod.ownerReferences };
  }

  /**
   * Rebuilds memory from the store's state after a restart (publishes nothing). `payload` is the
   * pod's stored update, `hash` its hash (Projector.restore).
   */
  restorePod(pod: PodUpdate, payload: Uint8Array, hash: number): void {
    const existing = this.#pods.get(pod.uid);
    const containers = pod.containers.map((c) => existing?.containers.find((e) => e.cid === c.containerId && c.containerId !== '') ?? { name: c.name, type: c.type, cid: c.containerId, last: undefined, hash: 0, live: false });
    this.#budget.release(existing?.node, pod.uid);
    const node = this.#budget.admit(pod.nodeName || undefined, pod.uid, true);
    this.#pods.set(pod.uid, { last: payload, hash, name: pod.name, namespace: pod.namespace, nodeName: pod.nodeName, containers, node });
    for (const [c, p, h] of this.#orphans.get(pod.uid) ?? []) this.restoreContainer(c, p, h);
    this.#orphans.delete(pod.uid);
  }

  /** `payload`: the container's stored update; `hash`: its hash (Projector.restore). */
  restoreContainer(c: ContainerUpdate, payload: Uint8Array, hash: number): void {
    const entry = this.#pods.get(c.podUid);
    if (!entry) {
      const list = this.#orphans.get(c.podUid);
      if (list) list.push([c, payload, hash]);
      else this.#orphans.set(c.podUid, [[c, payload, hash]]);
      return;
    }
    const slot = entry?.containers.find((e) => e.cid === c.containerId);
    if (slot) {
      slot.last = payload;
      slot.hash = hash;
      slot.live = true;
    } else {
      entry.containers.push({ name: c.name, type: c.type, cid: c.containerId, last: payload, hash, live: true });
    }
  }

  /**
   * Every pod as a restore from the store's state would rebuild it (restorePod +
   * restoreContainer), for a projector image: a stopped container's tombstone is not read back
   * by a restore, so its entry goes without its last update. Images restore what a restore
   * from the store does (test/integration/projector-image.test.ts compares the two).
   *
   * Captured now, converted as iterated: the tracker replaces a pod's entry on every change and
   * never edits one outside a restore, so the entries taken now keep describing this moment.
   */
  capture(): { uids: string[]; images(): IterableIterator<PodImage> } {
    const entries = [...this.#pods];
    return {
      uids: entries.map(([uid]) => uid),
      *images() {
        for (const [uid, p] of entries) {
          yield {
            uid,
            name: p.name,
            namespace: p.namespace,
            nodeName: p.nodeName,
            payload: p.last,
            hash: p.hash,
            containers: p.containers.map((c) => (c.live ? { name: c.name, type: c.type, cid: c.cid, payload: c.last, hash: c.hash } : { name: c.name, type: c.type, cid: c.cid, payload: undefined, hash: 0 })),
          };
        }
      },
    };
  }

  /**
   * A restored pod's tombstone was replayed (Projector.replay): forgotten with its containers,
   * as a restore from the store, which skips tombstones, would not have it.
   */
  forget(uid: string): void {
    const entry = this.#pods.get(uid);
    if (!entry) return;
    this.#budget.release(entry.node, uid);
    this.#pods.delete(uid);
  }

  /** A restored container's tombstone was replayed: its slot keeps no last update (see image()). */
  forgetContainer(podUid: string, cid: string): void {
    const slot = this.#pods.get(podUid)?.containers.find((e) => e.cid === cid);
    if (!slot) return;
    slot.last = undefined;
    slot.hash = 0;
    slot.live = false;
  }

  /** Rebuilds one pod from an image record (see image()); the tracker holds no entry for it yet. */
  restoreImage(p: PodImage): void {
    const node = this.#budget.admit(p.nodeName || undefined, p.uid, true);
    const containers = p.containers.map((c) => ({ name: c.name, type: c.type, cid: c.cid, last: c.payload, hash: c.hash, live: c.payload !== undefined }));
    this.#pods.set(p.uid, { last: p.payload, hash: p.hash, name: p.name, namespace: p.namespace, nodeName: p.nodeName, containers, node });
  }

  /** Ends a restore: containers whose pod is not in the store's state are forgotten. */
  finishRestore(): number {
    const dropped = [...this.#orphans.values()].reduce((n, l) => n + l.length, 0);
    this.#orphans.clear();
    return dropped;
  }

  /**
   * The node scope of an upserted pod: unchanged while its spec.nodeName is (a pod refused a
   * slot stays cluster-only until it changes); otherwise the old slot is released and the
   * new node's is asked for.
   */
  #scopeNode(pod: PodUpdate, previous: PodEntry | undefined): string | undefined {
    const wanted = pod.nodeName || undefined;
    if (previous && (previous.nodeName || undefined) === wanted && (previous.node !== undefined || wanted === undefined)) return previous.node;
    if (previous?.node !== undefined && previous.node !== wanted) this.#budget.release(previous.node, pod.uid);
    return this.#budget.admit(wanted, pod.uid);
  }

  #leaveNode(uid: string, previous: PodEntry, node: string, out: Projection): void {
    const scope = nodeScopeName(node);
    out.updates.push(makeScopeExit('Pod', uid, scope));
    for (const c of previous.containers) if (c.cid !== '') out.updates.push(makeScopeExit('Container', c.cid, scope));
  }

  #push(out: Projection, update: ProjectedUpdate, unchanged: boolean): void {
    if (unchanged) this.suppressed++;
    else out.updates.push(update);
  }
}

function scopesOf(node: string | undefined): string[] {
  return node === undefined ? [CLUSTER] : [CLUSTER, nodeScopeName(node)];
}

/** The pod of an update this tracker encoded (makeUpdate) or the store gave back. */
function podOf(payload: Uint8Array): PodUpdate {
  const o = decodeResourceUpdate(payload).object;
  if (o.case !== 'pod') throw new ProjectorStateError(`a kept pod update decodes as ${o.case ?? 'nothing'}`);
  return o.value;
}

function containerOf(payload: Uint8Array): ContainerUpdate {
  const o = decodeResourceUpdate(payload).object;
  if (o.case !== 'container') throw new ProjectorStateError(`a kept container update decodes as ${o.case ?? 'nothing'}`);
  return o.value;
}

function stopped(last: ContainerUpdate, scopes: readonly string[], at: bigint): ProjectedUpdate {
  const value = create(ContainerUpdateSchema, {
    ...last,
    state: last.state === ContainerState.RUNNING || last.state === ContainerState.WAITING ? ContainerState.TERMINATED : last.state,
    stopTimeNs: last.stopTimeNs !== 0n ? last.stopTimeNs : at,
  });
  return makeUpdate('Container', last.containerId, 'container', value, scopes, 'tombstone');
}
