import { apiVersionOf, RESOURCES, type ResourceInfo } from '../model/resources.ts';

/**
 * The discovery documents of the simulated API server: `/version`, `/api`, `/apis`,
 * `/api/v1`, `/apis/<group>[/<version>]`, in the legacy form (kubectl 1.20, client-node) and
 * in the aggregated form (`apidiscovery.k8s.io/v2`, which kubectl ≥ 1.30 asks for first so
 * that one request replaces one per group version).
 */
export interface DiscoveryResponse {
  readonly contentType: string;
  readonly body: string;
}

/** The Kubernetes version the sim claims; kubectl 1.32 warns about skew beyond ±1 minor. */
export const SIM_KUBERNETES_VERSION = { major: '1', minor: '32', gitVersion: 'v1.32.0' } as const;

const MAIN_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];
const SUB_VERBS = ['get', 'patch', 'update'];
const AGGREGATED_V2 = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList';
const AGGREGATED_V2BETA1 = 'application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList';

interface GroupVersion {
  readonly group: string;
  readonly version: string;
  readonly resources: readonly ResourceInfo[];
}

const GROUP_VERSIONS: readonly GroupVersion[] = (() => {
  const byGv = new Map<string, GroupVersion>();
  for (const r of RESOURCES) {
    const key = apiVersionOf(r);
    const gv = byGv.get(key) ?? { group: r.group, version: r.version, resources: [] };
    byGv.set(key, { ...gv, resources: [...gv.resources, r] });
  }
  return [...byGv.values()];
})();

export function createDiscovery(): { respond(pathname: string, accept: string | undefined, serverAddress: string): DiscoveryResponse | undefined } {
  const json = (body: unknown): DiscoveryResponse => ({ contentType: 'application/json', body: JSON.stringify(body) });
  const fixed = new Map<string, DiscoveryResponse>([
    ['/version', json(versionInfo())],
    ['/apis', json(apiGroupList())],
  ]);
  for (const gv of GROUP_VERSIONS) {
    const path = gv.group === '' ? `/api/${gv.version}` : `/apis/${gv.group}/${gv.version}`;
    fixed.set(path, json(resourceList(gv)));
    if (gv.group !== '') fixed.set(`/apis/${gv.group}`, json(apiGroup(gv.group)));
  }
  const aggregated = {
    api: JSON.stringify(aggregatedList(GROUP_VERSIONS.filter((gv) => gv.group === ''))),
    apis: JSON.stringify(aggregatedList(GROUP_VERSIONS.filter((gv) => gv.group !== ''))),
  };
  return {
    respond(pathname, accept, serverAddress) {
      const path = pathname.length > 1 ? pathname.replace(/\/+$/, '') : pathname;
      if (path === '/api' || path === '/apis') {
        const wanted = aggregatedVersionWanted(accept);
        if (wanted) {
          const body = aggregated[path === '/api' ? 'api' : 'apis'];
          return { contentType: wanted, body: wanted === AGGREGATED_V2 ? body : body.replace('apidiscovery.k8s.io/v2', 'apidiscovery.k8s.io/v2beta1') };
        }
        if (path === '/api') return json(apiVersions(serverAddress));
      }
      return fixed.get(path);
    },
  };
}

/** The first aggregated discovery media type the Accept header lists, if any. */
function aggregatedVersionWanted(accept: string | undefined): string | undefined {
  for (const part of (accept ?? '').split(',')) {
    const params = part.split(';').map((p) => p.trim());
    if (!params.includes('g=apidiscovery.k8s.io') || !params.includes('as=APIGroupDiscoveryList')) continue;
    if (params.includes('v=v2')) return AGGREGATED_V2;
    if (params.includes('v=v2beta1')) return AGGREGATED_V2BETA1;
  }
  return undefined;
}

function versionInfo(): Record<string, string> {
  return {
    ...SIM_KUBERNETES_VERSION,
    gitCommit: '70d3cc986aa8221cd1dfb1121852688902d3bf53',
    gitTreeState: 'clean',
    buildDate: '2024-12-11T17:59:15Z',
    goVersion: 'go1.23.3',
    compiler: 'gc',
    platform: 'linux/amd64',
  };
}

function apiVersions(serverAddress: string): unknown {
  return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }] };
}

function apiGroup(group: string): Record<string, unknown> {
  const versions = GROUP_VERSIONS.filter((gv) => gv.group === group).map((gv) => ({ groupVersion: `${group}/${gv.version}`, version: gv.version }));
  return { name: group, versions, preferredVersion: versions[0] };
}

function apiGroupList(): unknown {
  const groups = [...new Set(GROUP_VERSIONS.filter((gv) => gv.group !== '').map((gv) => gv.group))];
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: groups.map(apiGroup) };
}

function resourceList(gv: GroupVersion): unknown {
  const resources = gv.resources.flatMap((r) => [
    {
      name: r.plural,
      singularName: r.singular,
      namespaced: r.namespaced,
      kind: r.kind,
      verbs: MAIN_VERBS,
      ...(r.shortNames.length > 0 ? { shortNames: r.shortNames } : {}),
      ...(r.categories.length > 0 ? { categories: r.categories } : {}),
    },
    ...r.subresources.map((sub) => ({ name: `${r.plural}/${sub}`, singularName: '', namespaced: r.namespaced, ...subresourceKind(r, sub), verbs: SUB_VERBS })),
  ]);
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: apiVersionOf(gv.resources[0] as ResourceInfo), resources };
}

/** `scale` answers with autoscaling/v1 Scale; kubectl's scale client reads this from discovery. */
function subresourceKind(r: ResourceInfo, sub: string): { kind: string; group?: string; version?: string } {
  return sub === 'scale' ? { group: 'autoscaling', version: 'v1', kind: 'Scale' } : { kind: r.kind };
}

function aggregatedList(gvs: readonly GroupVersion[]): unknown {
  const groups = [...new Set(gvs.map((gv) => gv.group))];
  const items = groups.map((group) => ({
    metadata: group === '' ? {} : { name: group },
    versions: gvs.filter((gv) => gv.group === group).map((gv) => ({ version: gv.version, resources: gv.resources.map(aggregatedResource), freshness: 'Current' })),
  }));
  return { kind: 'APIGroupDiscoveryList', apiVersion: 'apidiscovery.k8s.io/v2', metadata: {}, items };
}

function aggregatedResource(r: ResourceInfo): unknown {
  return {
    resource: r.plural,
    responseKind: { group: r.group, version: r.version, kind: r.kind },
    scope: r.namespaced ? 'Namespaced' : 'Cluster',
    singularResource: r.singular,
    verbs: MAIN_VERBS,
    ...(r.shortNames.length > 0 ? { shortNames: r.shortNames } : {}),
    ...(r.categories.length > 0 ? { categories: r.categories } : {}),
    ...(r.subresources.length > 0
      ? { subresources: r.subresources.map((sub) => ({ subresource: sub, responseKind: { group: r.group, version: r.version, ...subresourceKind(r, sub) }, verbs: SUB_VERBS })) }
      : {}),
  };
}
