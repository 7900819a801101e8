import {
  NETWORK_RANGES_UID,
  PrefixTable,
  formatIp,
  parseIp,
  parsePrefix,
  timeNsFromMs,
  type ContainerUpdate,
  type IpPrefix,
  type NetworkRanges,
  type Kind,
  type NamespaceUpdate,
  type NodeUpdate,
  type PodUpdate,
  type ServiceUpdate,
  type StreamId,
  type TimeNs,
  type Version,
  type WorkloadKind,
  type WorkloadUpdate,
} from '../schema/index.ts';
import type { KubeObject } from './changes.ts';
import { Indexer } from './indexer.ts';
import type { IpHistory } from './ip-history.ts';
import { SdkInvalidArgumentError } from './errors.ts';

/** Why a record is no longer live: deleted (stop time set), left the scope, absent from a snapshot. */
export type GoneReason = 'deleted' | 'exited' | 'absent';

/** One object as the state holds it. Records are replaced, never mutated. */
export interface StateRecord<T extends KubeObject = KubeObject> {
  readonly kind: Kind;
  readonly uid: string;
  readonly version: Version;
  readonly object: T;
  /** undefined while live. */
  readonly gone: GoneReason | undefined;
  /** When a gone record is forgotten (client clock, ms); undefined while live. */
  readonly expiresAtMs: number | undefined;
  /** The stream epoch the version belongs to (versions are never compared across streams, docs/design.md §7). */
  readonly epoch: number;
}

export type PodRecord = StateRecord<PodUpdate>;
export type ContainerRecord = StateRecord<ContainerUpdate>;
export type ServiceRecord = StateRecord<ServiceUpdate>;
export type WorkloadRecord = StateRecord<WorkloadUpdate>;

export type Family = 'pods' | 'containers' | 'services' | 'namespaces' | 'nodes' | 'workloads' | 'ranges';

export function familyOf(kind: Kind): Family {
  switch (kind) {
    case 'Pod': return 'pods';
    case 'Container': return 'containers';
    case 'Service': return 'services';
    case 'Namespace': return 'namespaces';
    case 'Node': return 'nodes';
    case 'NetworkRanges': return 'ranges';
    default: return 'workloads';
  }
}

const ownerUids = (refs: readonly { uid: string }[]): string[] => refs.map((r) => r.uid).filter((u) => u !== '');

/** The secondary indexes of each family (client-go IndexFuncs). */
export function makeIndexers() {
  return {
    pods: new Indexer<PodRecord, 'node' | 'namespace' | 'name' | 'label' | 'owner' | 'containerId'>({
      node: (r) => (r.object.nodeName === '' ? [] : [r.object.nodeName]),
      namespace: (r) => [r.object.namespace],
      name: (r) => [`${r.object.namespace}/${r.object.name}`],
      label: (r) => Object.entries(r.object.labels).map(([k, v]) => `${k}=${v}`),
      owner: (r) => ownerUids(r.object.ownerReferences),
      containerId: (r) => r.object.containers.map((c) => c.containerId).filter((id) => id !== ''),
    }),
    containers: new Indexer<ContainerRecord, 'pod'>({ pod: (r) => [r.object.podUid] }),
    services: new Indexer<ServiceRecord, 'pod' | 'namespace' | 'name' | 'node'>({
      pod: (r) => r.object.podUids,
      namespace: (r) => [r.object.namespace],
      name: (r) => [`${r.object.namespace}/${r.object.name}`],
      node: (r) => r.object.nodeNames,
    }),
    namespaces: new Indexer<StateRecord<NamespaceUpdate>, 'name'>({ name: (r) => [r.object.name] }),
    nodes: new Indexer<StateRecord<NodeUpdate>, 'name'>({ name: (r) => [r.object.name] }),
    workloads: new Indexer<WorkloadRecord, 'owner' | 'name' | 'namespace'>({
      owner: (r) => ownerUids(r.object.ownerReferences),
      name: (r) => [`${r.kind}/${r.object.namespace}/${r.object.name}`],
      namespace: (r) => [r.object.namespace],
    }),
    // The cluster's one NetworkRanges object (uid "cluster"), kept like any object so that
    // snapshots, persistence and state digests treat it as they treat the rest.
    ranges: new Indexer<StateRecord<NetworkRanges>, never>({}),
  };
}
export type StateIndexers = ReturnType<typeof makeIndexers>;

export interface ListOptions {
  /**
   * Also return objects that are no longer live but still retained: deleted, left the scope,
   * or vanished from a snapshot within the retention window. Default false.
   */
  includeStopped?: boolean;
}

