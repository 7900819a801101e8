import { create, toBinary } from '@bufbuild/protobuf';
import type { ServiceUpdate } from '../schema/index.ts';
import { ServiceUpdateSchema } from '../schema/index.ts';
import { projectService, type EndpointMembers } from './convert-objects.ts';
import { payloadHash, textHash } from './payload-hash.ts';
import { CLUSTER, makeScopeExit, makeUpdate, nodeScopeName, objectKey, type Projection } from './projection.ts';
import type { Delta, ScopeRouter } from './scope-router.ts';

interface ServiceEntry {
  base: ServiceUpdate;
  /** Fingerprint of `base` encoded: with a node and its pods, what a node view holds. */
  baseHash: number;
  deleted: boolean;
  clusterHash: number | undefined;
  /** node → fingerprint of the view last sent to that node's scope (see #viewHash). */
  viewHashes: Map<string, number>;
}

const baseHashOf = (base: ServiceUpdate): number => payloadHash(toBinary(ServiceUpdateSchema, base));

const SLICE_PREFIX = 'slice/';

/**
 * Services and their membership. The cluster scope gets a Service with every member pod and
 * node; a node scope gets a view with only the member pods on that node, so an agent's
 * memory follows its node's workload and a change on one node is sent to that node alone.
 * Membership comes from EndpointSlices (or Endpoints); which slice lists which pods is kept
 * as aux state so a restart without a relist still knows it.
 */
export class ServiceViews {
  readonly #router: ScopeRouter;
  readonly #services = new Map<string, ServiceEntry>(); // by `<namespace>/<name>`
  readonly #slices = new Map<string, { serviceName: string; podUids: string[]; kind: 'EndpointSlice' | 'Endpoints' }>();
  readonly #slicesByService = new Map<string, Set<string>>();
  /**
   * Views to send at the next flush(): service name → the node scopes whose view may have
   * changed ('' for the cluster scope's). One event (a pod scheduled: its services enter the
   * node, then their cluster and node views refresh) or one page of a LIST (a Deployment's pods
   * arrive together) asks for the same view many times; it is built, encoded and hashed once.
   */
  readonly #pending = new Map<string, Set<string>>();
  suppressed = 0;

  constructor(router: ScopeRouter) {
    this.#router = router;
  }

