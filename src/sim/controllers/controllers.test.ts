import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock, waitFor } from '../../core/index.ts';
import { ControllerManager } from './controller-manager.ts';
import type { KubeObject } from '../model/objects.ts';
import { ScenarioEngine } from '../scenario/scenario.ts';
import type { ScenarioOptions } from '../scenario/scenario-config.ts';

type Json = Record<string, unknown>;
const START = Date.parse('2025-03-01T12:00:00Z');

function populated(options: ScenarioOptions = {}): ScenarioEngine {
  const e = new ScenarioEngine({ seed: 5, nodes: 5, namespaces: 2, podsPerNode: 12, clock: new ManualClock(START), ...options });
  e.populate();
  return e;
}

function all(e: ScenarioEngine, kind: string, namespace?: string): KubeObject[] {
  return e.model.list(kind, namespace === undefined ? {} : { namespace }).items.map((s) => s.object);
}

function spec(o: KubeObject): Json {
  return o['spec'] as Json;
}

function status(o: KubeObject): Json {
  return o['status'] as Json;
}

/** An application Deployment that has a ClusterIP Service of the same name. */
function deploymentWithService(e: ScenarioEngine): KubeObject {
  const d = all(e, 'Deployment').find((x) => {
    const svc = e.model.get('Service', x.metadata.namespace, x.metadata.name)?.object;
    return svc && spec(svc)['clusterIP'] !== 'None' && (spec(x)['replicas'] as number) >= 2;
  });
  assert.ok(d, 'the scenario has a Deployment with a Service');
  return d;
}

function podsOf(e: ScenarioEngine, d: KubeObject): KubeObject[] {
  const rsUids = new Set(all(e, 'ReplicaSet', d.metadata.namespace).filter((rs) => rs.metadata.ownerReferences?.[0]?.uid === d.metadata.uid).map((rs) => rs.metadata.uid));
  return all(e, 'Pod', d.metadata.namespace).filter((p) => rsUids.has(p.metadata.ownerReferences?.[0]?.uid ?? ''));
}

function setReplicas(e: ScenarioEngine, d: KubeObject, replicas: number): void {
  const current = e.model.get('Deployment', d.metadata.namespace, d.metadata.name)?.object as KubeObject;
  e.model.update({ ...current, spec: { ...spec(current), replicas } });
  e.controllers.reconcileNow();
}

function endpointIps(e: ScenarioEngine, svc: KubeObject): string[] {
  const ep = e.model.get('Endpoints', svc.metadata.namespace, svc.metadata.name)?.object as KubeObject;
  const subsets = (ep['subsets'] ?? []) as Array<{ addresses?: Array<{ ip: string }> }>;
  return subsets.flatMap((s) => (s.addresses ?? []).map((a) => a.ip)).sort();
}

function sliceEndpoints(e: ScenarioEngine, svc: KubeObject): Array<Json[] | null> {
  return all(e, 'EndpointSlice', svc.metadata.namespace)
    .filter((s) => s.metadata.labels?.['kubernetes.io/service-name'] === svc.metadata.name)
    .map((s) => s['endpoints'] as Json[] | null);
}

test('scaling a Deployment to zero empties its Endpoints and EndpointSlices, scaling back fills them', () => {
  const e = populated();
  const d = deploymentWithService(e);
  const svc = e.model.get('Service', d.metadata.namespace, d.metadata.name)?.object as KubeObject;
  const events: string[] = [];
  e.model.subscribe((ev) => {
    if (ev.stored.kind === 'Endpoints' && ev.stored.key === `${svc.metadata.namespace}/${svc.metadata.name}`) events.push(ev.stored.json);
  });
  setReplicas(e, d, 0);
  assert.equal(podsOf(e, d).length, 0);
  assert.deepEqual(endpointIps(e, svc), []);
  assert.equal((e.model.get('Endpoints', svc.metadata.namespace, svc.metadata.name)?.object as Json)['subsets'], undefined);
  assert.deepEqual(sliceEndpoints(e, svc), [null], 'one placeholder slice without endpoints');
  assert.ok(events.some((json) => !json.includes('"subsets"')), 'watchers saw the empty membership');
  const scaled = e.model.get('Deployment', d.metadata.namespace, d.metadata.name)?.object as KubeObject;
  assert.equal(status(scaled)['readyReplicas'], undefined);
  setReplicas(e, d, 3);
  const pods = podsOf(e, d);
  assert.equal(pods.length, 3);
  assert.deepEqual(endpointIps(e, svc), pods.map((p) => status(p)['podIP'] as string).sort());
  assert.equal(sliceEndpoints(e, svc)[0]?.length, 3);
  const back = e.model.get('Deployment', d.metadata.namespace, d.metadata.name)?.object as KubeObject;
  assert.equal(status(back)['readyReplicas'], 3);
  assert.equal(status(back)['observedGeneration'], back.metadata.generation);
});

