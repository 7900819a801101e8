/**
 * Which node scopes an object belongs to (docs/design.md §5).
 *
 * A node's scope holds the node, the pods scheduled on it and their containers, and the
 * namespaces, owners (ReplicaSet → Deployment, Job → CronJob, …) and services of those pods.
 * The router keeps, for each namespace, owner and service, how many of its pods run on each
 * node; an object enters a node's scope when that count leaves 0 and exits when it returns to
 * 0. It only tracks membership: the projector turns each Delta into a publishable update.
 *
 * Keys are opaque strings chosen by the caller (the projector uses `<Kind>/<uid>`, and
 * `Namespace:<name>` for a namespace known only by name). Ancestors may arrive after their
 * pods (a LIST of pods can finish before the LIST of ReplicaSets): linking an owner to its
 * parent later moves the counts already gathered.
 */
export interface Delta {
  readonly key: string;
  readonly node: string;
  readonly change: 'enter' | 'exit';
}

export interface PodPlacement {
  /** spec.nodeName; undefined while unscheduled (cluster scope only). */
  readonly node: string | undefined;
  /** Ancestor key of the pod's namespace. */
  readonly namespaceKey: string;
  /** Key of the pod's controller owner, if any. */
  readonly ownerKey: string | undefined;
}

export class ScopeRouter {
  readonly #pods = new Map<string, PodPlacement>();
  /** owner key → its controller parent's key. */
  readonly #parents = new Map<string, string>();
  /** ancestor key → node → number of pods on that node below it. */
  readonly #counts = new Map<string, Map<string, number>>();
  /** service key → member pod keys; pod key → service keys. */
  readonly #servicePods = new Map<string, Set<string>>();
  readonly #podServices = new Map<string, Set<string>>();

  /** Where a known pod is placed (its node, namespace and controller owner). */
  placementOf(podKey: string): PodPlacement | undefined {
    return this.#pods.get(podKey);
  }

  /** The node of a known pod. */
  nodeOfPod(podKey: string): string | undefined {
    return this.#pods.get(podKey)?.node;
  }