/** One step of a pod's owner chain (nearest first): ReplicaSet, then its Deployment, … */
export interface OwnerLink {
  /** Kubernetes kind as written in the owner reference ("ReplicaSet", "Job", or a custom kind). */
  readonly kind: string;
  readonly name: string;
  readonly uid: string;
  /** The owner's own update when the state holds it. */
  readonly object: WorkloadUpdate | undefined;
}

/** Who held an IP at a point in time (docs/design.md §8), and during which interval. */
export type IpOwner =
  | { readonly kind: 'Pod'; readonly uid: string; readonly pod: PodUpdate | undefined; readonly fromNs: TimeNs; readonly untilNs: TimeNs | undefined }
  | { readonly kind: 'Service'; readonly uid: string; readonly service: ServiceUpdate | undefined; readonly fromNs: TimeNs; readonly untilNs: TimeNs | undefined }
  | { readonly kind: 'Node'; readonly uid: string; readonly node: NodeUpdate | undefined; readonly fromNs: TimeNs; readonly untilNs: TimeNs | undefined };

/**
 * What an IP is, answered from local state: the pod, service or node that held it (docs/design.md §8),
 * else by the cluster's NetworkRanges (an unknown pod of a pod range, a cluster IP of a service
 * range, another node of a node range), else outside the cluster.
 */
export type IpClass = 'pod' | 'service' | 'node' | 'external';
type RangeClass = Exclude<IpClass, 'external'>;

export interface StateCounts {
  readonly pods: number;
  readonly containers: number;
  readonly services: number;
  readonly namespaces: number;
  readonly nodes: number;
  readonly workloads: number;
  /** Records kept only for retention (not live), included in the numbers above. */
  readonly retained: number;
  /** IPs with a recorded history. */
  readonly ips: number;
}

/**
 * Read access to a client's local state. Everything returned is the object's latest full state
 * (the decoded update payload, wire-protocol §3); treat it as read-only. Lists return live
 * objects unless `includeStopped` is set.
 */
export interface StateView {
  /** The stream the state came from; undefined before the first snapshot. */
  readonly streamId: StreamId | undefined;
  /** The last version applied on the scope. */
  readonly version: Version;
  pods(options?: ListOptions): PodUpdate[];
  pod(uid: string, options?: ListOptions): PodUpdate | undefined;
  podByName(namespace: string, name: string, options?: ListOptions): PodUpdate | undefined;
  podsOnNode(node: string, options?: ListOptions): PodUpdate[];
  podsInNamespace(namespace: string, options?: ListOptions): PodUpdate[];
  /** Pods with label `key` = `value` (an index lookup). */
  podsWithLabel(key: string, value: string, options?: ListOptions): PodUpdate[];
  containers(options?: ListOptions): ContainerUpdate[];
  /** By bare container id (as the agent reads it from the cgroup path). */
  container(containerId: string, options?: ListOptions): ContainerUpdate | undefined;
  containersOfPod(podUid: string, options?: ListOptions): ContainerUpdate[];
  services(options?: ListOptions): ServiceUpdate[];
  service(uid: string, options?: ListOptions): ServiceUpdate | undefined;
  serviceByName(namespace: string, name: string, options?: ListOptions): ServiceUpdate | undefined;
  /** Services whose membership includes the pod (from EndpointSlices, wire-protocol §3). */
  servicesOfPod(podUid: string, options?: ListOptions): ServiceUpdate[];
  namespaces(options?: ListOptions): NamespaceUpdate[];
  namespace(name: string, options?: ListOptions): NamespaceUpdate | undefined;
  nodes(options?: ListOptions): NodeUpdate[];
  node(name: string, options?: ListOptions): NodeUpdate | undefined;
  workloads(options?: ListOptions & { kind?: WorkloadKind }): WorkloadUpdate[];
  workload(uid: string, options?: ListOptions): WorkloadUpdate | undefined;
  workloadByName(kind: WorkloadKind, namespace: string, name: string, options?: ListOptions): WorkloadUpdate | undefined;
  /** The pod's controller owners, nearest first (ReplicaSet, Deployment); retained objects included. */
  ownerChain(podUid: string): OwnerLink[];
  /** The pod, service or node that held `ip` at `atNs` (default: now), within retention. */
  resolveIp(ip: string, atNs?: TimeNs): IpOwner | undefined;
  /** The cluster's pod, service and node ranges; undefined until the service has published them. */
  networkRanges(): NetworkRanges | undefined;
  /**
   * Classifies `ip` (IPv4, IPv6, or IPv4-mapped IPv6 as a dual-stack socket reports it): the
   * kind of the object that held it at `atNs` (default: now), else by the network ranges (the
   * most specific range wins; of equal ones service, then pod, then node), else 'external'. The ranges are today's: they are not kept per
   * time. Throws SdkInvalidArgumentError for a string that is no IP address.
   */
  classifyIp(ip: string, atNs?: TimeNs): IpClass;
  counts(): StateCounts;
}

