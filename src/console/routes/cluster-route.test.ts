// GET /api/cluster through fastify's inject(), on a real SDK LocalState: counts by kind, nodes
// with readiness, pods and pod CIDRs, namespaces with what they hold, and the network-ranges
// section — "not available" when the SDK has no networkRanges(), its CIDRs when it has.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ConditionStatus, NodeAddressType, createResourceUpdate, type ResourceUpdate } from '../../schema/index.ts';
import { LocalState, type StateView } from '../../sdk/index.ts';
import { container, namespace, pod, service, workload } from '../../testing/index.ts';
import { buildConsoleApp, type ConsoleApp } from './api.ts';
import type { FollowedClient } from '../clusters/cluster-follower.ts';
import type { ClusterOverview } from '../views/cluster-view.ts';
import { FakeClusterClient } from '../../../test/helpers/fake-cluster-client.ts';

/** A node with pod CIDRs and a Ready condition (the SDK's test builder sets neither). */
function node(uid: string, name: string, ready: ConditionStatus | undefined, podCidrs: string[] = []): ResourceUpdate {
  return createResourceUpdate({ object: { case: 'node', value: {
    uid, name, podCidrs, startTimeNs: 1n,
    addresses: [{ type: NodeAddressType.HOSTNAME, address: name }, { type: NodeAddressType.INTERNAL_IP, address: `10.0.0.1${uid.slice(-1)}` }],
    conditions: ready === undefined ? [] : [{ type: 'MemoryPressure', status: ConditionStatus.FALSE }, { type: 'Ready', status: ready }],
  } } });
}

/**
 * The client's state with `networkRanges()` replaced by `ranges`, or without it (undefined): an
 * SDK from before issue 16's network ranges, or one whose answer has another shape.
 */
