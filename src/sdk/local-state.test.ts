import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../core/index.ts';
import { PodPhase, newStreamId, timeNsFromMs, updateIdentity, type ResourceUpdate } from '../schema/index.ts';
import { ChangeFeed, type Change } from './changes.ts';
import { LocalState, type AppliedUpdate } from './local-state.ts';
import { T0, container, node, pod, scopeExit, service, workload } from '../testing/index.ts';

const HOUR = 3_600_000;
const T0_MS = Number(T0 / 1_000_000n);

function applied(version: number, update: ResourceUpdate): AppliedUpdate {
  return { version, update, identity: updateIdentity(update) };
}

function setup(retentionMs = HOUR) {
  const clock = new ManualClock(T0_MS + 60_000);
  const feed = new ChangeFeed(1000);
  const state = new LocalState({ clock, retentionMs, changes: feed });
  let v = 0;
  const apply = (u: ResourceUpdate): void => state.apply(applied(++v, u));
  return { clock, feed, state, apply };
}

async function take(it: AsyncIterator<Change>, n: number): Promise<Change[]> {
  const out: Change[] = [];
  for (let i = 0; i < n; i++) out.push((await it.next()).value as Change);
  return out;
}

test('indexes pods by node, namespace, label, owner and container id, and services by member pod', () => {
  const { state, apply } = setup();
  apply(pod({ uid: 'p1', name: 'web-1', namespace: 'shop', node: 'n1', labels: { app: 'web' }, owner: { kind: 'ReplicaSet', name: 'web-rs', uid: 'rs1' }, containers: [{ name: 'app', id: 'c1' }] }));
  apply(pod({ uid: 'p2', name: 'db-1', namespace: 'shop', node: 'n2', labels: { app: 'db' } }));
  apply(pod({ uid: 'p3', name: 'web-2', namespace: 'blog', node: 'n1', labels: { app: 'web' } }));
  apply(service({ uid: 's1', name: 'web', namespace: 'shop', podUids: ['p1', 'p3'] }));
  assert.deepEqual(state.podsOnNode('n1').map((p) => p.uid).sort(), ['p1', 'p3']);
  assert.deepEqual(state.podsInNamespace('shop').map((p) => p.uid).sort(), ['p1', 'p2']);
  assert.deepEqual(state.podsWithLabel('app', 'web').map((p) => p.uid).sort(), ['p1', 'p3']);
  assert.equal(state.podByName('shop', 'web-1')?.uid, 'p1');
  assert.deepEqual(state.servicesOfPod('p3').map((s) => s.name), ['web']);
  assert.equal([...state.indexes.pods.keysBy('containerId', 'c1')][0], 'p1');
  assert.equal([...state.indexes.pods.keysBy('owner', 'rs1')][0], 'p1');
  // Moving a pod moves its index entries: no stale value is left behind.
  apply(pod({ uid: 'p1', name: 'web-1', namespace: 'shop', node: 'n2', labels: { app: 'api' } }));
  assert.deepEqual(state.podsOnNode('n1').map((p) => p.uid), ['p3']);
  assert.deepEqual(state.podsWithLabel('app', 'web').map((p) => p.uid), ['p3']);
  assert.equal(state.indexes.pods.keysBy('containerId', 'c1').size, 0);
});

test('follows the owner chain pod → ReplicaSet → Deployment, also when an owner is only referenced', () => {
  const { state, apply } = setup();
  apply(workload({ kind: 'Deployment', uid: 'd1', name: 'web' }));
  apply(workload({ kind: 'ReplicaSet', uid: 'rs1', name: 'web-7d9f', owner: { kind: 'Deployment', name: 'web', uid: 'd1' } }));
  apply(pod({ uid: 'p1', name: 'web-7d9f-x', owner: { kind: 'ReplicaSet', name: 'web-7d9f', uid: 'rs1' } }));
  apply(pod({ uid: 'p2', name: 'job-x', owner: { kind: 'Job', name: 'nightly', uid: 'j1' } }));
  assert.deepEqual(state.ownerChain('p1').map((o) => [o.kind, o.name, o.object !== undefined]), [['ReplicaSet', 'web-7d9f', true], ['Deployment', 'web', true]]);
  assert.deepEqual(state.ownerChain('p2').map((o) => [o.kind, o.name, o.object]), [['Job', 'nightly', undefined]]);
});

test('keeps deleted and exited objects for the retention window, then forgets them', () => {
  const { state, apply, clock } = setup(HOUR);
  apply(pod({ uid: 'p1', name: 'a', node: 'n1' }));
  apply(pod({ uid: 'p2', name: 'b', node: 'n1' }));
  apply(pod({ uid: 'p1', name: 'a', node: 'n1', stopNs: timeNsFromMs(clock.now()) }));
  apply(scopeExit('Pod', 'p2'));
  assert.deepEqual(state.pods(), [], 'neither is live');
  assert.deepEqual(state.pods({ includeStopped: true }).map((p) => p.uid).sort(), ['p1', 'p2']);
  assert.equal(state.pod('p1'), undefined);
  assert.equal(state.pod('p1', { includeStopped: true })?.stopTimeNs, timeNsFromMs(clock.now()));
  clock.advance(HOUR - 1);
  assert.equal(state.sweep(), 0);
  clock.advance(1);
  assert.equal(state.sweep(), 2);
  assert.equal(state.counts().pods, 0);
  assert.equal(state.pod('p1', { includeStopped: true }), undefined);
});

