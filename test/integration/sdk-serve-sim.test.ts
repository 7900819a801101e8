// The consumer SDK against the whole system: `kubemeta serve` watching the simulator, a real
// nats-server, one NodeAgentClient per node and a ClusterClient. Agents bootstrap by
// snapshot, follow churn, and a late agent and a restarted service converge too; every
// client's state must equal the simulator's truth for its scope (issue 4).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../../src/core/index.ts';
import { kindFromWire, type ResourceUpdate } from '../../src/schema/index.ts';
import { ClusterClient, NodeAgentClient, type StateView } from '../../src/sdk/index.ts';
import { MetadataService } from '../../src/service/index.ts';
import { actualScope, diffScopes, expectedScopes } from '../helpers/cluster-truth.ts';
import { startServeEnv, type ServeEnv } from '../helpers/serve-env.ts';

/** A client's state as the update map cluster-truth.ts summarizes. */
function heldUpdates(state: StateView): Map<string, ResourceUpdate> {
  const m = new Map<string, ResourceUpdate>();
  const add = (key: string, object: ResourceUpdate['object']): void => void m.set(key, { object } as ResourceUpdate);
  for (const v of state.pods()) add(`Pod/${v.uid}`, { case: 'pod', value: v });
  for (const v of state.containers({ includeStopped: true })) add(`Container/${v.containerId}`, { case: 'container', value: v });
  for (const v of state.services()) add(`Service/${v.uid}`, { case: 'service', value: v });
  for (const v of state.namespaces()) add(`Namespace/${v.uid}`, { case: 'namespace', value: v });
  for (const v of state.nodes()) add(`Node/${v.uid}`, { case: 'node', value: v });
  for (const v of state.workloads()) add(`${kindFromWire(v.kind)}/${v.uid}`, { case: 'workload', value: v });
  return m;
}

describe('SDK clients against kubemeta serve and the simulator', () => {
  let env: ServeEnv;
  let service: MetadataService;
  const agents = new Map<string, NodeAgentClient>();
  let cluster: ClusterClient;

  const converged = async (what: string): Promise<void> => {
    let last: string[] = [];
    await waitFor(
      () => {
        const expected = expectedScopes(env.engine.model);
        // Only the scopes someone holds: a node agent per node, and the cluster client.
        const held = new Map([...expected].filter(([scope]) => scope === 'cluster' || agents.has(scope.slice('node/'.length))));
        last = diffScopes(held, (scope) => actualScope(heldUpdates(scope === 'cluster' ? cluster.state : (agents.get(scope.slice(5)) as NodeAgentClient).state)));
        return last.length === 0;
      },
      { what, timeoutMs: 30_000, intervalMs: 100 },
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${last.join('\n')}`);
    });
  };

  const connectAgent = (node: string): Promise<NodeAgentClient> =>
    NodeAgentClient.connect({ servers: env.nats.url, cluster: 'test', node, agentInstanceId: `agent-${node}` });

  before(async () => {
    env = await startServeEnv({ seed: 5, nodes: 5, podsPerNode: 8, namespaces: 2 });
    service = await MetadataService.start(env.serveConfig());
    await service.whenReady(AbortSignal.timeout(30_000));
    const nodes = env.engine.model.list('Node').items.map((n) => n.object.metadata.name).slice(0, 4);
    for (const node of nodes) agents.set(node, await connectAgent(node));
    cluster = await ClusterClient.connect({ servers: env.nats.url, cluster: 'test' });
  });

  after(async () => {
    for (const a of agents.values()) await a.close();
    await cluster?.close();
    await service?.drain();
    await env?.stop();
  });

  test('node agents and the cluster client bootstrap by snapshot to the simulator state', async () => {
    await converged('every client to hold its scope');
    for (const a of agents.values()) {
      assert.ok(a.asid >= 1, 'each agent got an ASID from the registry');
      assert.equal(a.stats().snapshots, 1);
    }
    assert.equal(new Set([...agents.values()].map((a) => a.asid)).size, agents.size, 'ASIDs are unique');
  });

  test('clients follow churn: rolling updates, restarts, deletions, node moves', async () => {
    env.engine.step(250);
    await converged('every client to follow the churn');
  });

  test('a process is hydrated to its container, pod, namespace, node and owners', async () => {
    // Churn may have removed a node: take an agent whose node runs pods with containers.
    const candidates = [...agents].flatMap(([node, agent]) =>
      agent.state.podsOnNode(node).filter((p) => p.containers.some((c) => c.containerId !== '') && p.ownerReferences.length > 0).map((pod) => ({ node, agent, pod })));
    assert.ok(candidates.length > 0, 'some agent holds a pod with a container and an owner');
    const { node, agent, pod } = candidates[0] as (typeof candidates)[number];
    const container = pod.containers.find((c) => c.containerId !== '') as { containerId: string; name: string };
    agent.registerProcess(4242, 1000, container.containerId);
    const h = agent.hydrate({ asid: agent.asid, pid: 4242, startTimeTicks: 1000 });
    assert.ok(h, 'hydrated');
    assert.equal(h.podUid, pod.uid);
    assert.equal(h.containerName, container.name);
    assert.equal(h.namespace, pod.namespace);
    assert.equal(h.node, node);
    assert.ok(h.owners.length > 0, 'the owner chain is resolved');
    assert.equal(h.owners[0]?.uid, pod.ownerReferences.find((r) => r.controller)?.uid);
  });

  test('an agent that connects late, and a restarted service, converge too', async () => {
    const late = env.engine.model.list('Node').items.map((n) => n.object.metadata.name).find((n) => !agents.has(n));
    assert.ok(late, 'a node without an agent');
    agents.set(late, await connectAgent(late));
    await service.drain();
    env.engine.step(100);
    service = await MetadataService.start(env.serveConfig());
    await service.whenReady(AbortSignal.timeout(30_000));
    await converged('every client to converge after the service restart');
    assert.equal(cluster.streamId, service.streamId, 'same store, same stream: no reset');
  });
});
