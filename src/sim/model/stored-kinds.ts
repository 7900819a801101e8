import { resourceInfo, type ResourceInfo } from './resources.ts';

/**
 * Kinds the simulated API server stores and serves like any other (discovery, OpenAPI
 * validation stubs, LIST/WATCH/GET, create, update, patch, delete, Table output with name and
 * age, deletion with their namespace and their owners) but that no simulated controller acts
 * on. They exist so that real manifests apply to the sim unchanged: `kubectl apply -k deploy/`
 * creates a ServiceAccount, RBAC, ConfigMaps and a StatefulSet with a volumeClaimTemplate.
 *
 * Adding a kind is one row here; everything else derives from RESOURCES (which appends these
 * rows). Limits, as for every sim kind: names are checked as DNS subdomains, so RBAC names with
 * ':' (`system:...`) are refused; no field is validated; RBAC is stored, never enforced (the
 * sim has no authentication or authorization).
 */
function stored(kind: string, group: string, plural: string, namespaced: boolean, shortNames: readonly string[] = [], subresources: readonly string[] = []): ResourceInfo {
  // None of these is in `kubectl get all`, as on a real API server.
  return resourceInfo(kind, group, plural, namespaced, shortNames, subresources, []);
}

const RBAC = 'rbac.authorization.k8s.io';

export const STORED_ONLY_RESOURCES: readonly ResourceInfo[] = Object.freeze([
  stored('ServiceAccount', '', 'serviceaccounts', true, ['sa']),
  stored('ConfigMap', '', 'configmaps', true, ['cm']),
  stored('Secret', '', 'secrets', true),
  stored('PersistentVolumeClaim', '', 'persistentvolumeclaims', true, ['pvc'], ['status']),
  stored('Role', RBAC, 'roles', true),
  stored('RoleBinding', RBAC, 'rolebindings', true),
  stored('ClusterRole', RBAC, 'clusterroles', false),
  stored('ClusterRoleBinding', RBAC, 'clusterrolebindings', false),
  // Kubernetes 1.33+: the ranges cluster IPs come from. The sim creates the default one
  // (`kubernetes`, populate.ts) as the API server does; nothing allocates from it.
  stored('ServiceCIDR', 'networking.k8s.io', 'servicecidrs', false, [], ['status']),
]);
