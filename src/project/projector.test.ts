import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../core/index.ts';
import { Projector, emptyProjection, type ProjectedUpdate, type Projection, type SourceKind } from './index.ts';
import {
  deploymentApi, namespaceWeb, podAfterAppRestart, podWithInitAndSidecar, readyNode, replicaSetApi,
  serviceApi, serviceScaledToZeroSlice, sliceOfApi,
} from '../../test/fixtures/k8s-objects.ts';

const describe = (u: ProjectedUpdate): string => `${u.state} ${u.objectKey} ${u.update.object.case} -> ${[...u.scopes].join(',')}`;
const lines = (p: Projection): string[] => p.updates.map(describe).sort();

function withWorld(): Projector {
  const p = new Projector({ clock: new ManualClock(Date.parse('2026-11-01T11:00:00Z')) });
  p.apply('Namespace', 'ADDED', namespaceWeb());
  p.apply('Node', 'ADDED', readyNode());
  p.apply('Deployment', 'ADDED', deploymentApi());
  p.apply('ReplicaSet', 'ADDED', replicaSetApi());
  return p;
}

test('a pod publishes itself and every container instance (init, sidecar, regular, ephemeral) to cluster and its node', () => {
  const p = withWorld();
  const out = p.apply('Pod', 'ADDED', podWithInitAndSidecar());
  const containers = out.updates.filter((u) => u.kind === 'Container');
  assert.equal(containers.length, 4);
  const types = containers.map((c) => (c.update.object.case === 'container' ? c.update.object.value.type : -1)).sort();
  assert.deepEqual(types, [1, 2, 3, 4], 'INIT, REGULAR, SIDECAR and EPHEMERAL each appear');
  for (const c of containers) assert.deepEqual(c.scopes, ['cluster', 'node/n1']);
  // The namespace, ReplicaSet and Deployment enter n1's scope with the pod (docs/design.md §5).
  assert.deepEqual(
    lines(out).filter((l) => !l.includes('Container/') && !l.includes('Pod/')),
    ['upsert Deployment/dep-api workload -> node/n1', 'upsert Namespace/ns-web namespace -> node/n1', 'upsert ReplicaSet/rs-api workload -> node/n1'],
  );
});

test('an event that changes nothing we publish produces no update', () => {
  const p = withWorld();
  p.apply('Pod', 'ADDED', podWithInitAndSidecar());
  const heartbeat = p.apply('Node', 'MODIFIED', readyNode('n1', '2026-11-01T10:00:40Z'));
  assert.deepEqual(heartbeat.updates, [], 'a kubelet heartbeat changes only timestamps');
  const again = podWithInitAndSidecar();
  (again['metadata'] as Record<string, unknown>)['resourceVersion'] = '999';
  assert.deepEqual(p.apply('Pod', 'MODIFIED', again).updates, [], 'a resourceVersion-only change');
  assert.ok(p.stats().suppressed >= 2);
});

test('a restarted container publishes the new instance and stops the old one', () => {
  const p = withWorld();
  p.apply('Pod', 'ADDED', podWithInitAndSidecar());
  const out = p.apply('Pod', 'MODIFIED', podAfterAppRestart());
  const containerLines = lines(out).filter((l) => l.includes('Container/'));
  assert.equal(containerLines.length, 2);
  assert.ok(containerLines.some((l) => l.startsWith('upsert Container/' + '0'.repeat(62) + '63')), containerLines.join('\n'));
  const stopped = out.updates.find((u) => u.state === 'tombstone');
  assert.ok(stopped && stopped.update.object.case === 'container');
  assert.equal(stopped.update.object.value.name, 'app');
  assert.notEqual(stopped.update.object.value.stopTimeNs, 0n);
});

