import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../core/index.ts';
import { RangeSource, type NetworkRanges } from '../schema/index.ts';
import { Projector, emptyProjection, type ProjectedUpdate, type Projection, type SourceKind } from './index.ts';

// Small Kubernetes objects with exactly the fields the ranges read.
const node = (name: string, podCIDRs: string[] = [], ip = '192.168.0.1'): Record<string, unknown> => nodeWith(name, podCIDRs, [['InternalIP', ip]]);
const nodeWith = (name: string, podCIDRs: string[], addresses: Array<[string, string]>): Record<string, unknown> => ({
  metadata: { name, uid: `node-${name}` },
  spec: podCIDRs.length > 0 ? { podCIDR: podCIDRs[0], podCIDRs } : {},
  status: { addresses: addresses.map(([type, address]) => ({ type, address })) },
});
const pod = (uid: string, nodeName: string, ips: string[], hostIP = '192.168.0.1', hostNetwork = false): Record<string, unknown> => ({
  metadata: { name: uid, namespace: 'default', uid },
  spec: { nodeName, hostNetwork, containers: [{ name: 'app' }] },
  status: { phase: 'Running', hostIP, podIP: ips[0], podIPs: ips.map((ip) => ({ ip })) },
});
const service = (uid: string, clusterIPs: string[]): Record<string, unknown> => ({
  metadata: { name: uid, namespace: 'default', uid },
  spec: { type: 'ClusterIP', clusterIP: clusterIPs[0] ?? 'None', clusterIPs, ports: [{ port: 80 }] },
});
const serviceCidr = (name: string, cidrs: string[]): Record<string, unknown> => ({ metadata: { name, uid: `scidr-${name}` }, spec: { cidrs } });

const rangesIn = (p: Projection): ProjectedUpdate[] => p.updates.filter((u) => u.kind === 'NetworkRanges');
function only(p: Projection): { ranges: NetworkRanges; update: ProjectedUpdate } {
  const found = rangesIn(p);
  assert.equal(found.length, 1, `one NetworkRanges update, got ${found.length}`);
  const update = found[0] as ProjectedUpdate;
  assert.equal(update.update.object.case, 'networkRanges');
  return { ranges: update.update.object.value as NetworkRanges, update };
}

function projector(clock = new ManualClock(1_000_000)): Projector {
  return new Projector({ clock, networkRangesShrinkAfterMs: 60_000 });
}

test('pod ranges come from Node.spec.podCIDRs, widened to a /16 block, on the cluster scope and the node scope', () => {
  const p = projector();
  const { ranges, update } = only(p.apply('Node', 'ADDED', node('n1', ['10.244.1.0/24'])));
  assert.deepEqual(ranges.podCidrs, ['10.244.0.0/16']);
  assert.equal(ranges.podSource, RangeSource.NODE_SPEC);
  assert.deepEqual(ranges.nodeCidrs, ['192.168.0.0/16'], 'and its InternalIP a node range');
  assert.equal(ranges.uid, 'cluster');
  assert.deepEqual([...update.scopes], ['cluster', 'node/n1']);
});

test('a new node or pod in an already covered block publishes no NetworkRanges change', () => {
  const p = projector();
  p.apply('Node', 'ADDED', node('n1', ['10.244.1.0/24']));
  p.apply('Service', 'ADDED', service('s1', ['10.96.0.1']));
  for (let i = 2; i < 40; i++) {
    const out = p.apply('Node', 'ADDED', node(`n${i}`, [`10.244.${i}.0/24`]));
    // The new node scope gets the current ranges (it holds nothing yet), and nothing else does.
    const r = rangesIn(out);
    assert.equal(r.length, 1);
    assert.deepEqual([...(r[0] as ProjectedUpdate).scopes], [`node/n${i}`]);
    assert.equal((r[0] as ProjectedUpdate).viewOnly, true);
  }
  for (let i = 0; i < 100; i++) {
    assert.deepEqual(rangesIn(p.apply('Pod', 'ADDED', pod(`p${i}`, 'n2', [`10.244.2.${i + 2}`]))), [], `pod ${i}`);
  }
  assert.deepEqual(rangesIn(p.apply('Service', 'ADDED', service('s2', ['10.96.200.7']))), [], 'a cluster IP inside the /12');
});

