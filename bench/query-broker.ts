// Telemetry queries through the broker (issue 6): the simulator with N nodes, `kubemeta serve`
// and the simulated agents (one per node, in a child process) on a real nats-server, and the
// QueryBroker with its ClusterClient here. Measures query latency p50/p99 for a deployment-wide,
// a namespace-wide and a cluster-wide query, agents asked vs total, rows scanned, and the
// hydration throughput inside the agents. It also starts the agents once with a NATS connection
// each and once sharing connections, and reports start time and memory of both.
//
//   node --import tsx bench/query-broker.ts [--nodes 100] [--pods-per-node 30] [--rate 200] [--fill-seconds 20] [--queries 50]
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { connect } from '@nats-io/transport-node';
import { clusterSubjects } from '../src/schema/index.ts';
import { ClusterClient } from '../src/sdk/index.ts';
import { ScenarioEngine, startSimApiServer, writeKubeconfig } from '../src/sim/index.ts';
import { QueryBroker } from '../src/telemetry/index.ts';
import { freePort, makeTempDir, spawnProcess, startNatsServer } from '../src/testing/index.ts';
import type { TelemetryAgentsConfig, TelemetryAgentsMessage } from './lib/telemetry-agents.ts';
import { percentile, printTable, writeResult } from './lib/report.ts';

const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '100' },
    'pods-per-node': { type: 'string', default: '30' },
    namespaces: { type: 'string', default: '20' },
    /** Rows per second per agent while the rings fill. */
    rate: { type: 'string', default: '200' },
    'fill-seconds': { type: 'string', default: '20' },
    queries: { type: 'string', default: '50' },
    'agents-per-connection': { type: 'string', default: '50' },
  },
});
const nodes = Number(values.nodes);
const podsPerNode = Number(values['pods-per-node']);
const CLUSTER = 'bench';

const engine = new ScenarioEngine({ seed: 1, nodes, podsPerNode, namespaces: Number(values.namespaces), deployments: Math.max(4, Math.round((nodes * podsPerNode) / 40)) });
engine.populate();
engine.controllers.start();
const api = await startSimApiServer(engine.model, { bookmarkIntervalMs: 5_000 });
const nats = await startNatsServer();
const dir = await makeTempDir('bench-query-broker');
const kubeconfig = join(dir.path, 'kubeconfig');
await writeKubeconfig(kubeconfig, { server: api.url });
const port = await freePort();
const serve = spawnProcess(process.execPath, [
  new URL('../bin/kubemeta.js', import.meta.url).pathname, 'serve', '--kubeconfig', kubeconfig, '--nats-urls', nats.url,
  '--store', `lmdb:${join(dir.path, 'store')}`, '--http', `127.0.0.1:${port}`, '--cluster', CLUSTER, '--log-level', 'warn',
]);
for (;;) {
  const s = await fetch(`http://127.0.0.1:${port}/status`).then((r) => r.json() as Promise<{ state: string }>, () => undefined);
  if (s?.state === 'ready') break;
  if (serve.child.exitCode !== null) throw new Error(`serve exited: ${serve.output()}`);
  await new Promise((r) => setTimeout(r, 100));
}
console.log(`cluster: ${engine.model.count('Node')} nodes, ${engine.model.count('Pod')} pods; serve ready`);

