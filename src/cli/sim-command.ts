import { loadConfig, simConfigSchema, type SimConfig } from '../config/index.ts';
import { ScenarioEngine, startSimApiServer, writeKubeconfig, type SimApiServer } from '../sim/index.ts';
import type { Logger } from '../core/index.ts';
import { createLogger } from './logger.ts';
import type { CommandContext } from './serve-command.ts';

export function loadSimConfig(flags: Record<string, unknown>, env: NodeJS.ProcessEnv): SimConfig {
  const { config: file, ...rest } = flags;
  return loadConfig(simConfigSchema, { flags: rest, env, ...(typeof file === 'string' ? { file, fileSection: 'sim' } : {}) });
}

export interface RunningSim {
  engine: ScenarioEngine;
  server: SimApiServer;
  stop(): Promise<void>;
}

/**
 * Builds the simulated cluster, starts its controllers (so kubectl scale/delete behave) and its
 * API server, writes the kubeconfig, and starts churn if asked. Used by `sim` and `demo`.
 */
export async function startSim(config: SimConfig, logger: Logger): Promise<RunningSim> {
  const engine = new ScenarioEngine({
    seed: config.seed,
    nodes: config.nodes,
    namespaces: config.namespaces,
    ...(config.deployments !== undefined ? { deployments: config.deployments } : {}),
    podsPerNode: config.podsPerNode,
    serviceFraction: config.serviceFraction,
    daemonSets: config.daemonsets,
    statefulSets: config.statefulsets,
    cronJobs: config.cronjobs,
    podCidrs: config.podCidrs,
    historyPerKind: config.historyPerKind,
    logger: logger.child({ module: 'sim' }),
  });
  const report = engine.populate();
  engine.controllers.start();
  const server = await startSimApiServer(engine.model, {
    host: config.host,
    port: config.port,
    https: config.tls,
    bookmarkIntervalMs: config.bookmarkIntervalMs,
    logger,
  });
  if (config.kubeconfigOut !== undefined) {
    await writeKubeconfig(config.kubeconfigOut, { server: server.url, ...(server.tls ? { caPem: server.tls.caPem } : {}) });
  }
  if (config.churnRate > 0) engine.startChurn({ ratePerSecond: config.churnRate });
  logger.info({ url: server.url, objects: report.objects, populateMs: Math.round(report.durationMs) }, 'simulated cluster ready');
  return {
    engine,
    server,
    async stop() {
      await engine.stopChurn();
      engine.controllers.close();
      await server.close();
    },
  };
}

/** `kubemeta sim`: serves a simulated cluster until SIGINT/SIGTERM. */
export async function runSim(flags: Record<string, unknown>, ctx: CommandContext, out: NodeJS.WritableStream): Promise<number> {
  const config = loadSimConfig(flags, ctx.env);
  const logger = createLogger(config.logLevel, 'kubemeta-sim');
  const sim = await startSim(config, logger);
  out.write(`kubemeta sim: Kubernetes API at ${sim.server.url}\n`);
  if (config.kubeconfigOut !== undefined) {
    out.write(`kubeconfig: ${config.kubeconfigOut}\n  try: kubectl --kubeconfig ${config.kubeconfigOut} get pods -A\n`);
  }
  await new Promise<void>((resolve) => ctx.stopRequested.addEventListener('abort', () => resolve(), { once: true }));
  await sim.stop();
  return 0;
}