test('nodes without podCIDRs: pod ranges are derived from the observed pod IPs, host-network pods ignored', () => {
  const p = projector();
  const known = only(p.apply('Node', 'ADDED', node('n1', [], '172.18.0.10')));
  assert.deepEqual(known.ranges.podCidrs, [], 'no pod range known yet: only the node range');
  assert.deepEqual(known.ranges.nodeCidrs, ['172.18.0.0/16']);
  assert.deepEqual(rangesIn(p.apply('Pod', 'ADDED', pod('hostnet', 'n1', ['172.18.0.10'], '172.18.0.10', true))), []);
  const first = only(p.apply('Pod', 'ADDED', pod('a', 'n1', ['10.32.7.9'], '172.18.0.10')));
  assert.deepEqual(first.ranges.podCidrs, ['10.32.0.0/16']);
  assert.equal(first.ranges.podSource, RangeSource.OBSERVED);
  assert.deepEqual(rangesIn(p.apply('Pod', 'ADDED', pod('b', 'n1', ['10.32.7.10'], '172.18.0.10'))), [], 'same block');
  // A pod seen before its Node: its block counts once the Node is there (until then its node
  // scope only gets the current ranges).
  assert.deepEqual(rangesIn(p.apply('Pod', 'ADDED', pod('c', 'n2', ['10.40.1.2'], '172.18.0.11'))).map((u) => [...u.scopes]), [['node/n2']]);
  const second = only(p.apply('Node', 'ADDED', node('n2', [], '172.18.0.11')));
  assert.deepEqual(second.ranges.podCidrs, ['10.32.0.0/16', '10.40.0.0/16']);
});

test('a pod IP outside its node podCIDRs makes the pod source mixed', () => {
  const p = projector();
  p.apply('Node', 'ADDED', node('n1', ['10.244.1.0/24']));
  const { ranges } = only(p.apply('Pod', 'ADDED', pod('a', 'n1', ['100.64.3.4'])));
  assert.deepEqual(ranges.podCidrs, ['10.244.0.0/16', '100.64.0.0/16']);
  assert.equal(ranges.podSource, RangeSource.MIXED);
});

test('IPv6 and dual stack: per-node /64s widen to /48, cluster IPs to /108', () => {
  const p = projector();
  const n = only(p.apply('Node', 'ADDED', node('n1', ['10.244.1.0/24', 'fd00:10:244:1::/64'])));
  assert.deepEqual(n.ranges.podCidrs, ['10.244.0.0/16', 'fd00:10:244::/48']);
  const s = only(p.apply('Service', 'ADDED', service('s1', ['10.96.0.10', 'fd00:10:96::a'])));
  assert.deepEqual(s.ranges.serviceCidrs, ['10.96.0.0/12', 'fd00:10:96::/108']);
  assert.equal(s.ranges.serviceSource, RangeSource.OBSERVED);
  // Observed IPv6 pod IPs on a node without podCIDRs: their /64, widened.
  const o = only(p.apply('Pod', 'ADDED', pod('a', 'n2', ['fd00:99:1:2::5'])));
  assert.deepEqual([...o.update.scopes], ['node/n2'], 'n2 has no Node yet: its scope gets the ranges, unchanged');
  const n2 = only(p.apply('Node', 'ADDED', node('n2')));
  assert.deepEqual(n2.ranges.podCidrs, ['10.244.0.0/16', 'fd00:10:244::/48', 'fd00:99:1::/48']);
});

test('the service range is widened only where the wider block holds no pod range', () => {
  const p = projector();
  // Pods in 10.100.0.0/24 lie inside 10.96.0.0/12: the service range stops at /16.
  p.apply('Node', 'ADDED', node('n1', ['10.100.0.0/24']));
  const { ranges } = only(p.apply('Service', 'ADDED', service('s1', ['10.96.0.1'])));
  assert.deepEqual(ranges.serviceCidrs, ['10.96.0.0/16']);
});

test('ServiceCIDR objects are authoritative and replace a derived range at once', () => {
  const p = projector();
  only(p.apply('Service', 'ADDED', service('s1', ['10.96.0.1'])));
  const { ranges } = only(p.apply('ServiceCIDR', 'ADDED', serviceCidr('kubernetes', ['10.96.0.0/16'])));
  assert.deepEqual(ranges.serviceCidrs, ['10.96.0.0/16']);
  assert.equal(ranges.serviceSource, RangeSource.SERVICE_CIDR);
  const more = only(p.apply('ServiceCIDR', 'ADDED', serviceCidr('extra', ['10.97.0.0/16'])));
  assert.deepEqual(more.ranges.serviceCidrs, ['10.96.0.0/15'], 'adjacent ranges merge');
  const out = p.apply('ServiceCIDR', 'DELETED', serviceCidr('extra', ['10.97.0.0/16']));
  assert.deepEqual(rangesIn(out), [], 'a narrowing waits');
  assert.deepEqual(out.aux.map((a) => [a.key, a.value]), [['servicecidr/scidr-extra', undefined]]);
});

