// Process lifecycle from agents end to end (issue 16 part 2, wire-protocol §12): kubemeta serve
// on the simulator with a real nats-server, SDK node agents reporting through reportProcess, a
// cluster client asking processesOfPod, an agent of another node naming a UPID, the console's
// pod API listing the processes, a restart of serve keeping them, the simulated agents
// (`kubemeta agents`) reporting their containers' processes, and per-node NATS permissions.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, nkeyAuthenticator } from '@nats-io/transport-node';
import { waitFor } from '../../src/core/index.ts';
import { ProcessErrorCode, clusterSubjects, decodeProcessReportResponse, encodeProcessReport, type PodUpdate } from '../../src/schema/index.ts';
import { ClusterClient, NodeAgentClient, ProcessReportRefusedError, type Status } from '../../src/sdk/index.ts';
import { MetadataService } from '../../src/service/index.ts';
import { ScenarioEngine, type ScenarioOptions } from '../../src/sim/index.ts';
import { buildConsoleApp } from '../../src/console/index.ts';
import { runAgents } from '../../src/demo-agents/index.ts';
import { createNkeyUser, renderKubemetaNatsConfig, startConfiguredNatsServer, type ConfiguredNatsServer } from '../../src/testing/nats-auth.ts';
import { startServeEnv, type ServeEnv, type ServeEnvBase } from '../helpers/serve-env.ts';

const CLUSTER = 'test';
const SCENARIO: ScenarioOptions = { seed: 31, nodes: 2, podsPerNode: 5, namespaces: 1 };

/** A running pod of `node` with a container id, from an agent's state. */
function runningPod(agent: NodeAgentClient): { pod: PodUpdate; containerId: string } {
  for (const pod of agent.state.podsOnNode(agent.node)) {
    const c = pod.containers.find((x) => x.containerId !== '');
    if (c) return { pod, containerId: c.containerId };
  }
  throw new Error(`no pod with a container on ${agent.node}`);
}

