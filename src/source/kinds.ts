/**
 * The Kubernetes kinds kubemeta watches, one LIST+WATCH stream each (docs/design.md §6: the API server
 * sees one watch per kind, however many consumers there are).
 */
/** The kinds kubemeta watches (the projector accepts exactly these: service/ingest.ts checks it). */
export type WatchedKindName =
  | 'Namespace' | 'Node' | 'Pod' | 'Service' | 'EndpointSlice' | 'Endpoints' | 'ReplicaSet'
  | 'Deployment' | 'StatefulSet' | 'DaemonSet' | 'Job' | 'CronJob' | 'ServiceCIDR';

export interface WatchedKind {
  readonly kind: WatchedKindName;
  readonly group: string;
  readonly version: string;
  readonly plural: string;
  readonly namespaced: boolean;
  /**
   * Watched where the server serves it and we may read it, but not needed: a 403 (RBAC not
   * granting it, as in a deployment upgraded without its ClusterRole) ends the reflector as
   * 'unsupported' instead of retrying, so the sync completes without it.
   */
  readonly optional: boolean;
}

function kind(kindName: WatchedKindName, group: string, version: string, plural: string, namespaced = true, optional = false): WatchedKind {
  return Object.freeze({ kind: kindName, group, version, plural, namespaced, optional });
}

export const WATCHED_KINDS: { readonly [K in WatchedKindName]: WatchedKind } = Object.freeze({
  Namespace: kind('Namespace', '', 'v1', 'namespaces', false),
  Node: kind('Node', '', 'v1', 'nodes', false),
  Pod: kind('Pod', '', 'v1', 'pods'),
  Service: kind('Service', '', 'v1', 'services'),
  EndpointSlice: kind('EndpointSlice', 'discovery.k8s.io', 'v1', 'endpointslices'),
  Endpoints: kind('Endpoints', '', 'v1', 'endpoints'),
  ReplicaSet: kind('ReplicaSet', 'apps', 'v1', 'replicasets'),
  Deployment: kind('Deployment', 'apps', 'v1', 'deployments'),
  StatefulSet: kind('StatefulSet', 'apps', 'v1', 'statefulsets'),
  DaemonSet: kind('DaemonSet', 'apps', 'v1', 'daemonsets'),
  Job: kind('Job', 'batch', 'v1', 'jobs'),
  CronJob: kind('CronJob', 'batch', 'v1', 'cronjobs'),
  // Kubernetes 1.33+ (GA). An older server answers 404: its reflector ends 'unsupported', the
  // sync completes without it, and the service range is derived from cluster IPs instead.
  ServiceCIDR: kind('ServiceCIDR', 'networking.k8s.io', 'v1', 'servicecidrs', false, true),
});

/** `/api/v1/pods` or `/apis/apps/v1/namespaces/ns/deployments`. */
export function collectionPath(k: WatchedKind, namespace?: string): string {
  const base = k.group === '' ? `/api/${k.version}` : `/apis/${k.group}/${k.version}`;
  return namespace !== undefined && k.namespaced
    ? `${base}/namespaces/${encodeURIComponent(namespace)}/${k.plural}`
    : `${base}/${k.plural}`;
}