test('a narrowing is published only after it held for the hold time', () => {
  const clock = new ManualClock(1_000_000);
  const p = projector(clock);
  p.apply('Node', 'ADDED', node('n1', ['10.244.1.0/24']));
  only(p.apply('Node', 'ADDED', node('n2', ['10.250.1.0/24'])));
  assert.deepEqual(rangesIn(p.apply('Node', 'DELETED', node('n2', ['10.250.1.0/24']))), []);
  clock.advance(30_000);
  assert.deepEqual(rangesIn(p.apply('Node', 'MODIFIED', node('n1', ['10.244.1.0/24']))), []);
  // The node comes back within the hold: nothing was published for its leaving, and its scope
  // still holds the current ranges.
  assert.deepEqual(rangesIn(p.apply('Node', 'ADDED', node('n2', ['10.250.1.0/24']))), []);
  p.apply('Node', 'DELETED', node('n2', ['10.250.1.0/24']));
  clock.advance(60_000);
  const { ranges, update } = only(p.apply('Node', 'MODIFIED', node('n1', ['10.244.1.0/24'])));
  assert.deepEqual(ranges.podCidrs, ['10.244.0.0/16']);
  assert.deepEqual([...update.scopes], ['cluster', 'node/n1']);
});

test('a new node scope gets the ranges when its first pod arrives, in the same projection', () => {
  const p = projector();
  p.apply('Node', 'ADDED', node('n1', ['10.244.1.0/24']));
  // A pod bound to a node without a Node object still opens that node's scope.
  const out = p.apply('Pod', 'ADDED', pod('a', 'n9', ['10.244.9.3']));
  const r = rangesIn(out);
  assert.equal(r.length, 1);
  assert.deepEqual([...(r[0] as ProjectedUpdate).scopes], ['node/n9']);
  assert.deepEqual(rangesIn(p.apply('Pod', 'ADDED', pod('b', 'n9', ['10.244.9.4']))), [], 'only once');
});

test('one change goes once to every live node scope', () => {
  const p = projector();
  for (let i = 1; i <= 5; i++) p.apply('Node', 'ADDED', node(`n${i}`, ['10.244.1.0/24']));
  const { update } = only(p.apply('Service', 'ADDED', service('s1', ['10.96.0.1'])));
  assert.deepEqual([...update.scopes].sort(), ['cluster', 'node/n1', 'node/n2', 'node/n3', 'node/n4', 'node/n5']);
});

test('a restart rebuilds the ranges from the store and republishes nothing unchanged', () => {
  const clock = new ManualClock(1_000_000);
  const p = projector(clock);
  const world: Array<[SourceKind, Record<string, unknown>]> = [
    ['Node', node('n1', [], '172.18.0.10')],
    ['Node', node('n2', ['10.244.2.0/24'], '172.18.0.11')],
    ['Pod', pod('a', 'n1', ['10.32.7.9'], '172.18.0.10')],
    ['Pod', pod('b', 'n2', ['10.244.2.3'], '172.18.0.11')],
    ['Service', service('s1', ['10.96.0.1'])],
    ['ServiceCIDR', serviceCidr('kubernetes', ['10.96.0.0/12'])],
  ];
  const published = emptyProjection();
  for (const [kind, o] of world) p.apply(kind, 'ADDED', o, published);
  // What the store's cluster scope holds: the latest update of each object, and the aux state.
  const latest = new Map<string, ProjectedUpdate>();
  for (const u of published.updates) if (u.scopes.includes('cluster')) latest.set(u.objectKey, u);
  const restored = projector(clock);
  for (const u of latest.values()) restored.restore(u.update, u.payload);
  for (const a of published.aux) if (a.value) restored.restoreAux(a.key, a.value);
  restored.finishRestore();
  const again = emptyProjection();
  for (const [kind, o] of world) restored.apply(kind, 'MODIFIED', o, again);
  restored.apply('Pod', 'ADDED', pod('c', 'n1', ['10.32.7.11'], '172.18.0.10'), again);
  clock.advance(120_000);
  restored.apply('Pod', 'ADDED', pod('d', 'n2', ['10.244.2.9'], '172.18.0.11'), again);
  assert.deepEqual(rangesIn(again), [], 'the restored projector holds the same ranges');
  // And it still publishes a real change.
  const { ranges } = only(restored.apply('Node', 'ADDED', node('n3', ['10.10.0.0/24'])));
  assert.deepEqual(ranges.podCidrs, ['10.10.0.0/16', '10.32.0.0/16', '10.244.0.0/16']);
  assert.deepEqual(ranges.serviceCidrs, ['10.96.0.0/12']);
  assert.deepEqual(ranges.nodeCidrs, ['172.18.0.0/16', '192.168.0.0/16']);
});

