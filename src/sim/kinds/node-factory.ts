import { nodeIpOf, podCidrOf } from '../model/ipam.ts';
import type { KubeObject, KubeObjectInput } from '../model/objects.ts';
import type { Rng } from '../../core/index.ts';
import { microTime, rfc3339 } from './time.ts';

/**
 * Builders for the cluster's infrastructure objects: Nodes, their Leases and Namespaces, in
 * the shape a kubeadm cluster on cloud VMs (containerd, Kubernetes 1.31) serves them.
 */
const KUBERNETES_VERSION = 'v1.31.2';
const REGION = 'us-east-1';
const ZONES = ['us-east-1a', 'us-east-1b', 'us-east-1c'];
const INSTANCE_TYPES = [
  { type: 'm5.xlarge', cpu: '4', allocatableCpu: '3920m', memory: '16119448Ki', allocatableMemory: '15166616Ki' },
  { type: 'm5.2xlarge', cpu: '8', allocatableCpu: '7910m', memory: '32408216Ki', allocatableMemory: '31391384Ki' },
];
export const NODE_LEASE_NAMESPACE = 'kube-node-lease';
export const MAX_PODS_PER_NODE = 110;
/**
 * Where the sim's IPAM keeps a node's pod CIDR when spec.podCIDRs is left empty (the
 * `podCidrs: false` scenario), as a CNI keeps its own per-node blocks outside the Node's spec.
 */
export const POD_CIDR_ANNOTATION = 'sim.kubemeta.io/pod-cidr';

export interface NodeInput {
  /** Sequence number of the node; names never repeat, even after a node is removed. */
  readonly serial: number;
  /** Index of the node's /24 pod CIDR (see ipam.ts); a removed node's block is reused. */
  readonly cidrIndex: number;
  readonly nowMs: number;
  /** Show the pod CIDR in spec.podCIDR(s) (default) or only in POD_CIDR_ANNOTATION. */
  readonly podCidrInSpec?: boolean;
}

export function nodeName(serial: number): string {
  return `node-${String(serial).padStart(5, '0')}`;
}

export function buildNode(input: NodeInput, rng: Rng): KubeObjectInput {
  const name = nodeName(input.serial);
  const zone = ZONES[input.serial % ZONES.length] as string;
  const shape = INSTANCE_TYPES[input.serial % 5 === 4 ? 1 : 0]!;
  const podCidr = podCidrOf(input.cidrIndex);
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      labels: nodeLabels(name, zone, shape.type),
      annotations: {
        'node.alpha.kubernetes.io/ttl': '0',
        'volumes.kubernetes.io/controller-managed-attach-detach': 'true',
        ...(input.podCidrInSpec === false ? { [POD_CIDR_ANNOTATION]: podCidr } : {}),
      },
    },
    spec: input.podCidrInSpec === false
      ? { providerID: `aws:///${zone}/i-0${rng.hex(16)}` }
      : { podCIDR: podCidr, podCIDRs: [podCidr], providerID: `aws:///${zone}/i-0${rng.hex(16)}` },
    status: {
      addresses: [
        { type: 'InternalIP', address: nodeIpOf(input.cidrIndex) },
        { type: 'Hostname', address: name },
      ],
      allocatable: resources(shape.allocatableCpu, shape.allocatableMemory, '95491281146'),
      capacity: resources(shape.cpu, shape.memory, '103609660Ki'),
      conditions: nodeConditions(rfc3339(input.nowMs)),
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      nodeInfo: nodeInfo(rng),
    },
  };
}

function nodeLabels(name: string, zone: string, instanceType: string): Record<string, string> {
  return {
    'beta.kubernetes.io/arch': 'amd64',
    'beta.kubernetes.io/instance-type': instanceType,
    'beta.kubernetes.io/os': 'linux',
    'kubernetes.io/arch': 'amd64',
    'kubernetes.io/hostname': name,
    'kubernetes.io/os': 'linux',
    'node-role.kubernetes.io/worker': '',
    'node.kubernetes.io/instance-type': instanceType,
    'topology.kubernetes.io/region': REGION,
    'topology.kubernetes.io/zone': zone,
  };
}

function resources(cpu: string, memory: string, storage: string): Record<string, string> {
  return { cpu, 'ephemeral-storage': storage, 'hugepages-1Gi': '0', 'hugepages-2Mi': '0', memory, pods: String(MAX_PODS_PER_NODE) };
}

function nodeConditions(at: string): Array<Record<string, string>> {
  const condition = (type: string, status: string, reason: string, message: string): Record<string, string> => ({
    type,
    status,
    lastHeartbeatTime: at,
    lastTransitionTime: at,
    reason,
    message,
  });
  return [
    condition('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
    condition('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
    condition('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
    condition('Ready', 'True', 'KubeletReady', 'kubelet is posting ready status'),
  ];
}

function nodeInfo(rng: Rng): Record<string, string> {
  return {
    architecture: 'amd64',
    bootID: rng.uuid(),
    containerRuntimeVersion: `containerd://1.7.${rng.between(20, 23)}`,
    kernelVersion: '6.1.0-26-cloud-amd64',
    kubeProxyVersion: KUBERNETES_VERSION,
    kubeletVersion: KUBERNETES_VERSION,
    machineID: rng.hex(32),
    operatingSystem: 'linux',
    osImage: 'Debian GNU/Linux 12 (bookworm)',
    systemUUID: rng.uuid(),
  };
}

/**
 * The node after a kubelet status heartbeat: only the conditions' lastHeartbeatTime moves
 * (a later stage suppresses exactly this kind of change, so nothing else may differ).
 */
export function withHeartbeat(node: KubeObject, nowMs: number): KubeObject {
  const status = node['status'] as { conditions?: Array<Record<string, unknown>> } | undefined;
  if (!status?.conditions) return node;
  const at = rfc3339(nowMs);
  const conditions = status.conditions.map((c) => ('lastHeartbeatTime' in c ? { ...c, lastHeartbeatTime: at } : c));
  return { ...node, status: { ...status, conditions } };
}

/** The node cordoned (`kubectl cordon`): the scheduler places nothing new on it. */
export function cordoned(node: KubeObject): KubeObject {
  const spec = (node['spec'] ?? {}) as Record<string, unknown>;
  const taint = { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule', timeAdded: null };
  return { ...node, spec: { ...spec, unschedulable: true, taints: [taint] } };
}

/** The node's Lease in kube-node-lease, owned by the Node as the kubelet creates it. */
export function buildNodeLease(node: KubeObject, nowMs: number): KubeObjectInput {
  const name = node.metadata.name;
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: {
      name,
      namespace: NODE_LEASE_NAMESPACE,
      ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name, uid: node.metadata.uid }],
    },
    spec: { holderIdentity: name, leaseDurationSeconds: 40, renewTime: microTime(nowMs) },
  };
}

/** The Lease after a renewal: only spec.renewTime moves. */
export function withRenewal(lease: KubeObject, nowMs: number): KubeObject {
  return { ...lease, spec: { ...(lease['spec'] as object), renewTime: microTime(nowMs) } };
}

export function buildNamespace(name: string, labels: Record<string, string> = {}): KubeObjectInput {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name, labels: { ...labels, 'kubernetes.io/metadata.name': name } },
    spec: { finalizers: ['kubernetes'] },
    status: { phase: 'Active' },
  };
}
