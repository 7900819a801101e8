import { create } from '@bufbuild/protobuf';
import { ResourceUpdateSchema, WorkloadUpdateSchema, isWorkloadKind, podAddresses, kindFromWire, type NamespaceUpdate, type PodUpdate, type ResourceUpdate, type WorkloadUpdate } from '../schema/index.ts';
import { silentLogger, systemClock, type Clock, type Logger, type ObjectEventType } from '../core/index.ts';
import { controllerOwnerUid } from './convert-pod.ts';
import { endpointSliceMembers, endpointsMembers, projectNamespace, projectNode, projectWorkload } from './convert-objects.ts';
import { BadObjectError, obj, str, timeNs } from './k8s-fields.ts';
import { payloadHash } from './payload-hash.ts';
import { PodTracker, type PodChange, type PodImage } from './pod-tracker.ts';
import { CLUSTER, emptyProjection, makeScopeExit, makeUpdate, nodeScopeName, objectKey, withScopes, type Projection, type ProjectedUpdate } from './projection.ts';
import { ScopeRouter, type Delta } from './scope-router.ts';
import { ServiceViews } from './service-views.ts';
import { NodeScopeBudget } from './node-scope-budget.ts';
import { NetworkRangesTracker } from './network-ranges.ts';

/** Kubernetes kinds the projector accepts from the source. */
export const SOURCE_KINDS = [
  'Namespace', 'Node', 'Pod', 'Service', 'EndpointSlice', 'Endpoints',
  'ReplicaSet', 'Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob', 'ServiceCIDR',
] as const;
export type SourceKind = (typeof SOURCE_KINDS)[number];
type OwnerKind = 'ReplicaSet' | 'Deployment' | 'StatefulSet' | 'DaemonSet' | 'Job' | 'CronJob';

/**
 * A namespace or owner: its payloads are kept, to send to node scopes it enters. `update` is
 * what the cluster scope holds; `view` what node scopes hold (for a workload: its identity
 * without replica counts, see nodeViewOf; for a namespace: the same update).
 */
interface SharedEntry {
  update: ProjectedUpdate;
  hash: number;
  view: ProjectedUpdate;
  viewHash: number;
  name: string;
}

export interface ProjectorStats {
  readonly badObjects: number;
  readonly suppressed: number;
  readonly updates: number;
  readonly pods: number;
  /** Node scopes published on now, and how often a pod or Node was refused one (the limit). */
  readonly nodeScopes: number;
  readonly nodeScopesRefused: number;
}

/** Default bound on node scopes: 4× Kubernetes' 5,000-node scalability limit. */
export const DEFAULT_MAX_NODE_SCOPES = 20_000;

export interface ProjectorOptions {
  clock?: Clock;
  logger?: Logger;
  /** Most node scopes (subjects) published on at once (default 20,000; see NodeScopeBudget). */
  maxNodeScopes?: number;
  /** How long a narrowing of the network ranges must hold before it is published (default 10 min). */
  networkRangesShrinkAfterMs?: number;
}

/**
 * Turns Kubernetes objects into compact updates routed to scopes (docs/design.md §5, §8, §9), and
 * drops events that change nothing we publish (node heartbeats, resourceVersion-only
 * changes). Synchronous, and pure apart from its own memory: the service feeds it source
 * events in order and commits what it returns. After a restart it is rebuilt from the
 * store's state (`restore*`), so a resumed watch or a relist publishes only differences.
 */
export class Projector {
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #router = new ScopeRouter();
  readonly #budget: NodeScopeBudget;
  #refusalsLogged = 0;
  readonly #pods: PodTracker;
  readonly #services: ServiceViews;
  readonly #nodes = new Map<string, { name: string; scope: string | undefined; hash: number }>();
  readonly #shared = new Map<string, SharedEntry>();
  readonly #namespaceUidByName = new Map<string, string>();
  readonly #listing = new Map<string, Set<string>>();
  readonly #ranges: NetworkRangesTracker;
  #suppressed = 0;
  #badObjects = 0;
  #updates = 0;
  /** Inside listPage: the services' views wait for the end of the page. */
  #inPage = false;

