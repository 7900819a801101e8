// kubemeta over a NATS cluster (issue 5): three nats-servers routed together, the service and
// every consumer listing all three URLs. Updates published through one server reach
// subscribers on the others; when the server the service is connected to is killed (-9)
// during churn, the service reconnects to another one and re-publishes from its log, the
// consumers that were on it reconnect too, and everyone converges to the simulator's truth;
// the same after that server comes back and another one is killed.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../../src/core/index.ts';
import { ClusterClient, NodeAgentClient } from '../../src/sdk/index.ts';
import { MetadataService } from '../../src/service/index.ts';
import { startNatsCluster, type NatsCluster, type NatsClusterMember } from '../../src/testing/index.ts';
import { actualScope, diffScopes, expectedScopes } from '../helpers/cluster-truth.ts';
import { startServeEnv, type ServeEnvBase } from '../helpers/serve-env.ts';
import { StreamCollector } from '../helpers/stream-collector.ts';
import { heldUpdates } from '../helpers/sdk-truth.ts';

/** The URLs starting at member `first`: with noRandomize, a client connects to that one first. */
const rotated = (urls: readonly string[], first: number): string[] => urls.map((_, i) => urls[(first + i) % urls.length] as string);

/** The default churn without node removals and additions: every agent's node lives throughout. */
const MIX = { heartbeat: 40, podRestart: 12, podDelete: 10, podLabel: 10, scale: 10, rollingUpdate: 6, serviceSelector: 4 };

const SERVICE_CLIENT = 'kubemeta-serve-test';
const CLUSTER_CLIENT = 'kubemeta-cluster-client/test';
const agentClient = (node: string): string => `kubemeta-agent/${node}`;

