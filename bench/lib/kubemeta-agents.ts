// The kubemeta design (issue 7, bench/control-plane.ts): node agents using the SDK, several
// per process, each with its own NATS connection (as one agent per node would have), and
// optionally the one ClusterClient. They never talk to the API server.
//
// Run by the bench as a child process with an IPC channel:
//   BENCH_AGENTS='<json: KubemetaAgentsConfig>' node --import tsx bench/lib/kubemeta-agents.ts
// It reports {type:'synced', ...} once every client is in sync, and keeps following its scope
// until it is killed.
import { connectNodeAgents } from './connect-node-agents.ts';
import { ClusterClient, type ScopeClient } from '../../src/sdk/index.ts';

export interface KubemetaAgentsConfig {
  natsUrl: string;
  cluster: string;
  nodes: string[];
  /** Also run the cluster-scope client in this process. */
  clusterClient?: boolean;
}

export interface KubemetaAgentsSynced {
  type: 'synced';
  agents: number;
  clusterClient: boolean;
  /** Pods held by the node agents at sync time. */
  objects: number;
  /** Bootstraps by snapshot and replays, summed over the clients. */
  snapshots: number;
  ms: number;
}

const config = JSON.parse(process.env['BENCH_AGENTS'] ?? '{}') as KubemetaAgentsConfig;
const started = performance.now();
process.on('disconnect', () => process.exit(0));

const agents = await connectNodeAgents(config.natsUrl, config.cluster, config.nodes);
const clients: ScopeClient[] = [...agents];
if (config.clusterClient) {
  const signal = AbortSignal.timeout(300_000);
  const c = await ClusterClient.connect({ servers: config.natsUrl, cluster: config.cluster, signal });
  await c.whenInSync(signal);
  clients.push(c);
}
const synced: KubemetaAgentsSynced = {
  type: 'synced',
  agents: agents.length,
  clusterClient: config.clusterClient === true,
  objects: agents.reduce((n, a) => n + a.state.pods().length, 0),
  snapshots: agents.reduce((n, a) => n + a.stats().snapshots, 0),
  ms: Math.round(performance.now() - started),
};
process.send?.(synced);
