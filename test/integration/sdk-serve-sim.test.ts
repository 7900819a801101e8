// The consumer SDK against the whole system: `kubemeta serve` watching the simulator, a real
// nats-server, one NodeAgentClient per node and a ClusterClient. Agents bootstrap by
// snapshot, follow churn, and a late agent and a restarted service converge too; every
// client's state must equal the simulator's truth for its scope (issue 4).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../../src/core/index.ts';
import { ClusterClient, NodeAgentClient } from '../../src/sdk/index.ts';
import { MetadataService } from '../../src/service/index.ts';
import type { PublishFaults } from '../../src/bus/index.ts';
import { join } from 'node:path';
import { actualScope, diffScopes, expectedScopes } from '../helpers/cluster-truth.ts';
import { startServeEnv, type ServeEnv } from '../helpers/serve-env.ts';
import { StreamCollector } from '../helpers/stream-collector.ts';
import { heldUpdates } from '../helpers/sdk-truth.ts';

describe('SDK clients against kubemeta serve and the simulator', () => {
  let env: ServeEnv;
  let service: MetadataService;
  const agents = new Map<string, NodeAgentClient>();
  let cluster: ClusterClient;
  let collector: StreamCollector;

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
      // The check walks every client's state: polling it often would starve the service, which
      // runs in this process.
      { what, timeoutMs: 60_000, intervalMs: 250 },
    ).catch(async (err: Error) => {
      const stats = [`cluster: ${JSON.stringify(cluster.stats())} head ${cluster.head}`, ...[...agents].map(([n, a]) => `${n}: ${JSON.stringify(a.stats())}`)];
      const live = diffScopes(new Map([['cluster', expectedScopes(env.engine.model).get('cluster') as Map<string, string>]]), (sc) => actualScope(collector.scope(sc).objects), 5);
      stats.push(`LIVE STREAM collector (cluster): ${live.join(' | ')}`);
      const st = (await (await fetch(`${service.httpUrl}/status`)).json()) as Record<string, unknown>;
      throw new Error(`${err.message}\n${last.join('\n')}\n${stats.join('\n')}\nservice: head ${service.head} ${JSON.stringify({ publisher: st['publisher'], heartbeat: st['heartbeat'], log: st['log'] })}`);
    });
  };

  const faults: PublishFaults = { dropFraction: 0 };
  const connectAgent = (node: string, persistDir?: string): Promise<NodeAgentClient> =>
    NodeAgentClient.connect({ servers: env.nats.url, cluster: 'test', node, agentInstanceId: `agent-${node}`, ...(persistDir ? { persistDir } : {}) });
  const startService = (overrides: Record<string, unknown> = {}): Promise<MetadataService> =>
    MetadataService.start(env.serveConfig({ historyKeepUpdates: '1000', compactionIntervalMs: '1000', ...overrides }), { publishFaults: faults });

  before(async () => {
    env = await startServeEnv({ seed: 5, nodes: 5, podsPerNode: 8, namespaces: 2 });
    collector = await StreamCollector.start(env.nats.url, 'test');
    service = await startService();
    await service.whenReady(AbortSignal.timeout(30_000));
    const nodes = env.engine.model.list('Node').items.map((n) => n.object.metadata.name).slice(0, 4);
    for (const node of nodes) agents.set(node, await connectAgent(node));
    cluster = await ClusterClient.connect({ servers: env.nats.url, cluster: 'test' });
  });

  after(async () => {
    for (const a of agents.values()) await a.close();
    await cluster?.close();
    await service?.drain();
    await collector?.stop();
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
    service = await startService();
    await service.whenReady(AbortSignal.timeout(30_000));
    await converged('every client to converge after the service restart');
    assert.equal(cluster.streamId, service.streamId, 'same store, same stream: no reset');
  });

  test('with a fraction of the publishes dropped, every client converges through replay', async () => {
    faults.dropFraction = 0.3;
    env.engine.step(200);
    await env.engine.controllers.settle();
    // On a loaded machine the service may publish the steps' updates well after they are made.
    await waitFor(() => (faults.dropped ?? 0) > 0, { what: 'some publishes to be dropped', timeoutMs: 30_000 });
    await new Promise((r) => setTimeout(r, 500));
    faults.dropFraction = 0;
    await converged('every client to repair the dropped messages');
  });

  test('an agent away while history was compacted comes back by snapshot, deletions included', async () => {
    const podsOn = (n: string) => env.engine.model.list('Pod').items.filter((p) => (p.object.spec as { nodeName?: string } | undefined)?.nodeName === n);
    // Churn adds and removes nodes: take a node that runs pods now (its agent, if it has one).
    const node = env.engine.model.list('Node').items.map((n) => n.object.metadata.name).find((n) => podsOn(n).length >= 2);
    assert.ok(node, 'a node that runs pods');
    await agents.get(node)?.close();
    const persistDir = join(env.dir, `agent-${node}`);
    let persisted = await connectAgent(node, persistDir);
    agents.set(node, persisted);
    await converged('the persisted agent to catch up');
    await persisted.save();
    await persisted.close();
    agents.delete(node);
    // While it is away: pods on its node are deleted (its scope gets deletions), and enough
    // churn follows for compaction to drop that part of the scope's history.
    const doomed = podsOn(node).slice(0, 2);
    for (const p of doomed) env.engine.model.delete('Pod', p.object.metadata.namespace, p.object.metadata.name);
    await env.engine.controllers.settle();
    await converged('the other clients to see the deletions');
    const deletionsCommittedBy = service.head;
    env.engine.step(300, { mix: { podDelete: 1, rollingUpdate: 1, scale: 1 } });
    await env.engine.controllers.settle();
    const floor = async (): Promise<number> => ((await (await fetch(`${service.httpUrl}/status`)).json()) as { log: { floor: number } }).log.floor;
    await waitFor(async () => (await floor()) > deletionsCommittedBy, { what: 'compaction past the deletions', timeoutMs: 60_000, intervalMs: 250 });
    persisted = await connectAgent(node, persistDir);
    agents.set(node, persisted);
    await converged('the returning agent to converge');
    assert.equal(persisted.stats().snapshots, 1, 'its tail was compacted: it needed a snapshot');
    const held = new Set(persisted.state.pods().map((p) => p.uid));
    for (const p of doomed) assert.ok(!held.has(p.object.metadata.uid), `deleted pod ${p.object.metadata.name} is gone from the returning agent`);
  });

  test('a wiped store (new stream id) makes every client bootstrap again', async () => {
    const oldStream = service.streamId;
    await service.drain();
    service = await startService({ store: `lmdb:${join(env.dir, 'store-wiped')}` });
    await service.whenReady(AbortSignal.timeout(30_000));
    assert.notEqual(service.streamId, oldStream);
    // A client holding the old stream's state could look converged before it noticed the new
    // stream: wait for every client to have moved first.
    // Agents of nodes that churn removed hear nothing more from the new stream (no scope, no
    // heartbeat): only agents of live nodes must move.
    const liveAgents = (): NodeAgentClient[] => {
      const nodes = new Set(env.engine.model.list('Node').items.map((n) => n.object.metadata.name));
      return [...agents].filter(([n]) => nodes.has(n)).map(([, a]) => a);
    };
    assert.ok(liveAgents().length > 0, 'some agents are on live nodes');
    await waitFor(() => cluster.streamId === service.streamId && liveAgents().every((a) => a.streamId === service.streamId), {
      what: 'every client to see the new stream id',
      timeoutMs: 30_000,
    }).catch((err: Error) => {
      throw new Error(`${err.message}: service ${service.streamId}, cluster client ${cluster.streamId} ${JSON.stringify(cluster.stats())}, agents ${[...agents.values()].map((a) => a.streamId).join(' ')}; collector saw ${[...collector.streamIds].join(' ')}`);
    });
    await converged('every client to re-bootstrap from the new stream');
    assert.ok(cluster.stats().streamResets >= 1, 'the cluster client reports the reset');
    assert.equal(cluster.streamId, service.streamId);
    for (const a of liveAgents()) assert.equal(a.streamId, service.streamId);
  });
});