test('a pod deletion is published as tombstones and its ancestors leave the node scope', () => {
  const p = withWorld();
  p.apply('Pod', 'ADDED', podWithInitAndSidecar());
  const out = p.apply('Pod', 'DELETED', podWithInitAndSidecar());
  const tombstones = out.updates.filter((u) => u.state === 'tombstone');
  assert.equal(tombstones.length, 5, 'the pod and its four containers');
  for (const t of tombstones) {
    const v = t.update.object.value as { stopTimeNs: bigint };
    assert.notEqual(v.stopTimeNs, 0n);
  }
  assert.deepEqual(
    lines(out).filter((l) => l.startsWith('remove')),
    ['remove Deployment/dep-api scopeExit -> node/n1', 'remove Namespace/ns-web scopeExit -> node/n1', 'remove ReplicaSet/rs-api scopeExit -> node/n1'],
  );
});

test('owners listed after their pods are sent to the node scopes those pods run on', () => {
  const p = new Projector();
  p.apply('Namespace', 'ADDED', namespaceWeb());
  p.apply('Pod', 'ADDED', podWithInitAndSidecar());
  const rs = p.apply('ReplicaSet', 'ADDED', replicaSetApi());
  // The cluster scope gets the ReplicaSet with its replica counts, the node its identity.
  assert.deepEqual(lines(rs), ['upsert ReplicaSet/rs-api workload -> cluster', 'upsert ReplicaSet/rs-api workload -> node/n1']);
  const counts = (u: ProjectedUpdate | undefined): number[] => {
    const w = u?.update.object.value as { replicas: number; readyReplicas: number } | undefined;
    return [w?.replicas ?? -1, w?.readyReplicas ?? -1];
  };
  assert.deepEqual(counts(rs.updates.find((u) => u.scopes.includes('cluster'))), [2, 2]);
  assert.deepEqual(counts(rs.updates.find((u) => u.scopes.includes('node/n1'))), [0, 0]);
  assert.equal(rs.updates.find((u) => u.scopes.includes('node/n1'))?.viewOnly, true, 'the node view leaves the object table alone');
  const dep = p.apply('Deployment', 'ADDED', deploymentApi());
  assert.deepEqual(lines(dep), ['upsert Deployment/dep-api workload -> cluster', 'upsert Deployment/dep-api workload -> node/n1']);
});

test('a workload status change stays on the cluster scope; an identity change reaches its nodes', () => {
  const p = withWorld();
  p.apply('Pod', 'ADDED', podWithInitAndSidecar());
  const scaled = replicaSetApi();
  (scaled['status'] as Record<string, unknown>)['readyReplicas'] = 1;
  assert.deepEqual(lines(p.apply('ReplicaSet', 'MODIFIED', scaled)), ['upsert ReplicaSet/rs-api workload -> cluster']);
  const relabelled = replicaSetApi();
  (relabelled['metadata'] as Record<string, unknown>)['labels'] = { tier: 'backend' };
  assert.deepEqual(lines(p.apply('ReplicaSet', 'MODIFIED', relabelled)), ['upsert ReplicaSet/rs-api workload -> cluster', 'upsert ReplicaSet/rs-api workload -> node/n1']);
  const node = p.apply('Pod', 'ADDED', podWithInitAndSidecar('api-2', 'pod-2', 'n2', '10.244.2.5', 10));
  const entered = node.updates.find((u) => u.objectKey === 'ReplicaSet/rs-api');
  assert.deepEqual(entered?.scopes, ['node/n2']);
  const w = entered?.update.object.value as { replicas: number; labels: Record<string, string> };
  assert.equal(w.replicas, 0, 'a node entered later gets the identity view too');
  assert.deepEqual(w.labels, { tier: 'backend' });
  assert.deepEqual(lines(p.apply('ReplicaSet', 'DELETED', relabelled)), ['tombstone ReplicaSet/rs-api workload -> cluster,node/n1,node/n2']);
});

