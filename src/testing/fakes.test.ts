import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NodeAgentClient } from '../sdk/index.ts';
import { FakeBus, FakeKubemeta, container, pod } from './index.ts';

// The example of index.ts, as an SDK user writes it: only `kubemeta/sdk` and `kubemeta/testing`.
test('an agent built on the SDK runs against the fake bus and service of kubemeta/testing', async () => {
  const bus = new FakeBus();
  const service = new FakeKubemeta(bus, 'prod');
  const agent = await NodeAgentClient.connect({ nc: bus.connect(), cluster: 'prod', node: 'n1', agentInstanceId: 'a' });
  await agent.whenInSync();
  service.commit([
    { update: pod({ uid: 'p1', name: 'web-1', node: 'n1', ip: '10.244.0.7', containers: [{ name: 'app', id: 'c1' }] }), scopes: ['cluster', 'node/n1'] },
    { update: container({ id: 'c1', name: 'app', podUid: 'p1', podName: 'web-1' }), scopes: ['cluster', 'node/n1'] },
  ]);
  await bus.settle();
  assert.equal(agent.head, service.head);
  assert.equal(agent.resolveIp('10.244.0.7')?.uid, 'p1');
  assert.equal(agent.hydrateContainer('c1')?.podName, 'web-1');
  await agent.close();
  service.close();
});
