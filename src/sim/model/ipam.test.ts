import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cidrIndexOf, MAX_NODE_CIDRS, NodeCidrPool, nodeIpOf, podCidrOf, PodIpPool } from './ipam.ts';

test('pod CIDRs start at 10.244.0.0/24, stay out of the service range, and map back to their index', () => {
  assert.equal(podCidrOf(0), '10.244.0.0/24');
  assert.equal(podCidrOf(257), '10.245.1.0/24');
  const seen = new Set<string>();
  for (let k = 0; k < MAX_NODE_CIDRS; k++) {
    const cidr = podCidrOf(k);
    assert.equal(cidrIndexOf(cidr), k);
    const second = Number(cidr.split('.')[1]);
    assert.ok(second < 96 || second > 111, `${cidr} overlaps the service range 10.96.0.0/12`);
    seen.add(cidr);
  }
  assert.equal(seen.size, MAX_NODE_CIDRS);
  assert.equal(cidrIndexOf('192.168.0.0/24'), undefined);
  assert.equal(nodeIpOf(0), '172.18.0.10');
});

test('a released node CIDR goes to the next node that joins', () => {
  const pool = new NodeCidrPool();
  assert.deepEqual([pool.allocate(), pool.allocate(), pool.allocate()], [0, 1, 2]);
  pool.release(1);
  assert.equal(pool.allocate(), 1);
  assert.equal(pool.allocate(), 3);
  assert.equal(pool.inUse, 4);
});

test('pods get the lowest free address of their node, and a freed address is reused at once', () => {
  const ips = new PodIpPool();
  ips.addNode('n1', '10.244.3.0/24');
  assert.equal(ips.allocate('n1', 'pod-a'), '10.244.3.2');
  assert.equal(ips.allocate('n1', 'pod-b'), '10.244.3.3');
  ips.release('n1', '10.244.3.2', 'someone-else');
  assert.equal(ips.allocate('n1', 'pod-c'), '10.244.3.4', 'only the holder frees an address');
  ips.release('n1', '10.244.3.2', 'pod-a');
  assert.equal(ips.allocate('n1', 'pod-d'), '10.244.3.2');
  assert.equal(ips.hold('n1', '10.244.3.3', 'pod-x'), false, 'an address has one holder');
  assert.equal(ips.allocate('n2', 'pod-e'), undefined, 'a node without a pod CIDR has no addresses');
});

test('a node /24 runs out after 253 pods', () => {
  const ips = new PodIpPool();
  ips.addNode('n', '10.244.0.0/24');
  const got = new Set<string>();
  for (let i = 0; i < 253; i++) got.add(ips.allocate('n', `p${i}`) as string);
  assert.equal(got.size, 253);
  assert.equal(ips.allocate('n', 'one-too-many'), undefined);
});
