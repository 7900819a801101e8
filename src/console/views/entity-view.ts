import {
  ConditionStatus,
  ContainerState,
  ContainerType,
  formatTimeNs,
  kindFromWire,
  NodeAddressType,
  PodPhase,
  Protocol,
  QosClass,
  ServiceType,
  type Condition,
  type ContainerUpdate,
  type NamespaceUpdate,
  type NodeUpdate,
  type OwnerReference,
  type PodUpdate,
  type ServiceUpdate,
  type WorkloadUpdate,
} from '../../schema/index.ts';
import type { StateView } from '../../sdk/index.ts';
import { ENTITY_KIND_OF, type EntityKind } from '../entity-kinds.ts';

/** A link to another object of the same cluster (the page turns it into `#/entity/…`). */
export interface EntityRef {
  readonly kind: EntityKind;
  /** The key /api/entity takes: uid, a container's id, a label's `key=value`. */
  readonly uid: string;
  readonly name: string;
  readonly namespace?: string;
  readonly live: boolean;
}

/** Related objects, the first REF_LIMIT of them, and how many there are in all. */
export interface RefList {
  readonly items: EntityRef[];
  readonly total: number;
}

/** One step of an owner chain; `ref` is null when the state does not hold the owner (a custom kind). */
export interface OwnerView {
  readonly kind: string;
  readonly name: string;
  readonly uid: string;
  readonly ref: EntityRef | null;
}

/** A pod's container as the pod lists it, with the container's own state when the state holds it. */
export interface ContainerView {
  readonly name: string;
  /** Empty until the runtime started it. */
  readonly containerId: string;
  readonly type: string;
  readonly state: string;
  readonly restartCount: number;
  readonly reason: string;
}

/** A field for display: a label and its value, formatted (times RFC 3339, enums by name). */
export interface EntityField {
  readonly name: string;
  readonly value: string;
}

export interface EntityRelations {
  readonly namespace?: EntityRef | null;
  readonly node?: EntityRef | null;
  readonly pod?: EntityRef | null;
  readonly owners?: OwnerView[];
  readonly containers?: ContainerView[];
  readonly services?: RefList;
  readonly workloads?: RefList;
  readonly pods?: RefList;
  readonly nodes?: RefList;
}

/** A process of a pod as its node's agent reported it (wire-protocol §12). */
export interface ProcessView {
  /** `asid:pid:ticks`. */
  readonly upid: string;
  readonly pid: number;
  readonly commandLine: string;
  readonly containerId: string;
  readonly node: string;
  /** RFC 3339; '' when unknown. */
  readonly started: string;
  /** RFC 3339; '' while it runs. */
  readonly stopped: string;
}

/**
 * A pod's processes, asked of the service when the page is built: `available` false (with
 * `error`) when the console has no way to ask (a client without processesOfPod) or no answer came.
 */
export interface ProcessList {
  readonly available: boolean;
  readonly items: readonly ProcessView[];
  readonly error?: string;
}

/** The answer of `GET /api/entity/<kind>/<uid>`. */
export interface EntityDetail {
  readonly cluster: string;
  readonly kind: EntityKind;
  readonly uid: string;
  readonly name: string;
  readonly namespace?: string;
  /** False for an object deleted (or gone from the state) but still retained. */
  readonly live: boolean;
  readonly fields: EntityField[];
  readonly labels: Readonly<Record<string, string>>;
  readonly relations: EntityRelations;
  /** Pods only: their processes, live and recently stopped. */
  readonly processes?: ProcessList;
}

/** Related objects listed per relation; `total` says how many there are. */
export const REF_LIMIT = 100;

const ALL = { includeStopped: true } as const;

/**
 * Builds the detail of one object from a cluster client's state, or undefined when the state
 * does not hold it (also retained ones: deleted objects are shown, flagged, until retention
 * forgets them). Lookups by uid are index hits; relations that the state has no index for
 * (a workload's pods, a namespace's services) scan one family — a page view, not a hot path.
 */