describe('process reports through kubemeta serve', () => {
  let env: ServeEnv;
  let service: MetadataService;
  let nodeA: string;
  let nodeB: string;
  let agentA: NodeAgentClient;
  let agentB: NodeAgentClient;
  let cluster: ClusterClient;
  const statusA: Status[] = [];
  const closers: Array<{ close(): Promise<void> }> = [];

  before(async () => {
    env = await startServeEnv(SCENARIO);
    service = await MetadataService.start(env.serveConfig());
    await service.whenReady(AbortSignal.timeout(30_000));
    [nodeA, nodeB] = env.engine.model.list('Node').items.map((n) => n.object.metadata.name) as [string, string];
    const agent = (node: string) => NodeAgentClient.connect({ servers: env.nats.url, cluster: CLUSTER, node, agentInstanceId: `agent-${node}`, signal: AbortSignal.timeout(30_000) });
    agentA = await agent(nodeA);
    agentB = await agent(nodeB);
    cluster = await ClusterClient.connect({ servers: env.nats.url, cluster: CLUSTER });
    closers.push(agentA, agentB, cluster);
    await Promise.all([agentA.whenInSync(), agentB.whenInSync(), cluster.whenInSync()]);
    void (async () => {
      for await (const s of agentA.status()) statusA.push(s);
    })();
  });

  after(async () => {
    for (const c of closers) await c.close().catch(() => undefined);
    await service?.drain();
    await env?.stop();
  });

  it('stores an agent’s process and answers processesOfPod and a UPID lookup from another node’s agent', async () => {
    const { pod, containerId } = runningPod(agentA);
    agentA.reportProcess({ pid: 4242, startTimeTicks: 987_654, containerId, commandLine: '/usr/sbin/nginx -g daemon off;', startTimeNs: BigInt(Date.now() - 60_000) * 1_000_000n });
    await agentA.flushProcessReports();
    assert.deepEqual([agentA.processReportStats().accepted, agentA.processReportStats().rejected], [1, 0]);
    assert.equal(agentA.hydrate({ asid: agentA.asid, pid: 4242, startTimeTicks: 987_654 })?.podUid, pod.uid, 'a start also registers the process for hydration');

    const listed = await cluster.processesOfPod(pod.uid);
    assert.equal(listed.length, 1);
    assert.deepEqual(
      [listed[0]?.commandLine, listed[0]?.containerId, listed[0]?.podUid, listed[0]?.nodeName],
      ['/usr/sbin/nginx -g daemon off;', containerId, pod.uid, nodeA],
    );
    const upid = { asid: agentA.asid, pid: 4242, startTimeTicks: 987_654 };
    assert.equal(agentB.hydrate(upid), undefined, 'node B cannot hydrate node A’s UPID locally');
    assert.equal((await agentB.lookupProcess(upid))?.commandLine, '/usr/sbin/nginx -g daemon off;', 'but the service names it');
    assert.equal(await agentB.lookupProcess({ ...upid, pid: 1 }), undefined);

    // Stopped now: kept (within the 24 h retention), but no longer live.
    const stopTimeNs = BigInt(Date.now()) * 1_000_000n;
    agentA.reportProcess({ pid: 4242, startTimeTicks: 987_654, stopTimeNs });
    await agentA.flushProcessReports();
    assert.deepEqual(await cluster.processesOfPod(pod.uid), [], 'stopped: not live any more');
    assert.equal((await cluster.processesOfPod(pod.uid, { includeStopped: true }))[0]?.stopTimeNs, stopTimeNs);
  });

  it('refuses a container of another node with FOREIGN_CONTAINER, reported as an error status', async () => {
    const { pod, containerId } = runningPod(agentB);
    agentA.reportProcess({ pid: 77, startTimeTicks: 1, containerId, podUid: pod.uid, commandLine: 'sh' });
    await agentA.flushProcessReports();
    assert.equal(agentA.processReportStats().rejected, 1);
    await waitFor(() => statusA.some((s) => s.type === 'error' && s.error instanceof ProcessReportRefusedError && s.error.processErrorCode === ProcessErrorCode.FOREIGN_CONTAINER), { what: 'FOREIGN_CONTAINER status', timeoutMs: 5_000 });
    assert.deepEqual(await agentB.lookupProcess({ asid: agentA.asid, pid: 77, startTimeTicks: 1 }), undefined);
    const metrics = await (await fetch(`${service.httpUrl}/metrics`)).text();
    assert.match(metrics, /kubemeta_process_events_total\{outcome="FOREIGN_CONTAINER"\} 1/);
  });

  it('refuses a UPID of another agent’s ASID with WRONG_ASID', async () => {
    const { pod, containerId } = runningPod(agentA);
    const nc = await connect({ servers: env.nats.url });
    try {
      const report = encodeProcessReport({ nodeName: nodeA, processes: [{ upid: { asid: agentB.asid, pid: 5, startTimeTicks: 5 }, containerId, podUid: pod.uid, commandLine: 'x', startTimeNs: 0n, stopTimeNs: 0n, nodeName: '' }] });
      const r = decodeProcessReportResponse((await nc.request(clusterSubjects(CLUSTER).processReports(nodeA), report, { timeout: 5_000 })).data);
      assert.ok(r.ok);
      assert.equal(r.rejected[0]?.code, ProcessErrorCode.WRONG_ASID);
    } finally {
      await nc.close();
    }
  });

  it('lists a pod’s processes in the console’s pod API', async () => {
    const { pod, containerId } = runningPod(agentA);
    agentA.reportProcess({ pid: 9001, startTimeTicks: 31, containerId, commandLine: 'python3 -m http.server 8000' });
    await agentA.flushProcessReports();
    const consoleApp = buildConsoleApp({ clusters: [{ name: CLUSTER, client: cluster }] });
    try {
      const res = await consoleApp.app.inject({ method: 'GET', url: `/api/entity/pod/${pod.uid}` });
      assert.equal(res.statusCode, 200, res.body);
      const body = res.json() as { processes: { available: boolean; items: Array<{ commandLine: string; pid: number; stopped: string }> } };
      assert.equal(body.processes.available, true);
      const listed = body.processes.items.find((p) => p.pid === 9001);
      assert.equal(listed?.commandLine, 'python3 -m http.server 8000');
      assert.equal(listed?.stopped, '');
    } finally {
      await consoleApp.close();
    }
  });

  it('keeps the processes across a restart of serve', async () => {
    const { pod } = runningPod(agentA);
    const before = await cluster.processesOfPod(pod.uid, { includeStopped: true });
    assert.ok(before.length > 0);
    await service.drain();
    service = await MetadataService.start(env.serveConfig());
    await service.whenReady(AbortSignal.timeout(30_000));
    await waitFor(async () => (await cluster.processesOfPod(pod.uid, { includeStopped: true }).catch(() => [])).length === before.length, { what: 'processes after the restart', timeoutMs: 15_000 });
    assert.deepEqual(await cluster.processesOfPod(pod.uid, { includeStopped: true }), before);
  });

  it('has the simulated agents report the processes of their containers', async () => {
    const fleet = await runAgents({ servers: env.nats.url, cluster: CLUSTER, nodes: [nodeB], ratePerSecond: 10, tickMs: 100, signal: AbortSignal.timeout(30_000) });
    closers.push(fleet);
    await fleet.whenInSync(AbortSignal.timeout(30_000));
    const { pod } = runningPod(agentB);
    await waitFor(async () => (await cluster.processesOfPod(pod.uid)).some((p) => p.commandLine.startsWith('/usr/local/bin/')), { what: 'simulated processes of a node B pod', timeoutMs: 20_000, intervalMs: 250 });
  });
});

