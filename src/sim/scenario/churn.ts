import { InvalidArgumentError, type Clock, type Rng } from '../../core/index.ts';
import { bumpImage } from '../kinds/catalog.ts';
import { freezeShared } from '../model/json.ts';
import type { ClusterIndex, Entry } from '../model/cluster-index.ts';
import type { ClusterModel } from '../model/cluster-model.ts';
import { cordoned, NODE_LEASE_NAMESPACE, withHeartbeat, withRenewal } from '../kinds/node-factory.ts';
import type { KubeObject } from '../model/objects.ts';
import { withContainerRestart } from '../kinds/pod-factory.ts';
import { addNode } from './populate.ts';
import { specReplicas } from '../kinds/workload-status.ts';

/**
 * The changes a running cluster goes through, one action at a time. Each action writes what
 * a user, an autoscaler or a kubelet would write; the controllers do the rest (a rolling
 * update's new ReplicaSet and pods, a deleted pod's replacement, a removed node's pods).
 */
export const CHURN_ACTIONS = [
  'heartbeat', 'podRestart', 'podDelete', 'podLabel', 'scale', 'rollingUpdate', 'serviceSelector', 'nodeRemove', 'nodeAdd',
] as const;
export type ChurnAction = (typeof CHURN_ACTIONS)[number];

/** Relative weights of the actions; missing actions weigh 0 (when a mix is given). */
export type ChurnMix = Partial<Record<ChurnAction, number>>;

export const DEFAULT_CHURN_MIX: Readonly<Record<ChurnAction, number>> = Object.freeze({
  heartbeat: 40, podRestart: 12, podDelete: 10, podLabel: 10, scale: 10, rollingUpdate: 6, serviceSelector: 4, nodeRemove: 4, nodeAdd: 4,
});

export interface CompiledMix {
  readonly actions: readonly ChurnAction[];
  readonly cumulative: readonly number[];
}

export function compileMix(mix: ChurnMix = DEFAULT_CHURN_MIX): CompiledMix {
  const actions: ChurnAction[] = [];
  const cumulative: number[] = [];
  let total = 0;
  for (const [name, weight] of Object.entries(mix)) {
    if (!(CHURN_ACTIONS as readonly string[]).includes(name)) {
      throw new InvalidArgumentError('mix', `unknown churn action "${name}"; use ${CHURN_ACTIONS.join(', ')}`);
    }
    if (typeof weight !== 'number' || !Number.isFinite(weight) || weight < 0) {
      throw new InvalidArgumentError(`mix.${name}`, `weights are numbers >= 0, got ${String(weight)}`);
    }
    if (weight === 0) continue;
    total += weight;
    actions.push(name as ChurnAction);
    cumulative.push(total);
  }
  if (total === 0) throw new InvalidArgumentError('mix', `give at least one of ${CHURN_ACTIONS.join(', ')} a weight above 0`);
  return { actions, cumulative };
}

export interface ChurnWorld {
  readonly model: ClusterModel;
  readonly index: ClusterIndex;
  readonly rng: Rng;
  readonly clock: Clock;
  /** Initial replicas of the scenario's Deployments: what scale-ups return to. */
  readonly baselines: ReadonlyMap<string, number>;
  readonly minNodes: number;
  readonly maxNodes: number;
  nextNodeSerial: number;
  /** Nodes added by churn show their pod CIDR in spec (ScenarioOptions.podCidrs). */
  readonly podCidrInSpec?: boolean;
}

const SYSTEM_NAMESPACES = new Set(['kube-system', 'kube-public', 'kube-node-lease']);
const TIERS = ['frontend', 'backend', 'cache', 'batch'];
/** Attempts at finding a suitable random target before an action is skipped. */
const TRIES = 8;

/** Performs churn actions; `run` returns the action actually done, or undefined if it found no target. */
export class Churn {
  readonly #w: ChurnWorld;
  #heartbeatCursor = 0;

  constructor(world: ChurnWorld) {
    this.#w = world;
  }

  pick(mix: CompiledMix): ChurnAction {
    const x = this.#w.rng.float() * (mix.cumulative[mix.cumulative.length - 1] as number);
    const i = mix.cumulative.findIndex((c) => x < c);
    return mix.actions[i < 0 ? mix.actions.length - 1 : i] as ChurnAction;
  }

  run(action: ChurnAction): ChurnAction | undefined {
    switch (action) {
      case 'heartbeat': return this.#heartbeat();
      case 'podRestart': return this.#podRestart();
      case 'podDelete': return this.#podDelete();
      case 'podLabel': return this.#podLabel();
      case 'scale': return this.#scale();
      case 'rollingUpdate': return this.#rollingUpdate();
      case 'serviceSelector': return this.#serviceSelector();
      case 'nodeRemove': return this.#nodeRemove();
      case 'nodeAdd': return this.#nodeAdd();
    }
  }

  /** The next node in turn renews its Lease and posts its status: only timestamps move. */
  #heartbeat(): ChurnAction | undefined {
    const { model, index, clock } = this.#w;
    const nodes = index.keys('Node');
    if (nodes.size === 0) return undefined;
    const name = nodes.at(this.#heartbeatCursor++ % nodes.size) as string;
    const node = model.get('Node', undefined, name)?.object;
    if (node) model.update(withHeartbeat(node, clock.now()));
    const lease = model.get('Lease', NODE_LEASE_NAMESPACE, name)?.object;
    if (lease) model.update(withRenewal(lease, clock.now()));
    return 'heartbeat';
  }