test('a template change rolls out in steps: new ReplicaSet up, old one down, every pod replaced', () => {
  const e = populated();
  const d = deploymentWithService(e);
  setReplicas(e, d, 8);
  const before = new Set(podsOf(e, d).map((p) => p.metadata.uid));
  const seen: Array<{ total: number; ready: number; split: string }> = [];
  e.model.subscribe((ev) => {
    if (ev.stored.kind !== 'ReplicaSet' || ev.stored.object.metadata.namespace !== d.metadata.namespace) return;
    const sets = all(e, 'ReplicaSet', d.metadata.namespace).filter((rs) => rs.metadata.ownerReferences?.[0]?.uid === d.metadata.uid);
    seen.push({
      total: sets.reduce((n, rs) => n + (spec(rs)['replicas'] as number), 0),
      ready: sets.reduce((n, rs) => n + ((status(rs)['readyReplicas'] as number | undefined) ?? 0), 0),
      split: sets.map((rs) => spec(rs)['replicas']).join('/'),
    });
  });
  const current = e.model.get('Deployment', d.metadata.namespace, d.metadata.name)?.object as KubeObject;
  const template = spec(current)['template'] as { spec: { containers: Json[] } };
  const containers = template.spec.containers.map((c) => (c['name'] === 'app' ? { ...c, image: 'registry.example.com/new:2.0.0' } : c));
  e.model.update({ ...current, spec: { ...spec(current), template: { ...template, spec: { ...template.spec, containers } } } });
  e.controllers.reconcileNow();
  const sets = all(e, 'ReplicaSet', d.metadata.namespace).filter((rs) => rs.metadata.ownerReferences?.[0]?.uid === d.metadata.uid);
  assert.equal(sets.length, 2);
  const [oldRs, newRs] = sets.sort((a, b) => Number(a.metadata.annotations?.['deployment.kubernetes.io/revision']) - Number(b.metadata.annotations?.['deployment.kubernetes.io/revision']));
  assert.equal(newRs?.metadata.annotations?.['deployment.kubernetes.io/revision'], '2');
  assert.equal(spec(oldRs as KubeObject)['replicas'], 0, 'the old ReplicaSet is kept, scaled to zero');
  const pods = podsOf(e, d);
  assert.equal(pods.length, 8);
  assert.ok(pods.every((p) => !before.has(p.metadata.uid) && p.metadata.labels?.['pod-template-hash'] === newRs?.metadata.labels?.['pod-template-hash']));
  assert.ok(pods.every((p) => ((spec(p)['containers'] as Json[])[0] as Json)['image'] === 'registry.example.com/new:2.0.0'));
  // maxSurge 25% of 8 = 2, maxUnavailable 25% of 8 = 2
  assert.ok(seen.every((s) => s.total <= 10), `never more than 10 pods wanted: ${JSON.stringify(seen)}`);
  assert.ok(seen.every((s) => s.ready >= 6), 'never fewer than 6 ready pods');
  assert.ok(new Set(seen.map((s) => s.split)).size >= 5, `the rollout went in several steps: ${seen.map((s) => s.split).join(' ')}`);
  const rolled = e.model.get('Deployment', d.metadata.namespace, d.metadata.name)?.object as KubeObject;
  assert.equal(rolled.metadata.annotations?.['deployment.kubernetes.io/revision'], '2');
  assert.equal(status(rolled)['updatedReplicas'], 8);

  // Going back to the first template reuses the first ReplicaSet under a new revision.
  e.model.update({ ...rolled, spec: { ...spec(rolled), template } });
  e.controllers.reconcileNow();
  const after = all(e, 'ReplicaSet', d.metadata.namespace).filter((rs) => rs.metadata.ownerReferences?.[0]?.uid === d.metadata.uid);
  assert.equal(after.length, 2);
  const reused = after.find((rs) => rs.metadata.uid === oldRs?.metadata.uid) as KubeObject;
  assert.equal(spec(reused)['replicas'], 8);
  assert.equal(reused.metadata.annotations?.['deployment.kubernetes.io/revision'], '3');
});

