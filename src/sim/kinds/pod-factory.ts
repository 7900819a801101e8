import { createHash } from 'node:crypto';
import { freezeShared } from '../model/json.ts';
import type { KubeObject, KubeObjectInput, OwnerReference } from '../model/objects.ts';
import type { Rng } from '../../core/index.ts';
import { rfc3339 } from './time.ts';
import { templateHash, type PodTemplate } from './workload-factory.ts';

/**
 * Pods through their life: created from a template (Pending), bound to a node (the
 * scheduler), Running with IPs and container ids (the kubelet), a container restarted, or
 * Succeeded (a finished Job). The parts every pod of a template shares (containers, volumes,
 * tolerations) are built once per template and frozen: stored objects are never mutated,
 * and sharing keeps 150,000 pods in memory.
 */
type Json = Record<string, unknown>;
type Container = Json & { name: string; image: string; restartPolicy?: string };

export interface PodInput {
  readonly namespace: string;
  readonly name: string;
  readonly template: PodTemplate;
  readonly owner: OwnerReference;
  readonly extraLabels?: Record<string, string>;
  /** Extra spec fields: hostname/subdomain (StatefulSet), affinity (DaemonSet). */
  readonly extraSpec?: Json;
  /** A StatefulSet pod's name is chosen, not generated: no generateName. */
  readonly fixedName?: boolean;
}

