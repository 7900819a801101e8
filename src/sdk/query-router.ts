import { SdkInvalidArgumentError } from './errors.ts';
import { parseLabelSelector } from './label-selector.ts';
import type { StateIndexers } from './state-view.ts';

/**
 * What a query is about. Every given field narrows the pods (they are intersected); the
 * answer is the set of nodes those pods run on.
 */
export interface QueryFilter {
  namespace?: string;
  /** A Service name: in `namespace` when given, else in any namespace. Its member pods count. */
  service?: string;
  /** A pod name (in `namespace` when given, else in any namespace) or a pod uid. */
  pod?: string;
  /** A Deployment name (in `namespace` when given): the pods of its ReplicaSets count. */
  deployment?: string;
  node?: string;
  /** A label selector on pod labels, kubectl syntax: `app=web,tier in (api,db),!canary`. */
  labelSelector?: string;
  /**
   * Also route to the nodes of pods that stopped within the retention window (default true:
   * agents keep the telemetry of pods that stopped, so a query about the last hour needs them).
   */
  includeStopped?: boolean;
}

const FILTER_KEYS = new Set(['namespace', 'service', 'pod', 'deployment', 'node', 'labelSelector', 'includeStopped']);

/**
 * Query routing: the nodes whose agents hold data relevant to `filter`, from the cluster
 * scope's state (pods by namespace/node/label/owner, services by membership). A query broker
 * fans a query out to those agents only. An empty filter routes to every known node; a
 * filter with only `node` routes to that node. Throws SdkInvalidArgumentError for unknown
 * fields, empty strings or a bad label selector.
 */
export function routeQuery(ix: StateIndexers, filter: QueryFilter): Set<string> {
  checkFilter(filter);
  const includeStopped = filter.includeStopped ?? true;
  const criteria: Array<ReadonlySet<string>> = [];
  const ns = filter.namespace;
  if (filter.pod !== undefined) criteria.push(podsNamed(ix, filter.pod, ns));
  if (filter.service !== undefined) criteria.push(podsOfService(ix, filter.service, ns));
  if (filter.deployment !== undefined) criteria.push(podsOfDeployment(ix, filter.deployment, ns));
  if (ns !== undefined) criteria.push(ix.pods.keysBy('namespace', ns));
  if (filter.node !== undefined) {
    if (criteria.length === 0 && filter.labelSelector === undefined) return new Set([filter.node]);
    criteria.push(ix.pods.keysBy('node', filter.node));
  }
  if (filter.labelSelector !== undefined) criteria.push(podsMatching(ix, filter.labelSelector, criteria));
  const nodes = new Set<string>();
  if (criteria.length === 0) {
    for (const r of ix.nodes.values()) if (includeStopped || r.gone === undefined) nodes.add(r.object.name);
    for (const node of ix.pods.indexValues('node')) nodes.add(node);
    return nodes;
  }
  criteria.sort((a, b) => a.size - b.size);
  const [smallest, ...rest] = criteria as [ReadonlySet<string>, ...ReadonlySet<string>[]];
  for (const uid of smallest) {
    if (!rest.every((s) => s.has(uid))) continue;
    const pod = ix.pods.get(uid);
    if (!pod || pod.object.nodeName === '' || (!includeStopped && pod.gone !== undefined)) continue;
    nodes.add(pod.object.nodeName);
  }
  return nodes;
}

function checkFilter(filter: QueryFilter): void {
  if (typeof filter !== 'object' || filter === null) throw new SdkInvalidArgumentError('filter', 'must be an object');
  for (const [key, value] of Object.entries(filter)) {
    if (!FILTER_KEYS.has(key)) throw new SdkInvalidArgumentError(`filter.${key}`, `unknown field; use ${[...FILTER_KEYS].join(', ')}`);
    if (value === undefined) continue;
    if (key === 'includeStopped') {
      if (typeof value !== 'boolean') throw new SdkInvalidArgumentError('filter.includeStopped', 'must be a boolean');
    } else if (typeof value !== 'string' || value.length === 0) {
      throw new SdkInvalidArgumentError(`filter.${key}`, 'must be a non-empty string');
    }
  }
}

function podsNamed(ix: StateIndexers, pod: string, ns: string | undefined): ReadonlySet<string> {
  if (ix.pods.has(pod)) return new Set([pod]);
  if (ns !== undefined) return ix.pods.keysBy('name', `${ns}/${pod}`);
  const out = new Set<string>();
  for (const [uid, r] of ix.pods.entries()) if (r.object.name === pod) out.add(uid);
  return out;
}

function podsOfService(ix: StateIndexers, service: string, ns: string | undefined): ReadonlySet<string> {
  const out = new Set<string>();
  const services = ns !== undefined
    ? ix.services.valuesBy('name', `${ns}/${service}`)
    : [...ix.services.values()].filter((r) => r.object.name === service);
  for (const s of services) for (const uid of s.object.podUids) out.add(uid);
  return out;
}

function podsOfDeployment(ix: StateIndexers, deployment: string, ns: string | undefined): ReadonlySet<string> {
  const out = new Set<string>();
  const deployments = ns !== undefined
    ? ix.workloads.valuesBy('name', `Deployment/${ns}/${deployment}`)
    : [...ix.workloads.values()].filter((r) => r.kind === 'Deployment' && r.object.name === deployment);
  for (const d of deployments) {
    for (const uid of ix.pods.keysBy('owner', d.uid)) out.add(uid);
    for (const rs of ix.workloads.keysBy('owner', d.uid)) for (const uid of ix.pods.keysBy('owner', rs)) out.add(uid);
  }
  return out;
}

/**
 * Pods matching a selector. Candidates come from the smallest of: the other criteria, an
 * equality requirement's label index; only then are labels evaluated.
 */
function podsMatching(ix: StateIndexers, text: string, others: ReadonlyArray<ReadonlySet<string>>): ReadonlySet<string> {
  const selector = parseLabelSelector(text);
  let candidates: ReadonlySet<string> | undefined;
  const consider = (s: ReadonlySet<string>): void => {
    if (candidates === undefined || s.size < candidates.size) candidates = s;
  };
  others.forEach(consider);
  for (const r of selector.requirements) if (r.operator === 'in' && r.values.length === 1) consider(ix.pods.keysBy('label', `${r.key}=${r.values[0]}`));
  const out = new Set<string>();
  if (candidates === undefined) {
    for (const [uid, r] of ix.pods.entries()) if (selector.matches(r.object.labels)) out.add(uid);
    return out;
  }
  for (const uid of candidates) {
    const r = ix.pods.get(uid);
    if (r && selector.matches(r.object.labels)) out.add(uid);
  }
  return out;
}