export function describeEntity(state: StateView, cluster: string, kind: EntityKind, uid: string): EntityDetail | undefined {
  switch (kind) {
    case 'pod': {
      const p = state.pod(uid, ALL);
      return p && podDetail(state, cluster, p);
    }
    case 'container': {
      const c = state.container(uid, ALL);
      return c && containerDetail(state, cluster, c);
    }
    case 'service': {
      const s = state.service(uid, ALL);
      return s && serviceDetail(state, cluster, s);
    }
    case 'namespace': {
      const n = state.namespaces(ALL).find((x) => x.uid === uid);
      return n && namespaceDetail(state, cluster, n);
    }
    case 'node': {
      const n = state.nodes(ALL).find((x) => x.uid === uid);
      return n && nodeDetail(state, cluster, n);
    }
    case 'label':
      return labelDetail(state, cluster, uid);
    default: {
      const w = state.workload(uid, ALL);
      return w && workloadKind(w) === kind ? workloadDetail(state, cluster, w) : undefined;
    }
  }
}

function podDetail(state: StateView, cluster: string, p: PodUpdate): EntityDetail {
  const containers = p.containers.map((pc): ContainerView => {
    const c = pc.containerId === '' ? undefined : state.container(pc.containerId, ALL);
    return {
      name: pc.name,
      containerId: pc.containerId,
      type: enumName(ContainerType, pc.type),
      state: c ? enumName(ContainerState, c.state) : 'waiting',
      restartCount: c?.restartCount ?? 0,
      reason: c?.reason ?? '',
    };
  });
  return {
    ...head(cluster, 'pod', p.uid, p.name, p.namespace, state.pod(p.uid) !== undefined),
    fields: fields([
      ['phase', enumName(PodPhase, p.phase)],
      ['pod IP', p.podIps.length > 0 ? p.podIps.join(', ') : p.podIp],
      ['host IP', p.hostIp],
      ['node', p.nodeName],
      ['QoS class', enumName(QosClass, p.qosClass)],
      ['conditions', conditions(p.conditions)],
      ['created', formatTimeNs(p.createTimeNs)],
      ['started', formatTimeNs(p.startTimeNs)],
      ['deleted', formatTimeNs(p.stopTimeNs)],
      ['reason', p.reason],
      ['message', p.message],
    ]),
    labels: p.labels,
    relations: {
      namespace: namespaceRef(state, p.namespace),
      node: nodeRef(state, p.nodeName),
      owners: state.ownerChain(p.uid).map((o) => ({ kind: o.kind, name: o.name, uid: o.uid, ref: o.object ? workloadRef(state, o.object) : null })),
      containers,
      services: refs(state.servicesOfPod(p.uid).map((s) => serviceRef(state, s))),
    },
  };
}

function containerDetail(state: StateView, cluster: string, c: ContainerUpdate): EntityDetail {
  const pod = state.pod(c.podUid, ALL);
  return {
    ...head(cluster, 'container', c.containerId, c.name, c.namespace, state.container(c.containerId) !== undefined),
    fields: fields([
      ['type', enumName(ContainerType, c.type)],
      ['state', enumName(ContainerState, c.state)],
      ['restarts', String(c.restartCount)],
      ['runtime', c.runtime],
      ['pod', c.podName],
      ['started', formatTimeNs(c.startTimeNs)],
      ['stopped', formatTimeNs(c.stopTimeNs)],
      ['reason', c.reason],
      ['message', c.message],
    ]),
    labels: {},
    relations: {
      pod: pod ? podRef(state, pod) : null,
      node: pod ? nodeRef(state, pod.nodeName) : null,
      namespace: namespaceRef(state, c.namespace),
    },
  };
}

