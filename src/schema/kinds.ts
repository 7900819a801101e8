import { ObjectKind } from './gen/kubemeta/v1/resources_pb.js';
import type { ResourceUpdate } from './gen/kubemeta/v1/resources_pb.js';
import { SchemaError, SchemaErrorCode } from './errors.ts';

/**
 * The kinds of objects kubemeta publishes, named as Kubernetes names them (so an
 * OwnerReference.kind maps directly). `wire` is the ObjectKind value, `update` the
 * ResourceUpdate oneof case that carries the kind, `namespaced` whether its name lives in a
 * namespace. Later modules key state by (kind, uid) and route by this table.
 */
export const kinds = {
  Pod: { wire: ObjectKind.POD, update: 'pod', namespaced: true, workload: false },
  Container: { wire: ObjectKind.CONTAINER, update: 'container', namespaced: true, workload: false },
  Service: { wire: ObjectKind.SERVICE, update: 'service', namespaced: true, workload: false },
  Namespace: { wire: ObjectKind.NAMESPACE, update: 'namespace', namespaced: false, workload: false },
  Node: { wire: ObjectKind.NODE, update: 'node', namespaced: false, workload: false },
  ReplicaSet: { wire: ObjectKind.REPLICA_SET, update: 'workload', namespaced: true, workload: true },
  Deployment: { wire: ObjectKind.DEPLOYMENT, update: 'workload', namespaced: true, workload: true },
  StatefulSet: { wire: ObjectKind.STATEFUL_SET, update: 'workload', namespaced: true, workload: true },
  DaemonSet: { wire: ObjectKind.DAEMON_SET, update: 'workload', namespaced: true, workload: true },
  Job: { wire: ObjectKind.JOB, update: 'workload', namespaced: true, workload: true },
  CronJob: { wire: ObjectKind.CRON_JOB, update: 'workload', namespaced: true, workload: true },
  // One object per cluster (uid NETWORK_RANGES_UID), on the cluster scope and every node scope.
  NetworkRanges: { wire: ObjectKind.NETWORK_RANGES, update: 'networkRanges', namespaced: false, workload: false },
} as const;

export type Kind = keyof typeof kinds;

/** The uid of the one NetworkRanges object of a cluster. */
export const NETWORK_RANGES_UID = 'cluster';
/** The owner kinds carried by WorkloadUpdate. */
export type WorkloadKind = { [K in Kind]: (typeof kinds)[K]['workload'] extends true ? K : never }[Kind];

export const KIND_NAMES: readonly Kind[] = Object.freeze(Object.keys(kinds) as Kind[]);

const byWire = new Map<number, Kind>(KIND_NAMES.map((k) => [kinds[k].wire, k]));

export function isKind(value: unknown): value is Kind {
  return typeof value === 'string' && Object.hasOwn(kinds, value);
}

export function isWorkloadKind(value: unknown): value is WorkloadKind {
  return isKind(value) && kinds[value].workload;
}

/** The Kind of an ObjectKind wire value; undefined for UNSPECIFIED or a value from a newer schema. */
export function kindFromWire(value: ObjectKind): Kind | undefined {
  return byWire.get(value);
}

export function kindToWire(kind: Kind): ObjectKind {
  return kinds[kind].wire;
}

/** What an update is about: the object's kind and identity, and whether it leaves the scope. */
export interface UpdateIdentity {
  readonly kind: Kind;
  /** The object's uid; the bare container id for a Container. */
  readonly uid: string;
  /** True for a ScopeExit: drop the object from this scope, it still exists elsewhere. */
  readonly scopeExit: boolean;
}

/**
 * Derives kind and uid from an update (the oneof case, or the kind field of a workload or
 * scope exit). Throws SchemaError INVALID_MESSAGE when the update has no object, no
 * identity, or a kind this schema does not know.
 */
export function updateIdentity(update: ResourceUpdate): UpdateIdentity {
  const o = update.object;
  switch (o.case) {
    case 'pod':
      return identity('Pod', o.value.uid, false);
    case 'container':
      return identity('Container', o.value.containerId, false);
    case 'service':
      return identity('Service', o.value.uid, false);
    case 'namespace':
      return identity('Namespace', o.value.uid, false);
    case 'node':
      return identity('Node', o.value.uid, false);
    case 'workload':
      return identity(workloadKind(o.value.kind), o.value.uid, false);
    case 'scopeExit':
      return identity(knownKind(o.value.kind, 'scope exit'), o.value.uid, true);
    case 'networkRanges':
      return identity('NetworkRanges', o.value.uid, false);
    default:
      throw invalid('update carries no object (empty ResourceUpdate, or a kind from a newer schema)');
  }
}

function workloadKind(value: ObjectKind): Kind {
  const kind = knownKind(value, 'workload');
  if (!kinds[kind].workload) throw invalid(`workload update has kind ${kind}, which is not an owner kind`);
  return kind;
}

function knownKind(value: ObjectKind, what: string): Kind {
  const kind = kindFromWire(value);
  if (kind === undefined) throw invalid(`${what} has unknown object kind ${value}`);
  return kind;
}

function identity(kind: Kind, uid: string, scopeExit: boolean): UpdateIdentity {
  if (uid.length === 0) throw invalid(`${kind} update has an empty ${kind === 'Container' ? 'container id' : 'uid'}`);
  return { kind, uid, scopeExit };
}

function invalid(message: string): SchemaError {
  return new SchemaError(SchemaErrorCode.INVALID_MESSAGE, message);
}
