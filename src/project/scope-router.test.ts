import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ScopeRouter, type Delta } from './scope-router.ts';

const fmt = (ds: Delta[]) => ds.map((d) => `${d.change} ${d.key} ${d.node}`).sort();

test('the first pod on a node brings its namespace and owner chain into that node scope', () => {
  const r = new ScopeRouter();
  assert.deepEqual(r.linkOwner('RS/1', 'Deploy/1'), []);
  const ds = r.upsertPod('Pod/a', { node: 'n1', namespaceKey: 'ns:web', ownerKey: 'RS/1' });
  assert.deepEqual(fmt(ds), ['enter Deploy/1 n1', 'enter RS/1 n1', 'enter ns:web n1']);
  assert.deepEqual(r.upsertPod('Pod/b', { node: 'n1', namespaceKey: 'ns:web', ownerKey: 'RS/1' }), [], 'a second pod changes nothing');
  assert.deepEqual(fmt(r.removePod('Pod/a')), []);
  assert.deepEqual(fmt(r.removePod('Pod/b')), ['exit Deploy/1 n1', 'exit RS/1 n1', 'exit ns:web n1']);
});

test('an owner linked after its pods moves their counts to the new parent', () => {
  const r = new ScopeRouter();
  r.upsertPod('Pod/a', { node: 'n1', namespaceKey: 'ns:x', ownerKey: 'RS/1' });
  r.upsertPod('Pod/b', { node: 'n2', namespaceKey: 'ns:x', ownerKey: 'RS/1' });
  assert.deepEqual(fmt(r.linkOwner('RS/1', 'Deploy/9')), ['enter Deploy/9 n1', 'enter Deploy/9 n2']);
  assert.deepEqual(r.nodesOf('Deploy/9').sort(), ['n1', 'n2']);
  assert.deepEqual(fmt(r.linkOwner('RS/1', undefined)), ['exit Deploy/9 n1', 'exit Deploy/9 n2']);
});

test('an unscheduled pod is in no node scope until it gets a node', () => {
  const r = new ScopeRouter();
  assert.deepEqual(r.upsertPod('Pod/a', { node: undefined, namespaceKey: 'ns:x', ownerKey: undefined }), []);
  assert.deepEqual(fmt(r.upsertPod('Pod/a', { node: 'n3', namespaceKey: 'ns:x', ownerKey: undefined })), ['enter ns:x n3']);
  assert.equal(r.nodeOfPod('Pod/a'), 'n3');
});

test('a service is in the scopes of the nodes where its member pods run', () => {
  const r = new ScopeRouter();
  r.upsertPod('Pod/a', { node: 'n1', namespaceKey: 'ns:x', ownerKey: undefined });
  r.upsertPod('Pod/b', { node: 'n2', namespaceKey: 'ns:x', ownerKey: undefined });
  assert.deepEqual(fmt(r.setServicePods('Svc/s', ['Pod/a', 'Pod/b'])), ['enter Svc/s n1', 'enter Svc/s n2']);
  assert.deepEqual(r.servicePodsOn('Svc/s', 'n1'), ['Pod/a']);
  assert.deepEqual(fmt(r.setServicePods('Svc/s', ['Pod/b'])), ['exit Svc/s n1']);
  assert.deepEqual(fmt(r.setServicePods('Svc/s', [])), ['exit Svc/s n2'], 'scaled to zero: the service leaves every node');
  assert.deepEqual(r.nodesOf('Svc/s'), []);
});

test('a member pod deleted takes its service out of its node when it was the last one there', () => {
  const r = new ScopeRouter();
  r.upsertPod('Pod/a', { node: 'n1', namespaceKey: 'ns:x', ownerKey: undefined });
  r.setServicePods('Svc/s', ['Pod/a']);
  assert.deepEqual(fmt(r.removePod('Pod/a')), ['exit Svc/s n1', 'exit ns:x n1']);
  assert.deepEqual(r.servicesOfPod('Pod/a'), []);
});

test('a service that lists a pod before the pod is known counts it once the pod arrives', () => {
  const r = new ScopeRouter();
  assert.deepEqual(r.setServicePods('Svc/s', ['Pod/late']), []);
  assert.deepEqual(fmt(r.upsertPod('Pod/late', { node: 'n4', namespaceKey: 'ns:x', ownerKey: undefined })), ['enter Svc/s n4', 'enter ns:x n4']);
});

test('owner cycles are refused instead of looping', () => {
  const r = new ScopeRouter();
  r.linkOwner('A', 'B');
  assert.deepEqual(r.linkOwner('B', 'A'), []);
  r.upsertPod('Pod/a', { node: 'n1', namespaceKey: 'ns', ownerKey: 'A' });
  assert.deepEqual(r.nodesOf('B'), ['n1']);
});

test('random pod churn leaves counts equal to a recount from scratch', () => {
  let seed = 7;
  const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
  const r = new ScopeRouter();
  for (let i = 0; i < 5; i++) r.linkOwner(`RS/${i}`, `Deploy/${i % 2}`);
  const live = new Map<string, { node: string; rs: number }>();
  const present = new Set<string>();
  for (let step = 0; step < 3_000; step++) {
    const pod = `Pod/${rand(40)}`;
    let ds: Delta[];
    if (rand(3) === 0) {
      ds = r.removePod(pod);
      live.delete(pod);
    } else {
      const p = { node: `n${rand(6)}`, rs: rand(5) };
      ds = r.upsertPod(pod, { node: p.node, namespaceKey: 'ns:x', ownerKey: `RS/${p.rs}` });
      live.set(pod, p);
    }
    for (const d of ds) {
      const id = `${d.key}@${d.node}`;
      if (d.change === 'enter') {
        assert.ok(!present.has(id), `double enter ${id}`);
        present.add(id);
      } else {
        assert.ok(present.delete(id), `exit without enter ${id}`);
      }
    }
  }
  const expected = new Set<string>();
  for (const { node, rs } of live.values()) {
    expected.add(`ns:x@${node}`);
    expected.add(`RS/${rs}@${node}`);
    expected.add(`Deploy/${rs % 2}@${node}`);
  }
  assert.deepEqual([...present].sort(), [...expected].sort());
});
