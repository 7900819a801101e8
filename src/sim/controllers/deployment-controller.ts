import type { Change } from '../model/cluster-index.ts';
import { Controller, isSpecChange, splitKey } from './controller.ts';
import { sameJson } from '../model/json.ts';
import type { KubeObject } from '../model/objects.ts';
import { buildReplicaSet, replicaSetAnnotations, templateHash } from '../kinds/workload-factory.ts';
import { deploymentStatus, rollingLimits, specReplicas, statusOf } from '../kinds/workload-status.ts';

type Json = Record<string, unknown>;
const REVISION = 'deployment.kubernetes.io/revision';

/**
 * Deployments as kube-controller-manager runs them: one ReplicaSet per pod template
 * (`<deployment>-<pod-template-hash>`); a template change starts a rolling update that, one
 * step per reconcile, scales the new ReplicaSet up within maxSurge and the old ones down
 * within maxUnavailable, as their pods become available; old ReplicaSets beyond
 * revisionHistoryLimit are deleted. Going back to an earlier template reuses its ReplicaSet.
 */
export class DeploymentController extends Controller {
  override readonly name = 'deployment';
  override readonly kinds = ['Deployment', 'ReplicaSet'];

  override observe(change: Change): void {
    if (change.stored.kind === 'Deployment') {
      if (isSpecChange(change)) this.queue.add(change.stored.key);
      return;
    }
    // Every ReplicaSet change (its scale, its pods becoming available) may allow the next step.
    const owner = this.controllerOf(change.next ?? change.prev, 'Deployment');
    if (owner) this.queue.add(owner.key);
  }

  override reconcile(key: string): void {
    const [namespace, name] = splitKey(key);
    const d = this.ctx.model.get('Deployment', namespace, name)?.object;
    if (!d) return;
    const hash = templateHash((d['spec'] as Json)['template']);
    let all = this.#replicaSets(d);
    let newRs = all.find((rs) => rs.metadata.labels?.['pod-template-hash'] === hash);
    const olds = all.filter((rs) => rs !== newRs);
    if (!newRs) newRs = this.#createReplicaSet(d, hash, olds);
    else if ((d['spec'] as Json)['paused'] !== true) this.#rollStep(d, newRs, olds);
    this.#cleanup(d, olds);
    all = this.#replicaSets(d);
    newRs = all.find((rs) => rs.metadata.labels?.['pod-template-hash'] === hash);
    this.#writeStatus(d, newRs, all);
  }

  override resync(): void {
    this.queueAll('Deployment');
  }