/** The agents child and its messages. */
function startAgents(agentsPerConnection: number): { child: ChildProcess; next: (type: TelemetryAgentsMessage['type']) => Promise<TelemetryAgentsMessage> } {
  // Rings sized for the fill and the queries after it (nothing overwritten), not more: their
  // typed arrays are most of the agents' memory.
  const ringCapacity = Math.max(10_000, Number(values.rate) * (Number(values['fill-seconds']) + 60));
  const config: TelemetryAgentsConfig = { natsUrl: nats.url, cluster: CLUSTER, ratePerSecond: Number(values.rate), ringCapacity, agentsPerConnection };
  const child = fork(new URL('./lib/telemetry-agents.ts', import.meta.url).pathname, [], {
    execArgv: ['--import', 'tsx'], env: { ...process.env, BENCH_TELEMETRY_AGENTS: JSON.stringify(config) }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const next = (type: TelemetryAgentsMessage['type']): Promise<TelemetryAgentsMessage> =>
    new Promise((resolve, reject) => {
      const onMessage = (m: TelemetryAgentsMessage): void => {
        if (m.type !== type) return;
        child.off('message', onMessage);
        resolve(m);
      };
      child.on('message', onMessage);
      child.once('exit', (code) => reject(new Error(`the agents child exited (${code})`)));
    });
  return { child, next };
}

async function stopAgents(child: ChildProcess): Promise<void> {
  const exited = new Promise((r) => child.once('exit', r));
  child.disconnect();
  await exited;
}

async function statsOf(agents: ReturnType<typeof startAgents>): Promise<Extract<TelemetryAgentsMessage, { type: 'stats' }>> {
  const pending = agents.next('stats');
  agents.child.send('stats');
  return (await pending) as Extract<TelemetryAgentsMessage, { type: 'stats' }>;
}

// 1. Connections: one per agent, then shared.
const connectionRuns: Array<Record<string, string | number>> = [];
for (const perConnection of [1, Number(values['agents-per-connection'])]) {
  const agents = startAgents(perConnection);
  const ready = (await agents.next('ready')) as Extract<TelemetryAgentsMessage, { type: 'ready' }>;
  const s = await statsOf(agents);
  connectionRuns.push({ agentsPerConnection: perConnection, agents: ready.agents, natsConnections: ready.connections, startMs: ready.startMs, inSyncMs: ready.syncMs, agentsRssMb: s.rssMb, agentsHeapMb: s.heapMb });
  if (perConnection === 1) await stopAgents(agents.child);
  else await runQueries(agents);
}
printTable('agents: one NATS connection each vs shared', connectionRuns);

async function runQueries(agents: ReturnType<typeof startAgents>): Promise<void> {
  const fillMs = Number(values['fill-seconds']) * 1000;
  console.log(`recording rows for ${fillMs / 1000} s …`);
  await new Promise((r) => setTimeout(r, fillMs));
  const cluster = await ClusterClient.connect({ servers: nats.url, cluster: CLUSTER });
  await cluster.whenInSync(AbortSignal.timeout(120_000));
  const nc = await connect({ servers: nats.url, inboxPrefix: `_INBOX.${clusterSubjects(CLUSTER).clusterScope}` });
  const broker = new QueryBroker({ nc, cluster: CLUSTER, router: cluster, agentTimeoutMs: 5_000 });
  // The narrowest namespace and deployment that still have pods.
  const narrowest = (names: string[], route: (n: string) => number): [string, number] =>
    names.map((n) => [n, route(n)] as [string, number]).filter(([, c]) => c > 0).sort((a, b) => a[1] - b[1])[0] ?? ['none', 0];
  const [ns] = narrowest(cluster.state.namespaces().map((n) => n.name), (namespace) => cluster.routeQuery({ namespace }).size);
  const deployments = cluster.state.pods().flatMap((p) => p.ownerReferences.filter((o) => o.kind === 'ReplicaSet').map((o) => `${p.namespace}/${o.name.replace(/-[a-z0-9]+$/, '')}`));
  const [dep] = narrowest([...new Set(deployments)], (d) => cluster.routeQuery({ namespace: d.split('/')[0] as string, deployment: d.split('/')[1] as string }).size);
  const queries: Array<[string, string]> = [
    ['deployment', `p99 latency by pod in namespace ${dep.split('/')[0]} deployment ${dep.split('/')[1]}`],
    ['namespace', `p99 latency by service in namespace ${ns}`],
    ['cluster-wide', 'p99 latency by namespace'],
  ];
  const before = await statsOf(agents);
  const rows: Array<Record<string, string | number>> = [];
  for (const [name, text] of queries) {
    for (let i = 0; i < 5; i++) await broker.query(text); // warm-up
    const ms: number[] = [];
    let last = await broker.query(text);
    for (let i = 0; i < Number(values.queries); i++) {
      const t = performance.now();
      last = await broker.query(text);
      ms.push(performance.now() - t);
    }
    rows.push({
      query: name, text, agentsAsked: last.agentsAsked, agentsTotal: last.agentsTotal, agentsAnswered: last.agentsAnswered, rowsScanned: last.rowsScanned,
      groups: last.rows.length, p50Ms: round(percentile(ms, 50)), p99Ms: round(percentile(ms, 99)),
    });
  }
  const after = await statsOf(agents);
  const hydrated = after.stats.hydratedRows - before.stats.hydratedRows;
  const hydrateS = (after.stats.hydrateMs - before.stats.hydrateMs) / 1000;
  printTable(`queries (${Number(values.queries)} each after 5 warm-up; ${after.stats.rowsHeld} rows held by ${after.stats.agents} agents)`, rows);
  const hydration = { rows: hydrated, seconds: round(hydrateS, 3), rowsPerSecond: Math.round(hydrated / hydrateS) };
  console.log(`\nhydration inside the agents: ${hydration.rowsPerSecond.toLocaleString('en-US')} rows/s (${hydrated.toLocaleString('en-US')} rows in ${hydration.seconds} s of hydrateBatch)`);
  const path = writeResult('query-broker', {
    command: `node --import tsx bench/query-broker.ts --nodes ${nodes} --pods-per-node ${podsPerNode} --rate ${values.rate} --fill-seconds ${values['fill-seconds']} --queries ${values.queries}`,
    cluster: { nodes: engine.model.count('Node'), pods: engine.model.count('Pod') },
    agents: { ratePerSecond: Number(values.rate), rowsHeld: after.stats.rowsHeld, rssMb: after.rssMb, heapMb: after.heapMb },
    connections: connectionRuns,
    queries: rows,
    hydration,
  });
  console.log(`wrote ${path}`);
  await nc.close();
  await cluster.close();
  await stopAgents(agents.child);
}

function round(n: number, digits = 1): number {
  return Math.round(n * 10 ** digits) / 10 ** digits;
}

await serve.stop();
await engine.stopChurn();
engine.controllers.close();
await api.close();
await nats.stop();
await dir.remove();