test('an object that comes back is live again and no longer expires', () => {
  const { state, apply, clock } = setup(1000);
  apply(service({ uid: 's1', name: 'web', podUids: ['p1'] }));
  apply(scopeExit('Service', 's1'));
  apply(service({ uid: 's1', name: 'web', podUids: ['p2'] }));
  clock.advance(5000);
  state.sweep();
  assert.equal(state.service('s1')?.podUids[0], 'p2');
});

test('a snapshot replaces the state: absent objects stop being live, present ones are replaced', async () => {
  const { state, apply, feed } = setup();
  apply(pod({ uid: 'p1', name: 'stays' }));
  apply(pod({ uid: 'p2', name: 'deleted-while-away' }));
  apply(container({ id: 'c2', name: 'app', podUid: 'p2', podName: 'deleted-while-away' }));
  const reader = feed.changes();
  const stream = newStreamId();
  state.applySnapshot([applied(10, pod({ uid: 'p1', name: 'stays', labels: { v: '2' } })), applied(11, pod({ uid: 'p3', name: 'new' }))], 11, stream);
  assert.deepEqual(state.pods().map((p) => p.uid).sort(), ['p1', 'p3']);
  assert.equal(state.pod('p1')?.labels['v'], '2');
  assert.equal(state.container('c2'), undefined, 'its container vanished with it');
  assert.equal(state.container('c2', { includeStopped: true })?.name, 'app', 'still hydratable within retention');
  assert.equal(state.version, 11);
  assert.equal(state.streamId, stream);
  const changes = await take(reader, 5);
  assert.deepEqual(changes.map((c) => c.type === 'snapshot' || c.type === 'overflow' ? c.type : `${c.type} ${c.kind}/${c.uid}`), [
    'updated Pod/p1', 'added Pod/p3', 'removed Pod/p2', 'removed Container/c2', 'snapshot',
  ]);
});

test('a snapshot of the same stream reports no change for objects it already holds at that version', async () => {
  const { state, feed } = setup();
  const stream = newStreamId();
  state.applySnapshot([applied(5, pod({ uid: 'p1', name: 'a' }))], 5, stream);
  const reader = feed.changes();
  state.applySnapshot([applied(5, pod({ uid: 'p1', name: 'a' }))], 7, stream);
  assert.deepEqual((await take(reader, 1)).map((c) => c.type), ['snapshot']);
  // From another stream the same version means nothing: it is reported as a change.
  state.applySnapshot([applied(5, pod({ uid: 'p1', name: 'a' }))], 5, newStreamId());
  assert.deepEqual((await take(reader, 2)).map((c) => c.type), ['updated', 'snapshot']);
});

test('resolves an IP reused by a new pod by time: the connection an hour ago belongs to the old pod', () => {
  const { state, apply, clock } = setup(2 * HOUR);
  const oldStart = T0;
  apply(pod({ uid: 'old', name: 'web-old', node: 'n1', ip: '10.244.1.7', startNs: oldStart }));
  const oneHourIn = timeNsFromMs(T0_MS + HOUR);
  clock.advance(HOUR + 10_000);
  apply(pod({ uid: 'old', name: 'web-old', node: 'n1', ip: '10.244.1.7', startNs: oldStart, stopNs: timeNsFromMs(clock.now()) }));
  clock.advance(5_000);
  const newStart = timeNsFromMs(clock.now());
  apply(pod({ uid: 'new', name: 'web-new', node: 'n1', ip: '10.244.1.7', startNs: newStart }));
  clock.advance(60_000);
  const atOld = state.resolveIp('10.244.1.7', oneHourIn);
  assert.equal(atOld?.kind, 'Pod');
  assert.equal(atOld?.kind === 'Pod' ? atOld.pod?.name : undefined, 'web-old');
  const now = state.resolveIp('10.244.1.7');
  assert.equal(now?.kind === 'Pod' ? now.pod?.name : undefined, 'web-new');
  assert.equal(state.resolveIp('10.244.1.7', T0 - 1n), undefined, 'nobody held it before');
});

test('a finished pod lets go of its IP; host-network pods and node addresses resolve to the node', () => {
  const { state, apply, clock } = setup();
  apply(node({ uid: 'n1', name: 'node-1', ip: '10.0.0.1' }));
  apply(pod({ uid: 'h', name: 'kube-proxy', node: 'node-1', ip: '10.0.0.1', hostIp: '10.0.0.1' }));
  apply(pod({ uid: 'j', name: 'job', node: 'node-1', ip: '10.244.0.9' }));
  clock.advance(1000);
  apply(pod({ uid: 'j', name: 'job', node: 'node-1', ip: '10.244.0.9', phase: PodPhase.SUCCEEDED }));
  clock.advance(1000);
  assert.equal(state.resolveIp('10.244.0.9'), undefined, 'a Succeeded pod keeps podIP in its status, but the IP is free');
  assert.equal(state.resolveIp('10.244.0.9', timeNsFromMs(clock.now() - 1500))?.uid, 'j');
  assert.equal(state.resolveIp('10.0.0.1')?.kind, 'Node');
  apply(service({ uid: 's', name: 'api', clusterIp: '10.96.0.10' }));
  assert.equal(state.resolveIp('10.96.0.10')?.kind, 'Service');
});

test('IP history is bounded by retention', () => {
  const { state, apply, clock } = setup(1000);
  for (let i = 0; i < 50; i++) {
    apply(pod({ uid: `p${i}`, name: `p${i}`, ip: `10.1.0.${i}` }));
    apply(pod({ uid: `p${i}`, name: `p${i}`, ip: `10.1.0.${i}`, stopNs: timeNsFromMs(clock.now()) }));
  }
  assert.equal(state.counts().ips, 50);
  clock.advance(2000);
  state.sweep();
  assert.equal(state.counts().ips, 0);
  assert.equal(state.counts().pods, 0);
});
