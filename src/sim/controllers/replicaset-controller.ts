import type { Change, ClusterIndex, Entry } from '../model/cluster-index.ts';
import { Controller, isSpecChange, splitKey, type ControllerContext } from './controller.ts';
import type { KubeObject } from '../model/objects.ts';
import { buildPod } from '../kinds/pod-factory.ts';
import type { Rng } from '../../core/index.ts';
import { controllerRef, type PodTemplate } from '../kinds/workload-factory.ts';
import { replicaSetStatus, specReplicas, withStatus, type ReplicaCounts } from '../kinds/workload-status.ts';

/**
 * Keeps each ReplicaSet's count of live pods equal to spec.replicas, creating pods from its
 * template (`<rs>-<5 chars>`, owned by the ReplicaSet) and deleting the least valuable ones
 * first, and keeps its status counts current.
 */
export class ReplicaSetController extends Controller {
  override readonly name = 'replicaset';
  override readonly kinds = ['ReplicaSet', 'Pod'];

  override observe(change: Change): void {
    const { prev, next } = change;
    if (change.stored.kind === 'ReplicaSet') {
      // Our own status writes leave the generation alone and need no reconcile.
      if (isSpecChange(change)) this.queue.add(change.stored.key);
      return;
    }
    if (prev && next && prev.ready === next.ready && prev.phase === next.phase && prev.controllerUid === next.controllerUid) return;
    this.#queueOwner(prev);
    if (next?.controllerUid !== prev?.controllerUid) this.#queueOwner(next);
  }

  #queueOwner(pod: Entry | undefined): void {
    const owner = this.controllerOf(pod, 'ReplicaSet');
    if (owner) this.queue.add(owner.key);
  }

  override reconcile(key: string): void {
    const { model } = this.ctx;
    const [namespace, name] = splitKey(key);
    const rs = model.get('ReplicaSet', namespace, name)?.object;
    if (!rs) return;
    const diff = specReplicas(rs) - this.ctx.index.podTally(rs.metadata.uid).active.size;
    if (diff > 0) this.#create(rs, diff);
    if (diff < 0) this.#delete(activePods(this.ctx, rs), -diff);
    const current = model.get('ReplicaSet', namespace, name)?.object;
    if (!current) return;
    const next = withStatus(current, replicaSetStatus(current, podCounts(this.ctx, current)));
    if (next) model.update(next);
  }

  override resync(): void {
    this.queueAll('ReplicaSet');
  }

  #create(rs: KubeObject, count: number): void {
    const { model } = this.ctx;
    const template = (rs['spec'] as { template: PodTemplate }).template;
    const owner = controllerRef(rs);
    for (let i = 0; i < count; i++) {
      const name = uniquePodName(this.ctx, rs.metadata.namespace as string, rs.metadata.name);
      model.create(buildPod({ namespace: rs.metadata.namespace as string, name, template, owner }));
    }
  }

  /** Unscheduled before scheduled, pending before running, not ready before ready, newest first. */
  #delete(pods: Entry[], count: number): void {
    const rank = (p: Entry): number => (p.nodeName ? 4 : 0) + (p.phase === 'Running' ? 2 : 0) + (p.ready ? 1 : 0);
    const victims = [...pods].sort((a, b) => rank(a) - rank(b) || b.createdRv - a.createdRv).slice(0, count);
    for (const p of victims) this.ctx.model.delete('Pod', p.namespace, p.name, { uid: p.uid });
  }
}

/** The pods a controller counts: owned by it and not finished. */
export function activePods(ctx: ControllerContext, owner: KubeObject): Entry[] {
  const out: Entry[] = [];
  for (const key of ctx.index.podTally(owner.metadata.uid).active) {
    const p = ctx.index.entry('Pod', key);
    if (p) out.push(p);
  }
  return out;
}

export function podCounts(ctx: ControllerContext, owner: KubeObject): ReplicaCounts {
  const t = ctx.index.podTally(owner.metadata.uid);
  return { replicas: t.active.size, ready: t.ready };
}

/** `<prefix>-<5 chars>`, retried until no pod of that name exists (as generateName does). */
export function uniquePodName(ctx: { readonly rng: Rng; readonly index: ClusterIndex }, namespace: string, prefix: string): string {
  for (;;) {
    const name = [prefix, ctx.rng.suffix(5)].join('-');
    if (!ctx.index.entry('Pod', `${namespace}/${name}`)) return name;
  }
}