const MAX_OWNER_DEPTH = 8;

function pick<T extends KubeObject>(records: Iterable<StateRecord<T>>, options: ListOptions | undefined): T[] {
  const all = options?.includeStopped === true;
  const out: T[] = [];
  for (const r of records) if (all || r.gone === undefined) out.push(r.object);
  return out;
}

function one<T extends KubeObject>(r: StateRecord<T> | undefined, options: ListOptions | undefined): T | undefined {
  return r !== undefined && (r.gone === undefined || options?.includeStopped === true) ? r.object : undefined;
}

/** The query half of LocalState: index lookups, owner chains, IP resolution. */
export class StateQueries {
  protected readonly indexers: StateIndexers;
  protected readonly ips: IpHistory;
  #ranges: { source: NetworkRanges | undefined; table: PrefixTable<RangeClass> } | undefined;
  /** Current time for `resolveIp` without a time; LocalState supplies its clock. */
  protected nowMs: () => number = Date.now;

  constructor(indexers: StateIndexers, ips: IpHistory) {
    this.indexers = indexers;
    this.ips = ips;
  }

  /** Direct access for modules of the SDK that precompute (hydration, query routing). */
  get indexes(): StateIndexers {
    return this.indexers;
  }

  pods(options?: ListOptions): PodUpdate[] {
    return pick(this.indexers.pods.values(), options);
  }
  pod(uid: string, options?: ListOptions): PodUpdate | undefined {
    return one(this.indexers.pods.get(uid), options);
  }
  podByName(namespace: string, name: string, options?: ListOptions): PodUpdate | undefined {
    return this.#byName(this.indexers.pods, `${namespace}/${name}`, options);
  }
  podsOnNode(node: string, options?: ListOptions): PodUpdate[] {
    return pick(this.indexers.pods.valuesBy('node', node), options);
  }
  podsInNamespace(namespace: string, options?: ListOptions): PodUpdate[] {
    return pick(this.indexers.pods.valuesBy('namespace', namespace), options);
  }
  podsWithLabel(key: string, value: string, options?: ListOptions): PodUpdate[] {
    return pick(this.indexers.pods.valuesBy('label', `${key}=${value}`), options);
  }
  containers(options?: ListOptions): ContainerUpdate[] {
    return pick(this.indexers.containers.values(), options);
  }
  container(containerId: string, options?: ListOptions): ContainerUpdate | undefined {
    return one(this.indexers.containers.get(containerId), options);
  }
  containersOfPod(podUid: string, options?: ListOptions): ContainerUpdate[] {
    return pick(this.indexers.containers.valuesBy('pod', podUid), options);
  }
  services(options?: ListOptions): ServiceUpdate[] {
    return pick(this.indexers.services.values(), options);
  }
  service(uid: string, options?: ListOptions): ServiceUpdate | undefined {
    return one(this.indexers.services.get(uid), options);
  }
  serviceByName(namespace: string, name: string, options?: ListOptions): ServiceUpdate | undefined {
    return this.#byName(this.indexers.services, `${namespace}/${name}`, options);
  }
  servicesOfPod(podUid: string, options?: ListOptions): ServiceUpdate[] {
    return pick(this.indexers.services.valuesBy('pod', podUid), options);
  }
  namespaces(options?: ListOptions): NamespaceUpdate[] {
    return pick(this.indexers.namespaces.values(), options);
  }
  namespace(name: string, options?: ListOptions): NamespaceUpdate | undefined {
    return this.#byName(this.indexers.namespaces, name, options);
  }
  nodes(options?: ListOptions): NodeUpdate[] {
    return pick(this.indexers.nodes.values(), options);
  }
  node(name: string, options?: ListOptions): NodeUpdate | undefined {
    return this.#byName(this.indexers.nodes, name, options);
  }
  workloads(options?: ListOptions & { kind?: WorkloadKind }): WorkloadUpdate[] {
    const kind = options?.kind;
    const records = [...this.indexers.workloads.values()].filter((r) => kind === undefined || r.kind === kind);
    return pick(records, options);
  }
  workload(uid: string, options?: ListOptions): WorkloadUpdate | undefined {
    return one(this.indexers.workloads.get(uid), options);
  }
  workloadByName(kind: WorkloadKind, namespace: string, name: string, options?: ListOptions): WorkloadUpdate | undefined {
    return this.#byName(this.indexers.workloads, `${kind}/${namespace}/${name}`, options);
  }