function serviceDetail(state: StateView, cluster: string, s: ServiceUpdate): EntityDetail {
  const pods = s.podUids.map((uid) => state.pod(uid, ALL)).filter((p): p is PodUpdate => p !== undefined);
  return {
    ...head(cluster, 'service', s.uid, s.name, s.namespace, state.service(s.uid) !== undefined),
    fields: fields([
      ['type', enumName(ServiceType, s.type)],
      ['cluster IPs', s.clusterIps.join(', ')],
      ['external IPs', s.externalIps.join(', ')],
      ['load balancer IPs', s.loadBalancerIps.join(', ')],
      ['external name', s.externalName],
      ['ports', s.ports.map((p) => `${p.name ? `${p.name} ` : ''}${p.port}/${enumName(Protocol, p.protocol).toUpperCase() || 'TCP'}${p.targetPort ? ` → ${p.targetPort}` : ''}${p.nodePort ? ` (node port ${p.nodePort})` : ''}`).join(', ')],
      ['created', formatTimeNs(s.startTimeNs)],
      ['deleted', formatTimeNs(s.stopTimeNs)],
    ]),
    labels: {},
    relations: {
      namespace: namespaceRef(state, s.namespace),
      pods: refs(pods.map((p) => podRef(state, p))),
      nodes: refs(s.nodeNames.map((n) => nodeRef(state, n)).filter((r): r is EntityRef => r !== null)),
    },
  };
}

function namespaceDetail(state: StateView, cluster: string, n: NamespaceUpdate): EntityDetail {
  const inNs = <T extends { namespace: string }>(items: T[]): T[] => items.filter((x) => x.namespace === n.name);
  return {
    ...head(cluster, 'namespace', n.uid, n.name, undefined, state.namespace(n.name)?.uid === n.uid),
    fields: fields([
      ['created', formatTimeNs(n.startTimeNs)],
      ['deleted', formatTimeNs(n.stopTimeNs)],
    ]),
    labels: n.labels,
    relations: {
      workloads: refs(inNs(state.workloads()).filter((w) => workloadKind(w) !== 'replicaset').map((w) => workloadRef(state, w))),
      services: refs(inNs(state.services()).map((s) => serviceRef(state, s))),
      pods: refs(state.podsInNamespace(n.name).map((p) => podRef(state, p))),
    },
  };
}

function nodeDetail(state: StateView, cluster: string, n: NodeUpdate): EntityDetail {
  return {
    ...head(cluster, 'node', n.uid, n.name, undefined, state.node(n.name)?.uid === n.uid),
    fields: fields([
      ['addresses', n.addresses.map((a) => `${a.address} (${enumName(NodeAddressType, a.type)})`).join(', ')],
      ['pod CIDRs', n.podCidrs.join(', ')],
      ['conditions', conditions(n.conditions)],
      ['created', formatTimeNs(n.startTimeNs)],
      ['deleted', formatTimeNs(n.stopTimeNs)],
    ]),
    labels: n.labels,
    relations: { pods: refs(state.podsOnNode(n.name).map((p) => podRef(state, p))) },
  };
}

function workloadDetail(state: StateView, cluster: string, w: WorkloadUpdate): EntityDetail {
  const kind = workloadKind(w);
  // Pods hang off the nearest owner (a Deployment's pods are owned by its ReplicaSets, a
  // CronJob's by its Jobs): collect this workload and the workloads it owns, then their pods.
  const owned = state.workloads().filter((x) => ownedBy(x.ownerReferences, w.uid));
  const owners = new Set([w.uid, ...owned.map((x) => x.uid)]);
  const pods = state.pods().filter((p) => p.ownerReferences.some((r) => owners.has(r.uid)));
  return {
    ...head(cluster, kind, w.uid, w.name, w.namespace, state.workload(w.uid) !== undefined),
    fields: fields([
      ['replicas', `${w.replicas} desired, ${w.readyReplicas} ready, ${w.availableReplicas} available, ${w.updatedReplicas} updated`],
      ['created', formatTimeNs(w.startTimeNs)],
      ['deleted', formatTimeNs(w.stopTimeNs)],
    ]),
    labels: w.labels,
    relations: {
      namespace: namespaceRef(state, w.namespace),
      owners: workloadOwners(state, w),
      workloads: refs(owned.map((x) => workloadRef(state, x))),
      pods: refs(pods.map((p) => podRef(state, p))),
    },
  };
}