test('a node scope sees a service with only its own member pods; scaled to zero it leaves every node', () => {
  const p = withWorld();
  p.apply('Node', 'ADDED', readyNode('n2'));
  p.apply('Pod', 'ADDED', podWithInitAndSidecar('api-1', 'pod-1', 'n1', '10.244.1.5', 1));
  p.apply('Pod', 'ADDED', podWithInitAndSidecar('api-2', 'pod-2', 'n2', '10.244.2.5', 10));
  p.apply('Service', 'ADDED', serviceApi());
  const out = p.apply('EndpointSlice', 'ADDED', sliceOfApi([['pod-1', 'n1'], ['pod-2', 'n2']]));
  const views = new Map(out.updates.filter((u) => u.kind === 'Service').map((u) => [u.scopes.join(), u.update.object.value as { podUids: string[]; nodeNames: string[] }]));
  assert.deepEqual(views.get('cluster')?.podUids, ['pod-1', 'pod-2']);
  assert.deepEqual(views.get('cluster')?.nodeNames, ['n1', 'n2']);
  assert.deepEqual(views.get('node/n1')?.podUids, ['pod-1']);
  assert.deepEqual(views.get('node/n2')?.podUids, ['pod-2']);
  assert.equal(out.aux.length, 1, 'slice membership is kept as aux state');

  const zero = p.apply('EndpointSlice', 'MODIFIED', serviceScaledToZeroSlice());
  const cluster = zero.updates.find((u) => u.kind === 'Service' && u.scopes[0] === 'cluster');
  assert.ok(cluster, 'the empty membership is published (docs/design.md §9)');
  assert.deepEqual((cluster.update.object.value as { podUids: string[] }).podUids, []);
  assert.deepEqual(lines(zero).filter((l) => l.startsWith('remove')), ['remove Service/svc-api scopeExit -> node/n1', 'remove Service/svc-api scopeExit -> node/n2']);
});

test('a relist publishes only differences, including deletions that happened while away', () => {
  const p = withWorld();
  p.apply('Pod', 'ADDED', podWithInitAndSidecar('api-1', 'pod-1', 'n1', '10.244.1.5', 1));
  p.apply('Pod', 'ADDED', podWithInitAndSidecar('api-2', 'pod-2', 'n1', '10.244.1.6', 10));
  p.listStart('Pod');
  const out = emptyProjection();
  p.listObject('Pod', podWithInitAndSidecar('api-1', 'pod-1', 'n1', '10.244.1.5', 1), out);
  p.listDone('Pod', out);
  const pods = out.updates.filter((u) => u.kind === 'Pod');
  assert.equal(pods.length, 1, 'the unchanged pod is not republished');
  assert.equal(pods[0]?.state, 'tombstone');
  const gone = pods[0]?.update.object.value as { uid: string; podIp: string; stopTimeNs: bigint };
  assert.equal(gone.uid, 'pod-2');
  assert.equal(gone.podIp, '10.244.1.6', 'the deletion carries the last known state');
  assert.equal(out.updates.filter((u) => u.kind === 'Container' && u.state === 'tombstone').length, 4);
});

test('a projector restored from published state publishes nothing for the same objects', () => {
  const world: Array<[SourceKind, Record<string, unknown>]> = [
    ['Namespace', namespaceWeb()], ['Node', readyNode()], ['Deployment', deploymentApi()], ['ReplicaSet', replicaSetApi()],
    ['Pod', podWithInitAndSidecar()], ['Service', serviceApi()], ['EndpointSlice', sliceOfApi([['pod-1', 'n1']])],
  ];
  const first = new Projector();
  const published = emptyProjection();
  for (const [kind, o] of world) first.apply(kind, 'ADDED', o, published);
  // What the store's cluster scope holds: the newest update of each object, plus the aux state.
  const latest = new Map(published.updates.filter((u) => u.scopes.includes('cluster')).map((u) => [u.objectKey, u]));
  const restored = new Projector();
  // In key order, as the store lists them: Container/ keys come before their Pod/.
  for (const u of [...latest.values()].sort((a, b) => (a.objectKey < b.objectKey ? -1 : 1))) restored.restore(u.update, u.payload);
  for (const a of published.aux) if (a.value) restored.restoreAux(a.key, a.value);
  restored.finishRestore();
  const again = emptyProjection();
  for (const [kind, o] of world) restored.apply(kind, 'MODIFIED', o, again);
  assert.deepEqual(lines(again), []);
  // and it still notices a real change after the restore
  const moved = restored.apply('EndpointSlice', 'MODIFIED', serviceScaledToZeroSlice());
  assert.ok(lines(moved).includes('remove Service/svc-api scopeExit -> node/n1'), lines(moved).join('\n'));
});

