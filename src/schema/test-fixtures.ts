// Named example updates for the schema tests (not exported from index.ts): each constant is an
// object in the state its name says.
import { create } from '@bufbuild/protobuf';
import {
  ConditionStatus, ContainerState, ContainerType, NodeAddressType, ObjectKind, PodPhase, Protocol, QosClass,
  ResourceUpdateSchema, ServiceType,
} from './gen/kubemeta/v1/resources_pb.js';
import type { ResourceUpdate } from './gen/kubemeta/v1/resources_pb.js';

const T0 = 1_732_700_000_123_456_789n; // a time with nanoseconds, to prove none are lost

/** A running pod with an init container, a native sidecar and a regular container. */
export const runningPodWithSidecar: ResourceUpdate = create(ResourceUpdateSchema, {
  object: {
    case: 'pod',
    value: {
      uid: 'f3b1c2d4-5e6f-4a8b-9c0d-1e2f3a4b5c6d',
      name: 'checkout-7d9f8b6c5d-x2k4p',
      namespace: 'shop',
      nodeName: 'ip-10-0-12-34.ec2.internal',
      hostname: 'checkout-7d9f8b6c5d-x2k4p',
      podIp: '10.244.3.17',
      podIps: ['10.244.3.17', 'fd00:10:244:3::11'],
      hostIp: '10.0.12.34',
      phase: PodPhase.RUNNING,
      conditions: ['Initialized', 'Ready', 'ContainersReady', 'PodScheduled'].map((type) => ({ type, status: ConditionStatus.TRUE })),
      labels: { app: 'checkout', 'pod-template-hash': '7d9f8b6c5d', 'app.kubernetes.io/version': '1.42.0' },
      ownerReferences: [{ kind: 'ReplicaSet', name: 'checkout-7d9f8b6c5d', uid: 'a1b2c3d4-0000-4a8b-9c0d-1e2f3a4b5c6d', controller: true }],
      qosClass: QosClass.BURSTABLE,
      createTimeNs: T0,
      startTimeNs: T0 + 1_000_000_000n,
      containers: [
        { name: 'init-config', containerId: 'a'.repeat(64), type: ContainerType.INIT },
        { name: 'istio-proxy', containerId: 'b'.repeat(64), type: ContainerType.SIDECAR },
        { name: 'checkout', containerId: 'c'.repeat(64), type: ContainerType.REGULAR },
      ],
    },
  },
});

/** The native sidecar of that pod, crash-looping. */
export const crashLoopingSidecar: ResourceUpdate = create(ResourceUpdateSchema, {
  object: {
    case: 'container',
    value: {
      containerId: 'b'.repeat(64),
      runtime: 'containerd',
      name: 'istio-proxy',
      podUid: 'f3b1c2d4-5e6f-4a8b-9c0d-1e2f3a4b5c6d',
      podName: 'checkout-7d9f8b6c5d-x2k4p',
      namespace: 'shop',
      type: ContainerType.SIDECAR,
      state: ContainerState.WAITING,
      reason: 'CrashLoopBackOff',
      message: 'back-off 5m0s restarting failed container',
      restartCount: 7,
      startTimeNs: T0,
      stopTimeNs: T0 + 5n,
    },
  },
});

/** A LoadBalancer service backed by two pods on two nodes. */
export const loadBalancerService: ResourceUpdate = create(ResourceUpdateSchema, {
  object: {
    case: 'service',
    value: {
      uid: '0c1d2e3f-1111-4a8b-9c0d-1e2f3a4b5c6d',
      name: 'checkout',
      namespace: 'shop',
      type: ServiceType.LOAD_BALANCER,
      clusterIps: ['10.96.14.2'],
      externalIps: ['203.0.113.9'],
      loadBalancerIps: ['198.51.100.4'],
      ports: [{ name: 'http', protocol: Protocol.TCP, port: 80, targetPort: 'http', nodePort: 31080 }],
      podUids: ['f3b1c2d4-5e6f-4a8b-9c0d-1e2f3a4b5c6d', 'f3b1c2d4-5e6f-4a8b-9c0d-999999999999'],
      nodeNames: ['ip-10-0-12-34.ec2.internal', 'ip-10-0-12-35.ec2.internal'],
      startTimeNs: T0,
    },
  },
});

/** A service scaled to zero: empty membership is published, not omitted (docs/design.md §9). */
export const serviceScaledToZero: ResourceUpdate = create(ResourceUpdateSchema, {
  object: { case: 'service', value: { uid: '0c1d2e3f-2222-4a8b-9c0d-1e2f3a4b5c6d', name: 'idle', namespace: 'shop', type: ServiceType.CLUSTER_IP, startTimeNs: T0 } },
});

