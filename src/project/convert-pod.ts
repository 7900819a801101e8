import { create } from '@bufbuild/protobuf';
import {
  ConditionStatus,
  ContainerState,
  ContainerType,
  ContainerUpdateSchema,
  PodPhase,
  PodUpdateSchema,
  QosClass,
  type ContainerUpdate,
  type PodUpdate,
} from '../schema/index.ts';
import { arr, identity, labels, num, obj, str, strs, timeNs, type Json } from './k8s-fields.ts';

const PHASES: Record<string, PodPhase> = {
  Pending: PodPhase.PENDING,
  Running: PodPhase.RUNNING,
  Succeeded: PodPhase.SUCCEEDED,
  Failed: PodPhase.FAILED,
  Unknown: PodPhase.UNKNOWN,
};
const QOS: Record<string, QosClass> = {
  Guaranteed: QosClass.GUARANTEED,
  Burstable: QosClass.BURSTABLE,
  BestEffort: QosClass.BEST_EFFORT,
};
const CONDITION: Record<string, ConditionStatus> = {
  True: ConditionStatus.TRUE,
  False: ConditionStatus.FALSE,
  Unknown: ConditionStatus.UNKNOWN,
};

export function conditionStatus(value: unknown): ConditionStatus {
  return CONDITION[str(value)] ?? ConditionStatus.UNSPECIFIED;
}

/** One container of a pod as the spec and status describe it. */
export interface PodContainerState {
  name: string;
  type: ContainerType;
  /** Bare id, '' while the container has none. */
  containerId: string;
  runtime: string;
  status: Json;
}

export interface ProjectedPod {
  pod: PodUpdate;
  /** Containers that have an id (the ones published as ContainerUpdate). */
  containers: ContainerUpdate[];
}

/**
 * A Pod → its PodUpdate and one ContainerUpdate per container instance with an id: init,
 * native sidecar, regular and ephemeral containers alike (docs/design.md §9). `deletedAtNs` marks
 * the pod and all its containers stopped.
 */
export function projectPod(object: unknown, deletedAtNs = 0n): ProjectedPod {
  const id = identity('Pod', object, true);
  const spec = obj(obj(object)['spec']);
  const status = obj(obj(object)['status']);
  const containers = podContainers(spec, status);
  const pod = create(PodUpdateSchema, {
    uid: id.uid,
    name: id.name,
    namespace: id.namespace,
    nodeName: str(spec['nodeName']),
    hostname: str(spec['hostname']) || id.name,
    podIp: str(status['podIP']),
    podIps: arr(status['podIPs']).map((p) => str(p['ip'])).filter((ip) => ip !== ''),
    hostIp: str(status['hostIP']),
    phase: PHASES[str(status['phase'])] ?? PodPhase.UNSPECIFIED,
    conditions: arr(status['conditions']).map((c) => ({ type: str(c['type']), status: conditionStatus(c['status']) })),
    labels: labels(id.meta['labels']),
    ownerReferences: ownerReferences(id.meta['ownerReferences']),
    qosClass: QOS[str(status['qosClass'])] ?? QosClass.UNSPECIFIED,
    createTimeNs: timeNs(id.meta['creationTimestamp']),
    startTimeNs: timeNs(status['startTime']),
    stopTimeNs: deletedAtNs,
    containers: containers.map((c) => ({ name: c.name, containerId: c.containerId, type: c.type })),
    message: str(status['message']),
    reason: str(status['reason']),
  });
  const published = containers.filter((c) => c.containerId !== '').map((c) => projectContainer(c, pod, deletedAtNs));
  return { pod, containers: published };
}

export function ownerReferences(value: unknown): Array<{ kind: string; name: string; uid: string; controller: boolean }> {
  return arr(value).map((r) => ({ kind: str(r['kind']), name: str(r['name']), uid: str(r['uid']), controller: r['controller'] === true }));
}

function podContainers(spec: Json, status: Json): PodContainerState[] {
  const statuses = new Map<string, Json>();
  for (const key of ['initContainerStatuses', 'containerStatuses', 'ephemeralContainerStatuses']) {
    for (const s of arr(status[key])) statuses.set(str(s['name']), s);
  }
  const out: PodContainerState[] = [];
  const add = (c: Json, type: ContainerType): void => {
    const name = str(c['name']);
    const s = statuses.get(name) ?? {};
    const [runtime, containerId] = splitContainerId(str(s['containerID']));
    out.push({ name, type, containerId, runtime, status: s });
  };
  for (const c of arr(spec['initContainers'])) add(c, c['restartPolicy'] === 'Always' ? ContainerType.SIDECAR : ContainerType.INIT);
  for (const c of arr(spec['containers'])) add(c, ContainerType.REGULAR);
  for (const c of arr(spec['ephemeralContainers'])) add(c, ContainerType.EPHEMERAL);
  return out;
}

/** "containerd://abc" → ["containerd", "abc"]. */
export function splitContainerId(value: string): [string, string] {
  const at = value.indexOf('://');
  return at === -1 ? ['', value] : [value.slice(0, at), value.slice(at + 3)];
}

function projectContainer(c: PodContainerState, pod: PodUpdate, deletedAtNs: bigint): ContainerUpdate {
  const stateObj = obj(c.status['state']);
  const running = obj(stateObj['running']);
  const terminated = obj(stateObj['terminated']);
  const waiting = obj(stateObj['waiting']);
  let state: ContainerState = ContainerState.UNKNOWN;
  let reason = '';
  let message = '';
  let startNs = 0n;
  let stopNs = 0n;
  if ('running' in stateObj) {
    state = ContainerState.RUNNING;
    startNs = timeNs(running['startedAt']);
  } else if ('terminated' in stateObj) {
    state = ContainerState.TERMINATED;
    reason = str(terminated['reason']);
    message = str(terminated['message']);
    startNs = timeNs(terminated['startedAt']);
    stopNs = timeNs(terminated['finishedAt']);
  } else if ('waiting' in stateObj) {
    state = ContainerState.WAITING;
    reason = str(waiting['reason']);
    message = str(waiting['message']);
  }
  if (deletedAtNs !== 0n && stopNs === 0n) stopNs = deletedAtNs;
  return create(ContainerUpdateSchema, {
    containerId: c.containerId,
    runtime: c.runtime,
    name: c.name,
    podUid: pod.uid,
    podName: pod.name,
    namespace: pod.namespace,
    type: c.type,
    state,
    reason,
    message,
    restartCount: num(c.status['restartCount']),
    startTimeNs: startNs,
    stopTimeNs: stopNs,
  });
}

/** The controller owner's uid (the ReplicaSet of a Deployment's pod), if any. */
export function controllerOwnerUid(refs: ReadonlyArray<{ uid: string; controller: boolean }>): string | undefined {
  return refs.find((r) => r.controller && r.uid !== '')?.uid;
}

export { strs };
