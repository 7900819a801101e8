import type { Kind } from '../schema/index.ts';

/**
 * What the console indexes and lists. One entity kind per Kubernetes kind kubemeta publishes,
 * plus `label` (a `key=value` pair carried by live pods, workloads, nodes or namespaces).
 * The order is the ranking order between kinds when everything else ties: the broad things a
 * person looks for first (namespaces, nodes, services, deployments) before the many small ones.
 */
export const ENTITY_KINDS = [
  'namespace', 'node', 'service', 'deployment', 'statefulset', 'daemonset', 'cronjob', 'job', 'replicaset', 'pod', 'container', 'label',
] as const;

export type EntityKind = (typeof ENTITY_KINDS)[number];

const RANK = new Map<EntityKind, number>(ENTITY_KINDS.map((k, i) => [k, i]));

/** Position of `kind` in ENTITY_KINDS (lower ranks first). */
export function kindRank(kind: EntityKind): number {
  return RANK.get(kind) as number;
}

/**
 * kubemeta's Kind (wire kind) → entity kind. NetworkRanges is no entity (nothing to search or
 * list; the SDK keeps it outside its object lists and change feed): it never gets here.
 */
export const ENTITY_KIND_OF: Readonly<Record<Kind, EntityKind>> = Object.freeze({
  Namespace: 'namespace',
  Node: 'node',
  Service: 'service',
  Deployment: 'deployment',
  StatefulSet: 'statefulset',
  DaemonSet: 'daemonset',
  CronJob: 'cronjob',
  Job: 'job',
  ReplicaSet: 'replicaset',
  Pod: 'pod',
  Container: 'container',
  NetworkRanges: undefined as never,
});

/** Kinds that live in a namespace; the others are cluster-wide. */
export function isNamespacedKind(kind: EntityKind): boolean {
  return kind !== 'namespace' && kind !== 'node' && kind !== 'label';
}

/**
 * Names accepted for each kind in `kind:` filters and the `kind` parameter: kubectl's short
 * names and plurals (`svc`, `po`, `deploy`, `rs`, `sts`, `ds`, `cj`, `no`, `ns`), plus `ctr`
 * for containers and `workload` for every owner kind. Case-insensitive.
 */
const ALIASES: Readonly<Record<string, readonly EntityKind[]>> = Object.freeze({
  ns: ['namespace'], namespace: ['namespace'], namespaces: ['namespace'],
  no: ['node'], node: ['node'], nodes: ['node'],
  svc: ['service'], service: ['service'], services: ['service'],
  deploy: ['deployment'], deployment: ['deployment'], deployments: ['deployment'],
  sts: ['statefulset'], statefulset: ['statefulset'], statefulsets: ['statefulset'],
  ds: ['daemonset'], daemonset: ['daemonset'], daemonsets: ['daemonset'],
  cj: ['cronjob'], cronjob: ['cronjob'], cronjobs: ['cronjob'],
  job: ['job'], jobs: ['job'],
  rs: ['replicaset'], replicaset: ['replicaset'], replicasets: ['replicaset'],
  po: ['pod'], pod: ['pod'], pods: ['pod'],
  ctr: ['container'], container: ['container'], containers: ['container'],
  label: ['label'], labels: ['label'],
  workload: ['deployment', 'statefulset', 'daemonset', 'cronjob', 'job', 'replicaset'],
  workloads: ['deployment', 'statefulset', 'daemonset', 'cronjob', 'job', 'replicaset'],
});

/** Every accepted kind name, for error messages and docs. */
export const KIND_ALIASES: readonly string[] = Object.freeze(Object.keys(ALIASES));

/** The kinds one alias names; undefined when the alias is unknown. */
export function kindsOfAlias(alias: string): readonly EntityKind[] | undefined {
  const lower = alias.toLowerCase();
  return Object.hasOwn(ALIASES, lower) ? ALIASES[lower] : undefined;
}

/**
 * Parses a comma-separated list of kind names (`svc,deploy`). Returns the kinds in rank order,
 * or the first unknown name.
 */
export function parseKindList(text: string): { kinds: EntityKind[] } | { unknown: string } {
  const out = new Set<EntityKind>();
  for (const part of text.split(',')) {
    const name = part.trim();
    if (name === '') continue;
    const kinds = kindsOfAlias(name);
    if (!kinds) return { unknown: name };
    for (const k of kinds) out.add(k);
  }
  return { kinds: ENTITY_KINDS.filter((k) => out.has(k)) };
}