describe('process reports under per-node NATS permissions', () => {
  let nats: ConfiguredNatsServer;
  let env: ServeEnvBase;
  let service: MetadataService;
  const userA = createNkeyUser();
  const password = `svc-${crypto.randomUUID()}`;
  let nodeA: string;
  let nodeB: string;

  before(async () => {
    const probe = new ScenarioEngine(SCENARIO);
    probe.populate();
    [nodeA, nodeB] = probe.model.list('Node').items.map((n) => n.object.metadata.name) as [string, string];
    nats = await startConfiguredNatsServer(renderKubemetaNatsConfig({ cluster: CLUSTER, service: { user: 'kubemeta', password }, clusterClients: [{ user: 'cc', password: `cc-${password}` }], agents: [{ node: nodeA, nkey: userA.publicKey }] }));
    env = await startServeEnv(SCENARIO, { natsUrls: [nats.url] });
    service = await MetadataService.start(env.serveConfig({ natsUser: 'kubemeta', natsPassword: password, requireScopedInboxes: 'true' }));
    await service.whenReady(AbortSignal.timeout(30_000));
  });

  after(async () => {
    await service?.drain();
    await env?.stop();
    await nats?.stop();
  });

  it('lets an agent report on its own node’s subject only', async () => {
    const agent = await NodeAgentClient.connect({ servers: nats.url, cluster: CLUSTER, node: nodeA, agentInstanceId: 'a', natsOptions: { authenticator: nkeyAuthenticator(userA.seed) }, signal: AbortSignal.timeout(30_000) });
    try {
      await agent.whenInSync();
      const { containerId } = runningPod(agent);
      agent.reportProcess({ pid: 10, startTimeTicks: 10, containerId, commandLine: 'own' });
      await agent.flushProcessReports();
      assert.equal(agent.processReportStats().accepted, 1, 'its own subject is allowed');
      assert.equal((await agent.lookupProcess({ asid: agent.asid, pid: 10, startTimeTicks: 10 }))?.commandLine, 'own', 'and UPID lookups');

      const nc = await connect({ servers: nats.url, authenticator: nkeyAuthenticator(userA.seed), inboxPrefix: `_INBOX.${clusterSubjects(CLUSTER).scope({ kind: 'node', node: nodeA })}` });
      const errors: Error[] = [];
      void (async () => {
        for await (const s of nc.status()) if (s.type === 'error') errors.push(s.error);
      })();
      try {
        const forged = encodeProcessReport({ nodeName: nodeB, processes: [{ upid: { asid: agent.asid, pid: 11, startTimeTicks: 11 }, containerId, podUid: 'x', commandLine: 'forged', startTimeNs: 0n, stopTimeNs: 0n, nodeName: '' }] });
        nc.publish(clusterSubjects(CLUSTER).processReports(nodeB), forged);
        await waitFor(() => errors.some((e) => /Permissions Violation for Publish to "kubemeta\.test\.processes\.node\./.test(e.message)), { what: 'a publish permissions violation', timeoutMs: 5_000 });
        await assert.rejects(nc.request(clusterSubjects(CLUSTER).processesOfPod, new Uint8Array(1), { timeout: 1_000 }), 'an agent may not list pods’ processes');
      } finally {
        await nc.close();
      }
    } finally {
      await agent.close();
    }
  });
});