  #replicaSets(d: KubeObject): KubeObject[] {
    const { index, model } = this.ctx;
    const out: KubeObject[] = [];
    for (const key of index.dependents(d.metadata.uid, 'ReplicaSet')) {
      const e = index.entry('ReplicaSet', key);
      const rs = e?.controllerUid === d.metadata.uid ? model.get('ReplicaSet', e.namespace, e.name)?.object : undefined;
      if (rs) out.push(rs);
    }
    return out.sort((a, b) => revisionOf(a) - revisionOf(b));
  }

  #createReplicaSet(d: KubeObject, hash: string, olds: readonly KubeObject[]): KubeObject {
    const desired = specReplicas(d);
    const { surge } = rollingLimits(d);
    const oldTotal = sum(olds, specReplicas);
    const replicas = oldTotal === 0 ? desired : Math.max(0, Math.min(desired + surge - oldTotal, desired));
    const revision = Math.max(0, ...olds.map(revisionOf)) + 1;
    const rs = buildReplicaSet({ deployment: d, hash, revision, replicas, maxReplicas: desired + surge });
    return this.ctx.model.create(rs).object;
  }

  /** One step of the rollout: scale the new ReplicaSet up, or else the old ones down. */
  #rollStep(d: KubeObject, newRs: KubeObject, olds: readonly KubeObject[]): void {
    const desired = specReplicas(d);
    const { surge, unavailable } = rollingLimits(d);
    const revision = Math.max(revisionOf(newRs), ...olds.map((o) => revisionOf(o) + 1));
    const annotations = { ...newRs.metadata.annotations, ...replicaSetAnnotations(desired, desired + surge, revision) };
    const oldTotal = sum(olds, specReplicas);
    const newReplicas = specReplicas(newRs);
    if (oldTotal === 0 || newReplicas > desired) {
      this.#scale(newRs, desired, annotations);
      return;
    }
    const up = Math.min(desired + surge - oldTotal - newReplicas, desired - newReplicas);
    this.#scale(newRs, newReplicas + Math.max(0, up), annotations);
    if (up <= 0) this.#scaleDownOld(newRs, olds, desired - unavailable);
  }

  #scaleDownOld(newRs: KubeObject, olds: readonly KubeObject[], minAvailable: number): void {
    const newUnavailable = specReplicas(newRs) - available(newRs);
    let budget = sum(olds, specReplicas) + specReplicas(newRs) - minAvailable - newUnavailable;
    if (budget <= 0) return;
    const scaled = new Map<KubeObject, number>();
    // First the old pods that are not available anyway, then available ones above minAvailable.
    for (const rs of olds) {
      const down = Math.min(budget, Math.max(0, specReplicas(rs) - available(rs)));
      if (down > 0) scaled.set(rs, specReplicas(rs) - down);
      budget -= down;
    }
    let spare = sum([newRs, ...olds], available) - minAvailable;
    for (const rs of olds) {
      const current = scaled.get(rs) ?? specReplicas(rs);
      const down = Math.min(current, spare, Math.max(0, budget));
      if (down > 0) scaled.set(rs, current - down);
      spare -= down;
      budget -= down;
    }
    for (const [rs, replicas] of scaled) this.#scale(rs, replicas, rs.metadata.annotations);
  }

  /** Sets replicas and annotations, if that changes anything. */
  #scale(rs: KubeObject, replicas: number, annotations: Record<string, string> | undefined): void {
    const same = specReplicas(rs) === replicas && sameJson(annotations ?? {}, rs.metadata.annotations ?? {});
    if (same) return;
    const metadata = annotations ? { ...rs.metadata, annotations } : rs.metadata;
    this.ctx.model.update({ ...rs, metadata, spec: { ...(rs['spec'] as Json), replicas } });
  }

  /** Deletes old, empty ReplicaSets beyond revisionHistoryLimit, oldest first. */
  #cleanup(d: KubeObject, olds: readonly KubeObject[]): void {
    const limit = ((d['spec'] as Json)['revisionHistoryLimit'] as number | undefined) ?? 10;
    const fresh = olds.map((rs) => this.ctx.model.get('ReplicaSet', rs.metadata.namespace, rs.metadata.name)?.object).filter((rs) => rs !== undefined);
    const empty = fresh.filter((rs) => specReplicas(rs) === 0 && (statusOf(rs)?.['replicas'] ?? 0) === 0);
    for (const rs of empty.slice(0, Math.max(0, empty.length - limit))) {
      this.ctx.model.delete('ReplicaSet', rs.metadata.namespace, rs.metadata.name, { uid: rs.metadata.uid });
    }
  }

  #writeStatus(d: KubeObject, newRs: KubeObject | undefined, all: readonly KubeObject[]): void {
    const current = this.ctx.model.get('Deployment', d.metadata.namespace, d.metadata.name)?.object;
    if (!current) return;
    const status = deploymentStatus(current, newRs, all, this.ctx.clock.now());
    const revision = newRs ? String(revisionOf(newRs)) : current.metadata.annotations?.[REVISION];
    const annotations = revision === undefined ? current.metadata.annotations : { ...current.metadata.annotations, [REVISION]: revision };
    const unchanged = sameJson(status, statusOf(current)) && sameJson(annotations, current.metadata.annotations);
    if (unchanged) return;
    this.ctx.model.update({ ...current, metadata: { ...current.metadata, ...(annotations ? { annotations } : {}) }, status });
  }
}

export function revisionOf(rs: KubeObject): number {
  return Number(rs.metadata.annotations?.[REVISION] ?? 0) || 0;
}

function available(rs: KubeObject): number {
  const v = statusOf(rs)?.['availableReplicas'];
  return typeof v === 'number' ? v : 0;
}

function sum<T>(items: readonly T[], f: (item: T) => number): number {
  let total = 0;
  for (const item of items) total += f(item);
  return total;
}
