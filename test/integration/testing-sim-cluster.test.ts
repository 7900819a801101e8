import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KubeConfig, CoreV1Api } from '@kubernetes/client-node';
import { startSimCluster } from '../../src/testing/index.ts';

test('startSimCluster serves a seeded cluster that client-node lists through the written kubeconfig', async () => {
  const sim = await startSimCluster({ seed: 3, nodes: 3, podsPerNode: 5 });
  try {
    const kc = new KubeConfig();
    kc.loadFromFile(sim.kubeconfig);
    const pods = await kc.makeApiClient(CoreV1Api).listPodForAllNamespaces();
    assert.equal(pods.items.length, sim.engine.model.count('Pod'));
    assert.ok(pods.items.length >= 15);
  } finally {
    await sim.stop();
  }
});
