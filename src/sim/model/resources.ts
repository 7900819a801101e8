import { STORED_ONLY_RESOURCES } from './stored-kinds.ts';

/**
 * The resource kinds the simulated API server serves, with the names discovery publishes.
 * One row per kind; everything else (paths, discovery documents, list kinds) derives from it.
 */
export interface ResourceInfo {
  readonly kind: string;
  readonly listKind: string;
  /** '' for the core group (served under /api/v1). */
  readonly group: string;
  readonly version: string;
  readonly plural: string;
  readonly singular: string;
  readonly namespaced: boolean;
  readonly shortNames: readonly string[];
  readonly categories: readonly string[];
  /** Subresources served under <plural>/<name>/<sub>. */
  readonly subresources: readonly string[];
}

/** A served resource's discovery entry; `categories` default: in `kubectl get all` unless listed as not. */
export function resourceInfo(
  kind: string,
  group: string,
  plural: string,
  namespaced: boolean,
  shortNames: readonly string[] = [],
  subresources: readonly string[] = ['status'],
  categories: readonly string[] = kind === 'Lease' || kind === 'Namespace' || kind === 'Node' || kind === 'EndpointSlice' ? [] : ['all'],
): ResourceInfo {
  return Object.freeze({
    kind,
    listKind: `${kind}List`,
    group,
    version: 'v1',
    plural,
    singular: kind.toLowerCase(),
    namespaced,
    shortNames: Object.freeze([...shortNames]),
    categories: Object.freeze([...categories]),
    subresources: Object.freeze([...subresources]),
  });
}

const resource = resourceInfo;

export const RESOURCES: readonly ResourceInfo[] = Object.freeze([
  resource('Namespace', '', 'namespaces', false, ['ns']),
  resource('Node', '', 'nodes', false, ['no']),
  resource('Pod', '', 'pods', true, ['po']),
  resource('Service', '', 'services', true, ['svc']),
  resource('Endpoints', '', 'endpoints', true, ['ep'], []),
  resource('EndpointSlice', 'discovery.k8s.io', 'endpointslices', true, [], []),
  resource('ReplicaSet', 'apps', 'replicasets', true, ['rs'], ['status', 'scale']),
  resource('Deployment', 'apps', 'deployments', true, ['deploy'], ['status', 'scale']),
  resource('StatefulSet', 'apps', 'statefulsets', true, ['sts'], ['status', 'scale']),
  resource('DaemonSet', 'apps', 'daemonsets', true, ['ds']),
  resource('Job', 'batch', 'jobs', true, []),
  resource('CronJob', 'batch', 'cronjobs', true, ['cj']),
  resource('Lease', 'coordination.k8s.io', 'leases', true, [], []),
  ...STORED_ONLY_RESOURCES,
]);

const BY_KIND = new Map(RESOURCES.map((r) => [r.kind, r]));

export function resourceByKind(kind: string): ResourceInfo | undefined {
  return BY_KIND.get(kind);
}

/** `apps/v1`, or `v1` for the core group. */
export function apiVersionOf(info: ResourceInfo): string {
  return info.group === '' ? info.version : `${info.group}/${info.version}`;
}
