// The whole story, runnable (issue 6): `kubemeta serve` on the simulator and a real nats-server,
// one simulated node agent per node recording UPID-keyed telemetry, and the query broker. A
// query filtered to a namespace goes only to the agents of the nodes holding its pods, and the
// merged answer equals a brute-force aggregation over every agent's raw rows hydrated directly;
// a dead agent makes the answer partial and says so; the console route answers 400/504.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { ManualClock, waitFor } from '../../src/core/index.ts';
import { clusterSubjects } from '../../src/schema/index.ts';
import { ClusterClient, type Hydration } from '../../src/sdk/index.ts';
import { MetadataService } from '../../src/service/index.ts';
import { buildConsoleApp, type ConsoleApp } from '../../src/console/index.ts';
import { runAgents, type AgentFleet } from '../../src/demo-agents/index.ts';
import { QueryBroker, bucketBounds, bucketOf, type QueryResult } from '../../src/telemetry/index.ts';
import { startServeEnv, type ServeEnv } from '../helpers/serve-env.ts';

const CLUSTER = 'test';
const WINDOW_MS = 5 * 60_000;

interface RawRow {
  readonly h: Hydration;
  readonly latencyMs: number;
  readonly status: number;
}

describe('query broker with simulated agents, kubemeta serve and the simulator', () => {
  let env: ServeEnv;
  let service: MetadataService;
  let cluster: ClusterClient;
  let fleet: AgentFleet;
  let nc: NatsConnection;
  let broker: QueryBroker;
  let console: ConsoleApp;
  /** The broker's fixed "now": rows recorded after it are later, so the window's rows stay put. */
  let frozenAt: number;
  let namespace: string;

  before(async () => {
    env = await startServeEnv({ seed: 11, nodes: 6, podsPerNode: 6, namespaces: 6, deployments: 12 });
    service = await MetadataService.start(env.serveConfig());
    await service.whenReady(AbortSignal.timeout(30_000));
    cluster = await ClusterClient.connect({ servers: env.nats.url, cluster: CLUSTER });
    await cluster.whenInSync(AbortSignal.timeout(30_000));
    fleet = await runAgents({ servers: env.nats.url, cluster: CLUSTER, nodes: 'all', ratePerSecond: 400, tickMs: 50, ringCapacity: 200_000, seed: 7 });
    await fleet.whenInSync(AbortSignal.timeout(30_000));
    assert.equal(fleet.agents.size, cluster.state.nodes().length, 'an agent per node, started when runAgents resolved');
    await waitFor(() => [...fleet.agents.values()].every((a) => a.stats().activeProcesses === 0 || a.stats().rowsRecorded > 400), { what: 'every agent with processes to record rows', timeoutMs: 20_000 });
    frozenAt = Date.now() - 500;
    await new Promise((r) => setTimeout(r, 600)); // rows after frozenAt only from here on
    nc = await connect({ servers: env.nats.url, inboxPrefix: `_INBOX.${clusterSubjects(CLUSTER).clusterScope}` });
    broker = new QueryBroker({ nc, cluster: CLUSTER, router: cluster, clock: new ManualClock(frozenAt), agentTimeoutMs: 1_000 });
    console = buildConsoleApp({ clusters: [{ name: CLUSTER, client: cluster }], queryBroker: (_c, q, signal) => broker.query(q, signal) });
    // The namespace on the fewest nodes (two at least, for the dead-agent test): the narrow query.
    const total = cluster.routeQuery({}).size;
    const candidates = cluster.state.namespaces().map((n) => n.name).map((ns) => [ns, cluster.routeQuery({ namespace: ns }).size] as const).filter(([, n]) => n >= 2 && n < total);
    candidates.sort((a, b) => a[1] - b[1]);
    assert.ok(candidates.length > 0, 'a namespace whose pods are on some nodes only');
    namespace = candidates[0]![0];
  });

  after(async () => {
    await console?.close();
    await nc?.close();
    await fleet?.close();
    await cluster?.close();
    await service?.drain();
    await env?.stop();
  });

  /** Every agent's rows in the broker's window, hydrated one by one with the agent's own client. */
  const rawRows = (): RawRow[] => {
    const out: RawRow[] = [];
    for (const agent of fleet.agents.values()) {
      for (const r of agent.rows()) {
        if (r.timestampMs <= frozenAt - WINDOW_MS || r.timestampMs > frozenAt) continue;
        const h = agent.client.hydrate(r.upid);
        if (h) out.push({ h, latencyMs: r.latencyMs, status: r.status });
      }
    }
    return out;
  };
  const byService = (rows: readonly RawRow[]): Map<string, number[]> => {
    const groups = new Map<string, number[]>();
    for (const r of rows) {
      for (const key of r.h.services.length > 0 ? r.h.services.map((s) => `${r.h.namespace}/${s}`) : ['null']) {
        let list = groups.get(key);
        if (!list) groups.set(key, (list = []));
        list.push(r.latencyMs);
      }
    }
    return groups;
  };
  const table = (r: QueryResult): Map<string, number> => new Map(r.rows.map((row) => [String(row[0]), row[row.length - 1] as number]));

  test('a namespace query asks only the agents of the nodes holding its pods, and counts every row', async () => {
    const r = await broker.query(`count requests by service in namespace ${namespace}`);
    const routed = cluster.routeQuery({ namespace });
    assert.equal(r.agentsAsked, routed.size, 'asked = the nodes routing found');
    assert.equal(r.agentsTotal, cluster.state.nodes().length, 'total = the live nodes');
    assert.ok(r.agentsAsked < r.agentsTotal, `${r.agentsAsked} of ${r.agentsTotal} agents asked`);
    assert.equal(r.agentsAnswered, r.agentsAsked);
    assert.deepEqual(r.failures, []);
    assert.deepEqual(r.columns, ['service', 'count_requests']);
    const expected = byService(rawRows().filter((x) => x.h.namespace === namespace));
    assert.ok(expected.size > 0, 'the namespace has telemetry');
    assert.deepEqual(table(r), new Map([...expected].map(([k, v]) => [k, v.length])));
    // Every agent that holds rows of the namespace was among those asked.
    for (const agent of fleet.agents.values()) {
      if (agent.rows().some((x) => agent.client.hydrate(x.upid)?.namespace === namespace)) assert.ok(routed.has(agent.node), `${agent.node} holds ${namespace} rows and was asked`);
    }
  });

  test('p99 of the merged partials is the p99 over all raw rows, within one bucket', async () => {
    const r = await broker.query(`p99 latency by service in namespace ${namespace}`);
    const expected = byService(rawRows().filter((x) => x.h.namespace === namespace));
    const got = table(r);
    assert.deepEqual([...got.keys()].sort(), [...expected.keys()].sort());
    for (const [key, latencies] of expected) {
      const sorted = [...latencies].sort((a, b) => a - b);
      const exact = sorted[Math.ceil(0.99 * sorted.length) - 1] as number;
      const [lower, upper] = bucketBounds(bucketOf(exact));
      const value = got.get(key) as number;
      assert.ok(value >= lower - 0.001 && value <= upper + 0.001, `${key}: p99 ${value} in the bucket of the exact ${exact} [${lower}, ${upper})`);
    }
  });

  test('a cluster-wide query asks every agent; max and error counts match the raw rows', async () => {
    const max = await broker.query('max latency by node');
    assert.equal(max.agentsAsked, max.agentsTotal);
    const rows = rawRows();
    for (const [node, value] of table(max)) {
      const exact = Math.max(...rows.filter((x) => x.h.node === node).map((x) => x.latencyMs));
      assert.ok(Math.abs(value - exact) < 0.001, `${node}: max ${value} = ${exact}`);
    }
    // A rate adds each agent's rows per second over the part of the window it holds rows for.
    const rate = await broker.query('rate requests');
    let expectedRate = 0;
    for (const agent of fleet.agents.values()) {
      const held = agent.rows();
      const inWindow = held.filter((x) => x.timestampMs > frozenAt - WINDOW_MS && x.timestampMs <= frozenAt && agent.client.hydrate(x.upid) !== undefined).length;
      if (held.length > 0) expectedRate += inWindow / (Math.max(1_000, frozenAt - Math.max(frozenAt - WINDOW_MS, held[0]!.timestampMs)) / 1000);
    }
    assert.ok(Math.abs((rate.rows[0]?.[0] as number) - expectedRate) < 0.01, `rate ${String(rate.rows[0]?.[0])} ≈ ${expectedRate} rows/s`);
    assert.ok(expectedRate > 100, 'agents with processes record rows every second');
    const app = rows.find((x) => x.h.labels['app'] !== undefined)?.h.labels['app'];
    assert.ok(app !== undefined, 'some pod has an app label');
    const errors = await broker.query(`count errors by namespace where label app=${app}`);
    assert.ok(errors.agentsAsked < errors.agentsTotal, 'a label query is routed too');
    const matching = rows.filter((x) => x.h.labels['app'] === app);
    assert.ok(matching.length > 0);
    const expected = new Map<string, number>();
    for (const x of matching) expected.set(x.h.namespace, (expected.get(x.h.namespace) ?? 0) + (x.status >= 500 ? 1 : 0));
    assert.deepEqual(table(errors), expected);
  });

  test('agents follow their pods: a replacement pod gets processes and its rows hydrate to it', async () => {
    const pod = env.engine.model.list('Pod').items.find((p) => p.object.metadata.namespace === namespace && p.object.metadata.ownerReferences?.some((o) => o.kind === 'ReplicaSet'));
    assert.ok(pod, 'a ReplicaSet pod in the namespace');
    const before = new Set(env.engine.model.list('Pod').items.map((p) => p.object.metadata.name));
    env.engine.model.delete('Pod', namespace, pod.object.metadata.name);
    await env.engine.controllers.settle();
    const replacement = env.engine.model.list('Pod').items.find((p) => p.object.metadata.namespace === namespace && !before.has(p.object.metadata.name));
    assert.ok(replacement, 'the ReplicaSet created a replacement');
    const live = new QueryBroker({ nc, cluster: CLUSTER, router: cluster });
    const key = `${namespace}/${replacement.object.metadata.name}`;
    await waitFor(async () => table(await live.query(`count requests by pod in namespace ${namespace} last 1m`)).has(key), { what: `rows of ${key}`, timeoutMs: 30_000, intervalMs: 250 });
  });

  test('a dead agent makes the answer partial and says why; a silent one times out', async () => {
    const routed = [...cluster.routeQuery({ namespace })].sort();
    const dead = routed[0] as string;
    assert.ok(await fleet.stopAgent(dead));
    const r = await broker.query(`count requests by service in namespace ${namespace}`);
    assert.equal(r.agentsAsked, routed.length);
    assert.equal(r.agentsAnswered, routed.length - 1);
    assert.equal(r.partial, true);
    assert.deepEqual(r.failures.map((f) => [f.node, f.reason]), [[dead, 'noResponders']]);
    // Something that listens on the subject but never answers: a frozen agent.
    const frozen = nc.subscribe(clusterSubjects(CLUSTER).agentQuery(dead), { callback: () => undefined });
    try {
      const t = await broker.query(`count requests node ${dead}`);
      assert.deepEqual([t.agentsAsked, t.agentsAnswered, t.failures[0]?.reason], [1, 0, 'timeout']);
    } finally {
      frozen.unsubscribe();
    }
  });

  test('the console route: 200 with the result, 400 for a bad query, 504 when no agent answers', async () => {
    const post = (q: string) => console.app.inject({ method: 'POST', url: '/api/query', payload: { q } });
    const ok = await post(`avg latency by deployment in namespace ${namespace}`);
    assert.equal(ok.statusCode, 200);
    const body = ok.json() as QueryResult;
    assert.equal(body.cluster, CLUSTER);
    assert.deepEqual(body.columns, ['deployment', 'avg_latency_ms']);
    for (const field of ['rows', 'agentsAsked', 'agentsTotal', 'agentsAnswered', 'tookMs'] as const) assert.ok(field in body, field);
    const bad = await post('p99 latncy by service');
    assert.equal(bad.statusCode, 400);
    assert.deepEqual(bad.json(), {
      error: { code: 'CONSOLE_QUERY_INVALID', message: "unknown measure 'latncy' at 4; expected latency|requests|errors; did you mean 'latency'?", position: 4, expected: ['latency', 'requests', 'errors'] },
    });
    const dead = [...cluster.routeQuery({})].find((n) => !fleet.agents.has(n)) as string;
    const none = await post(`count requests node ${dead}`);
    assert.equal(none.statusCode, 504);
    assert.equal((none.json() as { error: { code: string } }).error.code, 'CONSOLE_QUERY_TIMEOUT');
  });
});
