import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { loadConfig, serveConfigSchema, simConfigSchema } from '../config/index.ts';
import { clusterSubjects, decodeUpdateBatch } from '../schema/index.ts';
import { MetadataService } from '../service/index.ts';
import { makeTempDir, startNatsServer } from '../testing/index.ts';
import { createLogger } from './logger.ts';
import type { CommandContext } from './serve-command.ts';
import { ServeConsole } from './serve-console.ts';
import { startSim } from './sim-command.ts';
import { runAgents, type AgentFleet } from '../telemetry/index.ts';
import { ConfigError } from '../config/index.ts';

/**
 * `kubemeta demo`: the whole system on one machine — a simulated cluster with churn, a local
 * nats-server, `serve` with the embedded LMDB store and the web console on its HTTP server — and
 * one summary line a second: what the cluster does, what kubemeta commits and publishes, and
 * what the API server sees of it.
 */
export async function runDemo(o: Record<string, string | undefined>, ctx: CommandContext, out: NodeJS.WritableStream): Promise<number> {
  const logger = createLogger(ctx.env['KUBEMETA_LOG_LEVEL'] ?? 'warn', 'kubemeta-demo');
  const tmp = await makeTempDir('demo');
  const kubeconfig = join(tmp.path, 'kubeconfig');
  const simConfig = loadConfig(simConfigSchema, {
    flags: { nodes: o['nodes'], podsPerNode: o['podsPerNode'], churnRate: o['churnRate'], kubeconfigOut: kubeconfig, bookmarkIntervalMs: 5_000 },
  });
  const agentNodes = demoAgentNodes(o['agents'], simConfig.nodes); // checked before anything starts
  const nats = await startNatsServer();
  const sim = await startSim(simConfig, logger);
  const serveConfig = loadConfig(serveConfigSchema, {
    flags: { kubeconfig, natsUrls: nats.url, store: `lmdb:${o['data'] ?? join(tmp.path, 'store')}`, http: o['http'] ?? '127.0.0.1:0', cluster: 'demo', console: true },
  });
  const webConsole = await ServeConsole.prepare(serveConfig, logger, ctx.stopRequested);
  const registerHttp = webConsole.registerHttp;
  let service: MetadataService;
  try {
    service = await MetadataService.start(serveConfig, { logger, ...(registerHttp ? { registerHttp } : {}) });
  } catch (err) {
    // The console's client would keep the process alive: close what the demo started.
    await webConsole.close();
    await sim.stop();
    await nats.stop();
    await tmp.remove();
    throw err;
  }
  const consoleUrl = await webConsole.attach(service);
  // Simulated node agents with synthetic telemetry, so the console's query box has something
  // to ask: every node of a small cluster, the first 50 of a large one (--agents).
  const fleet: AgentFleet | undefined = agentNodes === 0 ? undefined : await runAgents({ servers: nats.url, cluster: 'demo', nodes: agentNodes, logger, signal: ctx.stopRequested });
  out.write(
    [
      'kubemeta demo',
      `  simulated API server  ${sim.server.url}   (kubectl --kubeconfig ${kubeconfig} get pods -A)`,
      `  nats-server           ${nats.url}   (npx kubemeta tail --nats ${nats.url} --cluster demo)`,
      `  kubemeta serve        ${service.httpUrl}/readyz   /metrics   /status`,
      `  web console           ${consoleUrl}   (open it in a browser)`,
      fleet
        ? `  node agents           simulated, ${agentNodes === 'all' ? 'one per node' : `on ${agentNodes} nodes`}   (query box: p99 latency by service in namespace <ns>)`
        : '  node agents           none (--agents 0)',
      '',
    ].join('\n') + '\n',
  );
  const nc = await connect({ servers: nats.url, name: 'kubemeta-demo-watch' });
  let received = 0;
  let lastVersion = 0;
  const sub = nc.subscribe(clusterSubjects('demo').clusterScope);
  void (async () => {
    for await (const m of sub) {
      if (m.data.length === 0) continue; // a heartbeat: headers only (wire protocol §6.1)
      const batch = decodeUpdateBatch(m.data);
      received += batch.updates.length;
      lastVersion = batch.updates.at(-1)?.version ?? lastVersion;
    }
  })();
  const started = Date.now();
  const limitMs = o['seconds'] !== undefined ? Number(o['seconds']) * 1000 : Number.POSITIVE_INFINITY;
  while (!ctx.stopRequested.aborted && Date.now() - started < limitMs) {
    await new Promise((r) => setTimeout(r, 1_000));
    const api = sim.server.stats();
    const pods = sim.engine.model.count('Pod');
    out.write(
      `${((Date.now() - started) / 1000).toFixed(0).padStart(4)}s  cluster: ${pods} pods, rv ${sim.engine.model.resourceVersion}` +
        `  |  kubemeta: ${service.state}, head ${service.head}` +
        `  |  subscriber: ${received} updates, at ${lastVersion}` +
        `  |  API server sees: ${api.openWatches} watches, ${sumOf(api.requests['list'])} lists` +
        `${fleet ? agentsSummary(fleet) : ''}\n`,
    );
  }
  await nc.drain();
  await fleet?.close();
  await webConsole.close();
  await service.drain();
  await sim.stop();
  await nats.stop();
  await tmp.remove();
  return 0;
}

function sumOf(byKind: Record<string, number> | undefined): number {
  return Object.values(byKind ?? {}).reduce((a, b) => a + b, 0);
}

/** `--agents`: "all", a count, or 0; default all nodes up to 50. */
function demoAgentNodes(option: string | undefined, nodes: number): 'all' | number {
  if (option === undefined) return nodes <= 50 ? 'all' : 50;
  if (option === 'all') return 'all';
  if (!/^\d{1,6}$/.test(option)) throw new ConfigError([{ option: '--agents', problem: `must be "all", a number of nodes, or 0 for none; got ${JSON.stringify(option)}` }]);
  return Number(option);
}

function agentsSummary(fleet: AgentFleet): string {
  const s = fleet.stats();
  return `  |  agents: ${s.inSync}/${s.agents} in sync, ${s.rowsRecorded} rows, ${s.queriesAnswered} queries`;
}
