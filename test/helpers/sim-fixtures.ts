import { createHash } from 'node:crypto';
import type { ClusterModel } from '../../src/sim/model/cluster-model.ts';
import type { KubeObjectInput, StoredObject } from '../../src/sim/model/objects.ts';

/**
 * Small object builders for the sim's integration tests: objects shaped like a real
 * cluster's, created straight through ClusterModel (no scenario engine involved).
 */
export function containerId(seed: string): string {
  return `containerd://${createHash('sha256').update(seed).digest('hex')}`;
}

export function namespace(name: string, labels: Record<string, string> = {}): KubeObjectInput {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { 'kubernetes.io/metadata.name': name, ...labels } }, spec: { finalizers: ['kubernetes'] }, status: { phase: 'Active' } };
}

export function node(name: string, index = 0): KubeObjectInput {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', 'node-role.kubernetes.io/worker': '' } },
    spec: { podCIDR: `10.244.${index}.0/24`, podCIDRs: [`10.244.${index}.0/24`] },
    status: {
      addresses: [
        { type: 'InternalIP', address: `10.0.${Math.floor(index / 250)}.${(index % 250) + 1}` },
        { type: 'Hostname', address: name },
      ],
      conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', lastHeartbeatTime: '2025-01-01T00:00:00Z', lastTransitionTime: '2025-01-01T00:00:00Z' }],
      nodeInfo: { kubeletVersion: 'v1.32.0', osImage: 'Debian GNU/Linux 12 (bookworm)', kernelVersion: '6.1.0-28-amd64', containerRuntimeVersion: 'containerd://1.7.24', architecture: 'amd64', operatingSystem: 'linux' },
    },
  };
}

export interface PodOptions {
  namespace?: string;
  nodeName?: string;
  labels?: Record<string, string>;
  phase?: string;
  podIP?: string;
  owner?: StoredObject;
}

export function pod(name: string, options: PodOptions = {}): KubeObjectInput {
  const owner = options.owner?.object;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: options.namespace ?? 'default',
      labels: options.labels ?? { app: name },
      ...(owner ? { ownerReferences: [{ apiVersion: owner.apiVersion, kind: owner.kind, name: owner.metadata.name, uid: owner.metadata.uid, controller: true, blockOwnerDeletion: true }] } : {}),
    },
    spec: {
      ...(options.nodeName ? { nodeName: options.nodeName } : {}),
      containers: [{ name: 'app', image: 'nginx:1.27', ports: [{ containerPort: 80, protocol: 'TCP' }] }],
    },
    status: {
      phase: options.phase ?? 'Running',
      ...(options.podIP ? { podIP: options.podIP, podIPs: [{ ip: options.podIP }] } : {}),
      ...(options.nodeName ? { hostIP: '10.0.0.1' } : {}),
      containerStatuses: [{ name: 'app', ready: true, restartCount: 0, image: 'nginx:1.27', containerID: containerId(name), state: { running: { startedAt: '2025-01-01T00:00:00Z' } } }],
    },
  };
}

export function deployment(name: string, replicas: number, ns = 'default'): KubeObjectInput {
  const labels = { app: name };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: ns, labels },
    spec: { replicas, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name: 'app', image: 'nginx:1.27' }] } } },
    status: { replicas, readyReplicas: replicas, updatedReplicas: replicas, availableReplicas: replicas },
  };
}

export function service(name: string, ns = 'default'): KubeObjectInput {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: ns },
    spec: { type: 'ClusterIP', clusterIP: '10.96.0.10', selector: { app: name }, ports: [{ port: 80, targetPort: 80, protocol: 'TCP' }] },
  };
}

/** A model with namespaces `default` and `team-a`, `nodes` nodes and `pods` pods spread over them. */
export function populate(model: ClusterModel, counts: { nodes?: number; pods?: number } = {}): void {
  model.create(namespace('default'));
  model.create(namespace('team-a', { team: 'a' }));
  const nodes = counts.nodes ?? 2;
  for (let i = 0; i < nodes; i++) model.create(node(`node-${i}`, i));
  for (let i = 0; i < (counts.pods ?? 0); i++) {
    model.create(pod(`pod-${String(i).padStart(4, '0')}`, { namespace: i % 2 === 0 ? 'default' : 'team-a', nodeName: `node-${i % nodes}`, labels: { app: `app-${i % 3}`, tier: i % 2 === 0 ? 'web' : 'db' }, podIP: `10.244.0.${(i % 250) + 1}` }));
  }
}