  #podRestart(): ChurnAction | undefined {
    const pod = this.#runningPod();
    const names = ((pod?.['status'] as { containerStatuses?: Array<{ name: string }> } | undefined)?.containerStatuses ?? []).map((s) => s.name);
    if (!pod || names.length === 0) return undefined;
    const next = withContainerRestart(pod, this.#w.rng.pick(names), this.#w.clock.now(), this.#w.rng);
    if (next) this.#w.model.update(next);
    return 'podRestart';
  }

  #podDelete(): ChurnAction | undefined {
    const pod = this.#runningPod();
    if (!pod) return undefined;
    this.#w.model.delete('Pod', pod.metadata.namespace, pod.metadata.name, { uid: pod.metadata.uid });
    return 'podDelete';
  }

  /** `kubectl label pod … tier=…`: a label no selector uses changes. */
  #podLabel(): ChurnAction | undefined {
    const pod = this.#runningPod();
    if (!pod) return undefined;
    const current = pod.metadata.labels?.['tier'];
    const tier = this.#w.rng.pick(TIERS.filter((t) => t !== current));
    this.#w.model.update({ ...pod, metadata: { ...pod.metadata, labels: { ...pod.metadata.labels, tier } } });
    return 'podLabel';
  }

  /** Scales a Deployment: sometimes to zero, back from zero to its usual size, else around it. */
  #scale(): ChurnAction | undefined {
    const { rng, model } = this.#w;
    const d = this.#appObject('Deployment');
    if (!d) return undefined;
    const key = `${d.metadata.namespace}/${d.metadata.name}`;
    const current = specReplicas(d);
    const baseline = Math.max(1, this.#w.baselines.get(key) ?? current);
    let replicas = current === 0 ? baseline : rng.chance(0.2) ? 0 : Math.max(1, Math.round(baseline * (0.5 + rng.float())));
    if (replicas === current) replicas = current + 1;
    model.update({ ...d, spec: { ...(d['spec'] as object), replicas } });
    return 'scale';
  }

  /** A new image for the app container: a new pod-template-hash, hence a rolling update. */
  #rollingUpdate(): ChurnAction | undefined {
    const d = this.#appObject('Deployment');
    const spec = d?.['spec'] as { template: { spec: { containers: Array<{ name: string; image: string }> } } } | undefined;
    if (!d || !spec) return undefined;
    const containers = spec.template.spec.containers.map((c, i) => (c.name === 'app' || i === 0 ? { ...c, image: bumpImage(c.image) } : c));
    const template = freezeShared({ ...spec.template, spec: { ...spec.template.spec, containers } });
    this.#w.model.update({ ...d, spec: { ...spec, template } });
    return 'rollingUpdate';
  }

  /** Points a Service at another Deployment of its namespace, or back at its own. */
  #serviceSelector(): ChurnAction | undefined {
    const { model, index, rng } = this.#w;
    const svc = this.#appObject('Service', (s) => typeof (s['spec'] as { selector?: { app?: string } }).selector?.app === 'string');
    if (!svc) return undefined;
    const own = svc.metadata.name;
    const selector = (svc['spec'] as { selector: Record<string, string> }).selector;
    let app = own;
    if (selector['app'] === own) {
      const others = [...index.inNamespace(svc.metadata.namespace as string, 'Deployment')].filter((k) => !k.endsWith(`/${own}`));
      if (others.length === 0) return undefined;
      app = (rng.pick(others).split('/')[1]) as string;
    }
    model.update({ ...svc, spec: { ...(svc['spec'] as object), selector: { ...selector, app } } });
    return 'serviceSelector';
  }

  /** Cordons and deletes a node; its pods are deleted and recreated elsewhere by their owners. */
  #nodeRemove(): ChurnAction | undefined {
    const { model, index, rng } = this.#w;
    if (index.keys('Node').size <= this.#w.minNodes) return this.#nodeAdd();
    const name = index.keys('Node').pick(rng) as string;
    const node = model.get('Node', undefined, name)?.object as KubeObject;
    const cordonedNode = model.update(cordoned(node)).object;
    model.delete('Node', undefined, name, { uid: cordonedNode.metadata.uid });
    return 'nodeRemove';
  }

  #nodeAdd(): ChurnAction | undefined {
    const w = this.#w;
    if (w.index.keys('Node').size >= w.maxNodes) return w.index.keys('Node').size > w.minNodes ? this.#nodeRemove() : undefined;
    addNode({ model: w.model, index: w.index, rng: w.rng, nowMs: w.clock.now(), podCidrInSpec: w.podCidrInSpec ?? true }, w.nextNodeSerial++);
    return 'nodeAdd';
  }

  #runningPod(): KubeObject | undefined {
    const { index, model, rng } = this.#w;
    for (let i = 0; i < TRIES; i++) {
      const key = index.keys('Pod').pick(rng);
      const e = key === undefined ? undefined : index.entry('Pod', key);
      if (e?.phase === 'Running' && e.controllerUid !== undefined) return model.get('Pod', e.namespace, e.name)?.object;
    }
    return undefined;
  }

  /** A random object of `kind` outside the system namespaces (and passing `accept`). */
  #appObject(kind: string, accept: (o: KubeObject) => boolean = () => true): KubeObject | undefined {
    const { index, model, rng } = this.#w;
    for (let i = 0; i < TRIES; i++) {
      const key = index.keys(kind).pick(rng);
      const e: Entry | undefined = key === undefined ? undefined : index.entry(kind, key);
      if (!e || SYSTEM_NAMESPACES.has(e.namespace as string)) continue;
      const o = model.get(kind, e.namespace, e.name)?.object;
      if (o && accept(o)) return o;
    }
    return undefined;
  }
}
