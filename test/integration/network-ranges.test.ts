// Network ranges end to end (issue 16, part 1): `kubemeta serve` (the MetadataService) watching the
// simulator, a real nats-server, and node agents that classify remote IPs from their local state
// alone: pods and nodes they hold, cluster IPs, and the NetworkRanges update for everything else
// (other nodes' pods, unallocated cluster IPs, other nodes by their node ranges).
// Once with the sim's defaults (nodes show spec.podCIDRs, a ServiceCIDR object, as Kubernetes
// 1.33), once as an older server with a CNI that leaves podCIDRs empty and no ServiceCIDR API.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../../src/core/index.ts';
import { RangeSource } from '../../src/schema/index.ts';
import { NodeAgentClient } from '../../src/sdk/index.ts';
import { MetadataService } from '../../src/service/index.ts';
import type { KubeObject } from '../../src/sim/index.ts';
import { startServeEnv, type ServeEnv } from '../helpers/serve-env.ts';

interface Fixture {
  env: ServeEnv;
  service: MetadataService;
  agent: NodeAgentClient;
  node: string;
}

async function startFixture(scenario: { podCidrs: boolean; serviceCidrApi: boolean }): Promise<Fixture> {
  const env = await startServeEnv({ seed: 16, nodes: 3, podsPerNode: 8, namespaces: 1, podCidrs: scenario.podCidrs });
  // A 1.32 API server has no networking.k8s.io/v1 ServiceCIDR: every request for it is a 404.
  if (!scenario.serviceCidrApi) env.api.faults.failNext({ status: 404, kind: 'ServiceCIDR', count: 1_000_000, message: 'the server could not find the requested resource' });
  const service = await MetadataService.start(env.serveConfig());
  await service.whenReady(AbortSignal.timeout(30_000));
  const node = env.engine.model.list('Node').items[0]?.object.metadata.name as string;
  const agent = await NodeAgentClient.connect({ servers: env.nats.url, cluster: 'test', node, agentInstanceId: `agent-${node}` });
  await waitFor(() => agent.state.networkRanges() !== undefined, { what: 'the agent to hold the network ranges', timeoutMs: 30_000 });
  return { env, service, agent, node };
}

async function stopFixture(f: Fixture | undefined): Promise<void> {
  await f?.agent.close();
  await f?.service.drain();
  await f?.env.stop();
}

const list = (f: Fixture, kind: string): KubeObject[] => f.env.engine.model.list(kind).items.map((s) => s.object);
const spec = (o: KubeObject): Record<string, unknown> => (o['spec'] ?? {}) as Record<string, unknown>;
const status = (o: KubeObject): Record<string, unknown> => (o['status'] ?? {}) as Record<string, unknown>;

/** IPs the agent must classify, each with the answer, from the simulator's truth. */
function cases(f: Fixture): Array<[string, string, 'pod' | 'service' | 'node' | 'external']> {
  const pods = list(f, 'Pod').filter((p) => spec(p)['hostNetwork'] !== true && status(p)['phase'] === 'Running' && typeof status(p)['podIP'] === 'string');
  const local = pods.find((p) => spec(p)['nodeName'] === f.node);
  const remote = pods.find((p) => spec(p)['nodeName'] !== f.node);
  assert.ok(local && remote, 'running pods on this node and on others');
  const internalIp = (n: KubeObject): string => ((status(n)['addresses'] as Array<{ type: string; address: string }>).find((a) => a.type === 'InternalIP') as { address: string }).address;
  const nodeIp = internalIp(list(f, 'Node').find((n) => n.metadata.name === f.node) as KubeObject);
  const otherNodeIp = internalIp(list(f, 'Node').find((n) => n.metadata.name !== f.node) as KubeObject);
  const svc = list(f, 'Service').find((s) => spec(s)['clusterIP'] !== 'None' && s.metadata.name !== 'kubernetes') as KubeObject;
  const podIp = (p: KubeObject): string => status(p)['podIP'] as string;
  // An address of a remote pod's /24 no pod holds (the sim hands out the lowest free ones): a
  // pod the agent cannot know, in a pod range.
  const unusedPodIp = podIp(remote).replace(/\.\d+$/, '.253');
  return [
    ['a pod on its own node (local state)', podIp(local), 'pod'],
    ['a pod on another node (pod range)', podIp(remote), 'pod'],
    ['an address of a pod range nobody holds', unusedPodIp, 'pod'],
    ['its own node', nodeIp, 'node'],
    ['another node (node range: the agent holds only its own Node)', otherNodeIp, 'node'],
    ['a cluster IP of a Service (local state or service range)', spec(svc)['clusterIP'] as string, 'service'],
    ['the kubernetes Service', '10.96.0.1', 'service'],
    ['an unallocated cluster IP', '10.100.200.1', 'service'],
    ['the internet', '93.184.216.34', 'external'],
    ['the same, as a dual-stack socket reports it', '::ffff:93.184.216.34', 'external'],
    ['an IPv6 address', '2001:db8::1', 'external'],
  ];
}