test('a malformed object is skipped and counted, and the projector keeps working', () => {
  const p = withWorld();
  const out = p.apply('Pod', 'ADDED', { metadata: { name: 'no-uid' } });
  assert.deepEqual(out.updates, []);
  assert.equal(p.stats().badObjects, 1);
  assert.ok(p.apply('Pod', 'ADDED', podWithInitAndSidecar()).updates.length > 0);
  assert.deepEqual(p.apply('Pod', 'ADDED', 'garbage').updates, []);
  assert.equal(p.stats().badObjects, 2);
});

test('node scopes are bounded: past the limit a pod goes to the cluster scope only, and enters its node once room returns', () => {
  const p = new Projector({ clock: new ManualClock(Date.parse('2026-11-01T11:00:00Z')), maxNodeScopes: 2 });
  p.apply('Namespace', 'ADDED', namespaceWeb());
  p.apply('Node', 'ADDED', readyNode('n1'));
  const scopesOf = (out: Projection, key: string): string[] => out.updates.filter((u) => u.objectKey === key).flatMap((u) => [...u.scopes]);
  // n1 holds a slot with its Node; a pod bound to a node that does not exist takes the second.
  const a = p.apply('Pod', 'ADDED', podWithInitAndSidecar('a', 'pod-a', 'n1', '10.244.1.5', 1));
  assert.deepEqual(scopesOf(a, 'Pod/pod-a'), ['cluster', 'node/n1']);
  const b = p.apply('Pod', 'ADDED', podWithInitAndSidecar('b', 'pod-b', 'ghost-1', '10.244.1.6', 10));
  assert.deepEqual(scopesOf(b, 'Pod/pod-b'), ['cluster', 'node/ghost-1']);
  // Third name: refused. The pod, its containers and what it would bring stay cluster-only.
  const c = p.apply('Pod', 'ADDED', podWithInitAndSidecar('c', 'pod-c', 'ghost-2', '10.244.1.7', 20));
  assert.ok(c.updates.length > 0);
  for (const u of c.updates) assert.ok(u.scopes.every((s) => !s.startsWith('node/')), `${describe(u)} must stay out of node scopes`);
  const node3 = p.apply('Node', 'ADDED', readyNode('n3'));
  assert.deepEqual(scopesOf(node3, 'Node/node-n3'), ['cluster'], 'a Node is refused too');
  assert.equal(p.stats().nodeScopes, 2);
  assert.equal(p.stats().nodeScopesRefused, 2);
  // ghost-1 loses its only pod: its slot frees, and pod-c enters ghost-2 on its next event.
  const gone = p.apply('Pod', 'DELETED', podWithInitAndSidecar('b', 'pod-b', 'ghost-1', '10.244.1.6', 10));
  assert.deepEqual(scopesOf(gone, 'Pod/pod-b'), ['cluster', 'node/ghost-1'], 'the deletion reaches the scope the pod was in');
  assert.equal(p.stats().nodeScopes, 1);
  const again = podWithInitAndSidecar('c', 'pod-c', 'ghost-2', '10.244.1.7', 20);
  (again['metadata'] as Record<string, unknown>)['labels'] = { app: 'api', touched: 'yes' };
  const entered = p.apply('Pod', 'MODIFIED', again);
  assert.deepEqual(scopesOf(entered, 'Pod/pod-c'), ['cluster', 'node/ghost-2']);
  assert.ok(entered.updates.some((u) => u.objectKey === 'Namespace/ns-web' && u.scopes.includes('node/ghost-2')), 'its namespace enters the new scope');
  assert.equal(p.stats().nodeScopes, 2);
});