describe('kubemeta over a three-server NATS cluster', () => {
  let nats: NatsCluster;
  let env: ServeEnvBase;
  let service: MetadataService;
  const agents = new Map<string, NodeAgentClient>();
  let cluster: ClusterClient;
  let collector: StreamCollector;
  /** The member the collector is connected to. */
  let collectorServer: number;
  let streamId: string | undefined;

  type Status = { publisher?: { state: string; catchUps: number; publishedVersion: number; flushedVersion: number }; heartbeat?: unknown; log?: unknown };
  const status = async (): Promise<Status> => (await (await fetch(`${service.httpUrl}/status`)).json()) as Status;

  /** Where each kubemeta connection is now: client name → member indexes. */
  const placement = async (): Promise<Map<string, number[]>> => {
    const out = new Map<string, number[]>();
    for (const m of nats.servers.filter((s) => s.running)) {
      for (const name of await m.clientNames().catch(() => [] as string[])) out.set(name, [...(out.get(name) ?? []), m.index]);
    }
    return out;
  };
  const serviceServer = async (): Promise<NatsClusterMember> => {
    const members = await waitFor(async () => {
      const ms = await nats.membersWithClient(SERVICE_CLIENT);
      return ms.length === 1 ? ms : undefined;
    }, { what: 'the service to hold one NATS connection', timeoutMs: 30_000, intervalMs: 250 });
    return members[0] as NatsClusterMember;
  };

  const converged = async (what: string): Promise<void> => {
    let last: string[] = [];
    await waitFor(
      () => {
        const expected = expectedScopes(env.engine.model);
        const held = new Map([...expected].filter(([scope]) => scope === 'cluster' || agents.has(scope.slice('node/'.length))));
        last = diffScopes(held, (scope) => actualScope(heldUpdates(scope === 'cluster' ? cluster.state : (agents.get(scope.slice(5)) as NodeAgentClient).state)));
        return last.length === 0;
      },
      // The check walks every client's state and the service runs in this process: poll slowly.
      { what, timeoutMs: 60_000, intervalMs: 500 },
    ).catch(async (err: Error) => {
      const stats = [`cluster: ${JSON.stringify(cluster.stats())} head ${cluster.head}`, ...[...agents].map(([n, a]) => `${n}: ${JSON.stringify(a.stats())} head ${a.head}`)];
      const st = await status().catch(() => ({}) as Status);
      const where = [...(await placement().catch(() => new Map<string, number[]>()))].map(([n, i]) => `${n}@${i.join(',')}`).join(' ');
      throw new Error(`${err.message}\n${last.slice(0, 20).join('\n')}\n${stats.join('\n')}\nservice: head ${service.head} ${JSON.stringify(st)}\nconnections: ${where}`);
    });
  };

  /**
   * Deletes a pod on every agent's node (the controllers replace it): a change in every held
   * scope after an outage, so a client that stopped following cannot look converged.
   */
  const touchEveryScope = async (): Promise<number> => {
    let touched = 0;
    for (const node of agents.keys()) {
      const pod = env.engine.model.list('Pod').items.find((p) => (p.object.spec as { nodeName?: string } | undefined)?.nodeName === node);
      if (!pod) continue;
      env.engine.model.delete('Pod', pod.object.metadata.namespace, pod.object.metadata.name);
      touched++;
    }
    await env.engine.controllers.settle();
    return touched;
  };

  before(async () => {
    nats = await startNatsCluster({ size: 3 });
    env = await startServeEnv({ seed: 11, nodes: 5, podsPerNode: 6, namespaces: 2 }, { natsUrls: nats.urls });
    service = await MetadataService.start(env.serveConfig());
    await service.whenReady(AbortSignal.timeout(30_000));
    streamId = service.streamId;
    // The collector listens on a server the service is not connected to: everything it sees
    // crossed a route.
    collectorServer = ((await serviceServer()).index + 1) % nats.servers.length;
    collector = await StreamCollector.start((nats.servers[collectorServer] as NatsClusterMember).url, 'test');
    const nodes = env.engine.model.list('Node').items.map((n) => n.object.metadata.name).slice(0, 4);
    // Every client lists all three servers, each preferring another one (nats.js would shuffle
    // the list without noRandomize): some consumer sits on every server.
    for (const [i, node] of nodes.entries()) {
      agents.set(node, await NodeAgentClient.connect({
        servers: rotated(nats.urls, i % 3), natsOptions: { noRandomize: true }, cluster: 'test', node, agentInstanceId: `agent-${node}`,
      }));
    }
    cluster = await ClusterClient.connect({ servers: rotated(nats.urls, 1), natsOptions: { noRandomize: true }, cluster: 'test' });
  });

  after(async () => {
    await env?.engine.stopChurn();
    for (const a of agents.values()) await a.close().catch(() => undefined);
    await cluster?.close().catch(() => undefined);
    await service?.drain().catch(() => undefined);
    await collector?.stop().catch(() => undefined);
    await env?.stop();
    await nats?.stop();
  });

  test('clients on every server converge to the simulator; updates cross the routes', async () => {
    const where = await placement();
    for (const [i, node] of [...agents.keys()].entries()) {
      assert.deepEqual(where.get(agentClient(node)), [i % 3], `the agent of ${node} is on the server it listed first`);
    }
    assert.deepEqual(where.get(CLUSTER_CLIENT), [1], 'the cluster client is on the server it listed first');
    const svc = where.get(SERVICE_CLIENT) ?? [];
    assert.equal(svc.length, 1, 'the service holds one NATS connection');
    const onOtherServers = [...agents.keys()].filter((node, i) => i % 3 !== svc[0]);
    assert.ok(onOtherServers.length >= 2, 'some agents are on servers the service is not on');

    // The collector joined a state-synced stream: it bootstraps the cluster scope by snapshot at
    // the first heartbeat. Churn after that reaches it live; churn before it could all be inside
    // the snapshot and leave nothing to count as received through the route.
    await waitFor(() => collector.snapshots.has('cluster'), { what: 'the collector to bootstrap the cluster scope', timeoutMs: 30_000, intervalMs: 100 });
    env.engine.step(150, { mix: MIX });
    await converged('every client, on every server, to hold its scope');
    // The collector (started after the initial sync) is on another server than the service:
    // the live stream crossed a route, unbroken, up to the cluster scope's head.
    const live = collector.scope('cluster');
    await waitFor(() => live.lastVersion === cluster.head, { what: 'the collector to reach the head of the cluster scope', timeoutMs: 10_000, intervalMs: 250 })
      .catch((err: Error) => assert.fail(`${err.message}: collector at ${live.lastVersion}, cluster client at ${cluster.head}`));
    assert.ok(live.updates > 0, 'the collector received updates through a route');
    // It joined mid-stream: each scope's first message does not chain on version 0.
    assert.deepEqual(collector.allGaps().filter((g) => !g.includes('expected prev 0,')), [], 'no gap on the live stream without faults');
    assert.deepEqual(collector.undecodable, []);
  });

  /**
   * Kills (-9) the server the service is connected to during churn; checks that the service
   * moves to another server and re-publishes from the log, that the consumers that were on
   * the killed server move too, and that everyone converges. Returns the killed member.
   */
  const killServiceServerDuringChurn = async (label: string): Promise<NatsClusterMember> => {
    const victim = await serviceServer();
    const before = await placement();
    const stranded = [...before].filter(([name, at]) => name !== SERVICE_CLIENT && name.startsWith('kubemeta-') && at.includes(victim.index)).map(([name]) => name);
    assert.ok(stranded.length > 0, `some consumer is on the server the service is on (${victim.index})`);
    const replaysBefore = new Map([...agents].map(([n, a]) => [agentClient(n), a.stats().replays]));
    replaysBefore.set(CLUSTER_CLIENT, cluster.stats().replays);
    const catchUpsBefore = (await status()).publisher?.catchUps ?? 0;

    env.engine.startChurn({ ratePerSecond: 30, mix: MIX });
    await new Promise((r) => setTimeout(r, 1_500));
    await victim.kill();
    const killedAt = Date.now();
    const moved = await waitFor(async () => {
      const ms = await nats.membersWithClient(SERVICE_CLIENT);
      return ms.length === 1 && ms[0]?.index !== victim.index ? ms[0] : undefined;
    }, { what: `${label}: the service to reconnect to another server`, timeoutMs: 30_000, intervalMs: 250 });
    await waitFor(async () => {
      const p = (await status()).publisher;
      return p !== undefined && p.catchUps > catchUpsBefore && p.state === 'live';
    }, { what: `${label}: the publisher to re-publish from the log and go live`, timeoutMs: 30_000, intervalMs: 250 });
    const reconnectedMs = Date.now() - killedAt;
    await new Promise((r) => setTimeout(r, 2_000));
    await env.engine.stopChurn();
    await env.engine.controllers.settle();
    assert.equal(await touchEveryScope(), agents.size, 'a pod deleted on every agent\'s node');
    await converged(`${label}: every client to converge after the server was killed`);

    const after = await placement();
    assert.ok(!after.has(SERVICE_CLIENT) || !(after.get(SERVICE_CLIENT) as number[]).includes(victim.index));
    for (const name of stranded) {
      const at = after.get(name);
      assert.ok(at && at.length === 1 && at[0] !== victim.index, `${name} (on the killed server) reconnected elsewhere: ${String(at)}`);
      const replays = name === CLUSTER_CLIENT ? cluster.stats().replays : [...agents].find(([n]) => agentClient(n) === name)?.[1].stats().replays;
      assert.ok((replays ?? 0) > (replaysBefore.get(name) ?? 0), `${name} replayed the tail after its reconnect`);
    }
    assert.equal(service.streamId, streamId, 'the same stream throughout');
    assert.equal(cluster.streamId, streamId);
    assert.deepEqual(collector.reused, [], 'no version was reused for another object');
    assert.deepEqual(collector.undecodable, []);
    assert.deepEqual([...collector.streamIds], [streamId], 'one stream from start to end');
    if (victim.index !== collectorServer) {
      // The collector stayed connected: the catch-up re-sent what the dead server may have
      // lost, in order, so nothing older than what it had seen arrived after it.
      assert.deepEqual(collector.late, [], 'no version arrived after a newer one');
    }
    console.log(`${label}: killed server ${victim.index}; service on server ${moved.index} and live again after ${reconnectedMs} ms; ${stranded.length} consumers moved`);
    return victim;
  };

  let firstVictim: NatsClusterMember | undefined;

  test('the server the service is on is killed during churn: service and consumers move, catch up, converge', async () => {
    firstVictim = await killServiceServerDuringChurn('first kill');
    await nats.waitForRoutes();
  });

  test('the killed server comes back, another is killed: everyone still converges', async () => {
    assert.ok(firstVictim, 'the previous test killed a server');
    await firstVictim.start();
    assert.ok(firstVictim.running);
    // A late agent starts on the server that came back: it is routed into the cluster again.
    const late = env.engine.model.list('Node').items.map((n) => n.object.metadata.name).find((n) => !agents.has(n));
    assert.ok(late, 'a node without an agent');
    agents.set(late, await NodeAgentClient.connect({
      servers: rotated(nats.urls, firstVictim.index), natsOptions: { noRandomize: true }, cluster: 'test', node: late, agentInstanceId: `agent-${late}`,
    }));
    assert.deepEqual((await placement()).get(agentClient(late)), [firstVictim.index], 'the late agent is on the server that came back');
    env.engine.step(50, { mix: MIX });
    await converged('every client to converge with the server back');
    const second = await killServiceServerDuringChurn('second kill');
    assert.notEqual(second.index, firstVictim.index, 'another server was killed');
    await second.start();
    await nats.waitForRoutes();
    env.engine.step(50, { mix: MIX });
    await converged('every client to converge with all three servers up again');
    assert.deepEqual(collector.reused, [], 'no version was reused for another object');
  });
});
