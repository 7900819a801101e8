import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../core/index.ts';
import { create, newStreamId, updateIdentity, ResourceUpdateSchema, type ResourceUpdate } from '../schema/index.ts';
import { LocalState } from './local-state.ts';
import { T0, node, pod, secondsAfterT0, service } from '../testing/index.ts';

const T0_MS = Number(T0 / 1_000_000n);

function ranges(podCidrs: string[], serviceCidrs: string[], nodeCidrs: string[] = []): ResourceUpdate {
  return create(ResourceUpdateSchema, { object: { case: 'networkRanges', value: { uid: 'cluster', podCidrs, serviceCidrs, podSource: 1, serviceSource: 3, nodeCidrs } } });
}

function setup() {
  const clock = new ManualClock(T0_MS + 60_000);
  const state = new LocalState({ clock, retentionMs: 3_600_000 });
  let v = 0;
  const apply = (u: ResourceUpdate): void => state.apply({ version: ++v, update: u, identity: updateIdentity(u) });
  return { clock, state, apply };
}

test('classifyIp answers from objects first, then the most specific range, else external', () => {
  const { state, apply } = setup();
  assert.equal(state.networkRanges(), undefined);
  assert.equal(state.classifyIp('10.244.1.5'), 'external', 'no ranges yet: only known objects are in the cluster');
  apply(ranges(['10.0.0.0/8', 'fd00:10:244::/48'], ['10.96.0.0/12']));
  apply(pod({ uid: 'p1', name: 'web-1', node: 'n1', ip: '10.244.1.5' }));
  apply(node({ uid: 'n1', name: 'n1', ip: '192.168.0.11' }));
  apply(service({ uid: 's1', name: 'web', clusterIp: '10.96.0.10' }));
  assert.deepEqual(state.networkRanges()?.podCidrs, ['10.0.0.0/8', 'fd00:10:244::/48']);
  assert.equal(state.classifyIp('10.244.1.5'), 'pod');
  assert.equal(state.classifyIp('192.168.0.11'), 'node');
  assert.equal(state.classifyIp('10.96.0.10'), 'service');
  assert.equal(state.classifyIp('10.96.44.1'), 'service', 'inside 10.0.0.0/8 too: the /12 is more specific');
  assert.equal(state.classifyIp('10.7.0.1'), 'pod', 'an unknown pod of the pod range');
  assert.equal(state.classifyIp('fd00:10:244:3::9'), 'pod');
  assert.equal(state.classifyIp('::ffff:10.244.1.5'), 'pod', 'IPv4-mapped IPv6 is the IPv4 address');
  assert.equal(state.classifyIp('8.8.8.8'), 'external');
  assert.throws(() => state.classifyIp('10.0.0.300'), { code: 'SDK_INVALID_ARGUMENT' });
  assert.equal(state.resolveIp('10.244.1.5')?.kind, 'Pod');
});

test('classifyIp at a past time names what held the IP then, and the ranges survive a snapshot', () => {
  const { clock, state, apply } = setup();
  apply(ranges(['10.244.0.0/16'], ['10.96.0.0/12']));
  apply(pod({ uid: 'p1', name: 'web-1', node: 'n1', ip: '172.20.0.5', startNs: secondsAfterT0(1) }));
  clock.advance(60_000);
  apply(pod({ uid: 'p1', name: 'web-1', node: 'n1', ip: '172.20.0.5', startNs: secondsAfterT0(1), stopNs: secondsAfterT0(100) }));
  assert.equal(state.classifyIp('172.20.0.5', secondsAfterT0(50)), 'pod', 'the pod held it then');
  assert.equal(state.classifyIp('172.20.0.5'), 'external', 'outside every range, and nobody holds it now');
  const r = ranges(['10.245.0.0/16'], ['10.96.0.0/12']);
  state.applySnapshot([{ version: 10, update: r, identity: updateIdentity(r) }], 10, newStreamId());
  assert.equal(state.classifyIp('10.245.0.9'), 'pod', 'the snapshot replaced the ranges');
  assert.equal(state.classifyIp('10.244.0.9'), 'external');
});

test('an agent holding only its own Node classifies another node\'s IP by the node ranges', () => {
  const { state, apply } = setup();
  apply(node({ uid: 'n1', name: 'n1', ip: '172.18.0.11' }));
  apply(ranges(['10.244.0.0/16', '172.18.9.0/24'], ['10.96.0.0/12']));
  assert.equal(state.classifyIp('172.18.0.12'), 'external', 'a service without node ranges: another node is outside every range');
  apply(ranges(['10.244.0.0/16', '172.18.9.0/24'], ['10.96.0.0/12'], ['172.18.0.0/16', 'fd00:172:18::/48']));
  assert.deepEqual(state.networkRanges()?.nodeCidrs, ['172.18.0.0/16', 'fd00:172:18::/48']);
  assert.equal(state.resolveIp('172.18.0.12'), undefined, 'the agent does not hold that Node');
  assert.equal(state.classifyIp('172.18.0.12'), 'node', 'another node');
  assert.equal(state.classifyIp('::ffff:172.18.3.4'), 'node');
  assert.equal(state.classifyIp('fd00:172:18::c'), 'node');
  assert.equal(state.classifyIp('172.18.0.11'), 'node', 'its own Node (the object)');
  assert.equal(state.classifyIp('172.18.9.7'), 'pod', 'a pod range inside the node range is more specific');
  apply(pod({ uid: 'p1', name: 'web-1', node: 'n1', ip: '172.18.0.50' }));
  assert.equal(state.classifyIp('172.18.0.50'), 'pod', 'an object that holds the IP wins over the ranges');
  apply(ranges(['10.244.0.0/16'], ['10.96.0.0/12'], ['10.244.0.0/16']));
  assert.equal(state.classifyIp('10.244.3.3'), 'pod', 'of equal ranges the pod range wins');
  assert.equal(state.classifyIp('8.8.8.8'), 'external');
});