test('a projector restored from a store with more node scopes than its limit keeps them all', () => {
  const first = new Projector({ maxNodeScopes: 10 });
  const published = new Map<string, ProjectedUpdate>();
  const keep = (out: Projection): void => {
    for (const u of out.updates) if (u.scopes.includes('cluster')) published.set(u.objectKey, u);
  };
  keep(first.apply('Namespace', 'ADDED', namespaceWeb()));
  for (let i = 0; i < 4; i++) keep(first.apply('Pod', 'ADDED', podWithInitAndSidecar(`p${i}`, `pod-${i}`, `n${i}`, `10.244.1.${i + 10}`, 10 * i + 1)));
  const restored = new Projector({ maxNodeScopes: 2 });
  for (const u of [...published.values()].sort((a, b) => (a.objectKey < b.objectKey ? -1 : 1))) restored.restore(u.update, u.payload);
  restored.finishRestore();
  assert.equal(restored.stats().nodeScopes, 4, 'every node scope in the store is kept');
  const deleted = restored.apply('Pod', 'DELETED', podWithInitAndSidecar('p3', 'pod-3', 'n3', '10.244.1.13', 31));
  assert.ok(deleted.updates.some((u) => u.objectKey === 'Pod/pod-3' && u.scopes.includes('node/n3')), 'a restored pod is deleted from its node scope');
});

test("a service's views are built once per event and once per LIST page, from the state at its end", () => {
  const p = withWorld();
  p.apply('Service', 'ADDED', serviceApi());
  p.apply('EndpointSlice', 'ADDED', sliceOfApi([['pod-1', 'n1'], ['pod-2', 'n1'], ['pod-3', 'n1']]));
  // One event: the service enters n1 with its first member, and its cluster view gains n1.
  const first = p.apply('Pod', 'ADDED', podWithInitAndSidecar('api-1', 'pod-1', 'n1', '10.244.1.5', 1));
  const firstViews = first.updates.filter((u) => u.kind === 'Service').map((u) => u.scopes.join());
  assert.deepEqual(firstViews.sort(), ['cluster', 'node/n1'], 'one update per scope, not one per request for it');
  // One page with two more members: each asks for both views; each view goes out once, complete.
  p.listStart('Pod');
  const page = p.listPage('Pod', [
    podWithInitAndSidecar('api-1', 'pod-1', 'n1', '10.244.1.5', 1),
    podWithInitAndSidecar('api-2', 'pod-2', 'n1', '10.244.1.6', 10),
    podWithInitAndSidecar('api-3', 'pod-3', 'n1', '10.244.1.7', 20),
  ]);
  const views = page.updates.filter((u) => u.kind === 'Service');
  assert.deepEqual(views.map((u) => u.scopes.join()), ['node/n1'], 'the cluster view (members from the slice, nodes [n1]) did not change; the node view once');
  assert.deepEqual((views[0]?.update.object.value as { podUids: string[] }).podUids, ['pod-1', 'pod-2', 'pod-3']);
});

test("a service's node view is sent again when the service changes, not when nothing in it does", () => {
  const p = withWorld();
  p.apply('Service', 'ADDED', serviceApi());
  p.apply('EndpointSlice', 'ADDED', sliceOfApi([['pod-1', 'n1']]));
  p.apply('Pod', 'ADDED', podWithInitAndSidecar('api-1', 'pod-1', 'n1', '10.244.1.5', 1));
  const views = (out: Projection): string[] => out.updates.filter((u) => u.kind === 'Service').map((u) => u.scopes.join()).sort();
  // The same service again: neither its cluster update nor its view on n1 changes.
  assert.deepEqual(views(p.apply('Service', 'MODIFIED', serviceApi())), []);
  // A new port changes what the view holds, although its node and pods are the same.
  const changed = serviceApi();
  (changed['spec'] as { ports: unknown[] }).ports = [{ port: 443, targetPort: 8443, protocol: 'TCP' }];
  assert.deepEqual(views(p.apply('Service', 'MODIFIED', changed)), ['cluster', 'node/n1']);
  assert.deepEqual(views(p.apply('Service', 'MODIFIED', changed)), []);
});
