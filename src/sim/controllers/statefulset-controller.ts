import type { Change } from '../model/cluster-index.ts';
import { Controller, isSpecChange, splitKey } from './controller.ts';
import type { KubeObject } from '../model/objects.ts';
import { buildPod } from '../kinds/pod-factory.ts';
import { activePods, podCounts } from './replicaset-controller.ts';
import { controllerRef, templateHash, type PodTemplate } from '../kinds/workload-factory.ts';
import { specReplicas, statefulSetStatus, withStatus } from '../kinds/workload-status.ts';

type Json = Record<string, unknown>;

/**
 * StatefulSets with OrderedReady pod management: pods `<name>-0 … <name>-(n-1)` with stable
 * names and DNS hostnames (spec.hostname/subdomain), created one at a time once every lower
 * ordinal is ready, and removed from the highest ordinal down. A deleted pod comes back with
 * the same name (and a new uid and, usually, a new IP). Template changes are not rolled out.
 */
export class StatefulSetController extends Controller {
  override readonly name = 'statefulset';
  override readonly kinds = ['StatefulSet', 'Pod'];

  override observe(change: Change): void {
    const { prev, next } = change;
    if (change.stored.kind === 'StatefulSet') {
      if (isSpecChange(change)) this.queue.add(change.stored.key);
      return;
    }
    if (prev && next && prev.ready === next.ready && prev.phase === next.phase) return;
    const owner = this.controllerOf(next ?? prev, 'StatefulSet');
    if (owner) this.queue.add(owner.key);
  }

  override reconcile(key: string): void {
    const { model } = this.ctx;
    const [namespace, name] = splitKey(key);
    const sts = model.get('StatefulSet', namespace, name)?.object;
    if (!sts) return;
    const replicas = specReplicas(sts);
    const pods = new Map(activePods(this.ctx, sts).map((p) => [p.name, p]));
    const missing = firstMissing(name, replicas, pods);
    if (missing !== undefined) this.#create(sts, missing);
    else {
      const extra = [...pods.values()].filter((p) => ordinalOf(name, p.name) >= replicas).sort((a, b) => ordinalOf(name, b.name) - ordinalOf(name, a.name))[0];
      if (extra) model.delete('Pod', extra.namespace, extra.name, { uid: extra.uid });
    }
    const current = model.get('StatefulSet', namespace, name)?.object;
    if (!current) return;
    const next = withStatus(current, statefulSetStatus(current, revisionOf(current), podCounts(this.ctx, current)));
    if (next) model.update(next);
  }

  override resync(): void {
    this.queueAll('StatefulSet');
  }

  #create(sts: KubeObject, ordinal: number): void {
    const spec = sts['spec'] as Json & { template: PodTemplate };
    const namespace = sts.metadata.namespace as string;
    const name = `${sts.metadata.name}-${ordinal}`;
    const extraLabels = {
      'apps.kubernetes.io/pod-index': String(ordinal),
      'controller-revision-hash': revisionOf(sts),
      'statefulset.kubernetes.io/pod-name': name,
    };
    const extraSpec = { hostname: name, subdomain: spec['serviceName'] as string };
    this.ctx.model.create(buildPod({ namespace, name, template: spec.template, owner: controllerRef(sts), extraLabels, extraSpec, fixedName: true }));
  }
}

/** The ControllerRevision name pods are labelled with: `<statefulset>-<hash>`. */
export function revisionOf(sts: KubeObject): string {
  return `${sts.metadata.name}-${templateHash((sts['spec'] as Json)['template'])}`;
}

/** The lowest ordinal below `replicas` without a pod, if every lower one is ready. */
function firstMissing(name: string, replicas: number, pods: ReadonlyMap<string, { ready: boolean }>): number | undefined {
  for (let i = 0; i < replicas; i++) {
    const pod = pods.get(`${name}-${i}`);
    if (!pod) return i;
    if (!pod.ready) return undefined;
  }
  return undefined;
}

function ordinalOf(sts: string, pod: string): number {
  const n = Number(pod.slice(sts.length + 1));
  return Number.isInteger(n) ? n : -1;
}
