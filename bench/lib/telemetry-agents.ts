// Simulated node agents for bench/query-broker.ts, in a child process of their own (so the
// broker's latency is not measured on the agents' event loop): runAgents for every node, with
// an IPC channel for figures.
//
//   BENCH_TELEMETRY_AGENTS='<json: TelemetryAgentsConfig>' node --import tsx bench/lib/telemetry-agents.ts
//
// Sends {type:'ready', …} once every agent is in sync, and {type:'stats', …} for every 'stats'
// message it receives; exits when the parent disconnects.
import { runAgents, type FleetStats } from '../../src/demo-agents/index.ts';

export interface TelemetryAgentsConfig {
  natsUrl: string;
  cluster: string;
  ratePerSecond: number;
  ringCapacity: number;
  agentsPerConnection: number;
}

export type TelemetryAgentsMessage =
  | { type: 'ready'; agents: number; connections: number; startMs: number; syncMs: number }
  | { type: 'stats'; stats: FleetStats; rssMb: number; heapMb: number };

const config = JSON.parse(process.env['BENCH_TELEMETRY_AGENTS'] ?? '{}') as TelemetryAgentsConfig;
const started = performance.now();
const fleet = await runAgents({
  servers: config.natsUrl, cluster: config.cluster, nodes: 'all', ratePerSecond: config.ratePerSecond, ringCapacity: config.ringCapacity,
  agentsPerConnection: config.agentsPerConnection, seed: 1, signal: AbortSignal.timeout(300_000),
});
const startMs = performance.now() - started;
await fleet.whenInSync(AbortSignal.timeout(300_000));
const ready: TelemetryAgentsMessage = { type: 'ready', agents: fleet.agents.size, connections: fleet.stats().connections, startMs: Math.round(startMs), syncMs: Math.round(performance.now() - started) };
process.send?.(ready);
process.on('message', (m: unknown) => {
  if (m !== 'stats') return;
  const mem = process.memoryUsage();
  const reply: TelemetryAgentsMessage = { type: 'stats', stats: fleet.stats(), rssMb: Math.round(mem.rss / 2 ** 20), heapMb: Math.round(mem.heapUsed / 2 ** 20) };
  process.send?.(reply);
});
process.on('disconnect', () => {
  void fleet.close().finally(() => process.exit(0));
});
