import type { Change, Entry } from '../model/cluster-index.ts';
import { Controller, isSpecChange, splitKey } from './controller.ts';
import type { KubeObject } from '../model/objects.ts';
import { buildPod } from '../kinds/pod-factory.ts';
import { uniquePodName } from './replicaset-controller.ts';
import { pinnedNode } from './scheduler.ts';
import { controllerRef, daemonPodLabels, pinnedAffinity, type PodTemplate } from '../kinds/workload-factory.ts';
import { daemonSetStatus, withStatus } from '../kinds/workload-status.ts';

/** Where a DaemonSet's pods are, kept from pod events so that no reconcile scans 5,000 nodes. */
interface Placement {
  readonly byNode: Map<string, Set<string>>;
  /** pod key -> the node it runs on or is pinned to. */
  readonly nodeOf: Map<string, string>;
  ready: number;
}

/** Key suffix of a reconcile that looks at every node (a new or changed DaemonSet). */
const ALL_NODES = '*';

/**
 * One pod of each DaemonSet on every node: a node that joins gets one (pinned to it by node
 * affinity on metadata.name, as the real controller does), and a removed node's pods go with
 * it. DaemonSet pods tolerate every taint, so cordoned nodes keep theirs. Template changes
 * are not rolled out (the scenario does not change DaemonSet templates).
 *
 * Keys are `<daemonset key>|<node>` (make sure that node has exactly one pod), or
 * `<daemonset key>|*` (every node); each reconcile also refreshes the status.
 */
export class DaemonSetController extends Controller {
  override readonly name = 'daemonset';
  override readonly kinds = ['DaemonSet', 'Node', 'Pod'];
  readonly #placements = new Map<string, Placement>();

  override observe(change: Change): void {
    const { prev, next } = change;
    const kind = change.stored.kind;
    if (kind === 'DaemonSet') {
      if (!next) this.#placements.delete(change.stored.object.metadata.uid);
      else if (isSpecChange(change)) this.queue.add(`${next.key}|${ALL_NODES}`);
    } else if (kind === 'Node') {
      // Heartbeats change no node's existence: only joins and removals matter here.
      if (!prev || !next) for (const ds of this.ctx.index.keys('DaemonSet').values()) this.queue.add(`${ds}|${change.stored.key}`);
    } else {
      const owner = this.controllerOf(next ?? prev, 'DaemonSet');
      if (owner) this.#observePod(owner, change);
    }
  }

  #observePod(owner: Entry, change: Change): void {
    const { prev, next } = change;
    const p = this.#placement(owner.uid);
    const key = change.stored.key;
    const before = p.nodeOf.get(key);
    const after = next ? (next.nodeName ?? pinnedNode(change.stored.object)) : undefined;
    if (before !== after) {
      if (before !== undefined) p.byNode.get(before)?.delete(key);
      if (before !== undefined && p.byNode.get(before)?.size === 0) p.byNode.delete(before);
      if (after !== undefined) p.byNode.set(after, (p.byNode.get(after) ?? new Set()).add(key));
      if (after === undefined) p.nodeOf.delete(key);
      else p.nodeOf.set(key, after);
    }
    p.ready += (next?.ready ? 1 : 0) - (prev?.ready ? 1 : 0);
    if (prev?.ready !== next?.ready || before !== after) this.queue.add(`${owner.key}|${before ?? after ?? ALL_NODES}`);
  }

  #placement(uid: string): Placement {
    let p = this.#placements.get(uid);
    if (!p) this.#placements.set(uid, (p = { byNode: new Map(), nodeOf: new Map(), ready: 0 }));
    return p;
  }

  override reconcile(key: string): void {
    const { model, index } = this.ctx;
    const bar = key.lastIndexOf('|');
    const [namespace, name] = splitKey(key.slice(0, bar));
    const ds = model.get('DaemonSet', namespace, name)?.object;
    if (!ds) return;
    const p = this.#placement(ds.metadata.uid);
    const node = key.slice(bar + 1);
    const nodes = node === ALL_NODES ? [...index.keys('Node').values(), ...p.byNode.keys()] : [node];
    for (const n of new Set(nodes)) this.#ensureOne(ds, p, n);
    const current = model.get('DaemonSet', namespace, name)?.object;
    const status = current && daemonSetStatus(current, index.keys('Node').size, { replicas: p.nodeOf.size, ready: p.ready });
    const updated = current && status && withStatus(current, status);
    if (updated) model.update(updated);
  }

  override resync(): void {
    this.queueAll('DaemonSet', `|${ALL_NODES}`);
  }

  /** One pod on `node` if it exists, none if it does not. */
  #ensureOne(ds: KubeObject, p: Placement, node: string): void {
    const { model, index } = this.ctx;
    const pods = [...(p.byNode.get(node) ?? [])];
    const keep = index.entry('Node', node) ? 1 : 0;
    if (pods.length < keep) this.#create(ds, node);
    for (const podKey of pods.slice(keep)) {
      const e = index.entry('Pod', podKey);
      if (e) model.delete('Pod', e.namespace, e.name, { uid: e.uid });
    }
  }

  #create(ds: KubeObject, node: string): void {
    const template = (ds['spec'] as { template: PodTemplate }).template;
    const namespace = ds.metadata.namespace as string;
    const name = uniquePodName(this.ctx, namespace, ds.metadata.name);
    const input = { namespace, name, template, owner: controllerRef(ds), extraLabels: daemonPodLabels(ds), extraSpec: { affinity: pinnedAffinity(node) } };
    this.ctx.model.create(buildPod(input));
  }
}