  ownerChain(podUid: string): OwnerLink[] {
    const pod = this.indexers.pods.get(podUid);
    if (!pod) return [];
    const chain: OwnerLink[] = [];
    let refs = pod.object.ownerReferences;
    while (chain.length < MAX_OWNER_DEPTH) {
      const ref = refs.find((r) => r.controller) ?? refs[0];
      if (!ref || chain.some((l) => l.uid === ref.uid)) break;
      const owner = this.indexers.workloads.get(ref.uid);
      chain.push({ kind: ref.kind, name: ref.name, uid: ref.uid, object: owner?.object });
      if (!owner) break;
      refs = owner.object.ownerReferences;
    }
    return chain;
  }

  networkRanges(): NetworkRanges | undefined {
    const r = this.indexers.ranges.get(NETWORK_RANGES_UID);
    return r?.gone === undefined ? r?.object : undefined;
  }

  classifyIp(ip: string, atNs?: TimeNs): IpClass {
    const parsed = parseIp(ip);
    if (!parsed) throw new SdkInvalidArgumentError('ip', `"${ip}" is not an IPv4 or IPv6 address`);
    const owner = this.resolveIp(formatIp(parsed), atNs);
    if (owner) return owner.kind === 'Pod' ? 'pod' : owner.kind === 'Service' ? 'service' : 'node';
    return this.#rangeTable().lookup(parsed)?.tag ?? 'external';
  }

  /** The ranges as a lookup table, rebuilt only when the NetworkRanges object changes. */
  #rangeTable(): PrefixTable<RangeClass> {
    const ranges = this.networkRanges();
    const cached = this.#ranges;
    if (cached !== undefined && cached.source === ranges) return cached.table;
    const entries: Array<{ prefix: IpPrefix; tag: RangeClass }> = [];
    // Services first, nodes last: of two equal prefixes (a misconfiguration, or a node range
    // not yet withdrawn after pods appeared in it) the stable sort keeps the service range
    // ahead, then the pod range: a cluster IP, then a pod, is the likelier answer.
    const add = (cidrs: readonly string[] | undefined, tag: RangeClass): void => {
      for (const c of cidrs ?? []) {
        const prefix = parsePrefix(c);
        if (prefix) entries.push({ prefix, tag });
      }
    };
    add(ranges?.serviceCidrs, 'service');
    add(ranges?.podCidrs, 'pod');
    add(ranges?.nodeCidrs, 'node');
    const table = new PrefixTable(entries);
    this.#ranges = { source: ranges, table };
    return table;
  }

  resolveIp(ip: string, atNs?: TimeNs): IpOwner | undefined {
    const i = this.ips.resolve(ip, atNs ?? timeNsFromMs(this.nowMs()));
    if (!i) return undefined;
    const span = { uid: i.uid, fromNs: i.fromNs, untilNs: i.untilNs };
    switch (i.kind) {
      case 'Pod': return { kind: 'Pod', ...span, pod: this.indexers.pods.get(i.uid)?.object };
      case 'Service': return { kind: 'Service', ...span, service: this.indexers.services.get(i.uid)?.object };
      case 'Node': return { kind: 'Node', ...span, node: this.indexers.nodes.get(i.uid)?.object };
    }
  }

  counts(): StateCounts {
    const ix = this.indexers;
    let retained = 0;
    for (const indexer of Object.values(ix) as Indexer<StateRecord>[]) for (const r of indexer.values()) if (r.gone !== undefined) retained++;
    return {
      pods: ix.pods.size,
      containers: ix.containers.size,
      services: ix.services.size,
      namespaces: ix.namespaces.size,
      nodes: ix.nodes.size,
      workloads: ix.workloads.size,
      retained,
      ips: this.ips.size,
    };
  }

  /** A name lookup: the live object, else (with includeStopped) the most recent retained one. */
  #byName<T extends KubeObject>(indexer: Indexer<StateRecord<T>, 'name' | never> | Indexer<StateRecord<T>, string>, name: string, options: ListOptions | undefined): T | undefined {
    let retained: StateRecord<T> | undefined;
    for (const r of (indexer as Indexer<StateRecord<T>, string>).valuesBy('name', name)) {
      if (r.gone === undefined) return r.object;
      if (!retained || r.version > retained.version) retained = r;
    }
    return options?.includeStopped === true ? retained?.object : undefined;
  }
}
