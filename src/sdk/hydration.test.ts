import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../core/index.ts';
import { ContainerType, timeNsFromMs, updateIdentity, type ResourceUpdate, type Upid } from '../schema/index.ts';
import { Hydrator, ProcessTable } from './hydration.ts';
import { LocalState } from './local-state.ts';
import { container, namespace, pod, service, workload } from '../testing/index.ts';

const ASID = 7;

function nodeWithPods(podCount: number, containersPerPod = 3) {
  const clock = new ManualClock(1_800_000_000_000);
  const state = new LocalState({ clock, retentionMs: 3_600_000 });
  const processes = new ProcessTable(100_000);
  const hydrator = new Hydrator(state, processes);
  let v = 0;
  const apply = (u: ResourceUpdate): void => state.apply({ version: ++v, update: u, identity: updateIdentity(u) });
  apply(namespace({ uid: 'ns-shop', name: 'shop' }));
  apply(workload({ kind: 'Deployment', uid: 'dep', name: 'checkout', namespace: 'shop' }));
  apply(workload({ kind: 'ReplicaSet', uid: 'rs', name: 'checkout-7d9f', namespace: 'shop', owner: { kind: 'Deployment', name: 'checkout', uid: 'dep' } }));
  const podUids: string[] = [];
  let pid = 1000;
  for (let p = 0; p < podCount; p++) {
    const uid = `pod-${p}`;
    podUids.push(uid);
    const cs = Array.from({ length: containersPerPod }, (_, k) => ({ name: `c${k}`, id: `cid-${p}-${k}` }));
    apply(pod({ uid, name: `checkout-7d9f-${p}`, namespace: 'shop', node: 'n1', ip: `10.244.0.${p}`, owner: { kind: 'ReplicaSet', name: 'checkout-7d9f', uid: 'rs' }, containers: cs, labels: { app: 'checkout' } }));
    for (const c of cs) {
      apply(container({ id: c.id, name: c.name, podUid: uid, podName: `checkout-7d9f-${p}`, namespace: 'shop' }));
      processes.register(++pid, 5000 + pid, c.id);
    }
  }
  apply(service({ uid: 'svc', name: 'checkout', namespace: 'shop', podUids, nodes: ['n1'] }));
  return { clock, state, processes, hydrator, apply };
}

test('hydrates a UPID to container, pod, namespace, node, services, ReplicaSet and Deployment', () => {
  const { hydrator } = nodeWithPods(2);
  const h = hydrator.hydrate(ASID, { asid: ASID, pid: 1001, startTimeTicks: 6001 });
  assert.ok(h);
  assert.deepEqual(
    [h.containerName, h.containerId, h.podName, h.namespace, h.node, h.services, h.replicaSet, h.deployment, h.stopped],
    ['c0', 'cid-0-0', 'checkout-7d9f-0', 'shop', 'n1', ['checkout'], 'checkout-7d9f', 'checkout', false],
  );
  assert.equal(h.labels['app'], 'checkout');
  assert.ok(Object.isFrozen(h));
  assert.equal(hydrator.hydrate(ASID, { asid: ASID, pid: 1001, startTimeTicks: 1 }), undefined, 'a reused pid with another start time is another process');
  assert.equal(hydrator.hydrate(ASID, { asid: 8, pid: 1001, startTimeTicks: 6001 }), undefined, 'another agent\'s UPID');
});

test('hydrates 10,000 rows in one call, sharing one result per container', () => {
  const { hydrator } = nodeWithPods(110);
  const rows: Upid[] = [];
  for (let i = 0; i < 10_000; i++) {
    const pid = 1001 + (i % 330);
    rows.push({ asid: ASID, pid, startTimeTicks: 5000 + pid });
  }
  rows[17] = { asid: ASID, pid: 99, startTimeTicks: 1 };
  const out = hydrator.hydrateBatch(ASID, rows);
  assert.equal(out.length, 10_000);
  assert.equal(out[17], undefined);
  assert.equal(out[0]?.containerId, 'cid-0-0');
  assert.equal(out[329]?.containerId, 'cid-109-2');
  assert.strictEqual(out[0], out[330], 'the same container gives the same object (no per-row allocation)');
  assert.equal(new Set(out.filter(Boolean)).size, 330);
  // Reusing the output array.
  const again = hydrator.hydrateBatch(ASID, rows.slice(0, 5), out);
  assert.strictEqual(again, out);
  assert.equal(again.length, 5);
});

test('names come from the state at query time, also after the pod stopped (within retention)', () => {
  const { hydrator, apply, clock } = nodeWithPods(1);
  const upid = { asid: ASID, pid: 1001, startTimeTicks: 6001 };
  assert.equal(hydrator.hydrate(ASID, upid)?.stopped, false);
  const stopNs = timeNsFromMs(clock.now());
  apply(pod({ uid: 'pod-0', name: 'checkout-7d9f-0', namespace: 'shop', node: 'n1', stopNs, owner: { kind: 'ReplicaSet', name: 'checkout-7d9f', uid: 'rs' } }));
  apply(container({ id: 'cid-0-0', name: 'c0', podUid: 'pod-0', podName: 'checkout-7d9f-0', namespace: 'shop', stopNs }));
  const stopped = hydrator.hydrate(ASID, upid);
  assert.equal(stopped?.stopped, true);
  assert.equal(stopped?.podName, 'checkout-7d9f-0');
  assert.equal(stopped?.deployment, 'checkout');
});

test('a process registered before its container metadata arrives hydrates once it does (from the pod\'s list first)', () => {
  const { hydrator, processes, apply } = nodeWithPods(0);
  processes.register(42, 4242, 'late');
  assert.equal(hydrator.hydrate(ASID, { asid: ASID, pid: 42, startTimeTicks: 4242 }), undefined);
  apply(pod({ uid: 'p', name: 'web', namespace: 'shop', node: 'n1', containers: [{ name: 'istio-proxy', id: 'late', type: ContainerType.SIDECAR }] }));
  const fromPod = hydrator.hydrate(ASID, { asid: ASID, pid: 42, startTimeTicks: 4242 });
  assert.deepEqual([fromPod?.containerName, fromPod?.containerType, fromPod?.podName], ['istio-proxy', ContainerType.SIDECAR, 'web']);
});

test('the process table is bounded: the oldest registrations go first', () => {
  const table = new ProcessTable(3);
  for (let pid = 1; pid <= 5; pid++) table.register(pid, pid * 10, `c${pid}`);
  assert.equal(table.size, 3);
  assert.equal(table.lookup(1, 10), undefined);
  assert.equal(table.lookup(5, 50), 'c5');
  table.register(5, 51, 'c5b'); // pid reuse: a new process
  assert.deepEqual([table.lookup(5, 50), table.lookup(5, 51), table.size], ['c5', 'c5b', 3]);
  assert.equal(table.unregister(5, 50), true);
  table.forgetContainers(new Set(['c5b']));
  assert.deepEqual(table.entries(), [[4, 40, 'c4']]);
  assert.throws(() => table.register(-1, 0, 'x'), { code: 'SDK_INVALID_ARGUMENT' });
  assert.throws(() => table.register(1, 0, ''), { code: 'SDK_INVALID_ARGUMENT' });
});