for (const scenario of [
  { name: 'nodes with podCIDRs and a ServiceCIDR (Kubernetes 1.33)', podCidrs: true, serviceCidrApi: true },
  { name: 'empty podCIDRs, no ServiceCIDR API (an older server, a CNI with its own IPAM)', podCidrs: false, serviceCidrApi: false },
]) {
  describe(`network ranges: ${scenario.name}`, () => {
    let f: Fixture | undefined;
    before(async () => {
      f = await startFixture(scenario);
    });
    after(() => stopFixture(f));

    test('the agent holds the ranges, derived as documented', () => {
      const fx = f as Fixture;
      const ranges = fx.agent.state.networkRanges();
      assert.ok(ranges);
      // The sim's IPAM: /24s from 10.244.0.0 for the first 256 nodes; services in 10.96.0.0/12.
      assert.deepEqual(ranges.podCidrs, ['10.244.0.0/16']);
      assert.deepEqual(ranges.serviceCidrs, ['10.96.0.0/12']);
      // Nodes' InternalIPs from 172.18.0.10: one /24, widened to its /16.
      assert.deepEqual(ranges.nodeCidrs, ['172.18.0.0/16']);
      assert.equal(ranges.podSource, scenario.podCidrs ? RangeSource.NODE_SPEC : RangeSource.OBSERVED);
      assert.equal(ranges.serviceSource, scenario.serviceCidrApi ? RangeSource.SERVICE_CIDR : RangeSource.OBSERVED);
      const nodes = list(fx, 'Node');
      assert.equal(nodes.every((n) => Array.isArray(spec(n)['podCIDRs'])), scenario.podCidrs, 'the sim shows podCIDRs as asked');
    });

    test('the agent classifies pod, service, node and external IPs from local state', () => {
      const fx = f as Fixture;
      for (const [what, ip, expected] of cases(fx)) assert.equal(fx.agent.state.classifyIp(ip), expected, `${what}: ${ip}`);
      const [, localIp] = cases(fx)[0] as [string, string, string];
      const [, remoteIp] = cases(fx)[1] as [string, string, string];
      assert.equal(fx.agent.state.resolveIp(localIp)?.kind, 'Pod', 'its own pods resolve to their owner');
      assert.equal(fx.agent.state.resolveIp(remoteIp), undefined, 'other nodes\' pods are known by range only');
      const [, otherNodeIp] = cases(fx)[4] as [string, string, string];
      assert.equal(fx.agent.state.node(fx.node)?.name, fx.node);
      assert.equal(fx.agent.state.nodes().length, 1, 'the agent holds only its own Node');
      assert.equal(fx.agent.state.resolveIp(otherNodeIp), undefined, 'another node is known by its node range only');
      assert.equal(fx.agent.state.classifyIp(otherNodeIp), 'node', `another node: ${otherNodeIp}`);
      assert.throws(() => fx.agent.state.classifyIp('not-an-ip'), { code: 'SDK_INVALID_ARGUMENT' });
    });

    test('churn that stays inside the ranges publishes no new NetworkRanges', async () => {
      const fx = f as Fixture;
      const rangesCommitted = async (): Promise<number> => {
        const st = (await (await fetch(`${fx.service.httpUrl}/status`)).json()) as { log?: { updatesByKind?: Record<string, number> } };
        return st.log?.updatesByKind?.['NetworkRanges'] ?? 0;
      };
      const before = await rangesCommitted();
      const head = fx.service.head;
      // Pod churn that keeps pods where they are (a new node would get the current ranges
      // delivered to its new scope, which counts as an update too).
      fx.env.engine.step(60, { mix: { podRestart: 2, podLabel: 2, heartbeat: 1 } });
      const podsOnNode = (): string => list(fx, 'Pod').filter((p) => spec(p)['nodeName'] === fx.node).map((p) => p.metadata.uid).sort().join();
      await waitFor(() => fx.service.head > head && fx.agent.state.podsOnNode(fx.node).map((p) => p.uid).sort().join() === podsOnNode(), {
        what: 'the agent to follow the churn',
        timeoutMs: 30_000,
      });
      // Wait until the agent holds the churned pods again.
      const classifiedRight = (): boolean => {
        try {
          return cases(fx).every(([, ip, expected]) => fx.agent.state.classifyIp(ip) === expected);
        } catch {
          return false;
        }
      };
      await waitFor(classifiedRight, { what: 'running pods after the churn, classified right', timeoutMs: 30_000 }).catch((err: Error) => {
        let detail: string;
        try {
          detail = cases(fx).map(([what, ip, expected]) => `${what} ${ip}: ${fx.agent.state.classifyIp(ip)}, expected ${expected}`).join('\n');
        } catch (e) {
          detail = (e as Error).message;
        }
        throw new Error(`${err.message}\n${detail}`);
      });
      assert.equal(await rangesCommitted(), before, 'new pods in covered ranges change no ranges');
      for (const [what, ip, expected] of cases(fx)) assert.equal(fx.agent.state.classifyIp(ip), expected, `${what} after churn: ${ip}`);
    });
  });
}
