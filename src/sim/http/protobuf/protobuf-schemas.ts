import type { DescMessage } from '@bufbuild/protobuf';
import { DaemonSetListSchema, DaemonSetSchema, DeploymentListSchema, DeploymentSchema, ReplicaSetListSchema, ReplicaSetSchema, StatefulSetListSchema, StatefulSetSchema } from '../../gen/k8s/apps/v1/apps_pb.js';
import { ScaleSchema } from '../../gen/k8s/autoscaling/v1/autoscaling_pb.js';
import { CronJobListSchema, CronJobSchema, JobListSchema, JobSchema } from '../../gen/k8s/batch/v1/batch_pb.js';
import { LeaseListSchema, LeaseSchema } from '../../gen/k8s/coordination/v1/coordination_pb.js';
import {
  ConfigMapListSchema,
  ConfigMapSchema,
  PersistentVolumeClaimListSchema,
  PersistentVolumeClaimSchema,
  SecretListSchema,
  SecretSchema,
  ServiceAccountListSchema,
  ServiceAccountSchema,
} from '../../gen/k8s/core/v1/config_pb.js';
import { NamespaceListSchema, NamespaceSchema, NodeListSchema, NodeSchema } from '../../gen/k8s/core/v1/node_pb.js';
import { PodListSchema, PodSchema } from '../../gen/k8s/core/v1/pod_pb.js';
import { EndpointsListSchema, EndpointsSchema, ServiceListSchema, ServiceSchema } from '../../gen/k8s/core/v1/service_pb.js';
import { EndpointSliceListSchema, EndpointSliceSchema } from '../../gen/k8s/discovery/v1/discovery_pb.js';
import { DeleteOptionsSchema, StatusSchema } from '../../gen/k8s/meta/v1/meta_pb.js';
import { ServiceCIDRListSchema, ServiceCIDRSchema } from '../../gen/k8s/networking/v1/networking_pb.js';
import {
  ClusterRoleBindingListSchema,
  ClusterRoleBindingSchema,
  ClusterRoleListSchema,
  ClusterRoleSchema,
  RoleBindingListSchema,
  RoleBindingSchema,
  RoleListSchema,
  RoleSchema,
} from '../../gen/k8s/rbac/v1/rbac_pb.js';

/**
 * The protobuf message of each kind the sim serves, and of the other objects its API sends or
 * accepts (Status, Scale, DeleteOptions). Keyed by Kubernetes kind, which is what the
 * `runtime.Unknown` envelope names; every kind in RESOURCES has a row (protobuf-schemas.test.ts).
 */
const OBJECTS: ReadonlyMap<string, DescMessage> = new Map<string, DescMessage>([
  ['Namespace', NamespaceSchema],
  ['Node', NodeSchema],
  ['Pod', PodSchema],
  ['Service', ServiceSchema],
  ['Endpoints', EndpointsSchema],
  ['EndpointSlice', EndpointSliceSchema],
  ['ReplicaSet', ReplicaSetSchema],
  ['Deployment', DeploymentSchema],
  ['StatefulSet', StatefulSetSchema],
  ['DaemonSet', DaemonSetSchema],
  ['Job', JobSchema],
  ['CronJob', CronJobSchema],
  ['Lease', LeaseSchema],
  ['ServiceAccount', ServiceAccountSchema],
  ['ConfigMap', ConfigMapSchema],
  ['Secret', SecretSchema],
  ['PersistentVolumeClaim', PersistentVolumeClaimSchema],
  ['Role', RoleSchema],
  ['RoleBinding', RoleBindingSchema],
  ['ClusterRole', ClusterRoleSchema],
  ['ClusterRoleBinding', ClusterRoleBindingSchema],
  ['ServiceCIDR', ServiceCIDRSchema],
  ['Status', StatusSchema],
  ['Scale', ScaleSchema],
  ['DeleteOptions', DeleteOptionsSchema],
]);

const LISTS: ReadonlyMap<string, DescMessage> = new Map<string, DescMessage>([
  ['Namespace', NamespaceListSchema],
  ['Node', NodeListSchema],
  ['Pod', PodListSchema],
  ['Service', ServiceListSchema],
  ['Endpoints', EndpointsListSchema],
  ['EndpointSlice', EndpointSliceListSchema],
  ['ReplicaSet', ReplicaSetListSchema],
  ['Deployment', DeploymentListSchema],
  ['StatefulSet', StatefulSetListSchema],
  ['DaemonSet', DaemonSetListSchema],
  ['Job', JobListSchema],
  ['CronJob', CronJobListSchema],
  ['Lease', LeaseListSchema],
  ['ServiceAccount', ServiceAccountListSchema],
  ['ConfigMap', ConfigMapListSchema],
  ['Secret', SecretListSchema],
  ['PersistentVolumeClaim', PersistentVolumeClaimListSchema],
  ['Role', RoleListSchema],
  ['RoleBinding', RoleBindingListSchema],
  ['ClusterRole', ClusterRoleListSchema],
  ['ClusterRoleBinding', ClusterRoleBindingListSchema],
  ['ServiceCIDR', ServiceCIDRListSchema],
]);

/** The message of `kind`, or undefined when the sim has no protobuf schema for it. */
export function objectSchemaOf(kind: string): DescMessage | undefined {
  return OBJECTS.get(kind);
}

/** The `<Kind>List` message of `kind` (decoding lists in tests and tools; the sim frames lists itself). */
export function listSchemaOf(kind: string): DescMessage | undefined {
  return LISTS.get(kind);
}