  constructor(options: ProjectorOptions = {}) {
    this.#clock = options.clock ?? systemClock;
    this.#log = (options.logger ?? silentLogger).child({ module: 'project' });
    this.#budget = new NodeScopeBudget(options.maxNodeScopes ?? DEFAULT_MAX_NODE_SCOPES);
    this.#pods = new PodTracker(this.#clock, this.#budget);
    this.#services = new ServiceViews(this.#router);
    this.#ranges = new NetworkRangesTracker({ clock: this.#clock, ...(options.networkRangesShrinkAfterMs !== undefined ? { shrinkAfterMs: options.networkRangesShrinkAfterMs } : {}) });
  }

  stats(): ProjectorStats {
    const suppressed = this.#suppressed + this.#pods.suppressed + this.#services.suppressed;
    return {
      badObjects: this.#badObjects,
      suppressed,
      updates: this.#updates,
      pods: this.#pods.size,
      nodeScopes: this.#budget.size,
      nodeScopesRefused: this.#budget.refused,
    };
  }

  /**
   * The node scopes in use now (a Node or a pod refers to them): what deserves heartbeats.
   * Scopes of nodes that are gone are not among them.
   */
  liveNodeScopes(): string[] {
    return Array.from(this.#budget.nodes(), nodeScopeName);
  }

  /**
   * A known pod's last projected state, or undefined when it is unknown or deleted: the
   * credential issuer checks an agent's pod against it (the service's own view, no API call).
   */
  pod(uid: string): PodUpdate | undefined {
    return this.#pods.pod(uid);
  }

  /** One watch event. A malformed object is counted, logged and skipped; it never throws. */
  apply(kind: SourceKind, type: ObjectEventType, object: unknown, out: Projection = emptyProjection()): Projection {
    const before = out.updates.length;
    const refused = this.#budget.refused;
    try {
      this.#dispatch(kind, type, object, out);
      // Within a LIST page (listPage) the services' views are sent once at its end.
      if (!this.#inPage) this.#services.flush(out);
      if (this.#budget.refused > refused) this.#logRefusal(kind, object);
      // Network ranges (network-ranges.ts): learn from the event, publish a change, and give
      // node scopes that first appear in this event's updates the current ranges.
      this.#ranges.observe(kind, type === 'DELETED', object, out);
      this.#ranges.flush(out, before, () => this.#budget.nodes(), (node) => this.#budget.has(node));
    } catch (err) {
      if (!(err instanceof BadObjectError)) throw err;
      this.#badObjects++;
      this.#log.warn({ err, kind }, 'skipped a malformed object');
    }
    this.#updates += out.updates.length - before;
    return out;
  }

  /**
   * A LIST of `kind` (in `namespace`, when the source watches only some namespaces) begins:
   * known objects it does not contain are deleted at `listDone`.
   */
  listStart(kind: SourceKind, namespace?: string): void {
    this.#listing.set(listKey(kind, namespace), new Set());
  }

  /**
   * One page of a LIST: `listObject` for each, with the services' views (service-views.ts)
   * built once at the end of the page instead of after each object — a Deployment's pods
   * arrive together, and each one changed its service's cluster view.
   */
  listPage(kind: SourceKind, objects: readonly unknown[], out: Projection = emptyProjection(), namespace?: string): Projection {
    this.#inPage = true;
    try {
      for (const object of objects) this.listObject(kind, object, out, namespace);
    } finally {
      this.#inPage = false;
    }
    const before = out.updates.length;
    this.#services.flush(out);
    this.#updates += out.updates.length - before;
    return out;
  }

  listObject(kind: SourceKind, object: unknown, out: Projection = emptyProjection(), namespace?: string): Projection {
    const uid = str(obj(obj(object)['metadata'])['uid']);
    if (uid !== '') this.#listing.get(listKey(kind, namespace))?.add(uid);
    return this.apply(kind, 'ADDED', object, out);
  }

  /** Publishes deletions for known objects the LIST did not contain (docs/design.md §6). */
  listDone(kind: SourceKind, out: Projection = emptyProjection(), namespace?: string): Projection {
    const key = listKey(kind, namespace);
    const seen = this.#listing.get(key) ?? new Set<string>();
    this.#listing.delete(key);
    const inNamespace = (stub: unknown): boolean => namespace === undefined || str(obj(obj(stub)['metadata'])['namespace']) === namespace;
    // In uid order: what a relist publishes does not depend on the order objects became known
    // (after a restart that order is the store's, or a projector image's).
    const gone = [...this.#known(kind)].filter(([uid, stub]) => !seen.has(uid) && inNamespace(stub)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    for (const [, stub] of gone) this.apply(kind, 'DELETED', stub, out);
    return out;
  }

  /**
   * Rebuilds memory from one live object of the store's cluster-scope state (call for every
   * object, then `finishRestore`). Publishes nothing. `payload` is the update's stored
   * encoding: its hash is the one the projector computed when it published it (the encoding is
   * deterministic), so nothing is encoded again.
   */
  restore(update: ResourceUpdate, payload: Uint8Array): void {
    const o = update.object;
    const hash = payloadHash(payload);
    this.#ranges.restore(update, payload);
    switch (o.case) {
      case 'pod':
        this.#pods.restorePod(o.value, payload, hash);
        this.#route({ uid: o.value.uid, namespace: o.value.namespace, node: this.#pods.scopeNodeOf(o.value.uid), previousNode: undefined, deleted: false, ownerReferences: o.value.ownerReferences }, emptyProjection());
        return;
      case 'container':
        this.#pods.restoreContainer(o.value, payload, hash);
        return;
      case 'node': {
        const scope = this.#budget.admit(o.value.name, `Node/${o.value.uid}`, true);
        this.#nodes.set(o.value.uid, { name: o.value.name, scope, hash });
        return;
      }
      case 'namespace':
        this.#rememberNamespace(o.value, payload);
        return;
      case 'workload':
        this.#restoreWorkload(o.value, payload);
        return;
      case 'service':
        this.#services.restore(o.value);
        return;
      default:
        return;
    }
  }

  /**
   * Every known pod with its containers and controller owner as they are now, as a restore
   * from the store would rebuild them: the pod records of a projector image
   * (service/projector-image.ts), which a restart loads instead of decoding every stored pod
   * and container. Taken at once; the records can be iterated later (PodTracker.capture).
   */
  capturePods(): Iterable<PodImage & { ownerKey: string | undefined }> {
    const captured = this.#pods.capture();
    const owners = captured.uids.map((uid) => this.#router.placementOf(objectKey('Pod', uid))?.ownerKey);
    return {
      *[Symbol.iterator]() {
        let i = 0;
        for (const p of captured.images()) yield { ...p, ownerKey: owners[i++] };
      },
    };
  }

  /**
   * Rebuilds one pod from an image record, in place of `restore` of its stored pod and
   * containers (same result; call in the store's key order, like `restore`).
   */
  restorePodImage(p: PodImage & { ownerKey: string | undefined }): void {
    const addresses = podAddresses(p.payload);
    if (addresses) this.#ranges.restorePod(addresses);
    this.#pods.restoreImage(p);
    // Services learn their pods from the aux state read after this (restoreAux): nothing to tell them.
    this.#router.restorePod(objectKey('Pod', p.uid), { node: this.#pods.scopeNodeOf(p.uid), namespaceKey: `Namespace:${p.namespace}`, ownerKey: p.ownerKey });
  }

  /**
   * Applies one committed update of the cluster scope on top of restored state: brings a
   * projector image written at an older head up to the store's head. The result is what
   * `restore` of the store's state at the newer head gives (restore.test.ts compares them):
   * an upsert is restored over the old state, a tombstone forgets the object as a restore,
   * which skips tombstones, would not know it.
   */
  replay(update: ResourceUpdate, payload: Uint8Array, tombstone: boolean): void {
    if (!tombstone) return this.restore(update, payload);
    this.#ranges.restoreTombstone(update);
    const o = update.object;
    switch (o.case) {
      case 'pod': {
        const podKey = objectKey('Pod', o.value.uid);
        this.#pods.forget(o.value.uid);
        this.#router.removePod(podKey);
        return;
      }
      case 'container':
        this.#pods.forgetContainer(o.value.podUid, o.value.containerId);
        return;
      case 'node': {
        const known = this.#nodes.get(o.value.uid);
        if (known) this.#budget.release(known.scope, `Node/${o.value.uid}`);
        this.#nodes.delete(o.value.uid);
        return;
      }
      case 'namespace':
        this.#shared.delete(objectKey('Namespace', o.value.uid));
        if (this.#namespaceUidByName.get(o.value.name) === o.value.uid) this.#namespaceUidByName.delete(o.value.name);
        return;
      case 'workload': {
        const kind = kindFromWire(o.value.kind);
        if (!kind || !isWorkloadKind(kind)) return;
        const key = objectKey(kind, o.value.uid);
        this.#shared.delete(key);
        // A restore does not link a deleted owner to its parent: its pods' counts stay below it.
        this.#router.linkOwner(key, undefined);
        return;
      }
      case 'service':
        this.#services.forget(o.value);
        return;
      default:
        return;
    }
  }

  /** Restores aux state (which pods each EndpointSlice lists). */
  restoreAux(key: string, value: Uint8Array): void {
    this.#services.restoreSlice(key, value);
    this.#ranges.restoreAux(key, value);
  }

  finishRestore(): void {
    this.#pods.finishRestore();
    this.#services.finishRestore();
    this.#ranges.finishRestore(this.#budget.nodes());
  }

  #dispatch(kind: SourceKind, type: ObjectEventType, object: unknown, out: Projection): void {
    const deletedAt = type === 'DELETED' ? this.#deletionTime(object) : 0n;
    const uid = (): string => str(obj(obj(object)['metadata'])['uid']);
    switch (kind) {
      case 'Pod':
        this.#route(type === 'DELETED' ? this.#pods.delete(object, deletedAt, out) : this.#pods.upsert(object, out), out);
        return;
      case 'Node':
        return this.#node(object, deletedAt, out);
      case 'Namespace':
        return this.#namespace(object, deletedAt, out);
      case 'Service':
        this.#services.service(object, deletedAt, out);
        return;
      case 'EndpointSlice':
        this.#services.slice(endpointSliceMembers(object), uid(), type === 'DELETED', out);
        return;
      case 'Endpoints':
        this.#services.slice(endpointsMembers(object), uid(), type === 'DELETED', out);
        return;
      case 'ServiceCIDR':
        return; // only the network ranges use it (apply → #ranges.observe)
      default:
        return this.#workload(kind, object, deletedAt, out);
    }
  }

  #deletionTime(object: unknown): bigint {
    const fromObject = timeNs(obj(obj(object)['metadata'])['deletionTimestamp']);
    return fromObject !== 0n ? fromObject : BigInt(this.#clock.now()) * 1_000_000n;
  }

  /** Updates node membership for a pod change and sends what entered or left node scopes. */
  #route(change: PodChange, out: Projection): void {
    const podKey = objectKey('Pod', change.uid);
    if (change.deleted) {
      const services = this.#router.servicesOfPod(podKey);
      this.#applyDeltas(this.#router.removePod(podKey), out);
      this.#services.podRemoved(podKey, services, change.previousNode, out);
      return;
    }
    const owner = change.ownerReferences.find((r) => r.controller && isWorkloadKind(r.kind));
    this.#routeUpsert(change.uid, change.namespace, change.node, owner ? objectKey(owner.kind as OwnerKind, owner.uid) : undefined, out);
  }

  #routeUpsert(uid: string, namespace: string, node: string | undefined, ownerKey: string | undefined, out: Projection): void {
    const podKey = objectKey('Pod', uid);
    const before = this.#router.nodeOfPod(podKey);
    this.#applyDeltas(this.#router.upsertPod(podKey, { node, namespaceKey: `Namespace:${namespace}`, ownerKey }), out);
    if (before !== node) this.#services.podMoved(podKey, [before, node], out);
  }

  #node(object: unknown, deletedAt: bigint, out: Projection): void {
    const node = projectNode(object, deletedAt);
    const holder = `Node/${node.uid}`;
    const known = this.#nodes.get(node.uid);
    // A Node takes a slot of the node-scope budget like its pods (a renamed Node never happens
    // in Kubernetes, but a uid reused under another name must not keep the old slot).
    if (known && known.name !== node.name) this.#budget.release(known.scope, holder);
    const scope = known?.name === node.name && known.scope !== undefined ? known.scope : deletedAt ? undefined : this.#budget.admit(node.name, holder);
    const scopes = scope === undefined ? [CLUSTER] : [CLUSTER, nodeScopeName(scope)];
    const update = makeUpdate('Node', node.uid, 'node', node, scopes, deletedAt ? 'tombstone' : 'upsert');
    const hash = payloadHash(update.payload);
    if (!deletedAt && known?.hash === hash && known.scope === scope) {
      this.#suppressed++;
      return;
    }
    out.updates.push(update);
    if (deletedAt) {
      this.#nodes.delete(node.uid);
      this.#budget.release(scope, holder);
    } else {
      this.#nodes.set(node.uid, { name: node.name, scope, hash });
    }
  }

  /** A pod or Node was refused a node scope (NodeScopeBudget): warn, at most 10 times. */
  #logRefusal(kind: SourceKind, object: unknown): void {
    if (this.#refusalsLogged >= 10) return;
    this.#refusalsLogged++;
    const meta = obj(obj(object)['metadata']);
    this.#log.warn(
      { kind, name: str(meta['name']), namespace: str(meta['namespace']), maxNodeScopes: this.#budget.max, refused: this.#budget.refused },
      `the limit of ${this.#budget.max} node scopes is reached: this object is published on the cluster scope only ` +
        '(raise --max-node-subjects if the cluster really has that many nodes; further refusals are only counted)',
    );
  }

  #namespace(object: unknown, deletedAt: bigint, out: Projection): void {
    const ns = projectNamespace(object, deletedAt);
    const scopes = [CLUSTER, ...this.#router.nodesOf(`Namespace:${ns.name}`).map(nodeScopeName)];
    const update = makeUpdate('Namespace', ns.uid, 'namespace', ns, scopes, deletedAt ? 'tombstone' : 'upsert');
    this.#publishShared(update, update, ns.name, out);
    if (deletedAt) this.#namespaceUidByName.delete(ns.name);
    else this.#namespaceUidByName.set(ns.name, ns.uid);
  }

  #rememberNamespace(ns: NamespaceUpdate, payload: Uint8Array): void {
    const update = create(ResourceUpdateSchema, { object: { case: 'namespace', value: ns } });
    const u: ProjectedUpdate = { objectKey: objectKey('Namespace', ns.uid), kind: 'Namespace', update, payload, scopes: [CLUSTER], state: 'upsert' };
    this.#namespaceUidByName.set(ns.name, ns.uid);
    const hash = payloadHash(payload);
    this.#shared.set(u.objectKey, { update: u, hash, view: u, viewHash: hash, name: ns.name });
  }

  #workload(kind: OwnerKind, object: unknown, deletedAt: bigint, out: Projection): void {
    const w = projectWorkload(kind, object, deletedAt);
    const key = objectKey(kind, w.uid);
    if (!deletedAt) this.#applyDeltas(this.#router.linkOwner(key, parentKey(w)), out);
    const nodes = this.#router.nodesOf(key).map(nodeScopeName);
    if (deletedAt) {
      const tombstone = makeUpdate(kind, w.uid, 'workload', w, [CLUSTER, ...nodes], 'tombstone');
      this.#publishShared(tombstone, tombstone, w.name, out);
      this.#router.forgetOwnerIfUnused(key);
      return;
    }
    const full = makeUpdate(kind, w.uid, 'workload', w, [CLUSTER], 'upsert');
    this.#publishShared(full, makeUpdate(kind, w.uid, 'workload', nodeViewOf(w), nodes, 'upsert'), w.name, out);
  }

