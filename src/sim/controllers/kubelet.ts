import type { Change } from '../model/cluster-index.ts';
import { Controller, splitKey } from './controller.ts';
import { runningStatus } from '../kinds/pod-factory.ts';

type Json = Record<string, unknown>;

/**
 * Every node's kubelet and CNI in one: a pod bound to a node starts at once — it gets the
 * lowest free IP of the node's pod CIDR (the node's own IP on the host network), its init
 * containers complete, its containers run with fresh containerd ids, and it becomes Ready.
 * A node whose /24 is exhausted leaves new pods Pending, as a real CNI would.
 */
export class Kubelet extends Controller {
  override readonly name = 'kubelet';
  override readonly kinds = ['Pod', 'Node'];

  override observe(change: Change): void {
    const { prev, next } = change;
    if (change.stored.kind === 'Node') {
      if (next && !prev) for (const key of this.ctx.index.podsOnNode(next.name)) this.queue.add(key);
      return;
    }
    if (next?.nodeName && next.phase === 'Pending' && prev?.nodeName !== next.nodeName) this.queue.add(next.key);
  }

  override reconcile(key: string): void {
    const { model, index, clock, rng } = this.ctx;
    const [namespace, name] = splitKey(key);
    const pod = model.get('Pod', namespace, name)?.object;
    const spec = pod?.['spec'] as Json | undefined;
    const nodeName = spec?.['nodeName'];
    if (!pod || typeof nodeName !== 'string' || (pod['status'] as Json | undefined)?.['phase'] !== 'Pending') return;
    const hostIP = index.entry('Node', nodeName)?.ip;
    if (hostIP === undefined) return;
    const hostNetwork = spec?.['hostNetwork'] === true;
    const podIP = hostNetwork ? hostIP : index.podIps.allocate(nodeName, pod.metadata.uid);
    if (podIP === undefined) return;
    try {
      model.update({ ...pod, status: runningStatus(pod, { hostIP, podIP, nowMs: clock.now() }, rng) });
    } catch (err) {
      if (!hostNetwork) index.podIps.release(nodeName, podIP, pod.metadata.uid);
      throw err;
    }
  }

  override resync(): void {
    for (const key of this.ctx.index.keys('Pod').values()) {
      const e = this.ctx.index.entry('Pod', key);
      if (e?.nodeName && e.phase === 'Pending') this.queue.add(key);
    }
  }
}