  /** A Service was added, changed or deleted. */
  service(object: unknown, deletedAt: bigint, out: Projection): Delta[] {
    const base = projectService(object, deletedAt);
    const name = `${base.namespace}/${base.name}`;
    const previous = this.#services.get(name);
    const baseHash = baseHashOf(base);
    const entry: ServiceEntry =
      previous && previous.base.uid === base.uid
        ? { ...previous, base, baseHash, deleted: deletedAt !== 0n }
        : { base, baseHash, deleted: deletedAt !== 0n, clusterHash: undefined, viewHashes: new Map() };
    this.#services.set(name, entry);
    if (entry.deleted) {
      // Sent now, not at the flush: the entry is forgotten below.
      this.#pending.delete(name);
      this.#sendCluster(name, entry, out);
      for (const node of this.#router.nodesOf(`Service:${name}`)) this.#sendView(name, entry, node, out);
      this.#services.delete(name);
      return [];
    }
    this.#emitAll(name);
    return [];
  }

  /** An EndpointSlice (or Endpoints) changed: membership of its service is recomputed. */
  slice(members: EndpointMembers, sliceUid: string, deleted: boolean, out: Projection): Delta[] {
    if (sliceUid === '') return [];
    const old = this.#slices.get(sliceUid);
    if (old) this.#slicesByService.get(old.serviceName)?.delete(sliceUid);
    if (deleted || members.serviceName === '') {
      this.#slices.delete(sliceUid);
      out.aux.push({ key: SLICE_PREFIX + sliceUid, value: undefined });
    } else {
      const entry = { serviceName: members.serviceName, podUids: [...new Set(members.podUids)].sort(), kind: 'EndpointSlice' as const };
      this.#slices.set(sliceUid, entry);
      let set = this.#slicesByService.get(entry.serviceName);
      if (!set) this.#slicesByService.set(entry.serviceName, (set = new Set()));
      set.add(sliceUid);
      out.aux.push({ key: SLICE_PREFIX + sliceUid, value: new TextEncoder().encode(JSON.stringify(entry)) });
    }
    for (const name of new Set([old?.serviceName, members.serviceName])) if (name) this.#recompute(name, out);
    return [];
  }

  /** The router says service `routerKey` entered or left `node`'s scope. */
  nodeChanged(routerKey: string, node: string, change: 'enter' | 'exit', out: Projection): void {
    const name = routerKey.slice('Service:'.length);
    const entry = this.#services.get(name);
    if (!entry) return;
    if (change === 'enter') this.#ask(name, node);
    else this.#exitView(entry, node, out);
  }

  /**
   * Sends the views asked for since the last flush, each built once from the state now: a
   * node's view only if the service is still in that node's scope (an exit is sent at once).
   * The projector calls it at the end of each event and of each LIST page, so the views go in
   * the same commit as the change that caused them.
   */
  flush(out: Projection): void {
    if (this.#pending.size === 0) return;
    const pending = [...this.#pending];
    this.#pending.clear();
    for (const [name, scopes] of pending) {
      const entry = this.#services.get(name);
      if (!entry) continue;
      for (const scope of scopes) {
        if (scope === '') this.#sendCluster(name, entry, out);
        else if (this.#router.isIn(`Service:${name}`, scope)) this.#sendView(name, entry, scope, out);
      }
    }
  }

  /** A member pod was scheduled or moved: the views on its old and new node change. */
  podMoved(podKey: string, nodes: Array<string | undefined>, out: Projection): void {
    for (const routerKey of this.#router.servicesOfPod(podKey)) this.#refresh(routerKey.slice('Service:'.length), nodes, out);
  }

  podRemoved(_podKey: string, routerKeys: string[], node: string | undefined, out: Projection): void {
    for (const routerKey of routerKeys) this.#refresh(routerKey.slice('Service:'.length), [node], out);
  }

  restore(update: ServiceUpdate): void {
    const name = `${update.namespace}/${update.name}`;
    const base = create(ServiceUpdateSchema, { ...update, podUids: [], nodeNames: [] });
    this.#services.set(name, { base, baseHash: baseHashOf(base), deleted: false, clusterHash: payloadHash(this.#clusterView(base, update.podUids, update.nodeNames).payload), viewHashes: new Map() });
  }

  /** A restored service's tombstone was replayed (Projector.replay). */
  forget(update: ServiceUpdate): void {
    this.#services.delete(`${update.namespace}/${update.name}`);
  }

  restoreSlice(key: string, value: Uint8Array): void {
    if (!key.startsWith(SLICE_PREFIX)) return;
    const entry = JSON.parse(new TextDecoder().decode(value)) as { serviceName: string; podUids: string[]; kind: 'EndpointSlice' | 'Endpoints' };
    const uid = key.slice(SLICE_PREFIX.length);
    this.#slices.set(uid, entry);
    let set = this.#slicesByService.get(entry.serviceName);
    if (!set) this.#slicesByService.set(entry.serviceName, (set = new Set()));
    set.add(uid);
    this.#router.setServicePods(`Service:${entry.serviceName}`, this.#members(entry.serviceName).map((u) => objectKey('Pod', u)));
  }

  /**
   * Ends a restore: the node views the store holds are the ones these services and slices
   * produce, so they are taken as sent (a later change or exit then compares against them).
   */
  finishRestore(): void {
    for (const [name, entry] of this.#services) {
      for (const [node, pods] of this.#router.servicePodsByNode(`Service:${name}`)) {
        entry.viewHashes.set(node, viewHash(entry, node, pods.map((k) => k.slice('Pod/'.length)).sort()));
      }
    }
  }

  /** Known services, or slices, as minimal objects a DELETED event can be projected from. */
  *known(kind: 'Service' | 'EndpointSlice' | 'Endpoints'): Iterable<[string, unknown]> {
    if (kind === 'Service') {
      for (const e of this.#services.values()) yield [e.base.uid, { metadata: { uid: e.base.uid, name: e.base.name, namespace: e.base.namespace } }];
      return;
    }
    for (const [uid, s] of this.#slices) {
      const [namespace, service] = s.serviceName.split('/');
      yield [uid, { metadata: { uid, name: `${service}-gone`, namespace, labels: { 'kubernetes.io/service-name': service } } }];
    }
  }


  #members(serviceName: string): string[] {
    const pods = new Set<string>();
    for (const sliceUid of this.#slicesByService.get(serviceName) ?? []) for (const p of this.#slices.get(sliceUid)?.podUids ?? []) pods.add(p);
    return [...pods].sort();
  }

  #recompute(name: string, out: Projection): void {
    const routerKey = `Service:${name}`;
    const before = this.#router.servicePodsByNode(routerKey);
    const deltas = this.#router.setServicePods(routerKey, this.#members(name).map((u) => objectKey('Pod', u)));
    const after = this.#router.servicePodsByNode(routerKey);
    const entry = this.#services.get(name);
    if (!entry) return;
    for (const d of deltas) if (d.change === 'exit') this.#exitView(entry, d.node, out);
    this.#ask(name, '');
    for (const [node, pods] of after) {
      if (before.get(node)?.join() !== pods.join()) this.#ask(name, node);
    }
  }

  #refresh(name: string, nodes: Array<string | undefined>, out: Projection): void {
    const entry = this.#services.get(name);
    if (!entry) return;
    this.#ask(name, '');
    for (const node of nodes) {
      if (node === undefined) continue;
      if (this.#router.isIn(`Service:${name}`, node)) this.#ask(name, node);
      else this.#exitView(entry, node, out);
    }
  }

  #emitAll(name: string): void {
    this.#ask(name, '');
    for (const node of this.#router.nodesOf(`Service:${name}`)) this.#ask(name, node);
  }

  #clusterView(base: ServiceUpdate, podUids: string[], nodeNames: string[]) {
    const value = create(ServiceUpdateSchema, { ...base, podUids, nodeNames });
    return makeUpdate('Service', base.uid, 'service', value, [CLUSTER], base.stopTimeNs !== 0n ? 'tombstone' : 'upsert');
  }

  #ask(name: string, scope: string): void {
    let scopes = this.#pending.get(name);
    if (!scopes) this.#pending.set(name, (scopes = new Set()));
    scopes.add(scope);
  }

  #sendCluster(name: string, entry: ServiceEntry, out: Projection): void {
    const nodes = this.#router.nodesOf(`Service:${name}`).sort();
    const update = this.#clusterView(entry.base, this.#members(name), nodes);
    const hash = payloadHash(update.payload);
    if (!entry.deleted && hash === entry.clusterHash) {
      this.suppressed++;
      return;
    }
    entry.clusterHash = hash;
    out.updates.push(update);
  }

  #sendView(name: string, entry: ServiceEntry, node: string, out: Projection): void {
    const pods = this.#router.servicePodsOnNode(`Service:${name}`, node).map((k) => k.slice('Pod/'.length)).sort();
    const hash = viewHash(entry, node, pods);
    if (!entry.deleted && entry.viewHashes.get(node) === hash) {
      this.suppressed++;
      return;
    }
    const value = create(ServiceUpdateSchema, { ...entry.base, podUids: pods, nodeNames: [node] });
    const view = makeUpdate('Service', entry.base.uid, 'service', value, [nodeScopeName(node)], entry.deleted ? 'tombstone' : 'upsert');
    entry.viewHashes.set(node, hash);
    // The node's view lists only that node's pods: the object itself is the cluster update.
    out.updates.push({ ...view, viewOnly: true });
  }

  #exitView(entry: ServiceEntry, node: string, out: Projection): void {
    if (!entry.viewHashes.delete(node)) return;
    out.updates.push(makeScopeExit('Service', entry.base.uid, nodeScopeName(node)));
  }
}

/**
 * Fingerprint of a node view (the service's base, the node, its member pods there, sorted), from
 * the fields rather than the encoded view: an unchanged view is recognised without building and
 * encoding it, and a restart takes every view the store holds as sent without encoding each
 * one again (a second at 150,000 pods, most of the services' share of a restart).
 */
function viewHash(entry: ServiceEntry, node: string, podUids: readonly string[]): number {
  return textHash(`${entry.baseHash}\u0000${node}\u0000${podUids.join('\u0000')}`);
}
