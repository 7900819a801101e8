import type { Change, Entry } from '../model/cluster-index.ts';
import { Controller } from './controller.ts';
import { RESOURCES } from '../model/resources.ts';

/**
 * The three cascades that delete objects nobody asked to delete by name:
 * ownerReferences (GarbageCollector), namespace contents (NamespaceController) and pods of
 * a deleted node (PodGarbageCollector). All run in the background, as with
 * `kubectl delete`'s default propagation: the owner is gone first, dependents follow.
 */

/** Deletes dependents whose owners are all gone; drops references to gone owners otherwise. */
export class GarbageCollector extends Controller {
  override readonly name = 'garbage-collector';
  override readonly kinds = RESOURCES.map((r) => r.kind);

  override observe(change: Change): void {
    if (change.type !== 'DELETED' || !change.prev) return;
    if (this.ctx.index.allDependents(change.prev.uid).size > 0) this.queue.add(change.prev.uid);
  }

  /** `key` is the uid of a deleted owner. */
  override reconcile(ownerUid: string): void {
    const { index } = this.ctx;
    if (index.byUid(ownerUid)) return;
    for (const [kind, keys] of index.allDependents(ownerUid)) {
      for (const key of [...keys]) {
        const dependent = index.entry(kind, key);
        if (dependent) this.#collect(dependent, ownerUid);
      }
    }
  }


  #collect(dependent: Entry, ownerUid: string): void {
    const { model, index } = this.ctx;
    const remaining = dependent.owners.filter((o) => o !== ownerUid && index.byUid(o));
    if (remaining.length === 0) {
      model.delete(dependent.kind, dependent.namespace, dependent.name, { uid: dependent.uid });
      return;
    }
    const current = model.get(dependent.kind, dependent.namespace, dependent.name);
    if (!current) return;
    const ownerReferences = (current.object.metadata.ownerReferences ?? []).filter((r) => remaining.includes(r.uid));
    model.update({ ...current.object, metadata: { ...current.object.metadata, ownerReferences } });
  }
}

/** Workloads before their pods, pods before the rest: fewer pointless recreations. */
const NAMESPACE_DELETION_ORDER = ['Deployment', 'StatefulSet', 'DaemonSet', 'CronJob', 'Job', 'ReplicaSet', 'Pod'];

/** Deletes everything in a namespace once the Namespace is deleted. */
export class NamespaceController extends Controller {
  override readonly name = 'namespace';
  override readonly kinds = ['Namespace'];

  override observe(change: Change): void {
    if (change.type === 'DELETED') this.queue.add(change.stored.object.metadata.name);
  }

  override reconcile(namespace: string): void {
    const { model, index } = this.ctx;
    if (model.get('Namespace', undefined, namespace)) return;
    const kinds = index.namespaceKinds(namespace);
    const ordered = [...NAMESPACE_DELETION_ORDER.filter((k) => kinds.includes(k)), ...kinds.filter((k) => !NAMESPACE_DELETION_ORDER.includes(k))];
    for (const kind of ordered) {
      for (const key of [...index.inNamespace(namespace, kind)]) {
        const e = index.entry(kind, key);
        if (e) model.delete(kind, namespace, e.name, { uid: e.uid });
      }
    }
  }

}

/** Deletes the pods of a node that no longer exists; their controllers recreate them elsewhere. */
export class PodGarbageCollector extends Controller {
  override readonly name = 'pod-garbage-collector';
  override readonly kinds = ['Node'];

  override observe(change: Change): void {
    if (change.type === 'DELETED') this.queue.add(change.stored.object.metadata.name);
  }

  override reconcile(node: string): void {
    const { model, index } = this.ctx;
    if (model.get('Node', undefined, node)) return;
    for (const key of [...index.podsOnNode(node)]) {
      const pod = index.entry('Pod', key);
      if (pod) model.delete('Pod', pod.namespace, pod.name, { uid: pod.uid });
    }
  }

}
