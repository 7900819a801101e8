import { kindFromWire, type ContainerUpdate, type Kind, type NamespaceUpdate, type NodeUpdate, type PodUpdate, type ServiceUpdate, type WorkloadUpdate } from '../../schema/index.ts';
import type { Change, KubeObject, StateView } from '../../sdk/index.ts';
import type { AutocompleteIndex, EntityInput } from '../search/autocomplete-index.ts';
import { ENTITY_KIND_OF } from '../entity-kinds.ts';

/**
 * Feeds one cluster's objects into an AutocompleteIndex: a full state (`load`, from a client's
 * StateView) and then its changes (`push`, the SDK's Change union, in apply order).
 *
 * It has the shape of the SDK's change sink (`active`, `push`), so it can be handed to a
 * LocalState directly and be fed synchronously inside the apply; cluster-follower.ts feeds it
 * from a ClusterClient's `changes()` instead. An `overflow` change (the reader fell behind and
 * changes were dropped) reloads the whole state, as the SDK asks readers to do.
 */
export class ClusterFeed {
  readonly active = true;
  readonly cluster: string;
  readonly #index: AutocompleteIndex;
  readonly #state: StateView | undefined;
  #reloads = 0;

  constructor(index: AutocompleteIndex, cluster: string, state?: StateView) {
    this.#index = index;
    this.cluster = cluster;
    this.#state = state;
  }

  /** Times the state was loaded (the first load and one per overflow). */
  get reloads(): number {
    return this.#reloads;
  }

  /** Replaces the cluster's entities with the state's: live objects, and deleted ones still retained. */
  load(state: StateView | undefined = this.#state): void {
    if (!state) return;
    this.#reloads++;
    this.#index.replace(this.cluster, entitiesOf(state));
  }

  push(change: Change): void {
    // The cluster's NetworkRanges is no entity to search (the cluster page reads it from state).
    if ('kind' in change && change.kind === 'NetworkRanges') return;
    switch (change.type) {
      case 'added':
      case 'updated':
      case 'deleted': {
        this.#index.upsert(this.cluster, toEntity(change.kind, change.object));
        return;
      }
      case 'removed':
        this.#index.remove(this.cluster, ENTITY_KIND_OF[change.kind] as EntityInput['kind'], change.uid);
        return;
      case 'snapshot':
        return; // its per-object changes came before it
      case 'overflow':
        this.load();
        return;
    }
  }
}

/**
 * What the index keeps of one object. A deleted object (stop time set) is flagged; objects
 * that left the state without being deleted are not listed by a StateView as live, and
 * `replace` flags them `removed`.
 */
export function toEntity(kind: Kind, object: KubeObject): EntityInput {
  const deleted = object.stopTimeNs !== 0n;
  switch (kind) {
    case 'Pod': {
      const p = object as PodUpdate;
      return { kind: 'pod', key: p.uid, name: p.name, namespace: p.namespace, labels: p.labels, deleted };
    }
    case 'Container': {
      const c = object as ContainerUpdate;
      return { kind: 'container', key: c.containerId, name: c.name, namespace: c.namespace, pod: c.podName, deleted };
    }
    case 'Service': {
      const s = object as ServiceUpdate;
      return { kind: 'service', key: s.uid, name: s.name, namespace: s.namespace, deleted };
    }
    case 'Namespace': {
      const n = object as NamespaceUpdate;
      return { kind: 'namespace', key: n.uid, name: n.name, labels: n.labels, deleted };
    }
    case 'Node': {
      const n = object as NodeUpdate;
      return { kind: 'node', key: n.uid, name: n.name, labels: n.labels, deleted };
    }
    default: {
      const w = object as WorkloadUpdate;
      const wireKind = kindFromWire(w.kind) ?? kind;
      return { kind: ENTITY_KIND_OF[wireKind] as EntityInput['kind'], key: w.uid, name: w.name, namespace: w.namespace, labels: w.labels, deleted };
    }
  }
}

/** Every live object of the state, then every deleted one it still retains. */
function* entitiesOf(state: StateView): Iterable<EntityInput> {
  const lists: Array<[Kind | 'Workload', (o: { includeStopped?: boolean }) => KubeObject[]]> = [
    ['Namespace', (o) => state.namespaces(o)],
    ['Node', (o) => state.nodes(o)],
    ['Service', (o) => state.services(o)],
    ['Workload', (o) => state.workloads(o)],
    ['Pod', (o) => state.pods(o)],
    ['Container', (o) => state.containers(o)],
  ];
  for (const [kind, list] of lists) {
    for (const object of list({})) yield entityOf(kind, object);
    for (const object of list({ includeStopped: true })) if (object.stopTimeNs !== 0n) yield entityOf(kind, object);
  }
}

function entityOf(kind: Kind | 'Workload', object: KubeObject): EntityInput {
  const k: Kind = kind === 'Workload' ? (kindFromWire((object as WorkloadUpdate).kind) ?? 'Deployment') : kind;
  return toEntity(k, object);
}