const TOLERATIONS = freezeShared([
  { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
  { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
]);

interface AdmittedTemplate {
  readonly spec: Json;
  readonly qosClass: string;
}

const admitted = new WeakMap<object, AdmittedTemplate>();

/** The template's spec as admission plugins leave it (service account token volume, defaults). */
function admit(template: PodTemplate): AdmittedTemplate {
  const cached = admitted.get(template.spec);
  if (cached) return cached;
  const spec = template.spec as Json & { containers?: Container[]; initContainers?: Container[]; volumes?: Json[]; tolerations?: Json[] };
  const volume = `kube-api-access-${templateHash(spec).slice(0, 5)}`;
  const mount = { name: volume, readOnly: true, mountPath: '/var/run/secrets/kubernetes.io/serviceaccount' };
  const withMount = (c: Container): Container => ({ ...c, volumeMounts: [...((c['volumeMounts'] as Json[] | undefined) ?? []), mount] });
  const result: AdmittedTemplate = {
    spec: freezeShared({
      ...spec,
      ...(spec.initContainers ? { initContainers: spec.initContainers.map(withMount) } : {}),
      containers: (spec.containers ?? []).map(withMount),
      volumes: [...(spec.volumes ?? []), serviceAccountVolume(volume)],
      serviceAccountName: (spec['serviceAccountName'] as string | undefined) ?? 'default',
      serviceAccount: (spec['serviceAccountName'] as string | undefined) ?? 'default',
      enableServiceLinks: true,
      preemptionPolicy: 'PreemptLowerPriority',
      priority: spec['priorityClassName'] === 'system-node-critical' ? 2000001000 : 0,
      tolerations: [...(spec.tolerations ?? []), ...TOLERATIONS],
    }),
    qosClass: qosClassOf([...(spec.initContainers ?? []), ...(spec.containers ?? [])]),
  };
  admitted.set(template.spec, result);
  return result;
}

function serviceAccountVolume(name: string): Json {
  return {
    name,
    projected: {
      defaultMode: 420,
      sources: [
        { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
        { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
        { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
      ],
    },
  };
}

function qosClassOf(containers: readonly Container[]): string {
  const res = containers.map((c) => (c['resources'] ?? {}) as { requests?: Json; limits?: Json });
  if (res.every((r) => !r.requests && !r.limits)) return 'BestEffort';
  const guaranteed = res.every((r) => r.limits?.['cpu'] && r.limits['memory'] && (!r.requests || (r.requests['cpu'] === r.limits['cpu'] && r.requests['memory'] === r.limits['memory'])));
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

/** A new pod as its controller creates it: Pending, not yet on a node. */
export function buildPod(input: PodInput): KubeObjectInput {
  const t = admit(input.template);
  const labels = input.extraLabels ? { ...input.template.metadata.labels, ...input.extraLabels } : input.template.metadata.labels;
  const annotations = input.template.metadata.annotations;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: input.name,
      ...(input.fixedName ? {} : { generateName: `${input.owner.name}-` }),
      namespace: input.namespace,
      labels,
      ...(annotations ? { annotations } : {}),
      ownerReferences: [input.owner],
    },
    spec: input.extraSpec ? { ...t.spec, ...input.extraSpec } : t.spec,
    status: { phase: 'Pending', qosClass: t.qosClass },
  };
}

/** The pod bound to `nodeName` (what the scheduler's Binding does). */
export function boundPod<T extends KubeObjectInput>(pod: T, nodeName: string, nowMs: number): T {
  const status = (pod['status'] ?? {}) as Json;
  const scheduled = { type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: rfc3339(nowMs) };
  return { ...pod, spec: { ...(pod['spec'] as Json), nodeName }, status: { ...status, conditions: [scheduled] } };
}

export interface RunInput {
  readonly hostIP: string;
  readonly podIP: string;
  readonly nowMs: number;
}

/** The pod's status once the kubelet has started it: Running, ready, with IPs and container ids. */
export function runningStatus(pod: KubeObject | KubeObjectInput, input: RunInput, rng: Rng): Json {
  const spec = pod['spec'] as { initContainers?: Container[]; containers?: Container[] };
  const status = (pod['status'] ?? {}) as Json;
  const at = rfc3339(input.nowMs);
  return {
    phase: 'Running',
    conditions: runningConditions(at, scheduledTime(status) ?? at),
    hostIP: input.hostIP,
    hostIPs: hostIps(input.hostIP),
    podIP: input.podIP,
    podIPs: [{ ip: input.podIP }],
    startTime: at,
    ...(spec.initContainers?.length ? { initContainerStatuses: spec.initContainers.map((c) => initStatus(c, at, rng)) } : {}),
    containerStatuses: sortedByName((spec.containers ?? []).map((c) => runningContainer(c, at, rng))),
    qosClass: status['qosClass'] ?? 'BestEffort',
  };
}

/**
 * The conditions of a pod that started at `at`: every pod started in the same second has the
 * same ones, so they are shared (frozen) and serialized once.
 */
function runningConditions(at: string, scheduledAt: string): readonly Json[] {
  const key = `${at}|${scheduledAt}`;
  if (lastConditions?.key !== key) {
    const condition = (type: string, t: string): Json => ({ type, status: 'True', lastProbeTime: null, lastTransitionTime: t });
    const conditions = [
      condition('PodReadyToStartContainers', at),
      condition('Initialized', at),
      condition('Ready', at),
      condition('ContainersReady', at),
      condition('PodScheduled', scheduledAt),
    ];
    lastConditions = { key, conditions: freezeShared(conditions), running: freezeShared({ running: { startedAt: at } }) };
  }
  return lastConditions.conditions;
}

let lastConditions: { key: string; conditions: readonly Json[]; running: Json } | undefined;

/** status.hostIPs of the pods of one node: the same for all of them, so shared. */
const hostIpLists = new Map<string, readonly Json[]>();

function hostIps(hostIP: string): readonly Json[] {
  let list = hostIpLists.get(hostIP);
  if (!list) hostIpLists.set(hostIP, (list = freezeShared([{ ip: hostIP }])));
  return list;
}
const NO_LAST_STATE = freezeShared({});

function runningState(at: string): Json {
  return lastConditions?.key.startsWith(`${at}|`) ? lastConditions.running : { running: { startedAt: at } };
}

function scheduledTime(status: Json): string | undefined {
  const conditions = status['conditions'] as Json[] | undefined;
  const c = conditions?.find((x) => x['type'] === 'PodScheduled');
  return c?.['lastTransitionTime'] as string | undefined;
}

function runningContainer(c: Container, at: string, rng: Rng): Json {
  return {
    name: c.name,
    state: runningState(at),
    lastState: NO_LAST_STATE,
    ready: true,
    restartCount: 0,
    image: c.image,
    imageID: imageIdOf(c.image),
    containerID: containerId(rng),
    started: true,
  };
}

/** A classic init container has run to completion; a native sidecar keeps running. */
function initStatus(c: Container, at: string, rng: Rng): Json {
  if (c.restartPolicy === 'Always') return runningContainer(c, at, rng);
  const id = containerId(rng);
  return {
    name: c.name,
    state: { terminated: { exitCode: 0, reason: 'Completed', startedAt: at, finishedAt: at, containerID: id } },
    lastState: NO_LAST_STATE,
    ready: true,
    restartCount: 0,
    image: c.image,
    imageID: imageIdOf(c.image),
    containerID: id,
    started: false,
  };
}

function containerId(rng: Rng): string {
  return ['containerd://', rng.hex(64)].join('');
}

/**
 * The pod after container `name` crashed and the kubelet restarted it: restartCount + 1, a
 * new containerID and startedAt, the previous run in lastState. Undefined if no such container.
 */
export function withContainerRestart(pod: KubeObject, name: string, nowMs: number, rng: Rng): KubeObject | undefined {
  const status = pod['status'] as Json & { containerStatuses?: Json[] };
  const statuses = status.containerStatuses;
  const i = statuses?.findIndex((s) => s['name'] === name) ?? -1;
  if (!statuses || i < 0) return undefined;
  const old = statuses[i] as Json & { state?: { running?: { startedAt?: string } }; restartCount?: number };
  const at = rfc3339(nowMs);
  const terminated = { exitCode: 137, reason: 'Error', startedAt: old.state?.running?.startedAt ?? at, finishedAt: at, containerID: old['containerID'] };
  const next = { ...old, state: { running: { startedAt: at } }, lastState: { terminated }, restartCount: (old.restartCount ?? 0) + 1, containerID: containerId(rng) };
  const containerStatuses = statuses.map((s, j) => (j === i ? next : s));
  return { ...pod, status: { ...status, containerStatuses } };
}

/** A Job's pod that ran to completion. It keeps its podIP, although the IP is free again. */
export function succeededStatus(pod: KubeObjectInput, input: RunInput, rng: Rng): Json {
  const spec = pod['spec'] as { containers?: Container[] };
  const at = rfc3339(input.nowMs);
  const condition = (type: string, s: string, reason?: string): Json => ({
    type, status: s, lastProbeTime: null, lastTransitionTime: at, ...(reason ? { reason } : {}),
  });
  return {
    phase: 'Succeeded',
    conditions: [
      condition('PodReadyToStartContainers', 'False'),
      condition('Initialized', 'True', 'PodCompleted'),
      condition('Ready', 'False', 'PodCompleted'),
      condition('ContainersReady', 'False', 'PodCompleted'),
      condition('PodScheduled', 'True'),
    ],
    hostIP: input.hostIP,
    hostIPs: [{ ip: input.hostIP }],
    podIP: input.podIP,
    podIPs: [{ ip: input.podIP }],
    startTime: at,
    containerStatuses: (spec.containers ?? []).map((c) => {
      const id = containerId(rng);
      const terminated = { exitCode: 0, reason: 'Completed', startedAt: at, finishedAt: at, containerID: id };
      return { name: c.name, state: { terminated }, lastState: {}, ready: false, restartCount: 0, image: c.image, imageID: imageIdOf(c.image), containerID: id, started: false };
    }),
    qosClass: (pod['status'] as Json | undefined)?.['qosClass'] ?? 'BestEffort',
  };
}

const imageIds = new Map<string, string>();

/** `docker.io/library/nginx@sha256:...`: the resolved repository and a digest fixed per image. */
function imageIdOf(image: string): string {
  let id = imageIds.get(image);
  if (id === undefined) {
    const repo = image.replace(/:[^:/]+$/, '');
    const parts = repo.split('/');
    const hasRegistry = parts.length > 1 && /[.:]|^localhost$/.test(parts[0] as string);
    const full = hasRegistry ? repo : parts.length === 1 ? `docker.io/library/${repo}` : `docker.io/${repo}`;
    id = `${full}@sha256:${createHash('sha256').update(image).digest('hex')}`;
    imageIds.set(image, id);
  }
  return id;
}

function sortedByName(statuses: Json[]): Json[] {
  return statuses.sort((a, b) => ((a['name'] as string) < (b['name'] as string) ? -1 : 1));
}