function labelDetail(state: StateView, cluster: string, text: string): EntityDetail | undefined {
  const at = text.indexOf('=');
  if (at <= 0) return undefined;
  const key = text.slice(0, at);
  const value = text.slice(at + 1);
  const pods = state.podsWithLabel(key, value);
  const workloads = state.workloads().filter((w) => w.labels[key] === value);
  const nodes = state.nodes().filter((n) => n.labels[key] === value);
  if (pods.length === 0 && workloads.length === 0 && nodes.length === 0) return undefined;
  return {
    ...head(cluster, 'label', text, text, undefined, true),
    fields: fields([['key', key], ['value', value]]),
    labels: {},
    relations: {
      pods: refs(pods.map((p) => podRef(state, p))),
      workloads: refs(workloads.map((w) => workloadRef(state, w))),
      nodes: refs(nodes.map((n) => ({ kind: 'node', uid: n.uid, name: n.name, live: true }))),
    },
  };
}

/** The chain of a workload's controllers (a ReplicaSet's Deployment, a Job's CronJob). */
function workloadOwners(state: StateView, w: WorkloadUpdate): OwnerView[] {
  const chain: OwnerView[] = [];
  let refsOf = w.ownerReferences;
  while (chain.length < 8) {
    const ref = refsOf.find((r) => r.controller) ?? refsOf[0];
    if (!ref || ref.uid === w.uid || chain.some((o) => o.uid === ref.uid)) break;
    const owner = state.workload(ref.uid, ALL);
    chain.push({ kind: ref.kind, name: ref.name, uid: ref.uid, ref: owner ? workloadRef(state, owner) : null });
    if (!owner) break;
    refsOf = owner.ownerReferences;
  }
  return chain;
}

function head(cluster: string, kind: EntityKind, uid: string, name: string, namespace: string | undefined, live: boolean) {
  return { cluster, kind, uid, name, ...(namespace !== undefined ? { namespace } : {}), live };
}

function refs(items: EntityRef[]): RefList {
  items.sort((a, b) => Number(b.live) - Number(a.live) || (a.namespace ?? '').localeCompare(b.namespace ?? '') || a.name.localeCompare(b.name));
  return { items: items.slice(0, REF_LIMIT), total: items.length };
}

function podRef(state: StateView, p: PodUpdate): EntityRef {
  return { kind: 'pod', uid: p.uid, name: p.name, namespace: p.namespace, live: state.pod(p.uid) !== undefined };
}

function serviceRef(state: StateView, s: ServiceUpdate): EntityRef {
  return { kind: 'service', uid: s.uid, name: s.name, namespace: s.namespace, live: state.service(s.uid) !== undefined };
}

function workloadRef(state: StateView, w: WorkloadUpdate): EntityRef {
  return { kind: workloadKind(w), uid: w.uid, name: w.name, namespace: w.namespace, live: state.workload(w.uid) !== undefined };
}

function namespaceRef(state: StateView, name: string): EntityRef | null {
  const n = name === '' ? undefined : state.namespace(name, ALL);
  return n ? { kind: 'namespace', uid: n.uid, name: n.name, live: n.stopTimeNs === 0n } : null;
}

function nodeRef(state: StateView, name: string): EntityRef | null {
  const n = name === '' ? undefined : state.node(name, ALL);
  return n ? { kind: 'node', uid: n.uid, name: n.name, live: n.stopTimeNs === 0n } : null;
}

function workloadKind(w: WorkloadUpdate): EntityKind {
  const k = kindFromWire(w.kind);
  return k ? ENTITY_KIND_OF[k] : 'deployment';
}

function ownedBy(refsOf: readonly OwnerReference[], uid: string): boolean {
  return refsOf.some((r) => r.uid === uid);
}

function conditions(list: readonly Condition[]): string {
  return list.map((c) => `${c.type}=${enumName(ConditionStatus, c.status)}`).join(', ');
}

/** Fields with a value (empty ones say nothing on a page). */
function fields(pairs: Array<[string, string]>): EntityField[] {
  return pairs.filter(([, v]) => v !== '').map(([name, value]) => ({ name, value }));
}

/**
 * The name of a generated enum value in lowercase (`PodPhase.RUNNING` → `running`); protobuf-es
 * enum objects map names to numbers only. Unspecified is shown as empty.
 */
function enumName(values: Readonly<Record<string, number | string>>, value: number): string {
  for (const [name, v] of Object.entries(values)) {
    if (v === value) return name === 'UNSPECIFIED' ? '' : name.toLowerCase().replace(/_/g, ' ');
  }
  return String(value);
}
