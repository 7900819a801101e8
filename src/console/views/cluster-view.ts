import { ConditionStatus, isWorkloadKind, kindFromWire, NodeAddressType, type NodeUpdate } from '../../schema/index.ts';
import type { StateView } from '../../sdk/index.ts';
import { ENTITY_KIND_OF, ENTITY_KINDS, type EntityKind } from '../entity-kinds.ts';
import { readNetworkRanges, type NetworkRangesView } from './network-ranges-view.ts';

/** The kinds the cluster page counts: every entity kind that is an object (labels are not). */
export type CountedKind = Exclude<EntityKind, 'label'>;

export type NodeReadiness = 'ready' | 'notReady' | 'unknown';

/** A node as the cluster page lists it. */
export interface NodeSummary {
  readonly uid: string;
  readonly name: string;
  /** The node's `Ready` condition: `unknown` when it is Unknown (node unreachable) or absent. */
  readonly ready: NodeReadiness;
  /** Live pods scheduled on the node. */
  readonly pods: number;
  /** `spec.podCIDRs` (empty where the CNI leaves them unset). */
  readonly podCidrs: readonly string[];
  /** The first InternalIP address, else empty. */
  readonly internalIp: string;
}

/** A namespace as the cluster page lists it, with how many live objects it holds. */
export interface NamespaceSummary {
  readonly uid: string;
  readonly name: string;
  readonly pods: number;
  readonly services: number;
  /** Deployments, StatefulSets, DaemonSets, CronJobs and Jobs (not ReplicaSets: a Deployment's revisions). */
  readonly workloads: number;
}

/** The first CLUSTER_LIST_LIMIT items in name order, and how many there are in all. */
export interface SummaryList<T> {
  readonly items: T[];
  readonly total: number;
}

/** The answer of `GET /api/cluster`: the cluster page. */
export interface ClusterOverview {
  readonly cluster: string;
  /** Live objects by kind, in the console's kind order. */
  readonly counts: Readonly<Record<CountedKind, number>>;
  /** Objects no longer live but kept for the SDK's retention window (not in `counts`). */
  readonly retained: number;
  readonly nodes: SummaryList<NodeSummary>;
  readonly namespaces: SummaryList<NamespaceSummary>;
  readonly networkRanges: NetworkRangesView;
}

/** Nodes and namespaces listed on the page; a 5,000-node cluster is searched, not scrolled. */
export const CLUSTER_LIST_LIMIT = 500;

const COUNTED_KINDS = ENTITY_KINDS.filter((k): k is CountedKind => k !== 'label');

/**
 * The overview of one cluster from its client's state: counts by kind, nodes and namespaces with
 * their pods, and network ranges when the SDK provides them (network-ranges-view.ts). It scans
 * each family once per request (the state counts per family, not per kind, node or namespace):
 * a page view, not a hot path.
 */
export function describeCluster(state: StateView, cluster: string): ClusterOverview {
  const counts = Object.fromEntries(COUNTED_KINDS.map((k) => [k, 0])) as Record<CountedKind, number>;
  const podsOnNode = new Map<string, number>();
  const perNamespace = new Map<string, { pods: number; services: number; workloads: number }>();
  const inNamespace = (name: string) => {
    let n = perNamespace.get(name);
    if (!n) perNamespace.set(name, (n = { pods: 0, services: 0, workloads: 0 }));
    return n;
  };
  for (const p of state.pods()) {
    counts.pod++;
    if (p.nodeName !== '') podsOnNode.set(p.nodeName, (podsOnNode.get(p.nodeName) ?? 0) + 1);
    inNamespace(p.namespace).pods++;
  }
  for (const s of state.services()) {
    counts.service++;
    inNamespace(s.namespace).services++;
  }
  for (const w of state.workloads()) {
    const wire = kindFromWire(w.kind);
    if (!isWorkloadKind(wire)) continue;
    const kind = ENTITY_KIND_OF[wire] as CountedKind;
    counts[kind]++;
    if (kind !== 'replicaset') inNamespace(w.namespace).workloads++;
  }
  counts.container = state.containers().length;
  const nodes = state.nodes();
  const namespaces = state.namespaces();
  counts.node = nodes.length;
  counts.namespace = namespaces.length;
  return {
    cluster,
    counts,
    retained: state.counts().retained,
    nodes: firstByName(nodes.map((n) => nodeSummary(n, podsOnNode.get(n.name) ?? 0))),
    namespaces: firstByName(namespaces.map((n) => ({ uid: n.uid, name: n.name, ...(perNamespace.get(n.name) ?? { pods: 0, services: 0, workloads: 0 }) }))),
    networkRanges: readNetworkRanges(state),
  };
}

function nodeSummary(n: NodeUpdate, pods: number): NodeSummary {
  const ready = n.conditions.find((c) => c.type === 'Ready');
  return {
    uid: n.uid,
    name: n.name,
    ready: ready?.status === ConditionStatus.TRUE ? 'ready' : ready?.status === ConditionStatus.FALSE ? 'notReady' : 'unknown',
    pods,
    podCidrs: n.podCidrs,
    internalIp: n.addresses.find((a) => a.type === NodeAddressType.INTERNAL_IP)?.address ?? '',
  };
}

function firstByName<T extends { readonly name: string }>(items: T[]): SummaryList<T> {
  items.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { items: items.slice(0, CLUSTER_LIST_LIMIT), total: items.length };
}