  #restoreWorkload(w: WorkloadUpdate, payload: Uint8Array): void {
    const kind = kindFromWire(w.kind);
    if (!kind || !isWorkloadKind(kind)) return;
    const key = objectKey(kind, w.uid);
    this.#router.linkOwner(key, parentKey(w));
    const u: ProjectedUpdate = { objectKey: key, kind, update: create(ResourceUpdateSchema, { object: { case: 'workload', value: w } }), payload, scopes: [CLUSTER], state: 'upsert' };
    const view = makeUpdate(kind, w.uid, 'workload', nodeViewOf(w), [], 'upsert');
    this.#shared.set(key, { update: u, hash: payloadHash(u.payload), view, viewHash: payloadHash(view.payload), name: w.name });
  }

  /**
   * Namespaces and owners: suppress unchanged ones, keep the payloads for node scopes they
   * enter. `view` is what node scopes get (the same object as `update` for a namespace, whose
   * update goes to every scope at once); a workload's cluster update and node view are sent
   * separately, each only when it changed, so a status-only change (a DaemonSet's ready count)
   * stays on the cluster scope instead of reaching every node.
   */
  #publishShared(update: ProjectedUpdate, view: ProjectedUpdate, name: string, out: Projection): void {
    const key = update.objectKey;
    if (update.state === 'tombstone') {
      out.updates.push(update);
      this.#shared.delete(key);
      return;
    }
    const known = this.#shared.get(key);
    const hash = payloadHash(update.payload);
    const viewHash = view === update ? hash : payloadHash(view.payload);
    const changed = known?.hash !== hash;
    const viewChanged = known?.viewHash !== viewHash && view.scopes.length > 0;
    if (!changed && !viewChanged) {
      this.#suppressed++;
    } else if (view === update || (changed && viewChanged && hash === viewHash)) {
      // One payload for every scope (a namespace; a workload with no replica counts).
      out.updates.push(view === update ? update : { ...update, scopes: [...update.scopes, ...view.scopes] });
    } else {
      if (changed) out.updates.push(update);
      if (viewChanged) out.updates.push({ ...view, viewOnly: true });
    }
    this.#shared.set(key, { update, hash, view, viewHash, name });
  }

  /** Sends an object to the node scopes it entered, and a ScopeExit to those it left. */
  #applyDeltas(deltas: readonly Delta[], out: Projection): void {
    for (const d of deltas) {
      if (d.key.startsWith('Service:')) {
        this.#services.nodeChanged(d.key, d.node, d.change, out);
        continue;
      }
      const key = d.key.startsWith('Namespace:') ? this.#namespaceKey(d.key.slice('Namespace:'.length)) : d.key;
      const entry = key === undefined ? undefined : this.#shared.get(key);
      if (!entry) continue; // not known yet: it gets the node's scope when it arrives
      const scope = nodeScopeName(d.node);
      const uid = entry.update.objectKey.slice(entry.update.kind.length + 1);
      out.updates.push(d.change === 'enter' ? withScopes(entry.view, [scope]) : makeScopeExit(entry.update.kind, uid, scope));
    }
  }

  #namespaceKey(name: string): string | undefined {
    const uid = this.#namespaceUidByName.get(name);
    return uid === undefined ? undefined : objectKey('Namespace', uid);
  }

  /** Known live objects of a kind, as stubs a DELETED event can be projected from. */
  *#known(kind: SourceKind): Iterable<[string, unknown]> {
    switch (kind) {
      case 'Pod':
        for (const uid of [...this.#pods.uids()]) yield [uid, this.#pods.stub(uid)];
        return;
      case 'Node':
        for (const [uid, n] of this.#nodes) yield [uid, { metadata: { uid, name: n.name } }];
        return;
      case 'Service':
      case 'EndpointSlice':
      case 'Endpoints':
        yield* this.#services.known(kind);
        return;
      case 'ServiceCIDR':
        yield* this.#ranges.knownServiceCidrs();
        return;
      default:
        for (const [key, e] of this.#shared) {
          if (e.update.kind !== kind) continue;
          const uid = key.slice(kind.length + 1);
          const ns = (e.update.update.object.value as { namespace?: string } | undefined)?.namespace ?? '';
          yield [uid, { metadata: { uid, name: e.name, namespace: ns } }];
        }
    }
  }
}

/**
 * What a node scope holds of a workload: its identity (kind, uid, name, namespace, owners,
 * labels, times) without the replica counts. Node agents hydrate telemetry with identity; the
 * counts change with every pod transition anywhere in the workload, and a DaemonSet's would
 * reach every node of the cluster each time (5,000 messages and store writes per ready-count
 * change at Kubernetes' scale limit). The cluster scope carries the counts.
 */
function nodeViewOf(w: WorkloadUpdate): WorkloadUpdate {
  return create(WorkloadUpdateSchema, { ...w, replicas: 0, readyReplicas: 0, availableReplicas: 0, updatedReplicas: 0 });
}

function listKey(kind: string, namespace: string | undefined): string {
  return namespace === undefined ? kind : `${kind}@${namespace}`;
}

function parentKey(w: WorkloadUpdate): string | undefined {
  const uid = controllerOwnerUid(w.ownerReferences);
  const ref = w.ownerReferences.find((r) => r.uid === uid);
  return ref && isWorkloadKind(ref.kind) ? objectKey(ref.kind, ref.uid) : undefined;
}