test("a removed node's pods are recreated on other nodes and the counts hold", () => {
  const e = populated();
  const node = all(e, 'Node')[2] as KubeObject;
  const onNode = all(e, 'Pod').filter((p) => spec(p)['nodeName'] === node.metadata.name);
  const daemonPods = onNode.filter((p) => p.metadata.ownerReferences?.[0]?.kind === 'DaemonSet').length;
  const total = all(e, 'Pod').length;
  e.model.delete('Node', undefined, node.metadata.name);
  e.controllers.reconcileNow();
  const pods = all(e, 'Pod');
  assert.equal(pods.filter((p) => spec(p)['nodeName'] === node.metadata.name).length, 0);
  assert.equal(pods.length, total - daemonPods, 'every pod but the node\'s DaemonSet pods came back');
  assert.ok(pods.every((p) => status(p)['phase'] === 'Running'));
  assert.equal(e.model.get('Lease', 'kube-node-lease', node.metadata.name), undefined, 'the Lease went with its Node');
  for (const ep of all(e, 'EndpointSlice')) {
    for (const x of (ep['endpoints'] ?? []) as Json[]) assert.notEqual(x['nodeName'], node.metadata.name);
  }
  const ds = all(e, 'DaemonSet')[0] as KubeObject;
  assert.equal(status(ds)['desiredNumberScheduled'], 4);
  assert.equal(status(ds)['numberReady'], 4);
});

test('a deleted pod is recreated and, on the same node, gets the IP it had', () => {
  const e = populated({ nodes: 1, podsPerNode: 10, daemonSets: false });
  const victim = all(e, 'Pod').find((p) => p.metadata.ownerReferences?.[0]?.kind === 'ReplicaSet' && p.metadata.namespace !== 'kube-system') as KubeObject;
  const ip = status(victim)['podIP'];
  e.model.delete('Pod', victim.metadata.namespace, victim.metadata.name);
  e.controllers.reconcileNow();
  const holder = all(e, 'Pod').filter((p) => status(p)['podIP'] === ip);
  assert.equal(holder.length, 1);
  const replacement = holder[0] as KubeObject;
  assert.notEqual(replacement.metadata.uid, victim.metadata.uid);
  assert.equal(replacement.metadata.ownerReferences?.[0]?.uid, victim.metadata.ownerReferences?.[0]?.uid);
  const slices = all(e, 'EndpointSlice', victim.metadata.namespace).flatMap((s) => (s['endpoints'] ?? []) as Array<{ addresses: string[]; targetRef: { uid: string } }>);
  const entry = slices.find((x) => x.addresses[0] === ip);
  if (entry) assert.equal(entry.targetRef.uid, replacement.metadata.uid, 'the service now points the IP at the new pod');
});

test('changing a Service selector moves its membership to the pods it now selects', () => {
  const e = populated({ deployments: 8, namespaces: 1 });
  const d = deploymentWithService(e);
  const other = all(e, 'Deployment', d.metadata.namespace).find((x) => x.metadata.uid !== d.metadata.uid && (spec(x)['replicas'] as number) > 0) as KubeObject;
  assert.ok(other, 'a second Deployment in the namespace');
  const svc = e.model.get('Service', d.metadata.namespace, d.metadata.name)?.object as KubeObject;
  e.model.update({ ...svc, spec: { ...spec(svc), selector: { app: other.metadata.name } } });
  e.controllers.reconcileNow();
  assert.deepEqual(endpointIps(e, svc), podsOf(e, other).map((p) => status(p)['podIP'] as string).sort());
  const names = all(e, 'EndpointSlice', svc.metadata.namespace)
    .filter((s) => s.metadata.labels?.['kubernetes.io/service-name'] === svc.metadata.name)
    .flatMap((s) => ((s['endpoints'] ?? []) as Array<{ targetRef: { name: string } }>).map((x) => x.targetRef.name));
  assert.ok(names.length > 0 && names.every((n) => n.startsWith(`${other.metadata.name}-`)));
});

test('deleting a Deployment deletes its ReplicaSets and pods, and its Service keeps an empty membership', () => {
  const e = populated();
  const d = deploymentWithService(e);
  e.model.delete('Deployment', d.metadata.namespace, d.metadata.name);
  e.controllers.reconcileNow();
  assert.equal(all(e, 'ReplicaSet', d.metadata.namespace).filter((rs) => rs.metadata.ownerReferences?.[0]?.uid === d.metadata.uid).length, 0);
  assert.equal(all(e, 'Pod', d.metadata.namespace).filter((p) => p.metadata.labels?.['app'] === d.metadata.name).length, 0);
  const svc = e.model.get('Service', d.metadata.namespace, d.metadata.name)?.object as KubeObject;
  assert.deepEqual(endpointIps(e, svc), []);
});

