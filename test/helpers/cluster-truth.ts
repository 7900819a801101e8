// What every scope should hold, computed from the simulator's model (the truth), and a
// comparison with what a consumer holds. Summaries keep the fields kubemeta publishes that a
// test can check exactly: pod node, IP, phase and container ids; service membership; names.
import type { ClusterModel, KubeObject } from '../../src/sim/index.ts';
import type { ResourceUpdate } from '../../src/schema/index.ts';
import { updateIdentity } from '../../src/schema/index.ts';

type Summary = string;
export type ScopeView = Map<string, Summary>;

const OWNER_KINDS = ['ReplicaSet', 'Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob'];

function podSummary(node: string, ip: string, containers: string[]): Summary {
  return `node=${node} ip=${ip} containers=${containers.sort().join(',')}`;
}

function bareId(id: unknown): string {
  const s = typeof id === 'string' ? id : '';
  const at = s.indexOf('://');
  return at === -1 ? s : s.slice(at + 3);
}

function modelPodContainers(pod: KubeObject): string[] {
  const status = (pod['status'] ?? {}) as Record<string, Array<{ name: string; containerID?: string }> | undefined>;
  const out: string[] = [];
  for (const key of ['initContainerStatuses', 'containerStatuses', 'ephemeralContainerStatuses']) {
    for (const c of status[key] ?? []) if (bareId(c.containerID) !== '') out.push(`${c.name}=${bareId(c.containerID)}`);
  }
  return out;
}

/** scope → expected objects, from the model. */
export function expectedScopes(model: ClusterModel): Map<string, ScopeView> {
  const scopes = new Map<string, ScopeView>();
  const scope = (name: string): ScopeView => {
    let v = scopes.get(name);
    if (!v) scopes.set(name, (v = new Map()));
    return v;
  };
  const cluster = scope('cluster');
  const byUid = new Map<string, KubeObject>();
  const nsUid = new Map<string, string>();
  for (const kind of ['Namespace', 'Node', 'Pod', 'Service', 'EndpointSlice', ...OWNER_KINDS]) {
    for (const s of model.list(kind).items) byUid.set(s.object.metadata.uid, s.object);
  }
  for (const s of model.list('Namespace').items) {
    nsUid.set(s.object.metadata.name, s.object.metadata.uid);
    cluster.set(`Namespace/${s.object.metadata.uid}`, `name=${s.object.metadata.name}`);
  }
  for (const s of model.list('Node').items) {
    const key = `Node/${s.object.metadata.uid}`;
    cluster.set(key, `name=${s.object.metadata.name}`);
    scope(`node/${s.object.metadata.name}`).set(key, `name=${s.object.metadata.name}`);
  }
  for (const kind of OWNER_KINDS) for (const s of model.list(kind).items) cluster.set(`${kind}/${s.object.metadata.uid}`, `name=${s.object.metadata.name}`);
  const podNode = new Map<string, string>();
  for (const s of model.list('Pod').items) {
    const pod = s.object;
    const spec = (pod['spec'] ?? {}) as { nodeName?: string };
    const status = (pod['status'] ?? {}) as { podIP?: string };
    const node = spec.nodeName ?? '';
    const containers = modelPodContainers(pod);
    const summary = podSummary(node, status.podIP ?? '', containers);
    cluster.set(`Pod/${pod.metadata.uid}`, summary);
    for (const c of containers) cluster.set(`Container/${c.split('=')[1]}`, `pod=${pod.metadata.uid}`);
    if (node === '') continue;
    podNode.set(pod.metadata.uid, node);
    const view = scope(`node/${node}`);
    view.set(`Pod/${pod.metadata.uid}`, summary);
    for (const c of containers) view.set(`Container/${c.split('=')[1]}`, `pod=${pod.metadata.uid}`);
    const ns = nsUid.get(pod.metadata.namespace ?? '');
    if (ns) view.set(`Namespace/${ns}`, `name=${pod.metadata.namespace}`);
    let owner = pod.metadata.ownerReferences?.find((r) => r.controller);
    for (let depth = 0; owner && depth < 5; depth++) {
      const obj = byUid.get(owner.uid);
      if (!obj || !OWNER_KINDS.includes(owner.kind)) break;
      view.set(`${owner.kind}/${owner.uid}`, `name=${obj.metadata.name}`);
      owner = obj.metadata.ownerReferences?.find((r) => r.controller);
    }
  }
  const members = new Map<string, Set<string>>();
  for (const s of model.list('EndpointSlice').items) {
    const svc = s.object.metadata.labels?.['kubernetes.io/service-name'];
    if (!svc) continue;
    const key = `${s.object.metadata.namespace}/${svc}`;
    let set = members.get(key);
    if (!set) members.set(key, (set = new Set()));
    for (const e of (s.object['endpoints'] ?? []) as Array<{ targetRef?: { kind?: string; uid?: string } }>) {
      if (e.targetRef?.kind === 'Pod' && e.targetRef.uid) set.add(e.targetRef.uid);
    }
  }
  for (const s of model.list('Service').items) {
    const pods = [...(members.get(`${s.object.metadata.namespace}/${s.object.metadata.name}`) ?? [])].sort();
    cluster.set(`Service/${s.object.metadata.uid}`, `pods=${pods.join(',')}`);
    const byNode = new Map<string, string[]>();
    for (const p of pods) {
      const node = podNode.get(p);
      if (node === undefined) continue;
      byNode.set(node, [...(byNode.get(node) ?? []), p]);
    }
    for (const [node, list] of byNode) scope(`node/${node}`).set(`Service/${s.object.metadata.uid}`, `pods=${list.sort().join(',')}`);
  }
  return scopes;
}