test('a relist without the ServiceCIDRs falls back to the derived service range', () => {
  const p = projector();
  p.apply('Service', 'ADDED', service('s1', ['10.96.0.1']));
  p.apply('ServiceCIDR', 'ADDED', serviceCidr('kubernetes', ['10.96.0.0/16']));
  p.listStart('ServiceCIDR');
  const { ranges } = only(p.listDone('ServiceCIDR'));
  assert.deepEqual(ranges.serviceCidrs, ['10.96.0.0/12']);
  assert.equal(ranges.serviceSource, RangeSource.OBSERVED);
});

test('node ranges: an InternalIP gives its /24 widened to a /16 (ExternalIPs ignored); nodes joining inside it change nothing', () => {
  const p = projector();
  const first = only(p.apply('Node', 'ADDED', nodeWith('n1', ['10.244.1.0/24'], [['InternalIP', '172.18.0.10'], ['ExternalIP', '34.1.2.3'], ['Hostname', 'n1']])));
  assert.deepEqual(first.ranges.nodeCidrs, ['172.18.0.0/16']);
  assert.deepEqual([...first.update.scopes], ['cluster', 'node/n1']);
  // Same /24, another /24 of the same /16, a heartbeat: only the new node scopes get the ranges.
  for (const [name, ip] of [['n2', '172.18.0.11'], ['n3', '172.18.7.1']] as const) {
    const r = rangesIn(p.apply('Node', 'ADDED', node(name, [`10.244.${name.slice(1)}.0/24`], ip)));
    assert.deepEqual(r.map((u) => [[...u.scopes], u.viewOnly]), [[[`node/${name}`], true]], name);
  }
  assert.deepEqual(rangesIn(p.apply('Node', 'MODIFIED', nodeWith('n1', ['10.244.1.0/24'], [['InternalIP', '172.18.0.10'], ['ExternalIP', '34.9.9.9']]))), [], 'an ExternalIP changed');
  // Dual stack: the IPv6 InternalIP's /64, widened to a /48.
  const v6 = only(p.apply('Node', 'ADDED', nodeWith('n4', ['10.244.4.0/24'], [['InternalIP', '172.18.0.14'], ['InternalIP', 'fd00:172:18::e']])));
  assert.deepEqual(v6.ranges.nodeCidrs, ['172.18.0.0/16', 'fd00:172:18::/48']);
});

test('node ranges are widened only where they overlap no pod or service range, and leave out blocks holding pods', () => {
  const p = projector();
  // Calico's default pool around the nodes' subnet: the node /16 would overlap the pod block.
  const calico = only(p.apply('Node', 'ADDED', node('n1', ['192.168.36.0/24'], '192.168.1.5')));
  assert.deepEqual(calico.ranges.podCidrs, ['192.168.0.0/16']);
  assert.deepEqual(calico.ranges.nodeCidrs, ['192.168.1.0/24']);
  // A node inside the derived service range's /12: its /24 only.
  p.apply('Service', 'ADDED', service('s1', ['10.96.0.1']));
  const inService = only(p.apply('Node', 'ADDED', node('n2', ['192.168.37.0/24'], '10.100.3.4')));
  assert.deepEqual(inService.ranges.serviceCidrs, ['10.96.0.0/12']);
  assert.deepEqual(inService.ranges.nodeCidrs, ['10.100.3.0/24', '192.168.1.0/24']);
  // VPC-native pods (no podCIDRs, pods in the nodes' subnets): pods win where they share a block.
  p.apply('Node', 'ADDED', node('n3', [], '100.64.9.10'));
  p.apply('Pod', 'ADDED', pod('a', 'n3', ['100.64.9.20'], '100.64.9.10'));
  const vpc = only(p.apply('Node', 'ADDED', node('n4', [], '100.64.5.10')));
  assert.ok(vpc.ranges.podCidrs.includes('100.64.0.0/16'));
  assert.deepEqual(vpc.ranges.nodeCidrs, ['10.100.3.0/24', '100.64.5.0/24', '192.168.1.0/24'], 'n3 shares its /24 with a pod; n4 does not (yet)');
  // A pod appears in n4's /24: the pod ranges do not change, the node range goes at once.
  const claimed = only(p.apply('Pod', 'ADDED', pod('b', 'n4', ['100.64.5.30'], '100.64.5.10')));
  assert.deepEqual(claimed.ranges.podCidrs, vpc.ranges.podCidrs);
  assert.deepEqual(claimed.ranges.nodeCidrs, ['10.100.3.0/24', '192.168.1.0/24']);
});

