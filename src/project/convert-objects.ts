import { create } from '@bufbuild/protobuf';
import {
  NamespaceUpdateSchema,
  NodeAddressType,
  NodeUpdateSchema,
  ObjectKind,
  Protocol,
  ServiceType,
  ServiceUpdateSchema,
  WorkloadUpdateSchema,
  type NamespaceUpdate,
  type NodeUpdate,
  type ServiceUpdate,
  type WorkloadUpdate,
} from '../schema/index.ts';
import { conditionStatus, ownerReferences } from './convert-pod.ts';
import { arr, identity, labels, num, obj, str, strs, timeNs } from './k8s-fields.ts';

export function projectNamespace(object: unknown, deletedAtNs = 0n): NamespaceUpdate {
  const id = identity('Namespace', object, false);
  return create(NamespaceUpdateSchema, {
    uid: id.uid,
    name: id.name,
    labels: labels(id.meta['labels']),
    startTimeNs: timeNs(id.meta['creationTimestamp']),
    stopTimeNs: deletedAtNs,
  });
}

const ADDRESS_TYPES: Record<string, NodeAddressType> = {
  Hostname: NodeAddressType.HOSTNAME,
  InternalIP: NodeAddressType.INTERNAL_IP,
  ExternalIP: NodeAddressType.EXTERNAL_IP,
  InternalDNS: NodeAddressType.INTERNAL_DNS,
  ExternalDNS: NodeAddressType.EXTERNAL_DNS,
};

/** Conditions without heartbeat times, so a kubelet heartbeat projects to the same update. */
export function projectNode(object: unknown, deletedAtNs = 0n): NodeUpdate {
  const id = identity('Node', object, false);
  const spec = obj(obj(object)['spec']);
  const status = obj(obj(object)['status']);
  const cidrs = strs(spec['podCIDRs']);
  return create(NodeUpdateSchema, {
    uid: id.uid,
    name: id.name,
    addresses: arr(status['addresses']).map((a) => ({
      type: ADDRESS_TYPES[str(a['type'])] ?? NodeAddressType.UNSPECIFIED,
      address: str(a['address']),
    })),
    podCidrs: cidrs.length > 0 ? cidrs : strs([spec['podCIDR']]),
    conditions: arr(status['conditions']).map((c) => ({ type: str(c['type']), status: conditionStatus(c['status']) })),
    labels: labels(id.meta['labels']),
    startTimeNs: timeNs(id.meta['creationTimestamp']),
    stopTimeNs: deletedAtNs,
  });
}

const SERVICE_TYPES: Record<string, ServiceType> = {
  ClusterIP: ServiceType.CLUSTER_IP,
  NodePort: ServiceType.NODE_PORT,
  LoadBalancer: ServiceType.LOAD_BALANCER,
  ExternalName: ServiceType.EXTERNAL_NAME,
};
const PROTOCOLS: Record<string, Protocol> = { TCP: Protocol.TCP, UDP: Protocol.UDP, SCTP: Protocol.SCTP };

/** A Service without membership; the projector fills pod_uids/node_names per scope. */
export function projectService(object: unknown, deletedAtNs = 0n): ServiceUpdate {
  const id = identity('Service', object, true);
  const spec = obj(obj(object)['spec']);
  const status = obj(obj(object)['status']);
  const clusterIps = strs(spec['clusterIPs']);
  const ips = (clusterIps.length > 0 ? clusterIps : strs([spec['clusterIP']])).filter((ip) => ip !== '' && ip !== 'None');
  return create(ServiceUpdateSchema, {
    uid: id.uid,
    name: id.name,
    namespace: id.namespace,
    type: SERVICE_TYPES[str(spec['type']) || 'ClusterIP'] ?? ServiceType.UNSPECIFIED,
    clusterIps: ips,
    externalIps: strs(spec['externalIPs']),
    ports: arr(spec['ports']).map((p) => ({
      name: str(p['name']),
      protocol: PROTOCOLS[str(p['protocol']) || 'TCP'] ?? Protocol.UNSPECIFIED,
      port: num(p['port']),
      targetPort: p['targetPort'] === undefined ? '' : String(p['targetPort']),
      nodePort: num(p['nodePort']),
    })),
    startTimeNs: timeNs(id.meta['creationTimestamp']),
    stopTimeNs: deletedAtNs,
    externalName: str(spec['externalName']),
    loadBalancerIps: arr(obj(status['loadBalancer'])['ingress']).map((i) => str(i['ip'])).filter((ip) => ip !== ''),
  });
}

