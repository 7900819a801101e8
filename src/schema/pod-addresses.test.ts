import { test } from 'node:test';
import assert from 'node:assert/strict';
import { create, toBinary } from '@bufbuild/protobuf';
import { PodUpdateSchema, ResourceUpdateSchema } from './index.ts';
import { podAddresses } from './pod-addresses.ts';

test('a pod update gives its node and addresses, whatever other fields it has', () => {
  const pod = create(PodUpdateSchema, {
    uid: 'u', name: 'web-0', namespace: 'shop', nodeName: 'node-7', hostname: 'web-0', podIp: '10.1.2.3', podIps: ['10.1.2.3', 'fd00::3'], hostIp: '192.168.0.7',
    labels: { app: 'web' }, createTimeNs: 123n, stopTimeNs: -1n, conditions: [{ type: 'Ready' }], containers: [{ name: 'app', containerId: 'c' }],
  });
  const bytes = toBinary(ResourceUpdateSchema, create(ResourceUpdateSchema, { object: { case: 'pod', value: pod } }));
  assert.deepEqual(podAddresses(bytes), { nodeName: 'node-7', podIp: '10.1.2.3', podIps: ['10.1.2.3', 'fd00::3'], hostIp: '192.168.0.7' });
  const unscheduled = toBinary(ResourceUpdateSchema, create(ResourceUpdateSchema, { object: { case: 'pod', value: create(PodUpdateSchema, { uid: 'v' }) } }));
  assert.deepEqual(podAddresses(unscheduled), { nodeName: '', podIp: '', podIps: [], hostIp: '' });
});

test('anything but a pod update gives undefined; truncated bytes throw', () => {
  const ns = toBinary(ResourceUpdateSchema, create(ResourceUpdateSchema, { object: { case: 'namespace', value: { uid: 'n', name: 'shop' } } }));
  assert.equal(podAddresses(ns), undefined);
  assert.throws(() => podAddresses(new Uint8Array([0x0a, 0x05, 0x22])), RangeError);
});
