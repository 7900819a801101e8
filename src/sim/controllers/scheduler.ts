import { isTerminal, type Change } from '../model/cluster-index.ts';
import { Controller, splitKey } from './controller.ts';
import { MAX_PODS_PER_NODE } from '../kinds/node-factory.ts';
import type { KubeObject } from '../model/objects.ts';
import { boundPod } from '../kinds/pod-factory.ts';
import { rfc3339 } from '../kinds/time.ts';

type Json = Record<string, unknown>;

/** Nodes sampled per decision: enough for an even spread, constant cost at 5,000 nodes. */
const SAMPLE = 5;

/**
 * Binds pending pods to nodes. A pod pinned to a node (a DaemonSet pod's node affinity)
 * goes there; any other pod goes to the least loaded of a few randomly sampled ready,
 * schedulable nodes below the pod limit (the "power of choices" spreads as evenly as the
 * real scheduler's least-allocated scoring, without scoring every node). A pod that finds
 * no node stays Pending, marked Unschedulable, until a node joins or becomes ready.
 */
export class Scheduler extends Controller {
  override readonly name = 'scheduler';
  override readonly kinds = ['Pod', 'Node'];
  readonly #unschedulable = new Set<string>();

  override observe(change: Change): void {
    const { prev, next } = change;
    if (change.stored.kind === 'Node') {
      if (next?.ready && !prev?.ready) for (const key of this.#unschedulable) this.queue.add(key);
      return;
    }
    if (!next) {
      this.#unschedulable.delete(change.stored.key);
      // A pod leaving a node frees a place for one that found none.
      if (prev?.nodeName) for (const key of this.#unschedulable) this.queue.add(key);
    } else if (!next.nodeName && !isTerminal(next.phase) && (!prev || prev.nodeName !== undefined || !this.#unschedulable.has(next.key))) this.queue.add(next.key);
  }

  override reconcile(key: string): void {
    const [namespace, name] = splitKey(key);
    const pod = this.ctx.model.get('Pod', namespace, name)?.object;
    if (!pod || (pod['spec'] as Json)['nodeName']) {
      this.#unschedulable.delete(key);
      return;
    }
    const pinned = pinnedNode(pod);
    const node = pinned !== undefined ? (this.ctx.index.entry('Node', pinned) ? pinned : undefined) : this.#choose();
    if (node === undefined) {
      this.#markUnschedulable(key, pod);
      return;
    }
    this.#unschedulable.delete(key);
    this.ctx.model.update(boundPod(pod, node, this.ctx.clock.now()));
  }

  override resync(): void {
    for (const key of this.ctx.index.keys('Pod').values()) {
      const e = this.ctx.index.entry('Pod', key);
      if (e && !e.nodeName && !isTerminal(e.phase)) this.queue.add(key);
    }
  }

  #choose(): string | undefined {
    const { index, rng } = this.ctx;
    const nodes = index.schedulableNodes;
    let best: string | undefined;
    let bestLoad = MAX_PODS_PER_NODE;
    for (let i = 0; i < Math.min(SAMPLE, nodes.size); i++) {
      const n = nodes.pick(rng) as string;
      const load = index.podsOnNode(n).size;
      if (load < bestLoad) {
        best = n;
        bestLoad = load;
      }
    }
    if (best !== undefined || nodes.size === 0) return best;
    // Every sampled node was full: look at all of them before giving up.
    const start = rng.int(nodes.size);
    for (let i = 0; i < nodes.size; i++) {
      const n = nodes.at((start + i) % nodes.size) as string;
      if (index.podsOnNode(n).size < MAX_PODS_PER_NODE) return n;
    }
    return undefined;
  }

  #markUnschedulable(key: string, pod: KubeObject): void {
    this.#unschedulable.add(key);
    const total = this.ctx.index.keys('Node').size;
    const message = `0/${total} nodes are available: ${total === 0 ? 'no nodes available to schedule pods' : 'no node has room for the pod or is ready and schedulable'}. preemption: 0/${total} nodes are available.`;
    const status = (pod['status'] ?? {}) as Json;
    const current = (status['conditions'] as Json[] | undefined)?.find((c) => c['type'] === 'PodScheduled');
    if (current?.['message'] === message) return;
    const condition = { type: 'PodScheduled', status: 'False', lastProbeTime: null, lastTransitionTime: rfc3339(this.ctx.clock.now()), reason: 'Unschedulable', message };
    this.ctx.model.update({ ...pod, status: { ...status, conditions: [condition] } });
  }
}

/** The node a DaemonSet pod is pinned to through required node affinity on metadata.name. */
export function pinnedNode(pod: KubeObject): string | undefined {
  const affinity = (pod['spec'] as Json)['affinity'] as
    | { nodeAffinity?: { requiredDuringSchedulingIgnoredDuringExecution?: { nodeSelectorTerms?: Array<{ matchFields?: Array<{ key: string; values?: string[] }> }> } } }
    | undefined;
  const terms = affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
  for (const term of terms) {
    const field = term.matchFields?.find((f) => f.key === 'metadata.name');
    if (field?.values?.[0]) return field.values[0];
  }
  return undefined;
}