export const WORKLOAD_KINDS: Readonly<Record<string, ObjectKind>> = {
  ReplicaSet: ObjectKind.REPLICA_SET,
  Deployment: ObjectKind.DEPLOYMENT,
  StatefulSet: ObjectKind.STATEFUL_SET,
  DaemonSet: ObjectKind.DAEMON_SET,
  Job: ObjectKind.JOB,
  CronJob: ObjectKind.CRON_JOB,
};

/** ReplicaSet, Deployment, StatefulSet, DaemonSet, Job, CronJob → WorkloadUpdate. */
export function projectWorkload(kind: string, object: unknown, deletedAtNs = 0n): WorkloadUpdate {
  const id = identity(kind, object, true);
  const spec = obj(obj(object)['spec']);
  const status = obj(obj(object)['status']);
  const counts = replicaCounts(kind, spec, status);
  return create(WorkloadUpdateSchema, {
    kind: WORKLOAD_KINDS[kind] ?? ObjectKind.UNSPECIFIED,
    uid: id.uid,
    name: id.name,
    namespace: id.namespace,
    ownerReferences: ownerReferences(id.meta['ownerReferences']),
    ...counts,
    labels: labels(id.meta['labels']),
    startTimeNs: timeNs(id.meta['creationTimestamp']),
    stopTimeNs: deletedAtNs,
  });
}

function replicaCounts(kind: string, spec: Record<string, unknown>, status: Record<string, unknown>) {
  switch (kind) {
    case 'DaemonSet':
      return {
        replicas: num(status['desiredNumberScheduled']),
        readyReplicas: num(status['numberReady']),
        availableReplicas: num(status['numberAvailable']),
        updatedReplicas: num(status['updatedNumberScheduled']),
      };
    case 'Job':
      return { replicas: num(spec['parallelism'] ?? 1), readyReplicas: num(status['active']), availableReplicas: num(status['succeeded']), updatedReplicas: 0 };
    case 'CronJob':
      return { replicas: 0, readyReplicas: 0, availableReplicas: 0, updatedReplicas: 0 };
    default:
      return {
        replicas: num(spec['replicas'] ?? 1),
        readyReplicas: num(status['readyReplicas']),
        availableReplicas: num(status['availableReplicas']),
        updatedReplicas: num(status['updatedReplicas']),
      };
  }
}

/** The member pods of one EndpointSlice or Endpoints object, and the service it belongs to. */
export interface EndpointMembers {
  /** `<namespace>/<service name>` */
  serviceName: string;
  podUids: string[];
}

export function endpointSliceMembers(object: unknown): EndpointMembers {
  const id = identity('EndpointSlice', object, true);
  const service = labels(id.meta['labels'])['kubernetes.io/service-name'] ?? '';
  const podUids = arr(obj(object)['endpoints'])
    .map((e) => obj(e['targetRef']))
    .filter((t) => str(t['kind']) === 'Pod' && str(t['uid']) !== '')
    .map((t) => str(t['uid']));
  return { serviceName: service === '' ? '' : `${id.namespace}/${service}`, podUids };
}

export function endpointsMembers(object: unknown): EndpointMembers {
  const id = identity('Endpoints', object, true);
  const podUids: string[] = [];
  for (const subset of arr(obj(object)['subsets'])) {
    for (const key of ['addresses', 'notReadyAddresses']) {
      for (const a of arr(subset[key])) {
        const t = obj(a['targetRef']);
        if (str(t['kind']) === 'Pod' && str(t['uid']) !== '') podUids.push(str(t['uid']));
      }
    }
  }
  return { serviceName: `${id.namespace}/${id.name}`, podUids };
}