function withNetworkRanges(client: FakeClusterClient, ranges: (() => unknown) | undefined): FollowedClient {
  const state = new Proxy(client.state, {
    has(target, key) {
      return key === 'networkRanges' ? ranges !== undefined : Reflect.has(target, key);
    },
    get(target, key) {
      if (key === 'networkRanges') return ranges;
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  }) as StateView;
  return {
    state,
    lifecycle: client.lifecycle, streamId: client.streamId, head: client.head, lag: client.lag, inSync: client.inSync,
    changes: () => client.changes(),
    status: () => client.status(),
  };
}

describe('GET /api/cluster', () => {
  const prod = new FakeClusterClient();
  const staging = new FakeClusterClient();
  let one: ConsoleApp;
  let two: ConsoleApp;
  let ranged: ConsoleApp;
  let older: ConsoleApp;
  let rangesAnswer: unknown;
  const get = async (url: string, app: ConsoleApp = one) => {
    const res = await app.app.inject({ method: 'GET', url });
    return { status: res.statusCode, body: res.json() as ClusterOverview & { error?: { code: string; message: string } } };
  };

  before(() => {
    prod.apply(
      namespace({ uid: 'ns-shop', name: 'shop' }),
      namespace({ uid: 'ns-empty', name: 'empty' }),
      node('n-2', 'worker-2', ConditionStatus.FALSE),
      node('n-1', 'worker-1', ConditionStatus.TRUE, ['10.244.1.0/24', 'fd00:1::/64']),
      node('n-3', 'worker-3', undefined),
      workload({ kind: 'Deployment', uid: 'd1', name: 'checkout', namespace: 'shop' }),
      workload({ kind: 'ReplicaSet', uid: 'rs1', name: 'checkout-7d9f', namespace: 'shop', owner: { kind: 'Deployment', name: 'checkout', uid: 'd1' } }),
      workload({ kind: 'DaemonSet', uid: 'ds1', name: 'agent', namespace: 'kube-system' }),
      pod({ uid: 'p1', name: 'checkout-7d9f-a', namespace: 'shop', node: 'worker-1', containers: [{ name: 'app', id: 'c1' }] }),
      pod({ uid: 'p2', name: 'checkout-7d9f-b', namespace: 'shop', node: 'worker-1' }),
      pod({ uid: 'p3', name: 'agent-x', namespace: 'kube-system', node: 'worker-2' }),
      pod({ uid: 'p4', name: 'gone', namespace: 'shop', node: 'worker-2', stopNs: 1_732_700_100_000_000_000n }),
      container({ id: 'c1', name: 'app', podUid: 'p1', podName: 'checkout-7d9f-a', namespace: 'shop' }),
      service({ uid: 's1', name: 'checkout', namespace: 'shop', podUids: ['p1', 'p2'] }),
    );
    one = buildConsoleApp({ clusters: [{ name: 'prod', client: prod }] });
    two = buildConsoleApp({ clusters: [{ name: 'prod', client: prod }, { name: 'staging', client: staging }] });
    ranged = buildConsoleApp({ clusters: [{ name: 'prod', client: withNetworkRanges(prod, () => rangesAnswer) }] });
    older = buildConsoleApp({ clusters: [{ name: 'prod', client: withNetworkRanges(prod, undefined) }] });
  });

  after(async () => {
    for (const c of [one, two, ranged, older]) await c.close();
  });

  test('counts live objects by kind; a deleted pod is retained, not counted', async () => {
    const { status, body } = await get('/api/cluster');
    assert.equal(status, 200);
    assert.equal(body.cluster, 'prod');
    assert.deepEqual(body.counts, {
      namespace: 2, node: 3, service: 1, deployment: 1, statefulset: 0, daemonset: 1, cronjob: 0, job: 0, replicaset: 1, pod: 3, container: 1,
    });
    assert.deepEqual(Object.keys(body.counts).slice(0, 3), ['namespace', 'node', 'service'], 'in the console’s kind order');
    assert.equal(body.retained, 1);
  });

  test('lists nodes in name order with readiness, live pods, pod CIDRs and the internal IP', async () => {
    const { body } = await get('/api/cluster');
    assert.equal(body.nodes.total, 3);
    assert.deepEqual(body.nodes.items, [
      { uid: 'n-1', name: 'worker-1', ready: 'ready', pods: 2, podCidrs: ['10.244.1.0/24', 'fd00:1::/64'], internalIp: '10.0.0.11' },
      { uid: 'n-2', name: 'worker-2', ready: 'notReady', pods: 1, podCidrs: [], internalIp: '10.0.0.12' },
      { uid: 'n-3', name: 'worker-3', ready: 'unknown', pods: 0, podCidrs: [], internalIp: '10.0.0.13' },
    ]);
  });

  test('lists namespaces with their live pods, services and workloads (ReplicaSets left out)', async () => {
    const { body } = await get('/api/cluster');
    assert.deepEqual(body.namespaces, {
      items: [
        { uid: 'ns-empty', name: 'empty', pods: 0, services: 0, workloads: 0 },
        { uid: 'ns-shop', name: 'shop', pods: 2, services: 1, workloads: 1 },
      ],
      total: 2,
    });
  });

  test('network ranges are "not available" when the SDK has no networkRanges()', async () => {
    const { body } = await get('/api/cluster', older);
    assert.equal(body.networkRanges.available, false);
    assert.match(body.networkRanges.available ? '' : body.networkRanges.reason, /does not provide network ranges/);
  });

  test('network ranges light up once the SDK provides them: every CIDR by field, with its source', async () => {
    rangesAnswer = undefined;
    assert.deepEqual((await get('/api/cluster', ranged)).body.networkRanges, { available: true, groups: [], omitted: 0 }, 'none published yet');
    // The shape of the NetworkRanges message (proto/kubemeta/v1/resources.proto).
    rangesAnswer = { uid: 'cluster', podCidrs: ['10.244.0.0/16', 'fd00::/48'], serviceCidrs: ['10.96.0.0/12'], podSource: 1, serviceSource: 2 };
    const { body } = await get('/api/cluster', ranged);
    assert.deepEqual(body.networkRanges, {
      available: true,
      groups: [
        { name: 'pod CIDRs', cidrs: ['10.244.0.0/16', 'fd00::/48'], source: 'node spec' },
        { name: 'service CIDRs', cidrs: ['10.96.0.0/12'], source: 'observed' },
      ],
      omitted: 0,
    });
    assert.equal(body.counts.pod, 3, 'the rest of the page reads the same state');
  });

  test('per-node ranges become one group per node; what is not a CIDR is left out', async () => {
    rangesAnswer = new Map<string, unknown>([
      ['serviceCIDR', '10.96.0.0/12'],
      ['nodes', [{ node: 'worker-1', podCidrs: ['10.244.1.0/24'] }, { node: 'worker-2', podCidrs: ['10.244.2.0/33', 'not-a-cidr'] }]],
      ['podCidrsByNode', { 'worker-3': ['10.244.3.0/24'] }],
      ['note', 'observed 10.0.0.0/8'],
    ]);
    assert.deepEqual((await get('/api/cluster', ranged)).body.networkRanges, {
      available: true,
      groups: [
        { name: 'service CIDR', cidrs: ['10.96.0.0/12'] },
        { name: 'nodes (worker-1)', cidrs: ['10.244.1.0/24'] },
        { name: 'pod CIDRs by node (worker-3)', cidrs: ['10.244.3.0/24'] },
      ],
      omitted: 0,
    });
  });

  // Typed loosely so that this file compiles with and without the NetworkRanges kind in the schema.
  const hasRanges = typeof (LocalState.prototype as unknown as Record<string, unknown>)['networkRanges'] === 'function';
  test('the SDK’s own networkRanges(): a NetworkRanges update shows on the page', { skip: hasRanges ? false : 'this SDK has no networkRanges() yet' }, async () => {
    const fresh = new FakeClusterClient();
    const init = { object: { case: 'networkRanges', value: { uid: 'cluster', podCidrs: ['10.244.0.0/16'], serviceCidrs: ['10.96.0.0/12'], podSource: 1, serviceSource: 3 } } };
    fresh.apply(createResourceUpdate(init as unknown as Parameters<typeof createResourceUpdate>[0]));
    const app = buildConsoleApp({ clusters: [{ name: 'prod', client: fresh }] });
    try {
      assert.deepEqual((await get('/api/cluster', app)).body.networkRanges, {
        available: true,
        groups: [{ name: 'pod CIDRs', cidrs: ['10.244.0.0/16'], source: 'node spec' }, { name: 'service CIDRs', cidrs: ['10.96.0.0/12'], source: 'ServiceCIDR objects' }],
        omitted: 0,
      });
    } finally {
      await app.close();
    }
  });

  test('an SDK whose networkRanges() throws leaves the page working, the section says why', async () => {
    const broken = buildConsoleApp({ clusters: [{ name: 'prod', client: withNetworkRanges(prod, () => { throw new Error('state not loaded'); }) }] });
    try {
      const { status, body } = await get('/api/cluster', broken);
      assert.equal(status, 200);
      assert.deepEqual(body.networkRanges, { available: false, reason: 'reading the network ranges failed: state not loaded' });
    } finally {
      await broken.close();
    }
  });

  test('several clusters: cluster is required, unknown ones and unknown parameters are 400', async () => {
    const missing = await get('/api/cluster', two);
    assert.equal(missing.status, 400);
    assert.match(missing.body.error?.message ?? '', /cluster is required: this console follows prod, staging/);
    const empty = await get('/api/cluster?cluster=staging', two);
    assert.equal(empty.status, 200);
    assert.equal(empty.body.counts.pod, 0);
    assert.deepEqual(empty.body.nodes, { items: [], total: 0 });
    const unknown = await get('/api/cluster?cluster=dev', two);
    assert.equal(unknown.status, 400);
    assert.equal(unknown.body.error?.code, 'CONSOLE_UNKNOWN_CLUSTER');
    const typo = await get('/api/cluster?clutser=prod');
    assert.equal(typo.status, 400);
    assert.match(typo.body.error?.message ?? '', /unknown parameter "clutser"/);
  });
});