  /** The nodes whose scope holds `key` (an ancestor or a service). */
  nodesOf(key: string): string[] {
    return [...(this.#counts.get(key)?.keys() ?? [])];
  }

  /** Whether `key` is in `node`'s scope. */
  isIn(key: string, node: string): boolean {
    return (this.#counts.get(key)?.get(node) ?? 0) > 0;
  }

  /** The services a pod is a member of. */
  servicesOfPod(podKey: string): string[] {
    return [...(this.#podServices.get(podKey) ?? [])];
  }

  /** Member pods of a service that run on `node`. */
  servicePodsOnNode(serviceKey: string, node: string): string[] {
    const out: string[] = [];
    for (const pod of this.#servicePods.get(serviceKey) ?? []) if (this.#pods.get(pod)?.node === node) out.push(pod);
    return out;
  }

  /** Member pods of a service grouped by the node they run on (unscheduled pods left out). */
  servicePodsByNode(serviceKey: string): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const pod of this.#servicePods.get(serviceKey) ?? []) {
      const node = this.#pods.get(pod)?.node;
      if (node === undefined) continue;
      const list = out.get(node);
      if (list) list.push(pod);
      else out.set(node, [pod]);
    }
    return out;
  }

  /** Every member pod of a service, scheduled or not. */
  servicePods(serviceKey: string): string[] {
    return [...(this.#servicePods.get(serviceKey) ?? [])];
  }

  /** Member pods of a service that run on `node`. */
  servicePodsOn(serviceKey: string, node: string): string[] {
    return [...(this.#servicePods.get(serviceKey) ?? [])].filter((p) => this.#pods.get(p)?.node === node);
  }

  /** Adds or moves a pod; returns the ancestors and services entering or leaving node scopes. */
  upsertPod(podKey: string, placement: PodPlacement): Delta[] {
    const deltas = this.removePod(podKey, { keepServices: true });
    this.#pods.set(podKey, placement);
    if (placement.node !== undefined) {
      for (const key of this.#podAncestors(placement)) this.#add(key, placement.node, 1, deltas);
      for (const svc of this.#podServices.get(podKey) ?? []) this.#add(svc, placement.node, 1, deltas);
    }
    return squash(deltas);
  }

  /**
   * Adds or moves a pod while restoring: upsertPod's counts without the enter/exit deltas,
   * which a restore publishes nothing of (a projector image sets 150,000 pods this way).
   */
  restorePod(podKey: string, placement: PodPlacement): void {
    const old = this.#pods.get(podKey);
    if (old?.node !== undefined) this.#count(old, podKey, -1);
    this.#pods.set(podKey, placement);
    if (placement.node !== undefined) this.#count(placement, podKey, 1);
  }

  #count(p: PodPlacement, podKey: string, n: number): void {
    const node = p.node as string;
    this.#bump(p.namespaceKey, node, n);
    if (p.ownerKey !== undefined) for (const key of this.#chainFrom(p.ownerKey)) this.#bump(key, node, n);
    for (const svc of this.#podServices.get(podKey) ?? []) this.#bump(svc, node, n);
  }

  /** Adds `n` to `key`'s count on `node`; returns the count before. */
  #bump(key: string, node: string, n: number): number {
    let byNode = this.#counts.get(key);
    if (!byNode) this.#counts.set(key, (byNode = new Map()));
    const before = byNode.get(node) ?? 0;
    const after = before + n;
    if (after <= 0) byNode.delete(node);
    else byNode.set(node, after);
    if (byNode.size === 0) this.#counts.delete(key);
    return before;
  }

  /** Removes a pod (deleted); its ancestors and services may leave its node's scope. */
  removePod(podKey: string, options: { keepServices?: boolean } = {}): Delta[] {
    const deltas: Delta[] = [];
    const placement = this.#pods.get(podKey);
    if (!placement) return deltas;
    this.#pods.delete(podKey);
    if (placement.node !== undefined) {
      for (const key of this.#podAncestors(placement)) this.#add(key, placement.node, -1, deltas);
      for (const svc of this.#podServices.get(podKey) ?? []) this.#add(svc, placement.node, -1, deltas);
    }
    if (!options.keepServices) {
      for (const svc of this.#podServices.get(podKey) ?? []) this.#servicePods.get(svc)?.delete(podKey);
      this.#podServices.delete(podKey);
    }
    return deltas;
  }

  /**
   * Sets (or clears) an owner's controller parent. Pods already counted below the owner are
   * moved from the old parent chain to the new one.
   */
  linkOwner(ownerKey: string, parentKey: string | undefined): Delta[] {
    const old = this.#parents.get(ownerKey);
    if (old === parentKey) return [];
    if (parentKey !== undefined && this.#chainFrom(parentKey).includes(ownerKey)) return []; // refuse a cycle
    const deltas: Delta[] = [];
    const counts = [...(this.#counts.get(ownerKey) ?? [])];
    if (old !== undefined) for (const [node, n] of counts) for (const key of this.#chainFrom(old)) this.#add(key, node, -n, deltas);
    if (parentKey === undefined) this.#parents.delete(ownerKey);
    else this.#parents.set(ownerKey, parentKey);
    if (parentKey !== undefined) for (const [node, n] of counts) for (const key of this.#chainFrom(parentKey)) this.#add(key, node, n, deltas);
    return squash(deltas);
  }

  /** Replaces a service's member pods (from its EndpointSlices); returns node enters/exits. */
  setServicePods(serviceKey: string, podKeys: Iterable<string>): Delta[] {
    const deltas: Delta[] = [];
    const next = new Set(podKeys);
    const prev = this.#servicePods.get(serviceKey) ?? new Set<string>();
    for (const pod of prev) {
      if (next.has(pod)) continue;
      this.#podServices.get(pod)?.delete(serviceKey);
      const node = this.#pods.get(pod)?.node;
      if (node !== undefined) this.#add(serviceKey, node, -1, deltas);
    }
    for (const pod of next) {
      if (prev.has(pod)) continue;
      let services = this.#podServices.get(pod);
      if (!services) this.#podServices.set(pod, (services = new Set()));
      services.add(serviceKey);
      const node = this.#pods.get(pod)?.node;
      if (node !== undefined) this.#add(serviceKey, node, 1, deltas);
    }
    if (next.size === 0) this.#servicePods.delete(serviceKey);
    else this.#servicePods.set(serviceKey, next);
    return squash(deltas);
  }

  /** Forgets an owner whose object was deleted, once no pod counts on it any more. */
  forgetOwnerIfUnused(ownerKey: string): void {
    if (!this.#counts.has(ownerKey)) this.#parents.delete(ownerKey);
  }

  #podAncestors(p: PodPlacement): string[] {
    return p.ownerKey === undefined ? [p.namespaceKey] : [p.namespaceKey, ...this.#chainFrom(p.ownerKey)];
  }

  /** key, its parent, its parent's parent … (bounded: owner chains are short). */
  #chainFrom(key: string): string[] {
    const chain = [key];
    let next = this.#parents.get(key);
    while (next !== undefined && chain.length < 8 && !chain.includes(next)) {
      chain.push(next);
      next = this.#parents.get(next);
    }
    return chain;
  }

  #add(key: string, node: string, n: number, deltas: Delta[]): void {
    const before = this.#bump(key, node, n);
    const after = before + n;
    if (before <= 0 && after > 0) deltas.push({ key, node, change: 'enter' });
    if (before > 0 && after <= 0) deltas.push({ key, node, change: 'exit' });
  }
}

/** An exit followed by an enter of the same key on the same node cancels out (and vice versa). */
function squash(deltas: Delta[]): Delta[] {
  const net = new Map<string, Delta[]>();
  for (const d of deltas) {
    const id = `${d.key}\u0000${d.node}`;
    const list = net.get(id);
    if (list && list.length > 0 && list[list.length - 1]?.change !== d.change) list.pop();
    else if (list) list.push(d);
    else net.set(id, [d]);
  }
  return [...net.values()].flat();
}
