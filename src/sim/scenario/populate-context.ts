import type { ClusterIndex } from '../model/cluster-index.ts';
import type { ClusterModel } from '../model/cluster-model.ts';
import type { KubeObject } from '../model/objects.ts';
import { buildPod, runningStatus, succeededStatus, type PodInput } from '../kinds/pod-factory.ts';
import type { Rng } from '../../core/index.ts';
import type { ScenarioConfig } from './scenario-config.ts';
import { namespaceName } from '../kinds/catalog.ts';
import { NODE_LEASE_NAMESPACE } from '../kinds/node-factory.ts';

export const SYSTEM_NAMESPACES = ['default', 'kube-system', 'kube-public', NODE_LEASE_NAMESPACE];
/** Where node-exporter runs, when the scenario has DaemonSets. */
export const MONITORING_NAMESPACE = 'monitoring';

/** The scenario's application namespaces (`payments-prod`, …). */
export function appNamespaces(config: ScenarioConfig): string[] {
  return Array.from({ length: config.namespaces }, (_, i) => namespaceName(i));
}

/** What populate's steps share: where to write, what is known, and the scenario's choices. */
export interface PopulateContext {
  readonly model: ClusterModel;
  readonly index: ClusterIndex;
  readonly rng: Rng;
  readonly config: ScenarioConfig;
  readonly nowMs: number;
  readonly clusterIps: ClusterIpPool;
  readonly placer: NodePlacer;
  /** rfc3339(nowMs), made once: every populated object is created in the same second. */
  readonly createdAt: string;
  /** InternalIP by node name. */
  readonly hostIps: Map<string, string>;
}

/** Hands out nodes in turn, so every node ends up with the same number of pods. */
export class NodePlacer {
  readonly nodes: string[] = [];
  #next = 0;

  next(): string {
    const node = this.nodes[this.#next % this.nodes.length] as string;
    this.#next++;
    return node;
  }
}

/** Service ClusterIPs: random in 10.96.0.0/12, never twice; .1 and .10 are kubernetes and kube-dns. */
export class ClusterIpPool {
  readonly #used = new Set<string>(['10.96.0.1', '10.96.0.10']);
  readonly #rng: Rng;

  constructor(rng: Rng) {
    this.#rng = rng;
  }

  allocate(): string {
    for (;;) {
      const ip = `10.${96 + this.#rng.int(16)}.${this.#rng.int(256)}.${1 + this.#rng.int(254)}`;
      if (!this.#used.has(ip)) {
        this.#used.add(ip);
        return ip;
      }
    }
  }
}

/**
 * Writes a pod directly in its final state on `node`: bound, Running and Ready with its IP
 * (the node's own on the host network) and container ids — what the scheduler and kubelet
 * would have produced, in one write instead of three.
 */
export function createRunningPod(ctx: PopulateContext, input: PodInput, node: string): KubeObject {
  const uid = ctx.rng.uuid();
  const base = buildPod(input);
  const spec: Record<string, unknown> = { ...(base['spec'] as Record<string, unknown>), nodeName: node };
  const hostIP = hostIpOf(ctx, node);
  const podIP = spec['hostNetwork'] === true ? hostIP : (ctx.index.podIps.allocate(node, uid) as string);
  // One object, built in place: 150,000 of these are the bulk of populate's allocations.
  base.metadata.uid = uid;
  base.metadata.creationTimestamp = ctx.createdAt;
  base['spec'] = spec;
  base['status'] = runningStatus(base, { hostIP, podIP, nowMs: ctx.nowMs }, ctx.rng);
  return ctx.model.create(base).object;
}

/**
 * Writes a finished Job pod. Its status keeps the podIP it had, but the node's address pool
 * has it free again: the next pod there gets the same IP while this pod still shows it.
 */
export function createSucceededPod(ctx: PopulateContext, input: PodInput, node: string): KubeObject {
  const uid = ctx.rng.uuid();
  const base = buildPod(input);
  base.metadata.uid = uid;
  const hostIP = hostIpOf(ctx, node);
  const podIP = ctx.index.podIps.allocate(node, uid) as string;
  ctx.index.podIps.release(node, podIP, uid);
  const pod = { ...base, spec: { ...(base['spec'] as Record<string, unknown>), nodeName: node } };
  return ctx.model.create({ ...pod, status: succeededStatus(pod, { hostIP, podIP, nowMs: ctx.nowMs }, ctx.rng) }).object;
}

function hostIpOf(ctx: PopulateContext, node: string): string {
  let ip = ctx.hostIps.get(node);
  if (ip === undefined) ctx.hostIps.set(node, (ip = ctx.index.entry('Node', node)?.ip as string));
  return ip;
}
