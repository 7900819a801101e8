import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidArgumentError, KubemetaError, ManualClock } from '../../core/index.ts';
import type { KubeObject } from '../model/objects.ts';
import { ScenarioEngine } from './scenario.ts';
import type { ScenarioOptions } from './scenario-config.ts';

type Json = Record<string, unknown>;
const START = Date.parse('2025-03-01T12:00:00Z');

function engine(options: ScenarioOptions = {}): ScenarioEngine {
  return new ScenarioEngine({ seed: 11, nodes: 6, namespaces: 3, podsPerNode: 12, statefulSets: 2, cronJobs: 2, clock: new ManualClock(START), ...options });
}

/** Every object of the cluster as served, in key order per kind. */
function dump(e: ScenarioEngine): string[] {
  return e.model.resources().flatMap((r) => e.model.list(r.kind).items.map((s) => s.json));
}

function objects(e: ScenarioEngine, kind: string): KubeObject[] {
  return e.model.list(kind).items.map((s) => s.object);
}

function spec(o: KubeObject): Json {
  return o['spec'] as Json;
}

function status(o: KubeObject): Json {
  return o['status'] as Json;
}

test('the same seed and calls give identical clusters; another seed gives another one', () => {
  const a = engine();
  const b = engine();
  a.populate();
  b.populate();
  assert.deepEqual(dump(a), dump(b));
  assert.deepEqual(a.step(150), b.step(150));
  assert.deepEqual(dump(a), dump(b));
  const fresh = engine();
  fresh.populate();
  const other = engine({ seed: 12 });
  other.populate();
  assert.notDeepEqual(dump(other), dump(fresh));
});

test('populate builds nodes × podsPerNode pods, each on a node with a unique IP and containerd ids', () => {
  const e = engine();
  const report = e.populate();
  const pods = objects(e, 'Pod');
  assert.equal(pods.length, 6 * 12);
  assert.equal(report.objects['Pod'], 6 * 12);
  assert.equal(report.objects['Node'], 6);
  assert.equal(report.objects['Lease'], 6);
  const nodeNames = new Set(objects(e, 'Node').map((n) => n.metadata.name));
  const runningIps = new Set<string>();
  let running = 0;
  for (const pod of pods) {
    assert.ok(nodeNames.has(spec(pod)['nodeName'] as string), `${pod.metadata.name} is on a node`);
    const st = status(pod);
    const ids = [...((st['initContainerStatuses'] as Json[] | undefined) ?? []), ...(st['containerStatuses'] as Json[])].map((c) => c['containerID']);
    for (const id of ids) assert.match(id as string, /^containerd:\/\/[0-9a-f]{64}$/);
    if (st['phase'] !== 'Running') continue;
    running++;
    if (spec(pod)['hostNetwork'] === true) {
      assert.equal(st['podIP'], st['hostIP'], 'a host-network pod has its node IP');
      continue;
    }
    assert.ok(!runningIps.has(st['podIP'] as string), `IP ${String(st['podIP'])} is used twice`);
    runningIps.add(st['podIP'] as string);
  }
  assert.equal(running, 6 * 12 - 2, 'all pods but the two finished Job pods run');
});

test('populated pods have one init container, an app and a sidecar, and some a native sidecar', () => {
  const e = engine({ nativeSidecarFraction: 0.5, statefulSets: 0, cronJobs: 0, daemonSets: false });
  e.populate();
  const appPods = objects(e, 'Pod').filter((p) => p.metadata.namespace !== 'kube-system');
  let native = 0;
  for (const pod of appPods) {
    const init = spec(pod)['initContainers'] as Json[];
    assert.deepEqual((spec(pod)['containers'] as Json[]).map((c) => c['name']), ['app', 'envoy']);
    assert.equal(init.filter((c) => c['restartPolicy'] !== 'Always').length, 1);
    if (init.some((c) => c['restartPolicy'] === 'Always')) native++;
    const initStatus = (status(pod)['initContainerStatuses'] as Json[])[0] as { state: { terminated?: { reason: string } } };
    assert.equal(initStatus.state.terminated?.reason, 'Completed');
  }
  assert.ok(native > 0 && native < appPods.length, `${native} of ${appPods.length} pods have a native sidecar`);
});

test('ownerReferences chain every app pod to its ReplicaSet and Deployment', () => {
  const e = engine();
  e.populate();
  const byUid = new Map<string, KubeObject>();
  for (const r of e.model.resources()) for (const o of objects(e, r.kind)) byUid.set(o.metadata.uid, o);
  for (const pod of objects(e, 'Pod')) {
    const owner = byUid.get(pod.metadata.ownerReferences?.[0]?.uid ?? '');
    assert.ok(owner, `${pod.metadata.name} has an owner`);
    if (owner.kind !== 'ReplicaSet') continue;
    const hash = owner.metadata.labels?.['pod-template-hash'] as string;
    assert.match(hash, /^[bcdfghjklmnpqrstvwxz2456789]{10}$/);
    assert.equal(owner.metadata.name.endsWith(`-${hash}`), true);
    assert.equal(pod.metadata.labels?.['pod-template-hash'], hash);
    assert.match(pod.metadata.name, new RegExp(`^${owner.metadata.name}-[bcdfghjklmnpqrstvwxz2456789]{5}$`));
    const deployment = byUid.get(owner.metadata.ownerReferences?.[0]?.uid ?? '');
    assert.equal(deployment?.kind, 'Deployment');
    assert.equal(owner.metadata.annotations?.['deployment.kubernetes.io/revision'], '1');
  }
});