/** A deleted namespace (stop time set). */
export const deletedNamespace: ResourceUpdate = create(ResourceUpdateSchema, {
  object: { case: 'namespace', value: { uid: '9a9a9a9a-3333-4a8b-9c0d-1e2f3a4b5c6d', name: 'tmp', labels: { team: 'qa' }, startTimeNs: T0, stopTimeNs: T0 + 60_000_000_000n } },
});

/** A ready node with dual-stack addresses. */
export const readyNode: ResourceUpdate = create(ResourceUpdateSchema, {
  object: {
    case: 'node',
    value: {
      uid: '7b7b7b7b-4444-4a8b-9c0d-1e2f3a4b5c6d',
      name: 'ip-10-0-12-34.ec2.internal',
      addresses: [
        { type: NodeAddressType.INTERNAL_IP, address: '10.0.12.34' },
        { type: NodeAddressType.HOSTNAME, address: 'ip-10-0-12-34.ec2.internal' },
      ],
      podCidrs: ['10.244.3.0/24', 'fd00:10:244:3::/64'],
      conditions: [{ type: 'Ready', status: ConditionStatus.TRUE }, { type: 'MemoryPressure', status: ConditionStatus.FALSE }],
      labels: { 'kubernetes.io/os': 'linux', 'topology.kubernetes.io/zone': 'eu-west-1a' },
      startTimeNs: T0,
    },
  },
});

/** A Deployment mid-rollout. */
export const rollingDeployment: ResourceUpdate = create(ResourceUpdateSchema, {
  object: {
    case: 'workload',
    value: {
      kind: ObjectKind.DEPLOYMENT,
      uid: '5d5d5d5d-5555-4a8b-9c0d-1e2f3a4b5c6d',
      name: 'checkout',
      namespace: 'shop',
      replicas: 3,
      readyReplicas: 2,
      availableReplicas: 2,
      updatedReplicas: 1,
      labels: { app: 'checkout' },
      startTimeNs: T0,
    },
  },
});

/** A ReplicaSet owned by that Deployment. */
export const ownedReplicaSet: ResourceUpdate = create(ResourceUpdateSchema, {
  object: {
    case: 'workload',
    value: {
      kind: ObjectKind.REPLICA_SET,
      uid: 'a1b2c3d4-0000-4a8b-9c0d-1e2f3a4b5c6d',
      name: 'checkout-7d9f8b6c5d',
      namespace: 'shop',
      ownerReferences: [{ kind: 'Deployment', name: 'checkout', uid: '5d5d5d5d-5555-4a8b-9c0d-1e2f3a4b5c6d', controller: true }],
      replicas: 3,
      readyReplicas: 3,
      availableReplicas: 3,
      updatedReplicas: 3,
      startTimeNs: T0,
    },
  },
});

/** The service leaving a node scope because none of its pods run there any more. */
export const serviceLeavesNode: ResourceUpdate = create(ResourceUpdateSchema, {
  object: { case: 'scopeExit', value: { kind: ObjectKind.SERVICE, uid: '0c1d2e3f-1111-4a8b-9c0d-1e2f3a4b5c6d' } },
});

/** The cluster's network ranges: node podCIDRs, the service range from a ServiceCIDR object, the nodes' InternalIP blocks. */
export const dualStackRanges: ResourceUpdate = create(ResourceUpdateSchema, {
  object: {
    case: 'networkRanges',
    value: {
      uid: 'cluster', podCidrs: ['10.244.0.0/16', 'fd00:10:244::/48'], serviceCidrs: ['10.96.0.0/12', 'fd00:10:96::/112'], podSource: 1, serviceSource: 3,
      nodeCidrs: ['172.18.0.0/16', 'fd00:172:18::/48'],
    },
  },
});

export const everyUpdateKind: ReadonlyArray<readonly [string, ResourceUpdate]> = [
  ['running pod with sidecar', runningPodWithSidecar],
  ['crash-looping sidecar container', crashLoopingSidecar],
  ['load balancer service', loadBalancerService],
  ['service scaled to zero', serviceScaledToZero],
  ['deleted namespace', deletedNamespace],
  ['ready node', readyNode],
  ['rolling deployment', rollingDeployment],
  ['replica set owned by a deployment', ownedReplicaSet],
  ['scope exit', serviceLeavesNode],
  ['network ranges', dualStackRanges],
];

export const STREAM = '0123456789abcdef0123456789abcdef';

/** Deterministic PRNG (mulberry32) for property-style loops: failures reproduce from the seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