test('a node range is withdrawn only after the hold', () => {
  const clock = new ManualClock(1_000_000);
  const p = projector(clock);
  p.apply('Node', 'ADDED', node('n1', ['10.244.1.0/24'], '172.18.0.10'));
  const both = only(p.apply('Node', 'ADDED', node('n2', ['10.244.2.0/24'], '172.30.0.10')));
  assert.deepEqual(both.ranges.nodeCidrs, ['172.18.0.0/16', '172.30.0.0/16']);
  assert.deepEqual(rangesIn(p.apply('Node', 'DELETED', node('n2', ['10.244.2.0/24'], '172.30.0.10'))), []);
  clock.advance(30_000);
  assert.deepEqual(rangesIn(p.apply('Node', 'MODIFIED', node('n1', ['10.244.1.0/24'], '172.18.0.10'))), []);
  clock.advance(31_000);
  const { ranges } = only(p.apply('Node', 'MODIFIED', node('n1', ['10.244.1.0/24'], '172.18.0.10')));
  assert.deepEqual(ranges.nodeCidrs, ['172.18.0.0/16']);
  assert.deepEqual(ranges.podCidrs, ['10.244.0.0/16']);
});

test('a restore rebuilds the node ranges from NodeUpdates, and a replayed node tombstone leaves them', () => {
  const clock = new ManualClock(1_000_000);
  const p = projector(clock);
  const published = emptyProjection();
  p.apply('Node', 'ADDED', node('n1', ['10.244.1.0/24'], '172.18.0.10'), published);
  p.apply('Node', 'ADDED', node('n2', ['10.244.2.0/24'], '172.30.0.10'), published);
  const latest = new Map<string, ProjectedUpdate>();
  for (const u of published.updates) if (u.scopes.includes('cluster')) latest.set(u.objectKey, u);
  assert.deepEqual((latest.get('NetworkRanges/cluster')?.update.object.value as NetworkRanges).nodeCidrs, ['172.18.0.0/16', '172.30.0.0/16']);
  // n2's deletion as the store's history holds it.
  const gone = p.apply('Node', 'DELETED', node('n2', ['10.244.2.0/24'], '172.30.0.10'));
  const nodeTombstone = gone.updates.find((u) => u.kind === 'Node') as ProjectedUpdate;
  // Restored without the tombstone: the same ranges, nothing republished.
  const same = projector(clock);
  for (const u of latest.values()) same.restore(u.update, u.payload);
  same.finishRestore();
  assert.deepEqual(rangesIn(same.apply('Node', 'MODIFIED', node('n1', ['10.244.1.0/24'], '172.18.0.10'))), []);
  clock.advance(120_000);
  assert.deepEqual(rangesIn(same.apply('Node', 'MODIFIED', node('n1', ['10.244.1.0/24'], '172.18.0.10'))), [], 'the node inputs were restored: no narrowing after the hold');
  // Restored, then the tombstone replayed (a projector image older than the store's head).
  const replayed = projector(clock);
  for (const u of latest.values()) replayed.restore(u.update, u.payload);
  replayed.replay(nodeTombstone.update, nodeTombstone.payload, true);
  replayed.finishRestore();
  assert.deepEqual(rangesIn(replayed.apply('Node', 'MODIFIED', node('n1', ['10.244.1.0/24'], '172.18.0.10'))), [], 'a narrowing waits');
  clock.advance(120_000);
  const { ranges } = only(replayed.apply('Node', 'MODIFIED', node('n1', ['10.244.1.0/24'], '172.18.0.10')));
  assert.deepEqual(ranges.nodeCidrs, ['172.18.0.0/16']);
});