test('every Service with a selector has Endpoints and EndpointSlices listing exactly its ready pods', () => {
  const e = engine();
  e.populate();
  const pods = objects(e, 'Pod');
  for (const svc of objects(e, 'Service')) {
    const selector = spec(svc)['selector'] as Record<string, string> | undefined;
    if (!selector) continue;
    const expected = pods
      .filter((p) => p.metadata.namespace === svc.metadata.namespace && status(p)['phase'] === 'Running')
      .filter((p) => Object.entries(selector).every(([k, v]) => p.metadata.labels?.[k] === v))
      .map((p) => status(p)['podIP'] as string)
      .sort();
    const ep = e.model.get('Endpoints', svc.metadata.namespace, svc.metadata.name)?.object;
    assert.ok(ep, `Endpoints of ${svc.metadata.name}`);
    const subsets = (ep['subsets'] ?? []) as Array<{ addresses?: Array<{ ip: string; targetRef: { kind: string } }> }>;
    const listed = subsets.flatMap((s) => (s.addresses ?? []).map((a) => a.ip)).sort();
    assert.deepEqual(listed, expected, `Endpoints of ${svc.metadata.name}`);
    const slices = objects(e, 'EndpointSlice').filter((s) => s.metadata.labels?.['kubernetes.io/service-name'] === svc.metadata.name && s.metadata.namespace === svc.metadata.namespace);
    const sliced = slices.flatMap((s) => ((s['endpoints'] ?? []) as Array<{ addresses: string[]; targetRef: { kind: string } }>).map((x) => x.addresses[0] as string)).sort();
    assert.deepEqual(sliced, expected, `EndpointSlices of ${svc.metadata.name}`);
    assert.ok(slices.every((s) => s.metadata.ownerReferences?.[0]?.uid === svc.metadata.uid));
  }
});

test('nodes look like kubelet-registered nodes and each has a Lease owned by it', () => {
  const e = engine();
  e.populate();
  const cidrs = new Set<string>();
  for (const node of objects(e, 'Node')) {
    const labels = node.metadata.labels ?? {};
    assert.equal(labels['kubernetes.io/hostname'], node.metadata.name);
    assert.ok(labels['topology.kubernetes.io/zone']);
    const cidr = spec(node)['podCIDR'] as string;
    assert.match(cidr, /^10\.\d+\.\d+\.0\/24$/);
    cidrs.add(cidr);
    const addresses = status(node)['addresses'] as Array<{ type: string; address: string }>;
    assert.deepEqual(addresses.map((a) => a.type), ['InternalIP', 'Hostname']);
    assert.match((status(node)['nodeInfo'] as Json)['containerRuntimeVersion'] as string, /^containerd:\/\/1\.7\.\d+$/);
    const lease = e.model.get('Lease', 'kube-node-lease', node.metadata.name)?.object;
    assert.equal(lease?.metadata.ownerReferences?.[0]?.uid, node.metadata.uid);
  }
  assert.equal(cidrs.size, 6);
  for (const ns of objects(e, 'Namespace')) assert.equal(ns.metadata.labels?.['kubernetes.io/metadata.name'], ns.metadata.name);
});

test('the controllers find nothing to change in a freshly populated cluster', () => {
  const e = engine();
  e.populate();
  const rv = e.model.resourceVersion;
  e.controllers.resync();
  assert.ok(e.controllers.reconcileNow() > 0);
  assert.equal(e.model.resourceVersion, rv, 'a resync right after populate writes nothing');
});

test('options outside their range are refused with the option named', () => {
  assert.throws(() => new ScenarioEngine({ nodes: 0 }), (err: unknown) => err instanceof InvalidArgumentError && /nodes.*1 to 20000/.test(err.message));
  assert.throws(() => new ScenarioEngine({ podsPerNode: 111 }), /podsPerNode/);
  assert.throws(() => new ScenarioEngine({ podsPerNode: 1, nodes: 2 }), /podsPerNode/);
  assert.throws(() => new ScenarioEngine({ serviceFraction: 2 }), /serviceFraction.*0 to 1/);
  const e = engine();
  assert.throws(() => e.step(1), (err: unknown) => err instanceof KubemetaError && err.code === 'SIM_NOT_POPULATED');
  e.populate();
  assert.throws(() => e.populate(), /once/);
  assert.throws(() => e.step(1, { mix: { explode: 1 } as never }), /unknown churn action "explode"/);
  assert.throws(() => e.startChurn({ ratePerSecond: 0 }), /ratePerSecond/);
});
