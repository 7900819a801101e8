// Named builders of update payloads, for tests of code that uses the SDK (FakeKubemeta.commit
// takes them). Each returns a ResourceUpdate in the state its arguments say, shaped as the
// projector produces them (src/project): containers keyed by bare id, node-scope services
// listing only that node's member pods, deletions as stop times.
import {
  ContainerState,
  ContainerType,
  NodeAddressType,

  PodPhase,
  createResourceUpdate,
  kinds,
  type Kind,
  type ResourceUpdate,
  type WorkloadKind,
} from '../schema/index.ts';

/** The time every builder uses for start and create times (ns since the epoch) unless told otherwise. */
export const T0 = 1_732_700_000_000_000_000n;
const SECOND = 1_000_000_000n;

/** The fields of a pod update that tests set; everything else takes a plausible default. */
export interface PodSpec {
  uid: string;
  name: string;
  namespace?: string;
  node?: string;
  ip?: string;
  hostIp?: string;
  labels?: Record<string, string>;
  /** Controller owner (a ReplicaSet by default kind). */
  owner?: { kind: string; name: string; uid: string };
  containers?: Array<{ name: string; id: string; type?: ContainerType }>;
  phase?: PodPhase;
  startNs?: bigint;
  stopNs?: bigint;
}

/** A running pod (or deleted, with `stopNs`). */
export function pod(s: PodSpec): ResourceUpdate {
  return createResourceUpdate({ object: { case: 'pod', value: {
    uid: s.uid, name: s.name, namespace: s.namespace ?? 'default', nodeName: s.node ?? '', hostname: s.name,
    podIp: s.ip ?? '', podIps: s.ip ? [s.ip] : [], hostIp: s.hostIp ?? '10.0.0.1',
    phase: s.phase ?? PodPhase.RUNNING, labels: s.labels ?? {},
    ownerReferences: s.owner ? [{ ...s.owner, controller: true }] : [],
    createTimeNs: s.startNs ?? T0, startTimeNs: s.startNs ?? T0, stopTimeNs: s.stopNs ?? 0n,
    containers: (s.containers ?? []).map((c) => ({ name: c.name, containerId: c.id, type: c.type ?? ContainerType.REGULAR })),
  } } });
}

/** A running container instance of a pod (stopped with `stopNs`). */
export function container(s: { id: string; name: string; podUid: string; podName: string; namespace?: string; stopNs?: bigint; type?: ContainerType }): ResourceUpdate {
  return createResourceUpdate({ object: { case: 'container', value: {
    containerId: s.id, runtime: 'containerd', name: s.name, podUid: s.podUid, podName: s.podName, namespace: s.namespace ?? 'default',
    type: s.type ?? ContainerType.REGULAR, state: s.stopNs ? ContainerState.TERMINATED : ContainerState.RUNNING,
    startTimeNs: T0, stopTimeNs: s.stopNs ?? 0n,
  } } });
}

/** A service with its member pods (the cluster view lists all, a node view only that node's). */
export function service(s: { uid: string; name: string; namespace?: string; clusterIp?: string; podUids?: string[]; nodes?: string[]; startNs?: bigint; stopNs?: bigint }): ResourceUpdate {
  return createResourceUpdate({ object: { case: 'service', value: {
    uid: s.uid, name: s.name, namespace: s.namespace ?? 'default', clusterIps: s.clusterIp ? [s.clusterIp] : [],
    podUids: [...(s.podUids ?? [])].sort(), nodeNames: [...(s.nodes ?? [])].sort(), startTimeNs: s.startNs ?? T0, stopTimeNs: s.stopNs ?? 0n,
  } } });
}

/** A workload (Deployment, ReplicaSet, DaemonSet …) of `kind`, deleted with `stopNs`. */
export function workload(s: { kind: WorkloadKind; uid: string; name: string; namespace?: string; owner?: { kind: string; name: string; uid: string }; stopNs?: bigint }): ResourceUpdate {
  return createResourceUpdate({ object: { case: 'workload', value: {
    kind: kinds[s.kind].wire, uid: s.uid, name: s.name, namespace: s.namespace ?? 'default',
    ownerReferences: s.owner ? [{ ...s.owner, controller: true }] : [], startTimeNs: T0, stopTimeNs: s.stopNs ?? 0n,
  } } });
}

/** A namespace that exists. */
export function namespace(s: { uid: string; name: string }): ResourceUpdate {
  return createResourceUpdate({ object: { case: 'namespace', value: { uid: s.uid, name: s.name, startTimeNs: T0 } } });
}

/** A node, with `ip` as its InternalIP address. */
export function node(s: { uid: string; name: string; ip?: string }): ResourceUpdate {
  return createResourceUpdate({ object: { case: 'node', value: {
    uid: s.uid, name: s.name, addresses: s.ip ? [{ type: NodeAddressType.INTERNAL_IP, address: s.ip }] : [], startTimeNs: T0,
  } } });
}

/** The object leaves the scope (it still exists elsewhere). */
export function scopeExit(kind: Kind, uid: string): ResourceUpdate {
  return createResourceUpdate({ object: { case: 'scopeExit', value: { kind: kinds[kind].wire, uid } } });
}

/** T0 plus `s` seconds, in ns: start and stop times for tests. */
export function secondsAfterT0(s: number): bigint {
  return T0 + BigInt(s) * SECOND;
}