/** The same summary, from what a consumer holds. Stopped containers of live pods count too. */
export function actualScope(objects: Map<string, ResourceUpdate>): ScopeView {
  const view: ScopeView = new Map();
  // Pods by uid first: a lookup per container keeps this linear. (It was a scan per container,
  // quadratic: at a few thousand objects, polling it starved the service in the same process.)
  const livePods = new Map<string, Set<string>>();
  for (const u of objects.values()) {
    if (u.object.case === 'pod') livePods.set(u.object.value.uid, new Set(u.object.value.containers.map((c) => c.containerId)));
  }
  for (const [key, u] of objects) {
    const o = u.object;
    switch (o.case) {
      case 'pod':
        view.set(key, podSummary(o.value.nodeName, o.value.podIp, o.value.containers.filter((c) => c.containerId !== '').map((c) => `${c.name}=${c.containerId}`)));
        break;
      case 'container': {
        // Instances the pod's current status still names; older instances are history.
        if (livePods.get(o.value.podUid)?.has(o.value.containerId) === true) view.set(key, `pod=${o.value.podUid}`);
        break;
      }
      case 'service':
        view.set(key, `pods=${[...o.value.podUids].sort().join(',')}`);
        break;
      case 'networkRanges':
        // Derived, not a model object: test/integration/network-ranges.test.ts checks it.
        break;
      default: {
        const id = updateIdentity(u);
        const name = (o.value as { name?: string } | undefined)?.name ?? '';
        view.set(`${id.kind}/${id.uid}`, `name=${name}`);
      }
    }
  }
  return view;
}

/** Differences between expected and actual views, as readable lines (at most `limit`). */
export function diffScopes(expected: Map<string, ScopeView>, actual: (scope: string) => ScopeView, limit = 20): string[] {
  const out: string[] = [];
  for (const [scope, want] of expected) {
    const got = actual(scope);
    for (const [key, summary] of want) {
      const has = got.get(key);
      if (has !== summary) out.push(`${scope} ${key}: expected ${summary}, got ${has ?? 'nothing'}`);
    }
    for (const [key, summary] of got) if (!want.has(key)) out.push(`${scope} ${key}: unexpected ${summary}`);
    if (out.length >= limit) break;
  }
  return out.slice(0, limit);
}