test('deleting a namespace deletes everything in it, and only that', () => {
  const e = populated({ statefulSets: 2, cronJobs: 2 });
  const ns = all(e, 'Namespace').find((n) => n.metadata.name.endsWith('-prod') && all(e, 'Pod', n.metadata.name).length > 0) as KubeObject;
  const elsewhere = all(e, 'Pod').filter((p) => p.metadata.namespace !== ns.metadata.name).length;
  e.model.delete('Namespace', undefined, ns.metadata.name);
  e.controllers.reconcileNow();
  for (const r of e.model.resources()) {
    if (r.namespaced) assert.equal(all(e, r.kind, ns.metadata.name).length, 0, `${r.kind} left in ${ns.metadata.name}`);
  }
  assert.equal(all(e, 'Pod').length, elsewhere);
});

test('a Deployment created the way kubectl creates it gets a ReplicaSet and Running pods', () => {
  const e = populated();
  e.model.create({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default', labels: { app: 'web' } },
    spec: { replicas: 2, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'nginx', image: 'nginx' }] } } },
  });
  e.controllers.reconcileNow();
  const pods = all(e, 'Pod', 'default').filter((p) => p.metadata.labels?.['app'] === 'web');
  assert.equal(pods.length, 2);
  for (const p of pods) {
    assert.equal(status(p)['phase'], 'Running');
    assert.match(status(p)['podIP'] as string, /^10\.\d+\.\d+\.\d+$/);
    assert.match(((status(p)['containerStatuses'] as Json[])[0] as Json)['containerID'] as string, /^containerd:\/\/[0-9a-f]{64}$/);
  }
  const d = e.model.get('Deployment', 'default', 'web')?.object as KubeObject;
  assert.equal(status(d)['availableReplicas'], 2);
});

test('a StatefulSet pod comes back under its name; a joining node gets its DaemonSet pods', () => {
  const e = populated({ statefulSets: 1 });
  const pod = all(e, 'Pod').find((p) => p.metadata.name.endsWith('-1') && p.metadata.ownerReferences?.[0]?.kind === 'StatefulSet') as KubeObject;
  e.model.delete('Pod', pod.metadata.namespace, pod.metadata.name);
  e.controllers.reconcileNow();
  const back = e.model.get('Pod', pod.metadata.namespace, pod.metadata.name)?.object as KubeObject;
  assert.notEqual(back.metadata.uid, pod.metadata.uid);
  assert.equal(spec(back)['hostname'], pod.metadata.name);
  const nodes = all(e, 'Node').length;
  e.step(1, { mix: { nodeAdd: 1 } });
  const added = all(e, 'Node').find((n) => !all(e, 'Pod').some((p) => spec(p)['nodeName'] === n.metadata.name && !p.metadata.ownerReferences?.[0]?.kind.startsWith('Daemon')));
  assert.equal(all(e, 'Node').length, nodes + 1);
  const daemonPods = all(e, 'Pod').filter((p) => spec(p)['nodeName'] === added?.metadata.name);
  assert.equal(daemonPods.length, 2);
  assert.ok(daemonPods.every((p) => status(p)['podIP'] === status(p)['hostIP']));
});

test('controllers started on a populated model take it as it is', () => {
  const e = populated({ statefulSets: 1, cronJobs: 1 });
  e.controllers.close();
  const rv = e.model.resourceVersion;
  const fresh = new ControllerManager(e.model, { seed: 3 });
  assert.ok(fresh.pending > 0, 'the first scan queues everything');
  fresh.reconcileNow();
  assert.equal(e.model.resourceVersion, rv);
  fresh.close();
});

test('in automatic mode the controllers react to writes on their own', async () => {
  const e = populated();
  e.controllers.start();
  try {
    const d = deploymentWithService(e);
    const current = e.model.get('Deployment', d.metadata.namespace, d.metadata.name)?.object as KubeObject;
    e.model.update({ ...current, spec: { ...spec(current), replicas: 7 } });
    await waitFor(() => podsOf(e, d).filter((p) => status(p)['phase'] === 'Running').length === 7, { what: '7 running pods', timeoutMs: 5000 });
    await e.controllers.settle();
    assert.equal(e.controllers.pending, 0);
  } finally {
    e.controllers.stop();
  }
});
